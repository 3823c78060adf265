import { X509Certificate } from "node:crypto";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLabTls, startRedfishEmulator, type RedfishEmulator } from "../../lab/redfish-emulator";
import type { BmcEndpoint } from "../../lib/bmc/driver";
import { RedfishAgentPool, RedfishTransport } from "../../lib/bmc/redfish-transport";
import { SanbootError } from "../../lib/errors";

const PASSWORD = "Tr0ub4dor&3-lab";
let emu: RedfishEmulator;
let otherCa: string;
let otherDir: string;
const pool = new RedfishAgentPool(2_000);

beforeAll(async () => {
  emu = await startRedfishEmulator({ port: 0, password: PASSWORD, systems: [{ id: "tr-1" }] });
  otherDir = mkdtempSync(join(tmpdir(), "sanboot-other-ca-"));
  otherCa = ensureLabTls(join(otherDir, "tls")).caPem;
});
afterAll(async () => {
  await pool.close();
  await emu.close();
  rmSync(otherDir, { recursive: true, force: true });
});

const endpoint = (over: Partial<BmcEndpoint> = {}): BmcEndpoint => ({
  address: emu.url,
  system_id: "tr-1",
  username: "admin",
  password: PASSWORD,
  tls: { ca: emu.caPem },
  ...over,
});
const transport = (ep: BmcEndpoint, timeoutMs = 2_000) => new RedfishTransport(ep, pool.agentFor(ep), { timeoutMs });

async function failure(p: Promise<unknown>): Promise<SanbootError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SanbootError);
  return err as SanbootError;
}

