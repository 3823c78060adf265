/**
 * The relay as a site installs it: `npm run build:relay`'s single file, copied alone into an
 * empty directory and started with plain `node` (no tsx, no node_modules, a bare environment),
 * configured by files as the systemd unit does. Against the local stack (with no relay of its
 * own), it makes the site's key pair, checks the service and the lab BMC, boots a node through
 * the public API to `active`, and drains and exits 0 on SIGTERM.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_CREDENTIALS_REF, LAB_SITE, startLocalStack, type LocalStack } from "../../lab/local-stack";
import { apiFor, cinderAdmin, enrollLabNode, waitForRelay } from "../support/api";

const BUILD_SCRIPT = join(__dirname, "..", "..", "packaging", "bundle.mjs");
const BUILT = join(__dirname, "..", "..", "dist", "sanboot-relay.cjs");

let dir: string;
let bundle: string;
let stack: LocalStack | undefined;
let relay: ChildProcess | undefined;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Plain node, a bare environment: nothing of this test's (tsx, NODE_OPTIONS, vitest) reaches the bundle. */
const bareEnv = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin" });

/** Never a synchronous spawn: the service the bundle talks to runs in this process. */
function node(args: string[], opts: { cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: opts.cwd ?? dir, env: bareEnv(), timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const sanbootRelay = (...args: string[]) => node([bundle, ...args]);

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value, null, 2), { mode: 0o600 });
  return path;
}

/** A relay config as the example in packaging/relay, pointing at the stack; `creds` is its credentials file. */
function relayConfig(name: string, creds: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  writeJson(`${name}.credentials.json`, creds);
  return writeJson(`${name}.json`, {
    service_url: stack!.service.url,
    site: LAB_SITE,
    token_file: "token",
    credentials_file: `${name}.credentials.json`,
    site_key_file: "site-key.pem",
    wait_seconds: 1,
    heartbeat_seconds: 5,
    stop_timeout_seconds: 20,
    ...extra,
  });
}

const labLogin = (extra: Record<string, unknown> = {}) => ({
  [LAB_CREDENTIALS_REF]: { username: "admin", password: "password", ca_file: "bmc-ca.pem", check: [stack!.bmc.url], ...extra },
});

