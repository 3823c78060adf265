/**
 * A queueing Cinder (issue 11). The emulator first, held to what the lab's real Cinder does under
 * load (lab/cinder-emulator/queueing.ts): exports one at a time, a few API workers, cinder-api's
 * 500 after rpc_response_timeout while cinder-volume carries on, a create whose client gave up
 * still served. Then the client against it: a slow create is waited for, not abandoned; one of
 * unknown outcome is neither deleted nor made again while Cinder may still be making it; the
 * adaptive limit keeps Cinder's queue short; the step's budget bounds every call.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { startCinderEmulator, type CinderEmulator, type QueueingOptions } from "../../lab/cinder-emulator/server";
import { AttachInProgress, type AttachRequest } from "../../lib/cinder/block-storage";
import { CinderClient } from "../../lib/cinder/cinder-client";
import { ExportLimiter, DEFAULT_LIMITER } from "../../lib/cinder/export-limiter";
import { CinderAdmin } from "./cinder-admin";
import { connector as portConnector } from "./contract";

/** the connector as a plain JSON object, for raw calls */
const connector = (): Record<string, unknown> => ({ ...portConnector() });

const project = randomBytes(16).toString("hex");
let emulator: CinderEmulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function queueing(q: QueueingOptions): Promise<{ admin: CinderAdmin }> {
  emulator = await startCinderEmulator({ createDelayMs: 0, queueing: q });
  return { admin: new CinderAdmin(emulator.url, project) };
}

function client(over: { timeoutMs?: number; volumeServiceTimeoutMs?: number; maxInFlight?: number } = {}): CinderClient {
  const limiter = new ExportLimiter(emulator!.url, { ...DEFAULT_LIMITER, max: over.maxInFlight ?? 8, initial: Math.min(2, over.maxInFlight ?? 8) });
  return new CinderClient(
    { endpoint: emulator!.url, project_id: project, user: "sanboot", service_roles_header: true, timeoutMs: over.timeoutMs ?? 10_000, volumeServiceTimeoutMs: over.volumeServiceTimeoutMs ?? 10_000 },
    { sleep: async () => undefined, random: () => 0.5, limiter: () => limiter },
  );
}

const attachReq = (volumeId: string, over: Partial<AttachRequest> = {}): AttachRequest => ({ volumeId, instanceUuid: randomUUID(), connector: portConnector(), ...over });

/** POST /attachments with a connector, the client giving up after `abortMs` */
async function createGivingUp(url: string, volumeId: string, abortMs: number): Promise<string> {
  try {
    const res = await request(`${url}/v3/${project}/attachments`, {
      method: "POST",
      headers: { "X-Auth-Token": `admin:${project}`, "OpenStack-API-Version": "volume 3.70", "Content-Type": "application/json" },
      body: JSON.stringify({ attachment: { volume_uuid: volumeId, instance_uuid: randomUUID(), connector: connector() } }),
      signal: AbortSignal.timeout(abortMs),
    });
    await res.body.text();
    return `answered ${res.statusCode}`;
  } catch (err) {
    return (err as Error).name;
  }
}

describe("the emulator queues as the lab's Cinder does", () => {
  it("serves a create whose client gave up when its turn comes: it reserves and exports all the same", async () => {
    const { admin } = await queueing({ exportMs: 150 });
    const [busy, late] = [await admin.createVolume(), await admin.createVolume()];
    const ahead = admin.createAttachment(busy, randomUUID(), connector());
    expect(await createGivingUp(emulator!.url, late, 50)).toMatch(/TimeoutError|AbortError/);
    await ahead;
    await expect.poll(async () => (await admin.attachments(late)).map((a) => a.status), { timeout: 2_000 }).toEqual(["attaching"]);
    const [att] = await admin.attachments(late);
    const shown = await admin.raw("GET", `/v3/${project}/attachments/${att!.id}`);
    // cinder-api still waited for cinder-volume, so it saved what it answered
    expect(shown.body.attachment.connection_info).toMatchObject({ driver_volume_type: "iscsi", target_lun: 1 });
  });

  it("answers 500 after rpc_response_timeout while cinder-volume exports later, the connection info never saved", async () => {
    const { admin } = await queueing({ exportMs: 300, rpcTimeoutMs: 100 });
    const id = await admin.createVolume();
    const t0 = Date.now();
    const r = await admin.createAttachment(id, randomUUID(), connector());
    expect(r.status).toBe(500);
    expect(Date.now() - t0).toBeLessThan(300);
    // reserved at once by cinder-api, exported later by cinder-volume
    expect((await admin.attachments(id)).map((a) => a.status)).toEqual(["reserved"]);
    await expect.poll(async () => (await admin.volume(id)).status, { timeout: 2_000 }).toBe("attaching");
    const [att] = await admin.attachments(id);
    expect(att!.status).toBe("attaching");
    expect((await admin.raw("GET", `/v3/${project}/attachments/${att!.id}`)).body.attachment.connection_info).toEqual({});
  });

  it("runs exports one at a time, and a cheap call waits for a free API worker behind them", async () => {
    const { admin } = await queueing({ exportMs: 200, apiWorkers: 2 });
    const vols = [await admin.createVolume(), await admin.createVolume()];
    const t0 = Date.now();
    const creates = vols.map((v) => admin.createAttachment(v, randomUUID(), connector()));
    await sleep(20);
    await admin.volume(vols[0]!);
    const read = Date.now() - t0;
    await Promise.all(creates);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(read).toBeGreaterThanOrEqual(190);
    expect(emulator!.stats().volumeService).toMatchObject({ done: 2, deepest: 2 });
  });
});

