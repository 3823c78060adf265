/**
 * Keystone's times are UTC. Where an application credential's expiry cuts a token short, Keystone
 * writes `expires_at` without a zone; read as local time, a token in UTC+9 looks expired at once
 * (a new one every call) and in UTC-8 an expired one looks valid. Checked under several TZ values
 * (Node applies a changed process.env.TZ at once).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { issueToken, keystoneTime } from "../../lib/cinder/keystone-tokens";

const ZONES = ["UTC", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Chatham"];
const originalTz = process.env["TZ"];
afterEach(() => {
  if (originalTz === undefined) delete process.env["TZ"];
  else process.env["TZ"] = originalTz;
});

describe.each(ZONES)("TZ=%s", (zone) => {
  it("reads a time without a zone as UTC, and one with a zone as that zone", () => {
    process.env["TZ"] = zone;
    const utc = Date.UTC(2026, 11, 2, 10, 0, 0);
    expect(keystoneTime("2026-12-02T10:00:00.000000")).toBe(utc);
    expect(keystoneTime("2026-12-02T10:00:00")).toBe(utc);
    expect(keystoneTime("2026-12-02T10:00:00.000000Z")).toBe(utc);
    expect(keystoneTime("2026-12-02T19:00:00+09:00")).toBe(utc);
    expect(keystoneTime("2026-12-02T02:00:00-0800")).toBe(utc);
    expect(keystoneTime("tomorrow")).toBeNaN();
    expect(keystoneTime("2026-12-02")).toBeNaN();
  });
});

describe("a token cut short by its application credential's expiry", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // Keystone's answer: issued_at with a zone, expires_at (the credential's expiry) without one
    server = createServer((_req, res) => {
      res.writeHead(201, { "content-type": "application/json", "x-subject-token": "gAAAAB-token" });
      res.end(JSON.stringify({ token: { issued_at: "2026-12-02T10:00:00.000000Z", expires_at: "2026-12-02T10:30:00.000000", roles: [{ name: "member" }], project: { id: "p1" } } }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it.each(ZONES)("lives 30 minutes in TZ=%s", async (zone) => {
    process.env["TZ"] = zone;
    const token = await issueToken({
      authUrl: url,
      credentials: { method: "application_credential", id: "ac1", secret: "ac-secret-1" },
      timeoutMs: 5_000,
      now: () => new Date(Date.UTC(2026, 11, 2, 10, 0, 1)),
      configHint: "SANBOOT_KEYSTONE_APP_CRED_ID / SANBOOT_KEYSTONE_APP_CRED_SECRET",
    });
    expect(token.lifetimeMs).toBe(30 * 60_000);
  });
});