describe("RedfishTransport", () => {
  it("verifies the BMC against the node's CA and captures the ETag", async () => {
    const reply = await transport(endpoint()).get("/redfish/v1/Systems/tr-1");
    expect(reply.body.Id).toBe("tr-1");
    expect(reply.etag).toMatch(/^"[0-9a-f]+"$/);
    expect(reply.etag).toBe(reply.body["@odata.etag"]);
  });

  it("refuses a BMC whose certificate another CA signed, for good, as BMC_TLS_UNTRUSTED", async () => {
    const err = await failure(transport(endpoint({ tls: { ca: otherCa } })).get("/redfish/v1/Systems"));
    expect(err.code).toBe("BMC_TLS_UNTRUSTED");
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/TLS verification/);
  });

  it("connects to that BMC only when the node is marked insecure", async () => {
    const reply = await transport(endpoint({ tls: { ca: otherCa, insecure: true } })).get("/redfish/v1/Systems");
    expect(reply.status).toBe(200);
  });

  it("connects to a BMC whose own certificate is pinned by fingerprint, with no CA at all", async () => {
    const fp = new X509Certificate(ensureLabTls(emu.tlsDir).certPem).fingerprint256;
    const reply = await transport(endpoint({ tls: { fingerprint_sha256: fp } })).get("/redfish/v1/Systems");
    expect(reply.status).toBe(200);
    // colons and case do not matter
    const bare = fp.replace(/:/g, "").toLowerCase();
    expect((await transport(endpoint({ tls: { fingerprint_sha256: bare } })).get("/redfish/v1/Systems")).status).toBe(200);
  });

  it("refuses, for good, a BMC whose certificate is not the pinned one, as BMC_TLS_UNTRUSTED", async () => {
    const other = new X509Certificate(ensureLabTls(join(otherDir, "tls")).certPem).fingerprint256;
    const err = await failure(transport(endpoint({ tls: { fingerprint_sha256: other } })).get("/redfish/v1/Systems"));
    expect(err.code).toBe("BMC_TLS_UNTRUSTED");
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/CERT_FINGERPRINT_MISMATCH/);
  });

  it("translates 401 to BMC_AUTH_FAILED without the password anywhere", async () => {
    const wrong = "wrong-" + PASSWORD;
    const err = await failure(transport(endpoint({ password: wrong })).get("/redfish/v1/Systems/tr-1"));
    expect(err.code).toBe("BMC_AUTH_FAILED");
    expect(err.retryable).toBe(false);
    const everything = JSON.stringify({ m: err.message, d: err.details, s: err.stack, c: String(err.cause) });
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(PASSWORD);
  });

  it("translates 5xx to retryable BMC_UNREACHABLE", async () => {
    emu.setFaults("tr-1", { failNext: 1, failStatus: 503 });
    const err = await failure(transport(endpoint()).get("/redfish/v1/Systems/tr-1"));
    expect(err).toMatchObject({ code: "BMC_UNREACHABLE", retryable: true });
    expect(err.message).toContain("InternalError");
  });

  it("translates a dropped connection to retryable BMC_UNREACHABLE", async () => {
    emu.setFaults("tr-1", { dropNext: 1 });
    const err = await failure(transport(endpoint()).get("/redfish/v1/Systems/tr-1"));
    expect(err).toMatchObject({ code: "BMC_UNREACHABLE", retryable: true });
  });

  it("times out a BMC that does not answer", async () => {
    emu.setFaults("tr-1", { latencyMs: 600 });
    try {
      const err = await failure(transport(endpoint(), 200).get("/redfish/v1/Systems/tr-1"));
      expect(err).toMatchObject({ code: "BMC_UNREACHABLE", retryable: true });
      expect(err.message).toMatch(/timed out after 200 ms/);
    } finally {
      emu.clearFaults("tr-1");
    }
  });

  it("translates 412 to retryable BMC_ETAG_MISMATCH", async () => {
    const err = await failure(transport(endpoint()).patch("/redfish/v1/Systems/tr-1", { Boot: { BootSourceOverrideEnabled: "Disabled" } }, '"stale"'));
    expect(err).toMatchObject({ code: "BMC_ETAG_MISMATCH", retryable: true });
  });

  it("translates other 4xx to BMC_REJECTED carrying the ExtendedInfo MessageIds", async () => {
    const err = await failure(
      transport(endpoint()).patch("/redfish/v1/Systems/tr-1", { Boot: { BootSourceOverrideTarget: "Floppy", Bogus: 1 } }),
    );
    expect(err.code).toBe("BMC_REJECTED");
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("Base.1.8.PropertyValueNotInList");
    expect(err.message).toContain("Base.1.8.PropertyUnknown");
    expect(err.details.map((d) => d.field)).toEqual(["#/Boot/BootSourceOverrideTarget", "#/Boot/Bogus"]);
  });

  it("keeps a body that is not Redfish JSON in the error, cut short, and without the password", async () => {
    const tls = ensureLabTls(emu.tlsDir);
    const proxyish = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
      res.writeHead(400, { "content-type": "text/html" }).end(`<html><body><h1>Bad Request</h1><p>login ${PASSWORD} refused by the front end; ${"x".repeat(600)}</p></body></html>`);
    });
    await new Promise<void>((r) => proxyish.listen(0, "127.0.0.1", () => r()));
    try {
      const ep = endpoint({ address: `https://127.0.0.1:${(proxyish.address() as AddressInfo).port}` });
      const err = await failure(transport(ep).get("/redfish/v1/Systems"));
      expect(err.code).toBe("BMC_REJECTED");
      expect(err.message).toMatch(/answered 400 to GET \/redfish\/v1\/Systems: Bad Request login \*\*\* refused by the front end/);
      expect(err.message).not.toContain(PASSWORD);
      expect(err.message).not.toContain("<");
      expect(err.message.length).toBeLessThan(500);
    } finally {
      proxyish.closeAllConnections();
      proxyish.close();
    }
  });

  it("ends a call at the caller's deadline, and at once when the caller's work is abandoned", async () => {
    emu.setFaults("tr-1", { latencyMs: 600 });
    try {
      const soon = await failure(transport(endpoint({ budget: { deadline: Date.now() + 150 } }), 10_000).get("/redfish/v1/Systems/tr-1"));
      expect(soon).toMatchObject({ code: "BMC_UNREACHABLE", retryable: true });
      expect(soon.message).toMatch(/timed out after 1\d\d ms/);
      const lease = new AbortController();
      const call = transport(endpoint({ budget: { deadline: Date.now() + 10_000, signal: lease.signal } }), 10_000).get("/redfish/v1/Systems/tr-1");
      setTimeout(() => lease.abort(), 50);
      expect((await failure(call)).code).toBe("LEASE_LOST");
    } finally {
      emu.clearFaults("tr-1");
    }
  });

  it("never follows a link to another host with the credentials", async () => {
    const err = await failure(transport(endpoint()).get("https://evil.example/redfish/v1"));
    expect(err.code).toBe("BMC_REJECTED");
  });
});