describe("the client against a queueing Cinder", () => {
  it("waits for a create slower than the API timeout instead of abandoning it", async () => {
    const { admin } = await queueing({ exportMs: 600 });
    const id = await admin.createVolume();
    const c = client({ timeoutMs: 200 });
    const att = await c.attach(attachReq(id, { volume: { status: "available" } }));
    expect((await admin.attachments(id)).map((a) => [a.id, a.status])).toEqual([[att.attachment_id, "attached"]]);
    expect(c.retries).toBe(0);
    await c.close();
  });

  it("asks no lookup when the volume was just read available: a create and os-complete", async () => {
    const { admin } = await queueing({ exportMs: 10 });
    const id = await admin.createVolume();
    const c = client();
    await c.mode(); // version negotiated first
    const before = emulator!.stats().requests;
    await c.attach(attachReq(id, { volume: { status: "available" } }));
    expect(emulator!.stats().requests - before).toBe(2);
    await c.close();
  });

  it("keeps its creates in flight within the adaptive limit, and Cinder's queue with them", async () => {
    const { admin } = await queueing({ exportMs: 60, apiWorkers: 8 });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await admin.createVolume());
    const c = client({ maxInFlight: 3 });
    const limiter = await c.exportLimiter();
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, limiter.inFlight)), 5);
    const done = await Promise.all(ids.map((id) => c.attach(attachReq(id, { volume: { status: "available" } }))));
    clearInterval(watch);
    expect(done).toHaveLength(12);
    expect(most).toBeLessThanOrEqual(3);
    expect(emulator!.stats().volumeService!.deepest).toBeLessThanOrEqual(3);
    for (const id of ids) expect((await admin.attachments(id)).map((a) => a.status)).toEqual(["attached"]);
    await c.close();
  });

  it("a create cut short by the step's deadline is left to Cinder (in progress): not deleted, not made again, finished next time", async () => {
    const { admin } = await queueing({ exportMs: 2_500 });
    const id = await admin.createVolume();
    const c = client();
    const req = attachReq(id, { volume: { status: "available" }, deadline: new Date(Date.now() + 2_100) });
    const err = await c.attach(req).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AttachInProgress);
    expect((err as AttachInProgress).recheckAfterMs).toBeGreaterThanOrEqual(5_000);
    // Cinder goes on with it: still one attachment, ours, exported once its turn came
    await expect.poll(async () => (await admin.attachments(id)).map((a) => a.status), { timeout: 3_000 }).toEqual(["attaching"]);
    const again = await c.attach({ ...req, volume: await admin.volume(id), deadline: new Date(Date.now() + 10_000) });
    expect((await admin.attachments(id)).map((a) => [a.id, a.status])).toEqual([[again.attachment_id, "attached"]]);
    expect(emulator!.stats().volumeService!.done).toBe(1);
    await c.close();
  });

  it("does not send a create the step's budget cannot see through: nothing is reserved", async () => {
    const { admin } = await queueing({ exportMs: 10 });
    const id = await admin.createVolume();
    const c = client();
    const err = await c.attach(attachReq(id, { volume: { status: "available" }, deadline: new Date(Date.now() + 1_000) })).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: "CINDER_UNAVAILABLE", retryable: true, notActedOn: true });
    expect(err).not.toBeInstanceOf(AttachInProgress);
    expect(await admin.attachments(id)).toEqual([]);
    expect((await admin.volume(id)).status).toBe("available");
    await c.close();
  });

  it("after cinder-api gave up on cinder-volume (500), waits; then exports what cinder-volume left through an update: one attachment", async () => {
    const { admin } = await queueing({ exportMs: 300, rpcTimeoutMs: 500 });
    const others = [await admin.createVolume(), await admin.createVolume()];
    const id = await admin.createVolume();
    // two exports ahead of ours: its RPC answers after 900 ms, past cinder-api's 500 ms
    const ahead = others.map((v) => admin.createAttachment(v, randomUUID(), connector()));
    await sleep(20);
    const c = client();
    const req = attachReq(id, { volume: { status: "available" } });
    expect(await c.attach(req).then(() => null, (e: unknown) => e)).toBeInstanceOf(AttachInProgress);
    expect(await admin.attachments(id)).toHaveLength(1);
    await Promise.all(ahead);
    await expect.poll(async () => (await admin.attachments(id)).map((a) => a.status), { timeout: 3_000 }).toEqual(["attaching"]);
    const att = await c.attach({ ...req, volume: await admin.volume(id) });
    expect((await admin.attachments(id)).map((a) => [a.id, a.status])).toEqual([[att.attachment_id, "attached"]]);
    expect(att.connection.driver_volume_type).toBe("iscsi");
    await c.close();
  });

  it("cuts duplicates of one request (an earlier race) to the one furthest along", async () => {
    const { admin } = await queueing({ exportMs: 10 });
    const id = await admin.createVolume();
    const instance = randomUUID();
    const exported = (await admin.createAttachment(id, instance, connector())).body.attachment.id as string;
    await admin.createAttachment(id, instance); // reserved only, newer
    const c = client();
    const att = await c.attach(attachReq(id, { instanceUuid: instance, volume: await admin.volume(id) }));
    expect(att.attachment_id).toBe(exported);
    expect((await admin.attachments(id)).map((a) => [a.id, a.status])).toEqual([[exported, "attached"]]);
    await c.close();
  });
});
