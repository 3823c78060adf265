/**
 * The Cinder client authenticating with Keystone v3: password and application credential, the
 * endpoint from the catalog, the token cache, one renewal on a 401, the service token on detach,
 * and no secret in any error. Real HTTP throughout: the lab Keystone and a Cinder emulator that
 * validates every token with it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startCinderEmulator } from "../../lab/cinder-emulator/server";
import { request } from "undici";
import { cinderServices, startKeystoneEmulator } from "../../lab/keystone-emulator/server";
import type { CinderClient } from "../../lib/cinder/cinder-client";
import { CinderAdmin } from "../cinder/cinder-admin";
import { codeOf, connector } from "../cinder/contract";
import {
  APP_CRED_ID,
  APP_CRED_SECRET,
  keystoneClient,
  manualClock,
  passwordSettings,
  SANBOOT_PASSWORD,
  SERVICE_PASSWORD,
  startKeystoneLab,
  WITH_SERVICE_ROLE_PASSWORD,
  type KeystoneLab,
} from "./keystone-lab";

let lab: KeystoneLab;
let admin: CinderAdmin;
let volumeId: string;
const clients: CinderClient[] = [];

function track(c: CinderClient): CinderClient {
  clients.push(c);
  return c;
}

beforeAll(async () => {
  lab = await startKeystoneLab({ tokenLifetimeSeconds: 3600 });
  // the suite's admin: a user with the service role in sanboot's project
  const ops = track(keystoneClient(passwordSettings(lab, { credentials: { method: "password", username: "sanboot-ops", userDomainName: "Default", password: WITH_SERVICE_ROLE_PASSWORD, project: { name: "sanboot", domainName: "Default" } } })));
  const session = await ops.transport.auth.session();
  admin = new CinderAdmin(lab.cinder.url, lab.project, "3.70", { token: session.headers["X-Auth-Token"]!, serviceToken: session.headers["X-Auth-Token"]! });
  volumeId = await admin.createVolume();
});
afterEach(async () => {
  await admin.clearAttachments(volumeId);
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await lab.close();
});

describe("authenticating", () => {
  it("with a password, scoped by project name and domain: attach and detach work", async () => {
    const c = track(keystoneClient(passwordSettings(lab)));
    const req = { volumeId, instanceUuid: randomUUID(), connector: connector() };
    const att = await c.attach(req);
    expect(att.connection.driver_volume_type === "iscsi" && att.connection.target_iqn).toBe(`iqn.2010-10.org.openstack:volume-${volumeId}`);
    expect((await admin.volume(volumeId)).status).toBe("in-use");
    await c.detach(volumeId, req.instanceUuid);
    expect(await admin.attachments(volumeId)).toEqual([]);
  });

  it("with a password, scoped by project id", async () => {
    const settings = passwordSettings(lab);
    const c = track(
      keystoneClient({ ...settings, credentials: { method: "password", username: "sanboot", userDomainName: "Default", password: SANBOOT_PASSWORD, project: { id: lab.project } } }),
    );
    expect((await c.getVolume(volumeId)).project_id).toBe(lab.project);
  });

  it("with an application credential (its project comes with it)", async () => {
    const c = track(keystoneClient(passwordSettings(lab, { credentials: { method: "application_credential", id: APP_CRED_ID, secret: APP_CRED_SECRET } })));
    expect((await c.getVolume(volumeId)).status).toBe("available");
    expect((await c.transport.auth.session()).projectId).toBe(lab.project);
  });

  it("a wrong password is CINDER_AUTH_FAILED naming the user, never the password", async () => {
    const wrong = "Wrong-Pass-Word-123";
    const settings = passwordSettings(lab);
    const c = track(keystoneClient({ ...settings, credentials: { method: "password", username: "sanboot", userDomainName: "Default", password: wrong, project: { name: "sanboot", domainName: "Default" } } }));
    const err = (await c.getVolume(volumeId).catch((e: unknown) => e)) as Error & { code: string; retryable: boolean };
    expect(err).toMatchObject({ code: "CINDER_AUTH_FAILED", retryable: false });
    expect(err.message).toContain("user 'sanboot' in domain 'Default'");
    expect(err.message).toContain("401");
    expect(JSON.stringify({ message: err.message, stack: err.stack, cause: String(err.cause) })).not.toContain(wrong);
  });

  it("a wrong application credential secret is CINDER_AUTH_FAILED naming the credential, never the secret", async () => {
    const wrong = "not-the-secret-Qq1";
    const c = track(keystoneClient(passwordSettings(lab, { credentials: { method: "application_credential", id: APP_CRED_ID, secret: wrong } })));
    const err = (await c.getVolume(volumeId).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: "CINDER_AUTH_FAILED", retryable: false });
    expect(err.message).toContain(`application credential ${APP_CRED_ID}`);
    expect(err.message).not.toContain(wrong);
  });

  it("Keystone unreachable is CINDER_UNAVAILABLE, retryable", async () => {
    const c = track(keystoneClient({ ...passwordSettings(lab), authUrl: "http://127.0.0.1:9/v3" }));
    const err = await c.getVolume(volumeId).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CINDER_UNAVAILABLE", retryable: true });
    expect((err as Error).message).not.toContain(SANBOOT_PASSWORD);
  });
});

describe("the endpoint from the catalog", () => {
  it("takes the chosen interface and region", async () => {
    // public points nowhere; internal in RegionTwo is the real one
    lab.keystone.setServices([
      { type: "block-storage", name: "cinder", endpoints: [
        { interface: "public", region: "RegionTwo", url: "http://127.0.0.1:9/v3/%(project_id)s" },
        { interface: "internal", region: "RegionOne", url: "http://127.0.0.1:9/v3/%(project_id)s" },
        { interface: "internal", region: "RegionTwo", url: `${lab.cinder.url}/v3/%(project_id)s` },
      ] },
    ]);
    try {
      const c = track(keystoneClient(passwordSettings(lab, { interface: "internal", region: "RegionTwo" })));
      expect((await c.getVolume(volumeId)).id).toBe(volumeId);
      expect((await c.transport.auth.session()).root).toBe(lab.cinder.url);
    } finally {
      lab.keystone.setServices(cinderServices(lab.cinder.url));
    }
  });

  it("falls back to volumev3 when there is no block-storage service", async () => {
    lab.keystone.setServices([{ type: "volumev3", name: "cinderv3", endpoints: [{ interface: "public", region: "RegionOne", url: `${lab.cinder.url}/v3/%(project_id)s` }] }]);
    try {
      const c = track(keystoneClient(passwordSettings(lab)));
      expect((await c.getVolume(volumeId)).id).toBe(volumeId);
    } finally {
      lab.keystone.setServices(cinderServices(lab.cinder.url));
    }
  });

  it("no endpoint for the choice is CINDER_AUTH_FAILED listing what the catalog offers", async () => {
    const c = track(keystoneClient(passwordSettings(lab, { region: "Nowhere" })));
    const err = (await c.getVolume(volumeId).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: "CINDER_AUTH_FAILED", retryable: false });
    expect(err.message).toContain("in region 'Nowhere'");
    expect(err.message).toContain("block-storage public RegionOne");
  });
});

describe("the token cache", () => {
  it("one token serves many calls", async () => {
    const c = track(keystoneClient(passwordSettings(lab, { service: { kind: "main" } })));
    const before = lab.keystone.stats().tokensIssued;
    for (let i = 0; i < 5; i++) await c.getVolume(volumeId);
    expect(lab.keystone.stats().tokensIssued - before).toBe(1);
  });

  it("a token is renewed five minutes before it expires, not after", async () => {
    const clock = manualClock();
    const c = track(keystoneClient(passwordSettings(lab, { service: { kind: "main" } }), { clock }));
    const before = lab.keystone.stats().tokensIssued;
    await c.getVolume(volumeId);
    clock.advance(54 * 60_000); // 6 minutes left
    await c.getVolume(volumeId);
    expect(lab.keystone.stats().tokensIssued - before).toBe(1);
    clock.advance(2 * 60_000); // 4 minutes left: inside the margin
    await c.getVolume(volumeId);
    expect(lab.keystone.stats().tokensIssued - before).toBe(2);
  });

  it("a token Keystone revoked is renewed once on Cinder's 401, and the call goes through", async () => {
    const c = track(keystoneClient(passwordSettings(lab, { service: { kind: "main" } })));
    await c.getVolume(volumeId);
    const before = lab.keystone.stats().tokensIssued;
    const requestsBefore = lab.cinder.stats().requests;
    // revoked the way Keystone's API does it (a token may revoke itself)
    const token = (await c.transport.auth.session()).headers["X-Auth-Token"]!;
    const revoked = await request(`${lab.keystone.url}/v3/auth/tokens`, { method: "DELETE", headers: { "X-Auth-Token": token, "X-Subject-Token": token } });
    await revoked.body.text();
    expect(revoked.statusCode).toBe(204);
    expect((await c.getVolume(volumeId)).id).toBe(volumeId);
    expect(lab.keystone.stats().tokensIssued - before).toBe(1);
    expect(lab.cinder.stats().requests - requestsBefore).toBe(2); // the 401, then the retry
  });

  it("a Cinder that keeps answering 401 (it trusts another Keystone) is CINDER_REJECTED after one renewal", async () => {
    const otherKeystone = await startKeystoneEmulator({ projects: [], users: [], services: [] });
    const stranger = await startCinderEmulator({ port: 0, createDelayMs: 10, keystoneUrl: otherKeystone.url });
    try {
      const c = track(keystoneClient({ ...passwordSettings(lab), endpointOverride: stranger.url }));
      const before = lab.keystone.stats().tokensIssued;
      const err = (await c.getVolume(volumeId).catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ code: "CINDER_REJECTED", retryable: false });
      expect(err.message).toContain("401");
      expect(lab.keystone.stats().tokensIssued - before).toBe(2);
      expect(stranger.stats().requests).toBe(3); // GET / (public), then the call: 401, renewed, 401
    } finally {
      await stranger.close();
      await otherKeystone.close();
    }
  });
});

describe("the service token on detach", () => {
  async function attached(): Promise<{ volumeId: string; instanceUuid: string }> {
    const req = { volumeId, instanceUuid: randomUUID(), connector: connector() };
    await track(keystoneClient(passwordSettings(lab))).attach(req);
    return req;
  }

  it("a separate service user's token lets Cinder delete the attachment", async () => {
    const req = await attached();
    await track(keystoneClient(passwordSettings(lab))).detach(req.volumeId, req.instanceUuid);
    expect(await admin.attachments(volumeId)).toEqual([]);
  });

  it("sanboot's own token serves when its user holds the service role", async () => {
    const req = await attached();
    const ops = { method: "password" as const, username: "sanboot-ops", userDomainName: "Default", password: WITH_SERVICE_ROLE_PASSWORD, project: { name: "sanboot", domainName: "Default" } };
    await track(keystoneClient(passwordSettings(lab, { credentials: ops, service: { kind: "main" } }))).detach(req.volumeId, req.instanceUuid);
    expect(await admin.attachments(volumeId)).toEqual([]);
  });

  it.each([
    { whose: "sanboot's own token", service: { kind: "main" as const }, names: ["SANBOOT_KEYSTONE_SERVICE_TOKEN_FROM_MAIN", "user 'sanboot'"] },
    {
      whose: "a service user without the role",
      service: { kind: "separate" as const, credentials: { method: "password" as const, username: "sanboot", userDomainName: "Default", password: SANBOOT_PASSWORD, project: { name: "sanboot", domainName: "Default" } } },
      names: ["SANBOOT_KEYSTONE_SERVICE_*", "user 'sanboot'"],
    },
  ])("$whose, without the service role, is refused before use: CINDER_AUTH_FAILED naming the credentials and the role", async ({ service, names }) => {
    const req = await attached();
    // a DELETE reaching Cinder would fire this
    lab.cinder.failNext({ method: "DELETE", status: 500 });
    const err = (await track(keystoneClient(passwordSettings(lab, { service })))
      .detach(req.volumeId, req.instanceUuid)
      .catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: "CINDER_AUTH_FAILED", retryable: false });
    for (const n of names) expect(err.message).toContain(n);
    expect(err.message).toContain("not the 'service' role");
    expect(err.message).not.toContain(SANBOOT_PASSWORD);
    expect(lab.cinder.stats().faultsFired).toBe(0);
    lab.cinder.clearFaults();
    expect(await admin.attachments(volumeId)).toHaveLength(1);
  });

  it("accepts a service token holding one of the roles the operator's Cinder requires", async () => {
    const req = await attached();
    const settings = { ...passwordSettings(lab), serviceRoles: ["cinder-service", "service"] };
    await track(keystoneClient(settings)).detach(req.volumeId, req.instanceUuid);
    expect(await admin.attachments(volumeId)).toEqual([]);
  });

  it("without service credentials detach fails at once with what to configure, leaving the attachment", async () => {
    const req = await attached();
    // a DELETE reaching Cinder would fire this
    lab.cinder.failNext({ method: "DELETE", status: 500 });
    const c = track(keystoneClient(passwordSettings(lab, { service: { kind: "none" } })));
    const err = (await c.detach(req.volumeId, req.instanceUuid).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: "CINDER_AUTH_FAILED", retryable: false });
    expect(err.message).toContain("SANBOOT_KEYSTONE_SERVICE_USERNAME");
    expect(await admin.attachments(volumeId)).toHaveLength(1);
    expect(lab.cinder.stats().faultsFired).toBe(0);
    lab.cinder.clearFaults();
  });

  it("a wrong service password is CINDER_AUTH_FAILED without the password", async () => {
    const req = await attached();
    const wrong = "bad-service-pw-77";
    const service = { kind: "separate" as const, credentials: { method: "password" as const, username: "cinder-svc", userDomainName: "Default", password: wrong, project: { name: "service", domainName: "Default" } } };
    const err = (await track(keystoneClient(passwordSettings(lab, { service })))
      .detach(req.volumeId, req.instanceUuid)
      .catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: "CINDER_AUTH_FAILED", retryable: false });
    expect(err.message).toContain("cinder-svc");
    expect(err.message).not.toContain(wrong);
    expect(err.message).not.toContain(SERVICE_PASSWORD);
  });

  it("the legacy path sends the service token too", async () => {
    const c = track(keystoneClient(passwordSettings(lab), { maxVersion: "3.43" }));
    expect(await c.mode()).toBe("legacy");
    const req = { volumeId, instanceUuid: randomUUID(), connector: connector() };
    await c.attach(req);
    await c.detach(req.volumeId, req.instanceUuid, req.connector);
    expect((await admin.volume(volumeId)).status).toBe("available");
    const none = track(keystoneClient(passwordSettings(lab, { service: { kind: "none" } }), { maxVersion: "3.43" }));
    await c.attach(req);
    expect(await codeOf(none.detach(req.volumeId, req.instanceUuid, req.connector))).toBe("CINDER_AUTH_FAILED");
    // refused before terminate: rolled back to in-use, still attached
    expect((await admin.volume(volumeId)).status).toBe("in-use");
  });
});
