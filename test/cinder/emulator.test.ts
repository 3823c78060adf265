/**
 * What only the emulator can show: version caps, faults on demand, and the client's policy
 * (retries, timeouts, recovery by lookup, cleanup) under them; plus the emulator's own answers
 * checked against the transcript of a real Cinder.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startCinderEmulator, type CinderEmulator } from "../../lab/cinder-emulator/server";
import { CinderClient } from "../../lib/cinder/cinder-client";
import { CinderTransport, type NoauthCinderConfig } from "../../lib/cinder/cinder-transport";
import { CinderAdmin } from "./cinder-admin";
import { clientFor, codeOf, connector, fcConnector } from "./contract";

const project = randomBytes(16).toString("hex");

function config(emulator: CinderEmulator, over: Partial<NoauthCinderConfig> = {}): NoauthCinderConfig {
  return { endpoint: emulator.url, project_id: project, user: "sanboot", timeoutMs: 2_000, service_roles_header: true, ...over };
}

describe("the emulator against the transcript of a real Cinder", () => {
  let emulator: CinderEmulator;
  let admin: CinderAdmin;
  beforeAll(async () => {
    emulator = await startCinderEmulator({ port: 0, createDelayMs: 10 });
    admin = new CinderAdmin(emulator.url, project);
  });
  afterAll(() => emulator.close());

  it("lists v3 from 3.0 to 3.70 at GET / (300) and GET /v3/ (200)", async () => {
    for (const [path, status] of [["/", 300], ["/v3/", 200]] as const) {
      const r = await admin.raw("GET", path);
      expect(r.status).toBe(status);
      expect(r.headers["openstack-api-version"]).toBe("volume 3.0");
      expect(r.body.versions[0]).toMatchObject({ id: "v3.0", status: "CURRENT", version: "3.70", min_version: "3.0" });
    }
  });

  it("echoes the microversion asked for, and refuses one beyond its maximum with 406", async () => {
    const ok = await admin.raw("GET", `/v3/${project}/volumes`, { headers: { "OpenStack-API-Version": "volume 3.44" } });
    expect(ok.headers["openstack-api-version"]).toBe("volume 3.44");
    const tooNew = await admin.raw("GET", `/v3/${project}/volumes`, { headers: { "OpenStack-API-Version": "volume 3.71" } });
    expect(tooNew.status).toBe(406);
    expect(tooNew.body.computeFault.message).toBe("Version 3.71 is not supported by the API. Minimum is 3.0 and maximum is 3.70.");
  });

  it("scopes noauth requests to the token's project", async () => {
    const noToken = await admin.raw("GET", `/v3/${project}/volumes`, { headers: { "X-Auth-Token": "" } });
    expect(noToken.status).toBe(204);
    const mismatch = await admin.raw("GET", `/v3/abcdef/volumes`);
    expect(mismatch).toMatchObject({ status: 400, body: { badRequest: { code: 400, message: "Malformed request url" } } });
    expect((await admin.raw("GET", `/v3/not-hex/volumes`)).status).toBe(404);
    expect((await admin.raw("GET", `/v3/volumes`)).status).toBe(200);
  });

  it("answers Cinder's error bodies word for word", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    const vol = await admin.raw("GET", `/v3/${project}/volumes/${missing}`);
    expect(vol).toMatchObject({ status: 404, body: { itemNotFound: { code: 404, message: `Volume ${missing} could not be found.` } } });
    const att = await admin.raw("GET", `/v3/${project}/attachments/11111111-2222-4333-8444-555555555555`);
    expect(att.body.itemNotFound.message).toBe(
      "Volume attachment could not be found with filter: attachment_id = 11111111-2222-4333-8444-555555555555.",
    );
    const truncated = await admin.raw("POST", `/v3/${project}/attachments`, { bodyText: '{"attachment": ' });
    expect(truncated.body).toEqual({ badRequest: { code: 400, message: "Malformed request body" } });
    const notUuid = await admin.createAttachment(missing, "not-a-uuid");
    expect(notUuid.body.badRequest.message).toBe("Invalid input for field/attribute instance_uuid. Value: not-a-uuid. 'not-a-uuid' is not a 'uuid'");
  });

  it("leaves a reserved attachment behind when a connector lacks the initiator, as Cinder does", async () => {
    const id = await admin.createVolume();
    const r = await admin.createAttachment(id, randomUUID(), { host: "node1" });
    expect(r).toMatchObject({
      status: 500,
      body: { computeFault: { message: "Unable to create attachment for volume (Invalid input received: Connector doesn't have required information: initiator)." } },
    });
    expect(await admin.attachments(id)).toEqual([expect.objectContaining({ status: "reserved" })]);
    expect((await admin.volume(id)).status).toBe("reserved");
  });

  it("refuses to delete an exported attachment without the service role (500), and allows it with", async () => {
    const id = await admin.createVolume();
    const created = await admin.createAttachment(id, randomUUID(), { initiator: "iqn.2026-11.org.example:n1", host: "n1" });
    const path = `/v3/${project}/attachments/${created.body.attachment.id}`;
    expect((await admin.raw("DELETE", path)).status).toBe(500);
    const withRole = await admin.raw("DELETE", path, { headers: { "X-Service-Roles": "service" } });
    expect(withRole).toMatchObject({ status: 200, body: { attachments: [] } });
    expect((await admin.volume(id)).status).toBe("available");
  });

  it("lists its volume types and the scheduler's pools with storage_protocol, like Zed's LVM backend", async () => {
    const types = await admin.raw("GET", `/v3/${project}/types`);
    expect(types.body.volume_types).toEqual([
      {
        id: expect.any(String),
        name: "__DEFAULT__",
        is_public: true,
        description: "Default Volume Type",
        extra_specs: {},
        qos_specs_id: null,
        "os-volume-type-access:is_public": true,
      },
    ]);
    const pools = await admin.raw("GET", `/v3/${project}/scheduler-stats/get_pools?detail=true`);
    expect(pools.body.pools).toEqual([
      {
        name: "cinder-emulator@lvm#lvm",
        capabilities: expect.objectContaining({ pool_name: "lvm", volume_backend_name: "lvm", storage_protocol: "iSCSI", vendor_name: "Open Source", backend_state: "up" }),
      },
    ]);
    expect((await admin.raw("GET", `/v3/${project}/scheduler-stats/get_pools`)).body).toEqual({ pools: [{ name: "cinder-emulator@lvm#lvm" }] });
    const id = await admin.createVolume();
    expect(await admin.volume(id)).toMatchObject({ "os-vol-host-attr:host": "cinder-emulator@lvm#lvm", volume_type: "__DEFAULT__", volume_type_id: types.body.volume_types[0].id });
  });

  it("refuses an unknown volume type with Cinder's 404, creating nothing", async () => {
    const r = await admin.raw("POST", `/v3/${project}/volumes`, { body: { volume: { size: 1, volume_type: "nope" } } });
    expect(r).toMatchObject({ status: 404, body: { itemNotFound: { message: "Volume type with name nope could not be found." } } });
    expect((await admin.raw("GET", `/v3/${project}/types/nope`)).body.itemNotFound.message).toBe("Volume type nope could not be found.");
  });

  it("runs the legacy flow: reserve, initialize_connection (nested), attach, begin_detaching, terminate, detach", async () => {
    const id = await admin.createVolume();
    const act = (body: unknown) => admin.raw("POST", `/v3/${project}/volumes/${id}/action`, { body });
    expect((await act({ "os-reserve": null })).status).toBe(202);
    expect((await admin.volume(id)).status).toBe("attaching");
    const init = await act({ "os-initialize_connection": { connector: connector() } });
    expect(init.body.connection_info).toMatchObject({ driver_volume_type: "iscsi", data: { target_lun: 1, auth_method: "CHAP" } });
    expect((await act({ "os-attach": { instance_uuid: randomUUID(), mountpoint: "/dev/vdb", mode: "rw" } })).status).toBe(202);
    const inUse = await admin.volume(id);
    expect(inUse.status).toBe("in-use");
    expect((await act({ "os-begin_detaching": null })).status).toBe(202);
    expect((await act({ "os-terminate_connection": { connector: connector() } })).status).toBe(202);
    expect((await act({ "os-detach": { attachment_id: inUse.attachments[0].attachment_id } })).status).toBe(202);
    expect((await admin.volume(id)).status).toBe("available");
  });
});

describe("the Fibre Channel backend", () => {
  let emulator: CinderEmulator;
  let admin: CinderAdmin;
  beforeAll(async () => {
    // one target port, colon-separated and upper case in the option: normalised by the emulator
    emulator = await startCinderEmulator({ port: 0, createDelayMs: 10, serviceHost: "cinder-lab", fcBackend: { targetWwpns: ["50:0A:09:81:86:67:9C:7D"], volumeType: "gold-fc" } });
    admin = new CinderAdmin(emulator.url, project);
  });
  afterAll(() => emulator.close());

  it("places volumes of its type on it, with its own host and an FC pool", async () => {
    const id = await admin.createVolume({ volumeType: "gold-fc" });
    expect(await admin.volume(id)).toMatchObject({ volume_type: "gold-fc", "os-vol-host-attr:host": "cinder-lab@fc#fc" });
    const types = (await admin.raw("GET", `/v3/${project}/types`)).body.volume_types;
    expect(types.map((t: { name: string; extra_specs: unknown }) => [t.name, t.extra_specs])).toEqual([
      ["__DEFAULT__", {}],
      ["gold-fc", { volume_backend_name: "fc" }],
    ]);
    const pools = (await admin.raw("GET", `/v3/${project}/scheduler-stats/get_pools?detail=true`)).body.pools;
    expect(pools.map((p: { name: string; capabilities: { storage_protocol: string } }) => [p.name, p.capabilities.storage_protocol])).toEqual([
      ["cinder-lab@lvm#lvm", "iSCSI"],
      ["cinder-lab@fc#fc", "FC"],
    ]);
  });

  it("answers target_wwn as a string for a single target port; the client makes it a list", async () => {
    const id = await admin.createVolume({ volumeType: "gold-fc" });
    const fcOnly = { host: "n1", wwpns: ["10000090FA0D6754"], wwnns: ["20000090fa0d6754"] };
    const raw = await admin.createAttachment(id, randomUUID(), fcOnly);
    expect(raw.body.attachment.connection_info).toMatchObject({
      driver_volume_type: "fibre_channel",
      target_wwn: "500a098186679c7d",
      target_lun: 1,
      initiator_target_map: { "10000090fa0d6754": ["500a098186679c7d"] },
    });
    await admin.clearAttachments(id);
    const att = await clientFor(emulator.url, project).attach({ volumeId: id, instanceUuid: randomUUID(), connector: fcConnector() });
    expect(att.connection).toMatchObject({ driver_volume_type: "fibre_channel", target_wwn: ["500a098186679c7d"], target_lun: 1 });
  });

  it("a connector without wwpns fails like an FC driver's validate_connector: 500, a reserved attachment left", async () => {
    const id = await admin.createVolume({ volumeType: "gold-fc" });
    const r = await admin.createAttachment(id, randomUUID(), { host: "n1", initiator: "iqn.2026-11.org.example:n1" });
    expect(r).toMatchObject({
      status: 500,
      body: { computeFault: { message: "Unable to create attachment for volume (Invalid input received: Connector doesn't have required information: wwpns)." } },
    });
    expect(await admin.attachments(id)).toEqual([expect.objectContaining({ status: "reserved" })]);
    const legacy = await admin.action(id, { "os-initialize_connection": { connector: { host: "n1", wwpns: ["10000090fa0d6754"] } } });
    expect(legacy.body.badRequest.message).toBe("Invalid input received: Connector doesn't have required information: wwnns");
  });

  it("the client reads the backend protocol from the pools, and caches them", async () => {
    let now = 0;
    const c = new CinderClient(config(emulator), { clock: { now: () => new Date(now) }, poolsTtlMs: 60_000 });
    const fcId = await admin.createVolume({ volumeType: "gold-fc" });
    const lvmId = await admin.createVolume();
    expect((await c.getVolume(fcId)).backend_protocol).toBe("FC");
    const before = emulator.stats().requests;
    expect((await c.getVolume(lvmId)).backend_protocol).toBe("iSCSI");
    expect(emulator.stats().requests - before).toBe(1); // the volume only: the pools were cached
    now = 61_000;
    await c.getVolume(lvmId);
    expect(emulator.stats().requests - before).toBe(3);
  });
});

describe("microversion negotiation", () => {
  it("a Cinder capped at 3.26 has no attachments API, and the client attaches with the legacy actions", async () => {
    const emulator = await startCinderEmulator({ port: 0, createDelayMs: 10, maxVersion: "3.26" });
    try {
      const admin = new CinderAdmin(emulator.url, project, "3.26");
      const r = await admin.raw("POST", `/v3/${project}/attachments`, { body: { attachment: {} } });
      expect(r).toMatchObject({ status: 404, body: { itemNotFound: { message: "The resource could not be found." } } });
      const volumeId = await admin.createVolume();
      const client = clientFor(emulator.url, project);
      expect(await client.mode()).toBe("legacy");
      const instanceUuid = randomUUID();
      const att = await client.attach({ volumeId, instanceUuid, connector: connector() });
      const vol = await admin.volume(volumeId);
      expect(vol.status).toBe("in-use");
      expect(vol.attachments).toEqual([expect.objectContaining({ attachment_id: att.attachment_id, server_id: instanceUuid, device: "sanboot" })]);
      expect(att.connection).toMatchObject({ driver_volume_type: "iscsi", target_iqn: `iqn.2010-10.org.openstack:volume-${volumeId}`, auth_method: "CHAP" });
    } finally {
      await emulator.close();
    }
  });

  it("a client capped below 3.44 takes the legacy path against a newer Cinder", async () => {
    const emulator = await startCinderEmulator({ port: 0, createDelayMs: 10 });
    try {
      const client = clientFor(emulator.url, project, { maxVersion: "3.43" });
      expect((await client.transport.microversion()).toString()).toBe("3.43");
      expect(await client.mode()).toBe("legacy");
    } finally {
      await emulator.close();
    }
  });

  it("picks the lower of our maximum and Cinder's, and attaches at it", async () => {
    const emulator = await startCinderEmulator({ port: 0, createDelayMs: 10, maxVersion: "3.50" });
    try {
      const transport = new CinderTransport(config(emulator));
      expect((await transport.microversion()).toString()).toBe("3.50");
      const admin = new CinderAdmin(emulator.url, project, "3.50");
      const volumeId = await admin.createVolume();
      // below 3.54 `mode` is refused: the client must not send it
      const att = await new CinderClient(config(emulator), { transport }).attach({ volumeId, instanceUuid: randomUUID(), connector: connector() });
      expect(att.connection.target_lun).toBe(1);
      await transport.close();
    } finally {
      await emulator.close();
    }
  });
});

describe("the client's policy under faults", () => {
  let emulator: CinderEmulator;
  let admin: CinderAdmin;
  let volumeId: string;
  const sleep = vi.fn(async (_ms: number) => undefined);

  function client(over: Partial<NoauthCinderConfig> = {}, retry: { attempts?: number } = {}): CinderClient {
    return new CinderClient(config(emulator, over), { sleep, random: () => 0.5, retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, ...retry } });
  }

  beforeAll(async () => {
    emulator = await startCinderEmulator({ port: 0, createDelayMs: 10 });
    admin = new CinderAdmin(emulator.url, project);
    volumeId = await admin.createVolume();
  });
  afterEach(async () => {
    emulator.clearFaults();
    sleep.mockClear();
    await admin.clearAttachments(volumeId);
  });
  afterAll(() => emulator.close());

  it("retries a GET that answered 5xx, after a jittered backoff", async () => {
    const c = client();
    await c.getVolume(volumeId); // negotiated before counting
    emulator.failNext({ method: "GET", path_regex: `/volumes/${volumeId}$`, status: 503 });
    const before = emulator.stats().requests;
    const v = await c.getVolume(volumeId);
    expect(v.status).toBe("available");
    expect(emulator.stats().requests - before).toBe(2);
    expect(sleep).toHaveBeenCalledExactlyOnceWith(50); // random 0.5 × base 100
  });

  it("gives up after the bounded attempts with a retryable CINDER_UNAVAILABLE", async () => {
    const c = client();
    emulator.failNext({ method: "GET", path_regex: `/volumes/${volumeId}$`, status: 500, times: 10 });
    const err = await c.getVolume(volumeId).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CINDER_UNAVAILABLE", retryable: true });
    expect(sleep).toHaveBeenCalledTimes(2);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([50, 100]);
  });

  it("turns a Cinder slower than timeoutMs into CINDER_UNAVAILABLE", async () => {
    const c = client({ timeoutMs: 150 });
    emulator.failNext({ method: "GET", path_regex: `/volumes/${volumeId}$`, delay_ms: 600, times: 3 });
    const err = await c.getVolume(volumeId).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CINDER_UNAVAILABLE", retryable: true });
    expect((err as Error).message).toContain("no answer within 150 ms");
  });

  it("does not repeat a create that failed before any effect: it reports, and the next attach makes one", async () => {
    const c = client();
    const req = { volumeId, instanceUuid: randomUUID(), connector: connector() };
    emulator.failNext({ method: "POST", path_regex: "/attachments$", status: 500 });
    expect(await codeOf(c.attach(req))).toBe("CINDER_UNAVAILABLE");
    expect(await admin.attachments(volumeId)).toEqual([]);
    const att = await c.attach(req);
    expect(await admin.attachments(volumeId)).toEqual([expect.objectContaining({ id: att.attachment_id, status: "attached" })]);
  });

  it("retries os-complete whose answer was lost: completing twice is harmless", async () => {
    const c = client();
    emulator.failNext({ method: "POST", path_regex: "/action$", status: 500, after_effect: true });
    const req = { volumeId, instanceUuid: randomUUID(), connector: connector() };
    const att = await c.attach(req);
    expect(await admin.attachments(volumeId)).toEqual([expect.objectContaining({ id: att.attachment_id, status: "attached" })]);
  });

  it("cleans up the reserved attachment Cinder leaves when the connector lacks an initiator", async () => {
    const c = client();
    const fcOnly = connector({ initiator: undefined, wwpns: ["10000090fa0d6754"] });
    const err = await c.attach({ volumeId, instanceUuid: randomUUID(), connector: fcOnly }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "VOLUME_WRONG_PROTOCOL", retryable: false });
    expect(await admin.attachments(volumeId)).toEqual([]);
    expect((await admin.volume(volumeId)).status).toBe("available");
  });

  it("collapses duplicate attachments of one instance (an earlier race) into exactly one", async () => {
    const instanceUuid = randomUUID();
    await admin.createAttachment(volumeId, instanceUuid);
    await admin.createAttachment(volumeId, instanceUuid);
    expect(await admin.attachments(volumeId)).toHaveLength(2);
    const att = await client().attach({ volumeId, instanceUuid, connector: connector() });
    expect(await admin.attachments(volumeId)).toEqual([expect.objectContaining({ id: att.attachment_id, status: "attached" })]);
  });

  it("detach without the service role fails retryably and says why", async () => {
    const req = { volumeId, instanceUuid: randomUUID(), connector: connector() };
    await client().attach(req);
    const err = await client({ service_roles_header: false })
      .detach(volumeId, req.instanceUuid)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CINDER_UNAVAILABLE", retryable: true });
    expect((err as Error).message).toContain("service role");
    expect(await admin.attachments(volumeId)).toHaveLength(1);
  });

  it("legacy: a reserve whose answer was lost goes on from the reservation, and attaches once", async () => {
    const c = client({ max_microversion: "3.43" });
    emulator.failNext({ method: "POST", path_regex: "/action$", body_regex: "os-reserve", status: 500, after_effect: true });
    const att = await c.attach({ volumeId, instanceUuid: randomUUID(), connector: connector() });
    expect(await admin.attachments(volumeId)).toEqual([expect.objectContaining({ id: att.attachment_id, status: "attached" })]);
  });

  it("legacy: a reserve that failed before any effect is reported and leaves the volume available", async () => {
    const c = client({ max_microversion: "3.43" });
    emulator.failNext({ method: "POST", path_regex: "/action$", body_regex: "os-reserve", status: 503 });
    expect(await codeOf(c.attach({ volumeId, instanceUuid: randomUUID(), connector: connector() }))).toBe("CINDER_UNAVAILABLE");
    expect((await admin.volume(volumeId)).status).toBe("available");
  });

  it("legacy: a failed export is unreserved at once (os-unreserve), not left attaching", async () => {
    const c = client({ max_microversion: "3.43" });
    emulator.failNext({ method: "POST", path_regex: "/action$", body_regex: "os-initialize_connection", status: 500, times: 3 });
    expect(await codeOf(c.attach({ volumeId, instanceUuid: randomUUID(), connector: connector() }))).toBe("CINDER_UNAVAILABLE");
    expect((await admin.volume(volumeId)).status).toBe("available");
  });

  it("legacy: a refused terminate says why, rolls back to in-use, and the next detach finishes", async () => {
    const req = { volumeId, instanceUuid: randomUUID(), connector: connector() };
    await client({ max_microversion: "3.43" }).attach(req);
    emulator.failNext({ method: "POST", path_regex: "/action$", body_regex: "os-terminate_connection", status: 500 });
    const err = await client({ max_microversion: "3.43" }, { attempts: 1 })
      .detach(volumeId, req.instanceUuid, req.connector)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CINDER_UNAVAILABLE" });
    expect((err as Error).message).toContain("service role");
    // rolled back to in-use, so the next detach starts clean
    expect((await admin.volume(volumeId)).status).toBe("in-use");
    await client({ max_microversion: "3.43" }).detach(volumeId, req.instanceUuid, req.connector);
    expect((await admin.volume(volumeId)).status).toBe("available");
  });

  it("waits as long as a 429's Retry-After asks, and counts the retry", async () => {
    const seen: number[] = [];
    const c = new CinderClient(config(emulator), { sleep, random: () => 0.5, onRetry: (e) => seen.push(e.delayMs) });
    await c.getVolume(volumeId);
    emulator.failNext({ method: "GET", path_regex: `/volumes/${volumeId}$`, status: 429, retry_after: 2 });
    expect((await c.getVolume(volumeId)).status).toBe("available");
    expect(sleep).toHaveBeenCalledExactlyOnceWith(2_000);
    expect(seen).toEqual([2_000]);
    expect(c.retries).toBe(1);
  });

  it("does not sleep through a Retry-After longer than maxRetryAfterMs: the error goes up, retryable, saying so", async () => {
    emulator.failNext({ method: "GET", path_regex: `/volumes/${volumeId}$`, status: 503, retry_after: 120 });
    const err = await client().getVolume(volumeId).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CINDER_UNAVAILABLE", retryable: true, retryAfterMs: 120_000 });
    expect((err as Error).message).toContain("503");
    expect(sleep).not.toHaveBeenCalled();
  });

  it("sends a create again after a 429 (a rate limiter refuses before anything happens), and attaches once", async () => {
    emulator.failNext({ method: "POST", path_regex: "/attachments$", status: 429 });
    const att = await client().attach({ volumeId, instanceUuid: randomUUID(), connector: connector() });
    expect(await admin.attachments(volumeId)).toEqual([expect.objectContaining({ id: att.attachment_id, status: "attached" })]);
    expect(sleep).toHaveBeenCalledTimes(1);
  });

  it("surfaces Cinder's own error message", async () => {
    const err = await client().attach({ volumeId: "00000000-0000-4000-8000-000000000000", instanceUuid: "not-a-uuid", connector: connector() }).catch((e: unknown) => e);
    expect((err as Error).message).toContain("Invalid input for field/attribute instance_uuid");
  });

  it("reports Cinder down as CINDER_UNAVAILABLE", async () => {
    const down = new CinderClient(
      { endpoint: "http://127.0.0.1:9", project_id: project, user: "sanboot", timeoutMs: 1_000, service_roles_header: true },
      { sleep, random: () => 0 },
    );
    expect(await codeOf(down.getVolume(volumeId))).toBe("CINDER_UNAVAILABLE");
  });
});
