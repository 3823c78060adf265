/**
 * Idempotency-Key on POST /v1/nodes/{node_id}/boot-from-volume: a retried request answers what
 * the first one did and creates nothing new; the key reused for another request is refused.
 */
import { describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { expectError, newToken, visibleState } from "./helpers";

let stack: LocalStack;
let api: Api;

useLocalStack({}, (s, a) => ((stack = s), (api = a)));

async function freshNodeAndVolume(): Promise<{ nodeId: string; volumeId: string; path: string }> {
  const { nodeId } = await enrollLabNode(stack, api);
  const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
  return { nodeId, volumeId, path: `/v1/nodes/${nodeId}/boot-from-volume` };
}

const requestsOf = async (nodeId: string) => (await api.get(`/v1/boot-requests?node_id=${nodeId}`)).body.boot_requests as Array<{ request_id: string }>;

describe("the same Idempotency-Key with the same body", () => {
  it("answers the first answer again: 202, the same request and Location, marked idempotent-replayed", async () => {
    const { volumeId, path } = await freshNodeAndVolume();
    const key = newToken("key");
    const first = await api.post(path, { volume_id: volumeId, protocol: "iscsi" }, { "idempotency-key": key });
    const again = await api.post(path, { volume_id: volumeId, protocol: "iscsi" }, { "idempotency-key": key });
    expect(first.status).toBe(202);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    expect(again.status).toBe(202);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body.request_id).toBe(first.body.request_id);
    expect(again.headers.location).toBe(first.headers.location);
  });

  it("creates one boot request however often it is sent", async () => {
    const { nodeId, volumeId, path } = await freshNodeAndVolume();
    const key = newToken("key");
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await api.post(path, { volume_id: volumeId, protocol: "iscsi" }, { "idempotency-key": key }));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    const requests = await requestsOf(nodeId);
    expect(requests.map((r) => r.request_id)).toEqual([answers[0]!.body.request_id]);
  });

  it("treats a body with its fields in another order, or with defaults spelt out, as the same body", async () => {
    const { volumeId, path } = await freshNodeAndVolume();
    const key = newToken("key");
    const first = await api.post(path, { volume_id: volumeId }, { "idempotency-key": key });
    const again = await api.post(path, { multipath: false, protocol: "auto", volume_id: volumeId }, { "idempotency-key": key });
    expect(again.status).toBe(202);
    expect(again.body.request_id).toBe(first.body.request_id);
  });

  it("sent concurrently, still creates one boot request", async () => {
    const { nodeId, volumeId, path } = await freshNodeAndVolume();
    const key = newToken("key");
    const answers = await Promise.all([1, 2, 3].map(() => api.post(path, { volume_id: volumeId, protocol: "iscsi" }, { "idempotency-key": key })));
    const accepted = answers.filter((a) => a.status === 202);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(new Set(accepted.map((a) => a.body.request_id)).size).toBe(1);
    for (const a of answers.filter((x) => x.status !== 202)) expectError(a, 409, "IDEMPOTENCY_KEY_IN_FLIGHT");
    expect((await requestsOf(nodeId)).map((r) => r.request_id)).toEqual([accepted[0]!.body.request_id]);
  });
});

describe("the same Idempotency-Key with another request", () => {
  it.each([
    { name: "another volume", other: (v: { volumeId: string; path: string }, otherVolume: string) => ({ path: v.path, body: { volume_id: otherVolume, protocol: "iscsi" } }) },
    { name: "multipath changed", other: (v: { volumeId: string; path: string }) => ({ path: v.path, body: { volume_id: v.volumeId, protocol: "iscsi", multipath: true } }) },
  ])("($name) answers 422 IDEMPOTENCY_KEY_REUSED naming the header, and writes nothing", async ({ other }) => {
    const v = await freshNodeAndVolume();
    const otherVolume = await cinderAdmin(stack).createVolume({ bootable: true });
    const key = newToken("key");
    const first = await api.post(v.path, { volume_id: v.volumeId, protocol: "iscsi" }, { "idempotency-key": key });
    await api.waitFor(first.body.request_id, ["active"]); // settled, so any change after this is the refused request's
    const before = await visibleState(api);
    const o = other(v, otherVolume);
    expectError(await api.post(o.path, o.body, { "idempotency-key": key }), 422, "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key");
    expect(await visibleState(api)).toEqual(before);
  });

  it("for another node answers 422 IDEMPOTENCY_KEY_REUSED and leaves that node unlocked", async () => {
    const first = await freshNodeAndVolume();
    const second = await freshNodeAndVolume();
    const key = newToken("key");
    expect((await api.post(first.path, { volume_id: first.volumeId }, { "idempotency-key": key })).status).toBe(202);
    expectError(await api.post(second.path, { volume_id: first.volumeId }, { "idempotency-key": key }), 422, "IDEMPOTENCY_KEY_REUSED");
    expect((await api.get(`/v1/nodes/${second.nodeId}`)).body.active_request_id).toBeNull();
    expect(await requestsOf(second.nodeId)).toEqual([]);
  });
});

describe("a key whose request was refused", () => {
  it("is forgotten, so the same key runs afresh once the refusal no longer holds", async () => {
    const { nodeId, volumeId, path } = await freshNodeAndVolume();
    const holder = await api.post(path, { volume_id: volumeId, protocol: "iscsi" });
    await api.waitFor(holder.body.request_id, ["active"]);
    const other = await cinderAdmin(stack).createVolume({ bootable: true });
    const key = newToken("key");

    expectError(await api.post(path, { volume_id: other, protocol: "iscsi" }, { "idempotency-key": key }), 409, "NODE_BUSY");
    expect((await api.delete(path)).status).toBe(202);
    await api.waitFor(holder.body.request_id, ["detached"]);

    const retried = await api.post(path, { volume_id: other, protocol: "iscsi" }, { "idempotency-key": key });
    expect(retried.status).toBe(202);
    expect(retried.headers["idempotent-replayed"]).toBeUndefined();
    expect((await api.get(`/v1/nodes/${nodeId}`)).body.active_request_id).toBe(retried.body.request_id);
  });
});
