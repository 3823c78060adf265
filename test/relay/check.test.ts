/**
 * `sanboot-relay check` line by line, in process: each BMC fault the lab emulator (over HTTPS)
 * and a closed port can produce, and the service's answers from its wire double. The bundle test
 * runs the same checks against the whole local stack.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator } from "../../lab/redfish-emulator";
import { RedfishAgentPool } from "../../lib/bmc/redfish-transport";
import { checkBmc, checkService, formatCheckLine, runChecks, type CheckLine } from "../../relay/check";
import type { BmcCredential } from "../../relay/config";
import { FakeRelayService, SITE_TOKEN } from "./doubles";

let emulator: RedfishEmulator;
let service: FakeRelayService;
let pool: RedfishAgentPool;
let closedPort: number;

beforeAll(async () => {
  emulator = await startRedfishEmulator({ powerDelayMs: 10 });
  service = await new FakeRelayService().start();
  pool = new RedfishAgentPool(2_000);
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
});

afterAll(async () => {
  await pool.close();
  await service.close();
  await emulator.close();
});

const login = (extra: Partial<BmcCredential> = {}): BmcCredential => ({ username: "admin", password: "password", ca: emulator.caPem, ...extra });

describe("check, BMC lines", () => {
  it("is OK for a BMC that answers Redfish over TLS verified against ca_file and accepts the login", async () => {
    expect(await checkBmc("lab", login(), emulator.url, pool)).toMatchObject({
      status: "OK",
      code: "OK",
      reason: expect.stringMatching(/^Redfish 1\.\d+\.\d+, \d+ systems?, login accepted, TLS verified against ca_file$/),
    });
  });

  it.each<[string, Partial<BmcCredential>, string, RegExp]>([
    ["a wrong password", { password: "wrong" }, "BMC_AUTH_FAILED", /^auth failed: the BMC refused the login of user "admin"$/],
    ["no ca_file (the lab CA is no system CA)", { ca: undefined }, "BMC_TLS_UNTRUSTED", /^TLS untrusted \([A-Z_]+\): the certificate is not signed by a system CA/],
    ["another certificate pinned", { ca: undefined, fingerprint_sha256: "00".repeat(32) }, "BMC_TLS_UNTRUSTED", /^TLS untrusted \(CERT_FINGERPRINT_MISMATCH\): not the certificate fingerprint_sha256 pins$/],
  ])("names %s", async (_what, change, code, reason) => {
    const line = await checkBmc("lab", login(change), emulator.url, pool);
    expect(line).toMatchObject({ status: "FAILED", code });
    expect(line.reason).toMatch(reason);
  });

  it("says so when TLS is not verified, the entry's explicit choice", async () => {
    const line = await checkBmc("lab", login({ ca: undefined, insecure: true }), emulator.url, pool);
    expect(line).toMatchObject({ status: "OK", reason: expect.stringContaining("TLS NOT verified (insecure: true)") });
  });

  it("names a BMC nothing answers for as unreachable", async () => {
    expect(await checkBmc("lab", login(), `https://127.0.0.1:${closedPort}`, pool)).toMatchObject({
      status: "FAILED",
      code: "BMC_UNREACHABLE",
      reason: "unreachable (ECONNREFUSED)",
    });
  });
});

describe("check, the service line", () => {
  it("is OK when the service says the token is one of this relay's site", async () => {
    service.onWhoami = (req) => (req.auth === `Bearer ${SITE_TOKEN}` ? { status: 200, body: { site: "dc1" } } : undefined);
    try {
      expect(await checkService({ serviceUrl: service.url, token: SITE_TOKEN, site: "dc1" })).toMatchObject({ status: "OK", reason: "reachable, token accepted for site dc1" });
    } finally {
      service.onWhoami = () => undefined;
    }
  });

  it("fails naming both sites when the token belongs to another site than the relay is configured for", async () => {
    service.onWhoami = () => ({ status: 200, body: { site: "dc2" } });
    try {
      expect(await checkService({ serviceUrl: service.url, token: SITE_TOKEN, site: "dc1" })).toMatchObject({
        status: "FAILED",
        code: "SITE_MISMATCH",
        reason: "token accepted, but as a token of site dc2, not dc1",
      });
    } finally {
      service.onWhoami = () => undefined;
    }
  });

  it("is OK with a service from before whoami when it takes the token (a heartbeat of a command that cannot exist: LEASE_LOST)", async () => {
    service.onHeartbeat = () => ({ status: 409, body: { error: { code: "LEASE_LOST", message: "no such lease" } } });
    const before = service.heartbeats.length;
    expect(await checkService({ serviceUrl: service.url, token: SITE_TOKEN })).toMatchObject({ status: "OK", reason: "reachable, token accepted (this service does not say for which site)" });
    const probe = service.heartbeats[before]!;
    expect(probe.auth).toBe(`Bearer ${SITE_TOKEN}`);
    expect(probe.path).toBe("/v1/relay/commands/00000000-0000-0000-0000-000000000000.relay_check.0/heartbeat");
    expect(service.leases).toEqual([]); // no work leased
  });

  it.each<[string, () => { serviceUrl: string }, string, string]>([
    ["a refused token", () => ((service.onHeartbeat = () => ({ status: 401, body: { error: { code: "UNAUTHENTICATED", message: "no" } } })), { serviceUrl: service.url }), "UNAUTHENTICATED", "token refused (401): not a relay token the service knows"],
    ["a URL with no relay API", () => ({ serviceUrl: `${service.url}/not-sanboot` }), "NOT_FOUND", "no sanboot relay API at this URL (404)"],
    ["nothing listening", () => ({ serviceUrl: `http://127.0.0.1:${closedPort}` }), "SERVICE_UNREACHABLE", "unreachable (ECONNREFUSED)"],
  ])("names %s", async (_what, arrange, code, reason) => {
    expect(await checkService({ ...arrange(), token: SITE_TOKEN })).toMatchObject({ status: "FAILED", code, reason });
  });
});

describe("check, all lines", () => {
  it("come service first, then each address of each entry in the file's order; an entry without addresses is SKIPPED", async () => {
    service.onHeartbeat = () => ({ status: 409, body: { error: { code: "LEASE_LOST", message: "no such lease" } } });
    const credentials = new Map<string, BmcCredential>([
      ["b-first", login({ check: [emulator.url, `https://127.0.0.1:${closedPort}`] })],
      ["a-no-addresses", login()],
      ["c-bad-login", login({ password: "nope", check: [emulator.url] })],
    ]);
    const lines: CheckLine[] = [];
    for await (const l of runChecks({ serviceUrl: service.url, token: SITE_TOKEN, credentials }, { timeoutMs: 2_000, concurrency: 2 })) lines.push(l);
    expect(lines.map((l) => [l.subject, l.ref ?? "-", l.code])).toEqual([
      ["service", "-", "OK"],
      ["bmc", "b-first", "OK"],
      ["bmc", "b-first", "BMC_UNREACHABLE"],
      ["bmc", "a-no-addresses", "SKIPPED"],
      ["bmc", "c-bad-login", "BMC_AUTH_FAILED"],
    ]);
  });

  it("never show a secret, even one a reason quotes", () => {
    const line: CheckLine = { subject: "bmc", ref: "r", address: "https://10.0.0.5", status: "FAILED", code: "BMC_REJECTED", reason: `echoed hunter2 and ${SITE_TOKEN}` };
    const text = formatCheckLine(line, { ref: 4, address: 20 }, ["hunter2", SITE_TOKEN]);
    expect(text).toBe("bmc      r     https://10.0.0.5      BMC_REJECTED            echoed [redacted] and [redacted]");
  });
});
