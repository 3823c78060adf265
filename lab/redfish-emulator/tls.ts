/**
 * Lab TLS material: a throw-away CA and a server certificate for 127.0.0.1 / localhost, made with
 * the openssl CLI. Clients verify the emulator against the CA, exactly as the relay verifies a real
 * BMC, so tests exercise certificate checking instead of switching it off.
 *
 * Files are reused when present. Generation happens in a scratch directory renamed into place, so
 * two test workers starting at once never see half-written files.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export interface LabTls {
  dir: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export const DEFAULT_TLS_DIR = ".local/lab-tls";

const FILES = { ca: "ca.pem", cert: "server.pem", key: "server.key" } as const;

export function ensureLabTls(dir: string = DEFAULT_TLS_DIR): LabTls {
  const abs = resolve(dir);
  if (!complete(abs)) {
    mkdirSync(dirname(abs), { recursive: true });
    const scratch = mkdtempSync(`${abs}.tmp-`);
    try {
      generate(scratch);
      try {
        renameSync(scratch, abs);
      } catch (err) {
        // Another process won the race (target exists and is not empty): use its files.
        if (!complete(abs)) throw err;
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return {
    dir: abs,
    caPem: readFileSync(join(abs, FILES.ca), "utf8"),
    certPem: readFileSync(join(abs, FILES.cert), "utf8"),
    keyPem: readFileSync(join(abs, FILES.key), "utf8"),
  };
}

function complete(dir: string): boolean {
  return Object.values(FILES).every((f) => existsSync(join(dir, f)));
}

function generate(dir: string): void {
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run([
    "req", "-x509", ...ec, "-keyout", "ca.key", "-out", FILES.ca, "-days", "3650",
    "-subj", "/CN=sanboot lab CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  run(["req", "-new", ...ec, "-keyout", FILES.key, "-out", "server.csr", "-subj", "/CN=localhost"]);
  writeFileSync(
    join(dir, "server.ext"),
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"),
  );
  run([
    "x509", "-req", "-in", "server.csr", "-CA", FILES.ca, "-CAkey", "ca.key", "-CAcreateserial",
    "-out", FILES.cert, "-days", "825", "-sha256", "-extfile", "server.ext",
  ]);
}
