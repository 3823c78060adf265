import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseRelayConfig, RelayConfigError } from "../../relay/config";

let dir: string;
let creds: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sanboot-relay-config-"));
  writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  creds = join(dir, "bmc.json");
  writeFileSync(
    creds,
    JSON.stringify({ "rack-1": { username: "admin", password: "pw1", ca_file: "ca.pem" }, lab: { username: "root", password: "pw2", insecure: true } }),
  );
  writeFileSync(join(dir, "token"), "tok-from-file\n");
});

const base = () => ["--service-url", "https://sanboot.example/v1beta", "--site", "dc1", "--token", "t0k", "--credentials-file", creds];

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RelayConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a RelayConfigError");
}

describe("relay configuration", () => {
  it("parses flags with their defaults and loads the credentials file (CA relative to it)", () => {
    const c = parseRelayConfig(base(), {}, undefined, { relayId: "host-1" });
    expect(c).toMatchObject({
      serviceUrl: "https://sanboot.example/v1beta",
      site: "dc1",
      token: "t0k",
      relayId: "host-1",
      concurrency: 8,
      waitSeconds: 20,
      heartbeatSeconds: 10,
    });
    expect(c.credentials.get("rack-1")).toEqual({ username: "admin", password: "pw1", ca: expect.stringContaining("BEGIN CERTIFICATE") });
    expect(c.credentials.get("lab")).toEqual({ username: "root", password: "pw2", insecure: true });
  });

  it("defaults the relay id to hostname and pid", () => {
    expect(parseRelayConfig(base(), {}).relayId).toMatch(new RegExp(`-${process.pid}$`));
  });

  it("reads the environment, with flags taking precedence, and --flag=value", () => {
    const env = {
      SANBOOT_RELAY_SERVICE_URL: "http://127.0.0.1:3000",
      SANBOOT_RELAY_SITE: "env-site",
      SANBOOT_RELAY_TOKEN_FILE: join(dir, "token"),
      SANBOOT_RELAY_CREDENTIALS: creds,
      SANBOOT_RELAY_CONCURRENCY: "3",
    };
    const c = parseRelayConfig(["--site=flag-site", "--wait-seconds", "5"], env);
    expect(c).toMatchObject({ serviceUrl: "http://127.0.0.1:3000", site: "flag-site", token: "tok-from-file", concurrency: 3, waitSeconds: 5 });
  });

  it.each([
    [["--concurrency", "0"], "--concurrency (SANBOOT_RELAY_CONCURRENCY) must be at least 1"],
    [["--concurrency", "many"], "--concurrency (SANBOOT_RELAY_CONCURRENCY) must be a number"],
    [["--wait-seconds", "60"], "--wait-seconds (SANBOOT_RELAY_WAIT_SECONDS) must be at most 25"],
    [["--heartbeat-seconds", "-1"], "--heartbeat-seconds (SANBOOT_RELAY_HEARTBEAT_SECONDS) must be at least"],
    [["--service-url", "ftp://x"], "--service-url (SANBOOT_RELAY_SERVICE_URL) must be an http(s) URL"],
    [["--service-url", "not a url"], "--service-url (SANBOOT_RELAY_SERVICE_URL) must be an http(s) URL"],
    [["--token-file", "/x"], "give one of --token"],
    [["--bogus", "1"], 'unknown argument "--bogus"'],
    [["--site"], "--site needs a value"],
  ])("rejects %j naming the flag", (extra, message) => {
    expect(errorOf(() => parseRelayConfig([...base(), ...extra], {}))).toContain(message);
  });

  it.each([
    ["--service-url", "--service-url (SANBOOT_RELAY_SERVICE_URL) is required"],
    ["--site", "--site (SANBOOT_RELAY_SITE) is required"],
    ["--token", "--token (SANBOOT_RELAY_TOKEN) or --token-file (SANBOOT_RELAY_TOKEN_FILE) is required"],
    ["--credentials-file", "--credentials-file (SANBOOT_RELAY_CREDENTIALS) is required"],
  ])("names %s when it is missing", (flag, message) => {
    const args = base();
    const i = args.indexOf(flag);
    args.splice(i, 2);
    expect(errorOf(() => parseRelayConfig(args, {}))).toContain(message);
  });

  it("names the credentials file and the entry at fault, never quoting a password", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ "rack-2": { username: "admin", password: 12345678 } }));
    const msg = errorOf(() => parseRelayConfig(["--service-url", "http://x", "--site", "s", "--token", "t", "--credentials-file", bad], {}));
    expect(msg).toContain(`--credentials-file (SANBOOT_RELAY_CREDENTIALS) ${bad}: at rack-2.password`);
    expect(msg).not.toContain("12345678");

    const notJson = join(dir, "broken.json");
    writeFileSync(notJson, '{"lab": {"username": "a", "password": "s3cr3t-value"');
    const msg2 = errorOf(() => parseRelayConfig(["--service-url", "http://x", "--site", "s", "--token", "t", "--credentials-file", notJson], {}));
    expect(msg2).toContain("not valid JSON");
    expect(msg2).not.toContain("s3cr3t-value");

    const noCa = join(dir, "noca.json");
    writeFileSync(noCa, JSON.stringify({ r: { username: "a", password: "b", ca_file: "missing.pem" } }));
    expect(errorOf(() => parseRelayConfig(["--service-url", "http://x", "--site", "s", "--token", "t", "--credentials-file", noCa], {}))).toContain(
      "r.ca_file",
    );
  });

  it("reads a pinned certificate fingerprint per BMC credential, and names a malformed one", () => {
    const pinned = join(dir, "pinned.json");
    const fp = "9E:4A:21:2B:E5:23:19:67:8A:E8:7D:E3:0B:DB:16:71:4F:85:DE:DF:1D:92:73:BC:97:EA:31:48:D8:71:00:37";
    writeFileSync(pinned, JSON.stringify({ r: { username: "a", password: "b", fingerprint_sha256: fp } }));
    const cfg = parseRelayConfig(["--service-url", "http://x", "--site", "s", "--token", "t", "--credentials-file", pinned], {});
    expect(cfg.credentials.get("r")?.fingerprint_sha256).toBe(fp);
    writeFileSync(pinned, JSON.stringify({ r: { username: "a", password: "b", fingerprint_sha256: "abc" } }));
    expect(errorOf(() => parseRelayConfig(["--service-url", "http://x", "--site", "s", "--token", "t", "--credentials-file", pinned], {}))).toContain(
      "r.fingerprint_sha256",
    );
  });
});
