/**
 * Authentication and project isolation. Two callers: A (the lab project, which owns the Cinder
 * volumes) and B (another project). B must not be able to tell that A's node or A's boot
 * requests exist, and nothing B tries may change them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_PROJECT, startLocalStack, type LocalStack } from "../../lab/local-stack";
import { Api, cinderAdmin, enrollLabNode } from "../support/api";
import { UNKNOWN_ID, apiTokensEnv, enrollBody, expectError, newToken, visibleState } from "./helpers";

const PROJECT_B = "7c1d2e3f40514a6b8c9d0e1f2a3b4c5d";
const tokenA = newToken("a");
const tokenB = newToken("b");

let stack: LocalStack;
let a: Api;
let b: Api;
let nodeA: string;
let requestA: string;

beforeAll(async () => {
  stack = await startLocalStack({ env: apiTokensEnv([{ token: tokenA, project_id: LAB_PROJECT }, { token: tokenB, project_id: PROJECT_B }]) });
  a = new Api(stack.service.url, tokenA);
  b = new Api(stack.service.url, tokenB);
  nodeA = (await enrollLabNode(stack, a)).nodeId;
  const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
  const accepted = await a.post(`/v1/nodes/${nodeA}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
  expect(accepted.status, accepted.text).toBe(202);
  requestA = accepted.body.request_id;
  await a.waitFor(requestA, ["active"]);
});
afterAll(async () => stack?.close());

const ROUTES: Array<{ method: string; path: () => string; body?: () => unknown }> = [
  { method: "GET", path: () => "/v1/nodes" },
  { method: "POST", path: () => "/v1/nodes", body: () => enrollBody(stack) },
  { method: "GET", path: () => `/v1/nodes/${nodeA}` },
  { method: "PATCH", path: () => `/v1/nodes/${nodeA}`, body: () => ({ name: "taken" }) },
  { method: "DELETE", path: () => `/v1/nodes/${nodeA}` },
  { method: "POST", path: () => `/v1/nodes/${nodeA}/boot-from-volume`, body: () => ({ volume_id: UNKNOWN_ID }) },
  { method: "DELETE", path: () => `/v1/nodes/${nodeA}/boot-from-volume` },
  { method: "GET", path: () => "/v1/boot-requests" },
  { method: "GET", path: () => `/v1/boot-requests/${requestA}` },
];

const CREDENTIALS: Array<{ name: string; headers: () => Record<string, string> }> = [
  { name: "no Authorization header", headers: () => ({}) },
  { name: "a token nobody issued", headers: () => ({ authorization: `Bearer ${newToken("forged")}` }) },
  { name: "the relay's site token", headers: () => ({ authorization: `Bearer ${stack.relayToken}` }) },
  { name: "a valid token in the Basic scheme", headers: () => ({ authorization: `Basic ${tokenA}` }) },
  { name: "an empty bearer token", headers: () => ({ authorization: "Bearer " }) },
];

const anonymous = () => new Api(stack.service.url, null);

describe("authentication", () => {
  for (const cred of CREDENTIALS) {
    it.each(ROUTES)(`${cred.name}: $method $path → 401 UNAUTHENTICATED`, async (r) => {
      expectError(await anonymous().call(r.method, r.path(), r.body?.(), cred.headers()), 401, "UNAUTHENTICATED");
    });
  }

  it("a caller without a token is answered 401 before its body is read, even a malformed one", async () => {
    expectError(await anonymous().post("/v1/nodes", '{"site": '), 401, "UNAUTHENTICATED");
  });

  it("refused callers change nothing", async () => {
    const before = await visibleState(a);
    for (const cred of CREDENTIALS) for (const r of ROUTES) await anonymous().call(r.method, r.path(), r.body?.(), cred.headers());
    expect(await visibleState(a)).toEqual(before);
  });

  it("a caller token does not authenticate a relay", async () => {
    const r = await new Api(stack.service.url, tokenA).post("/v1/relay/lease", { relay_id: "x", wait_seconds: 0 });
    expectError(r, 401, "UNAUTHENTICATED");
  });
});

describe("another project's node is invisible and untouchable", () => {
  it("GET answers 404 NODE_NOT_FOUND", async () => {
    expectError(await b.get(`/v1/nodes/${nodeA}`), 404, "NODE_NOT_FOUND", "node_id");
  });

  it("the node list leaves it out", async () => {
    expect((await visibleState(b)).nodes.map((n) => n.node_id)).not.toContain(nodeA);
  });

  it("the 404 is the same as for a node that does not exist", async () => {
    const other = await b.get(`/v1/nodes/${nodeA}`);
    const missing = await b.get(`/v1/nodes/${UNKNOWN_ID}`);
    expect(other.status).toBe(missing.status);
    expect(other.body.error.message.replace(nodeA, "ID")).toBe(missing.body.error.message.replace(UNKNOWN_ID, "ID"));
  });

  it.each([
    { name: "PATCH", send: () => b.patch(`/v1/nodes/${nodeA}`, { name: "stolen", boot_mode: "bios" }) },
    { name: "DELETE", send: () => b.delete(`/v1/nodes/${nodeA}`) },
    { name: "boot-from-volume", send: () => b.post(`/v1/nodes/${nodeA}/boot-from-volume`, { volume_id: UNKNOWN_ID, protocol: "iscsi" }) },
    { name: "undeploy", send: () => b.delete(`/v1/nodes/${nodeA}/boot-from-volume`) },
  ])("$name answers 404 NODE_NOT_FOUND and changes nothing", async ({ send }) => {
    const before = await visibleState(a);
    expectError(await send(), 404, "NODE_NOT_FOUND", "node_id");
    expect(await visibleState(a)).toEqual(before);
    const req = (await a.get(`/v1/boot-requests/${requestA}`)).body;
    expect(req.state).toBe("active");
    expect((await a.get(`/v1/nodes/${nodeA}`)).body.active_request_id).toBe(requestA);
  });

  it("enrolling a node into another project answers 403 FORBIDDEN and writes nothing", async () => {
    const before = { a: await visibleState(a), b: await visibleState(b) };
    expectError(await b.post("/v1/nodes", { ...enrollBody(stack), project_id: LAB_PROJECT }), 403, "FORBIDDEN", "project_id");
    expect({ a: await visibleState(a), b: await visibleState(b) }).toEqual(before);
  });
});

describe("another project's boot requests are invisible", () => {
  it("GET answers 404 REQUEST_NOT_FOUND", async () => {
    expectError(await b.get(`/v1/boot-requests/${requestA}`), 404, "REQUEST_NOT_FOUND", "request_id");
  });

  it("the boot-request list leaves them out", async () => {
    expect((await visibleState(b)).requests.map((r) => r.request_id)).not.toContain(requestA);
  });

  it("filtering the list by the other project's node answers an empty list", async () => {
    const r = await b.get(`/v1/boot-requests?node_id=${nodeA}`);
    expect(r.status).toBe(200);
    expect(r.body.boot_requests).toEqual([]);
  });

  it("filtering by state leaves them out", async () => {
    const r = await b.get("/v1/boot-requests?state=active");
    expect(r.body.boot_requests.map((x: { request_id: string }) => x.request_id)).not.toContain(requestA);
  });
});

describe("another project's volume", () => {
  it("booting a node from it fails with VOLUME_WRONG_PROJECT and leaves the volume untouched", async () => {
    const cinder = cinderAdmin(stack);
    const volumeA = await cinder.createVolume({ bootable: true });
    const nodeB = (await enrollLabNode(stack, b)).nodeId;
    const accepted = await b.post(`/v1/nodes/${nodeB}/boot-from-volume`, { volume_id: volumeA, protocol: "iscsi" });
    expect(accepted.status, accepted.text).toBe(202);
    const ended = await b.waitFor(accepted.body.request_id, ["failed", "active"]);
    expect(ended.state).toBe("failed");
    expect(ended.error.code).toBe("VOLUME_WRONG_PROJECT");
    expect((await cinder.volume(volumeA)).status).toBe("available");
    expect(await cinder.attachments(volumeA)).toEqual([]);
    expect((await b.get(`/v1/nodes/${nodeB}`)).body.active_request_id).toBeNull();
  });
});
