import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseKeygenArgs, parseRelayConfig, RelayConfigError, type ConfigFiles } from "../../relay/config";

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

  it("reads the BMC addresses `check` tries each login on, and names one that is not a URL", () => {
    const withCheck = join(dir, "check.json");
    writeFileSync(withCheck, JSON.stringify({ r: { username: "a", password: "b", check: ["https://10.0.0.5", "https://bmc-7.example:8443"] }, s: { username: "c", password: "d" } }));
    const cfg = parseRelayConfig(["--service-url", "http://x", "--site", "s", "--token", "t", "--credentials-file", withCheck], {});
    expect(cfg.credentials.get("r")).toEqual({ username: "a", password: "b", check: ["https://10.0.0.5", "https://bmc-7.example:8443"] });
    expect(cfg.credentials.get("s")).toEqual({ username: "c", password: "d" });
    writeFileSync(withCheck, JSON.stringify({ r: { username: "a", password: "b", check: ["10.0.0.5"] } }));
    expect(errorOf(() => parseRelayConfig(["--service-url", "http://x", "--site", "s", "--token", "t", "--credentials-file", withCheck], {}))).toContain(
      "r.check.0: must be an http(s) URL of a BMC",
    );
  });
});

describe("relay configuration file (--config)", () => {
  let conf: string;
  beforeAll(() => {
    mkdirSync(join(dir, "etc"), { recursive: true });
    writeFileSync(join(dir, "etc", "token"), "tok-of-the-file\n");
    writeFileSync(join(dir, "etc", "bmc.json"), JSON.stringify({ lab: { username: "root", password: "pw", check: ["https://10.0.0.5"] } }));
    conf = join(dir, "etc", "relay.json");
    writeFileSync(
      conf,
      JSON.stringify({ service_url: "https://sanboot.example", site: "dc7", token_file: "token", credentials_file: "bmc.json", concurrency: 3, wait_seconds: 15 }),
    );
  });

  it("sets what flags and environment leave unset, its paths relative to itself", () => {
    const c = parseRelayConfig(["--config", conf], {});
    expect(c).toMatchObject({ serviceUrl: "https://sanboot.example", site: "dc7", token: "tok-of-the-file", credentialsFile: join(dir, "etc", "bmc.json"), concurrency: 3, waitSeconds: 15, heartbeatSeconds: 10 });
    expect(c.credentials.get("lab")).toMatchObject({ username: "root", check: ["https://10.0.0.5"] });
  });

  it("gives way to flags and the environment, a token given either way included", () => {
    const c = parseRelayConfig(["--config", conf, "--concurrency", "5", "--token", "from-flag"], { SANBOOT_RELAY_SITE: "env-site" });
    expect(c).toMatchObject({ concurrency: 5, site: "env-site", token: "from-flag" });
    expect(parseRelayConfig([], { SANBOOT_RELAY_CONFIG: conf }).site).toBe("dc7");
  });

  it.each([
    [{ service_url: "https://x", token: "inline" }, 'unknown key "token" (give the token in its own file: token_file)'],
    [{ servce_url: "https://x" }, 'unknown key "servce_url"; known keys: service_url,'],
    [{ site: ["dc1"] }, "site must be a string or a number"],
  ])("refuses %j, naming the file", (content, message) => {
    const bad = join(dir, "etc", "bad.json");
    writeFileSync(bad, JSON.stringify(content));
    expect(errorOf(() => parseRelayConfig(["--config", bad], {}))).toContain(`--config (SANBOOT_RELAY_CONFIG) ${bad}: ${message}`);
  });

  it("names the file and its key when one of its values is wrong", () => {
    const bad = join(dir, "etc", "bad-value.json");
    writeFileSync(bad, JSON.stringify({ service_url: "https://x", site: "s", token_file: "token", credentials_file: "bmc.json", wait_seconds: 90 }));
    expect(errorOf(() => parseRelayConfig(["--config", bad], {}))).toBe(`${bad}: wait_seconds must be at most 25`);
  });

  it("is not JSON: said without quoting it", () => {
    const bad = join(dir, "etc", "broken.json");
    writeFileSync(bad, '{"service_url": "https://x", "token_file": "s3cr3t');
    const msg = errorOf(() => parseRelayConfig(["--config", bad], {}));
    expect(msg).toContain("not valid JSON");
    expect(msg).not.toContain("s3cr3t");
  });

  it("packaging/relay's examples are a configuration this relay reads", () => {
    const examples = join(__dirname, "..", "..", "packaging", "relay");
    const files: ConfigFiles = {
      readFile: (p) => {
        if (p === join(examples, "token")) return "example-token\n";
        if (p === join(examples, "bmc-credentials.json")) return readFileSync(join(examples, "bmc-credentials.example.json"), "utf8");
        if (p === join(examples, "bmc-ca.pem")) return "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        if (p === join(examples, "site-key.pem")) return "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n";
        return readFileSync(p, "utf8");
      },
    };
    const c = parseRelayConfig(["--config", join(examples, "relay.example.json")], {}, files);
    expect(c).toMatchObject({ site: "dc1", token: "example-token", concurrency: 8, waitSeconds: 20, heartbeatSeconds: 10, stopTimeoutSeconds: 60 });
    expect([...c.credentials.keys()]).toEqual(["rack-a", "legacy-ilo"]);
    expect(c.credentials.get("rack-a")!.check).toHaveLength(2);
  });
});

describe("keygen arguments", () => {
  it("take the private key's path from --site-key-file, the environment or the config file; the public key goes beside it", () => {
    expect(parseKeygenArgs(["--site-key-file", "/etc/s/site.pem", "--force"], {})).toEqual({ privateKeyFile: "/etc/s/site.pem", publicKeyFile: "/etc/s/site.pem.pub", force: true });
    expect(parseKeygenArgs([], { SANBOOT_RELAY_SITE_KEY_FILE: "/k.pem", SANBOOT_RELAY_SITE: "dc2" })).toEqual({ privateKeyFile: "/k.pem", publicKeyFile: "/k.pem.pub", force: false, site: "dc2" });
    const conf = join(dir, "keygen.json");
    writeFileSync(conf, JSON.stringify({ site: "dc3", site_key_file: "keys/site.pem", service_url: "https://x" }));
    expect(parseKeygenArgs(["--config", conf], {})).toMatchObject({ privateKeyFile: join(dir, "keys", "site.pem"), site: "dc3", force: false });
  });

  it("refuse to guess where the private key goes", () => {
    expect(errorOf(() => parseKeygenArgs([], {}))).toContain("keygen needs --site-key-file FILE");
    expect(errorOf(() => parseKeygenArgs(["--token", "x"], {}))).toContain('unknown argument "--token"');
  });
});
