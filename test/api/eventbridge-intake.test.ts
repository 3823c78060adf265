/**
 * The intake function's EventBridge trigger (detail-type BootFromVolumeRequested): the same boot
 * request as POST boot-from-volume, without a caller to answer. A bad event never throws (that
 * would make EventBridge retry it forever): it is answered with an error object and writes nothing.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { LAB_PROJECT, type LocalStack } from "../../lab/local-stack";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { createLogger } from "../../lib/log";
import { UNKNOWN_ID, newToken, settle, visibleState } from "./helpers";

let stack: LocalStack;
let api: Api;
const logLines: string[] = [];

useLocalStack({ overrides: { log: createLogger("info", {}, (l) => logLines.push(l)) } }, (s, a) => ((stack = s), (api = a)));

function bootEvent(detail: unknown) {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "BootFromVolumeRequested",
    source: "sanboot.requests",
    account: "000000000000",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: [],
    detail,
  };
}

const invokeIntake = (detail: unknown) => stack.service.invoke("intake", bootEvent(detail)) as Promise<any>;

describe("a valid BootFromVolumeRequested event", () => {
  it("starts a boot request that reaches active", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const out = await invokeIntake({ project_id: LAB_PROJECT, node_id: nodeId, request: { volume_id: volumeId } });
    expect(out).toEqual({ request_id: expect.any(String) });
    const active = await api.waitFor(out.request_id, ["active", "failed"]);
    expect(active.state).toBe("active");
    expect(active.node_id).toBe(nodeId);
    expect((await api.get(`/v1/nodes/${nodeId}`)).body.active_request_id).toBe(out.request_id);
  });

  it("delivered twice with one idempotency_key starts one request", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const detail = { project_id: LAB_PROJECT, node_id: nodeId, idempotency_key: newToken("evt"), request: { volume_id: volumeId, protocol: "iscsi" } };
    const first = await invokeIntake(detail);
    const second = await invokeIntake(detail);
    expect(second).toEqual(first);
    const listed = (await api.get(`/v1/boot-requests?node_id=${nodeId}`)).body.boot_requests;
    expect(listed.map((r: { request_id: string }) => r.request_id)).toEqual([first.request_id]);
  });
});

interface BadEvent {
  name: string;
  detail: (nodeId: string, volumeId: string) => unknown;
  code: string;
}

const BAD_EVENTS: BadEvent[] = [
  { name: "no detail", detail: () => undefined, code: "VALIDATION_FAILED" },
  { name: "node_id missing", detail: (_n, v) => ({ project_id: LAB_PROJECT, request: { volume_id: v } }), code: "VALIDATION_FAILED" },
  { name: "node_id not a UUID", detail: (_n, v) => ({ project_id: LAB_PROJECT, node_id: "node-1", request: { volume_id: v } }), code: "VALIDATION_FAILED" },
  { name: "project_id missing", detail: (n, v) => ({ node_id: n, request: { volume_id: v } }), code: "VALIDATION_FAILED" },
  { name: "request.volume_id not a UUID", detail: (n) => ({ project_id: LAB_PROJECT, node_id: n, request: { volume_id: "vol-1" } }), code: "VALIDATION_FAILED" },
  { name: "an unknown field in request", detail: (n, v) => ({ project_id: LAB_PROJECT, node_id: n, request: { volume_id: v, force: true } }), code: "VALIDATION_FAILED" },
  { name: "an unknown field in detail", detail: (n, v) => ({ project_id: LAB_PROJECT, node_id: n, request: { volume_id: v }, priority: 1 }), code: "VALIDATION_FAILED" },
  { name: "an idempotency_key with a space", detail: (n, v) => ({ project_id: LAB_PROJECT, node_id: n, idempotency_key: "a b", request: { volume_id: v } }), code: "VALIDATION_FAILED" },
  { name: "a node that does not exist", detail: (_n, v) => ({ project_id: LAB_PROJECT, node_id: UNKNOWN_ID, request: { volume_id: v } }), code: "NODE_NOT_FOUND" },
  { name: "another project's node", detail: (n, v) => ({ project_id: "7c1d2e3f40514a6b8c9d0e1f2a3b4c5d", node_id: n, request: { volume_id: v } }), code: "NODE_NOT_FOUND" },
];

describe("an invalid event", () => {
  let nodeId: string;
  let volumeId: string;
  beforeAll(async () => {
    nodeId = (await enrollLabNode(stack, api)).nodeId;
    volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    await settle(api);
  });

  it.each(BAD_EVENTS)("($name) is answered {error: {code: $code, message}} without throwing", async (c) => {
    const out = await invokeIntake(c.detail(nodeId, volumeId));
    expect(out).toEqual({ error: { code: c.code, message: expect.any(String) } });
  });

  it.each(BAD_EVENTS)("($name) writes nothing and leaves the node unlocked", async (c) => {
    const before = await visibleState(api);
    await invokeIntake(c.detail(nodeId, volumeId));
    expect(await visibleState(api)).toEqual(before);
    expect((await api.get(`/v1/nodes/${nodeId}`)).body.active_request_id).toBeNull();
  });

  it("is logged with the event's id and the error code", async () => {
    const event = bootEvent({ project_id: LAB_PROJECT, node_id: "node-1", request: { volume_id: volumeId } });
    await stack.service.invoke("intake", event);
    const line = logLines.map((l) => JSON.parse(l)).find((l) => l.event_id === event.id);
    expect(line).toMatchObject({ level: "warn", code: "VALIDATION_FAILED" });
  });

  it("for a busy node is answered {error: NODE_BUSY} and leaves the holder in place", async () => {
    const { nodeId: busy } = await enrollLabNode(stack, api);
    const held = await invokeIntake({ project_id: LAB_PROJECT, node_id: busy, request: { volume_id: await cinderAdmin(stack).createVolume({ bootable: true }) } });
    await api.waitFor(held.request_id, ["active"]);
    const out = await invokeIntake({ project_id: LAB_PROJECT, node_id: busy, request: { volume_id: volumeId } });
    expect(out).toEqual({ error: { code: "NODE_BUSY", message: expect.any(String) } });
    expect((await api.get(`/v1/nodes/${busy}`)).body.active_request_id).toBe(held.request_id);
  });
});
