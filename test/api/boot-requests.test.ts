/**
 * Boot requests as callers see them: GET one, list with node_id / state filters, step history,
 * errors as {code, message}. Three nodes end in three different states: active, detached, failed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../lab/local-stack";
import { apiFor, cinderAdmin, enrollLabNode, type Api } from "../support/api";
import { UNKNOWN_ID, expectError, listAll } from "./helpers";

let stack: LocalStack;
let api: Api;
const node: Record<"active" | "detached" | "failed", string> = { active: "", detached: "", failed: "" };
const request: Record<"active" | "detached" | "failed", string> = { active: "", detached: "", failed: "" };

async function boot(nodeId: string, volumeId: string): Promise<string> {
  const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
  expect(r.status, r.text).toBe(202);
  return r.body.request_id;
}

beforeAll(async () => {
  stack = await startLocalStack();
  api = apiFor(stack);
  const cinder = cinderAdmin(stack);
  for (const k of ["active", "detached", "failed"] as const) node[k] = (await enrollLabNode(stack, api)).nodeId;
  request.active = await boot(node.active, await cinder.createVolume({ bootable: true }));
  request.detached = await boot(node.detached, await cinder.createVolume({ bootable: true }));
  request.failed = await boot(node.failed, await cinder.createVolume({ bootable: false }));
  await api.waitFor(request.active, ["active"]);
  await api.waitFor(request.detached, ["active"]);
  await api.delete(`/v1/nodes/${node.detached}/boot-from-volume`);
  await api.waitFor(request.detached, ["detached"]);
  await api.waitFor(request.failed, ["failed"]);
});
afterAll(async () => stack?.close());

const ids = (rs: Array<{ request_id: string }>) => rs.map((r) => r.request_id).sort();

describe("GET /v1/boot-requests?node_id=&state=", () => {
  it.each([
    { query: () => `node_id=${node.active}`, expected: () => [request.active] },
    { query: () => `node_id=${node.detached}`, expected: () => [request.detached] },
    { query: () => "state=active", expected: () => [request.active] },
    { query: () => "state=failed", expected: () => [request.failed] },
    { query: () => `node_id=${node.detached}&state=detached`, expected: () => [request.detached] },
    { query: () => `node_id=${node.detached}&state=active`, expected: () => [] },
    { query: () => `node_id=${UNKNOWN_ID}`, expected: () => [] },
    { query: () => "", expected: () => [request.active, request.detached, request.failed] },
  ])("filters: ?$query", async ({ query, expected }) => {
    expect(ids(await listAll(api, `/v1/boot-requests?${query()}`, "boot_requests"))).toEqual([...expected()].sort());
  });

  it("a filtered list paged one by one still finds every match", async () => {
    expect(ids(await listAll(api, "/v1/boot-requests?state=detached&limit=1", "boot_requests"))).toEqual([request.detached]);
  });

  it("answers each request as GET /v1/boot-requests/{id} does", async () => {
    const listed = (await api.get(`/v1/boot-requests?node_id=${node.active}`)).body.boot_requests[0];
    expect(listed).toEqual((await api.get(`/v1/boot-requests/${request.active}`)).body);
  });
});

describe("a boot request's history", () => {
  it("has entries of state, at, step, attempts and error, in order of time", async () => {
    const r = (await api.get(`/v1/boot-requests/${request.detached}`)).body;
    expect(r.history.map((h: { state: string }) => h.state)).toEqual(["accepted", "connector_ready", "attached", "firmware_configured", "booting", "active", "detaching", "detached"]);
    for (const h of r.history) {
      expect(Object.keys(h).sort()).toEqual(["at", "attempts", "error", "state", "step"]);
      expect(Date.parse(h.at)).not.toBeNaN();
      expect(h.attempts).toEqual(expect.any(Number));
      expect(h.error).toBeNull();
    }
    const times = r.history.map((h: { at: string }) => Date.parse(h.at));
    expect(times).toEqual([...times].sort((x: number, y: number) => x - y));
  });

  it("names the step that led to each state", async () => {
    const r = (await api.get(`/v1/boot-requests/${request.active}`)).body;
    expect(r.history.map((h: { step: string | null }) => h.step)).toEqual([null, "prepare_connector", "attach_volume", "configure_firmware", "power_on", "await_boot"]);
  });

  it("of a failed request carries the error {code, message} on the request and on the entry that failed", async () => {
    const r = (await api.get(`/v1/boot-requests/${request.failed}`)).body;
    expect(r.state).toBe("failed");
    expect(r.error).toEqual({ code: "VOLUME_NOT_BOOTABLE", message: expect.any(String) });
    const failedEntries = r.history.filter((h: { error: unknown }) => h.error !== null);
    expect(failedEntries.length).toBeGreaterThan(0);
    expect(failedEntries[0].error).toEqual({ code: "VOLUME_NOT_BOOTABLE", message: expect.any(String) });
    expect(r.history.at(-1).state).toBe("failed");
  });

  it("a failed request frees its node", async () => {
    expect((await api.get(`/v1/nodes/${node.failed}`)).body.active_request_id).toBeNull();
  });
});

describe("GET /v1/boot-requests/{request_id}", () => {
  it("of an unknown request answers 404 REQUEST_NOT_FOUND", async () => {
    expectError(await api.get(`/v1/boot-requests/${UNKNOWN_ID}`), 404, "REQUEST_NOT_FOUND", "request_id");
  });

  it("shows the target with the CHAP password redacted", async () => {
    const r = (await api.get(`/v1/boot-requests/${request.active}`)).body;
    expect(r.target).toEqual({
      driver_volume_type: "iscsi",
      paths: [{ iqn: expect.any(String), portal: expect.any(String), lun: expect.any(Number) }],
      auth_method: "CHAP",
      auth_username: expect.any(String),
      auth_password: "[redacted]",
    });
  });
});

describe("undeploy", () => {
  it("of a node with no boot request answers 409 NO_ACTIVE_DEPLOYMENT", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    expectError(await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`), 409, "NO_ACTIVE_DEPLOYMENT");
  });

  it("answers 202 with the request and its Location", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    const requestId = await boot(nodeId, await cinderAdmin(stack).createVolume({ bootable: true }));
    await api.waitFor(requestId, ["active"]);
    const r = await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
    expect(r.status).toBe(202);
    expect(r.body.request_id).toBe(requestId);
    expect(r.headers.location).toBe(`/v1/boot-requests/${requestId}`);
    await api.waitFor(requestId, ["detached"]);
  });
});