beforeAll(async () => {
  const built = await node([BUILD_SCRIPT, "relay"], { cwd: join(__dirname, "..", "..") });
  expect(built.code, built.stderr).toBe(0);
  dir = mkdtempSync(join(tmpdir(), "sanboot-relay-bundle-"));
  bundle = join(dir, "sanboot-relay.cjs");
  copyFileSync(BUILT, bundle);

  // The site's key pair first: the service seals target secrets to its public half.
  const keys = await sanbootRelay("keygen", "--site-key-file", join(dir, "site-key.pem"), "--site", LAB_SITE);
  expect(keys.code, keys.stderr).toBe(0);
  stack = await startLocalStack({ relay: false, env: { SANBOOT_SITE_KEYS: JSON.stringify({ [LAB_SITE]: readFileSync(join(dir, "site-key.pem.pub"), "utf8") }) } });
  writeFileSync(join(dir, "token"), `${stack.relayToken}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "bmc-ca.pem"), stack.bmc.caPem);
  writeFileSync(join(dir, "other-ca.pem"), rootCertificates[0]!); // a CA that did not sign the lab BMC
}, 120_000);

afterAll(async () => {
  if (relay?.pid !== undefined && relay.exitCode === null && relay.signalCode === null) process.kill(relay.pid, "SIGKILL");
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the sanboot-relay bundle", () => {
  it("is one executable file with a node shebang", () => {
    expect(readFileSync(bundle, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(statSync(BUILT).mode & 0o111).not.toBe(0);
  });

  it("--help lists its commands and flags, and exits 0", async () => {
    const r = await sanbootRelay("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: sanboot-relay <command>/);
    for (const word of ["run", "check", "keygen", "--config", "--credentials-file", "SANBOOT_RELAY_TOKEN_FILE"]) expect(r.stdout).toContain(word);
  });

  it("--version prints the package's version, the one it tells the service, and exits 0", async () => {
    const r = await sanbootRelay("--version");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe(`sanboot-relay ${JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")).version}\n`);
  });

  it("keygen wrote the key pair with mode 0600, printed only the public half, and will not overwrite it without --force", async () => {
    for (const f of ["site-key.pem", "site-key.pem.pub"]) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    const before = readFileSync(join(dir, "site-key.pem"), "utf8");
    const again = await sanbootRelay("keygen", "--site-key-file", join(dir, "site-key.pem"));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exist");
    expect(readFileSync(join(dir, "site-key.pem"), "utf8")).toBe(before);

    const other = join(dir, "spare-key.pem");
    const first = await sanbootRelay("keygen", "--site-key-file", other);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("BEGIN PUBLIC KEY");
    expect(first.stdout).not.toContain("PRIVATE KEY");
    expect(first.stdout).toContain(readFileSync(`${other}.pub`, "utf8").trim());
    const forced = await sanbootRelay("keygen", "--site-key-file", other, "--force");
    expect(forced.code).toBe(0);
    expect(readFileSync(other, "utf8")).toContain("PRIVATE KEY");
  });

  it("check: the service with the token and the lab BMC with its login, one OK line each, exit 0", async () => {
    const r = await sanbootRelay("check", "--config", relayConfig("good", labLogin()));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^service\\s+-\\s+${escape(stack!.service.url)}\\s+OK\\s+reachable, token accepted for site lab$`));
    expect(lines[1]).toMatch(new RegExp(`^bmc\\s+${LAB_CREDENTIALS_REF}\\s+${escape(stack!.bmc.url)}\\s+OK\\s+Redfish .*login accepted, TLS verified against ca_file$`));
    expect(r.stdout + r.stderr).not.toContain(stack!.relayToken);
  });

  it("check: a wrong BMC password is one BMC_AUTH_FAILED line, never the password, and exit 1", async () => {
    const r = await sanbootRelay("check", "--config", relayConfig("badpw", labLogin({ password: "not-the-Passw0rd" })));
    expect(r.code).toBe(1);
    const bmcLine = r.stdout.split("\n").find((l) => l.startsWith("bmc"))!;
    expect(bmcLine).toMatch(/BMC_AUTH_FAILED\s+auth failed: the BMC refused the login of user "admin"/);
    expect(r.stdout + r.stderr).not.toContain("not-the-Passw0rd");
    expect(r.stdout).toMatch(/^service .* OK /m);
  });

  it("check: a CA that did not sign the BMC's certificate is BMC_TLS_UNTRUSTED, exit 1", async () => {
    const r = await sanbootRelay("check", "--config", relayConfig("badca", labLogin({ ca_file: "other-ca.pem" })));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^bmc .*BMC_TLS_UNTRUSTED\s+TLS untrusted \([A-Z_]+\): the certificate is not signed by ca_file$/m);
  });

  it("check: a token the service does not know is refused on the service line, exit 1", async () => {
    const config = relayConfig("badtoken", labLogin(), { token_file: "wrong-token" });
    writeFileSync(join(dir, "wrong-token"), "relay-0000-not-a-token\n", { mode: 0o600 });
    const r = await sanbootRelay("check", "--config", config);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^service .*UNAUTHENTICATED\s+token refused \(401\)/m);
    expect(r.stdout).not.toContain("relay-0000-not-a-token");
  });

  it("run: boots a node through the public API to active, then drains and exits 0 on SIGTERM", async () => {
    const config = relayConfig("run", labLogin());
    const child = spawn(process.execPath, [bundle, "run", "--config", config, "--relay-id", "bundle-relay"], { cwd: dir, env: bareEnv(), stdio: ["ignore", "pipe", "pipe"] });
    relay = child;
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

    const api = apiFor(stack!);
    const volumeId = await cinderAdmin(stack!).createVolume({ bootable: true });
    const { nodeId, systemId } = await enrollLabNode(stack!, api);
    await waitForRelay(stack!, LAB_SITE, "bundle-relay");
    const accepted = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
    expect(accepted.status).toBe(202);
    let active;
    try {
      active = await api.waitFor(accepted.body.request_id, ["active", "failed"], 90_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nrelay stdout:\n${stdout}\nrelay stderr:\n${stderr}`);
    }
    expect(active.state, JSON.stringify(active.error) + stderr).toBe("active");
    expect(active.target.auth_method).toBe("CHAP");
    expect(stack!.bmc.system(systemId).PowerState).toBe("On");

    process.kill(child.pid!, "SIGTERM");
    const end = await exited;
    expect(end, stderr).toEqual({ code: 0, signal: null });
    const logs = stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    // the node's inventory at enrollment, and the boot as one sequence of its three steps
    expect(logs.filter((l) => l.msg === "result reported").length).toBeGreaterThanOrEqual(2);
    expect(logs.filter((l) => l.msg === "sequence step finished").map((l) => l.step)).toEqual(["configure_firmware", "power_on", "await_boot"]);
    expect(logs.at(-1)).toMatchObject({ msg: "relay stopped", site: LAB_SITE, relay_id: "bundle-relay" });
    expect(stdout).not.toContain(stack!.relayToken);
    expect(stdout).not.toContain('"password"');
  }, 120_000);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
