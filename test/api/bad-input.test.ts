/**
 * Bad input: every refusal is a 4xx in the one error shape, names the offending field, and
 * writes nothing. Each case is sent to a stack holding one free node, so a case that slipped
 * through validation would show up as a changed node or a new boot request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../lab/local-stack";
import { apiFor, cinderAdmin, enrollLabNode, type Api, type Reply } from "../support/api";
import { UNKNOWN_ID, enrollBody, expectError, visibleState } from "./helpers";

let stack: LocalStack;
let api: Api;
let nodeId: string;
let volumeId: string;

beforeAll(async () => {
  stack = await startLocalStack();
  api = apiFor(stack);
  nodeId = (await enrollLabNode(stack, api)).nodeId;
  volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
});
afterAll(async () => stack?.close());

interface BadInput {
  name: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: () => string;
  /** an object is sent as JSON; a string is sent as is */
  body?: () => unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  field: string;
}

const nodes = () => "/v1/nodes";
const node = () => `/v1/nodes/${nodeId}`;
const boot = () => `/v1/nodes/${nodeId}/boot-from-volume`;
const enroll = (change: (b: Record<string, any>) => void) => () => {
  const b = enrollBody(stack);
  change(b);
  return b;
};
const bootBody = (extra: Record<string, unknown> = {}) => () => ({ volume_id: volumeId, protocol: "iscsi", ...extra });

const BAD_INPUTS: BadInput[] = [
  // the body as a whole
  { name: "malformed JSON", method: "POST", path: nodes, body: () => '{"site": "lab",', status: 400, code: "MALFORMED_JSON", field: "body" },
  { name: "malformed JSON to boot-from-volume", method: "POST", path: boot, body: () => "{volume_id}", status: 400, code: "MALFORMED_JSON", field: "body" },
  { name: "a body that is not application/json", method: "POST", path: nodes, body: () => JSON.stringify(enrollBody(stack)), headers: { "content-type": "text/plain" }, status: 415, code: "UNSUPPORTED_MEDIA_TYPE", field: "content-type" },
  { name: "a body larger than SANBOOT_MAX_BODY_BYTES (16 KiB)", method: "POST", path: nodes, body: enroll((b) => (b.name = "x".repeat(17_000))), status: 413, code: "BODY_TOO_LARGE", field: "body" },
  { name: "a JSON array instead of an object", method: "POST", path: nodes, body: () => [enrollBody(stack)], status: 400, code: "VALIDATION_FAILED", field: "body" },

  // enrollment fields
  { name: "an unknown top-level field", method: "POST", path: nodes, body: enroll((b) => (b.colour = "blue")), status: 400, code: "VALIDATION_FAILED", field: "colour" },
  { name: "an unknown field inside bmc", method: "POST", path: nodes, body: enroll((b) => (b.bmc.port = 443)), status: 400, code: "VALIDATION_FAILED", field: "bmc.port" },
  { name: "site as a number", method: "POST", path: nodes, body: enroll((b) => (b.site = 42)), status: 400, code: "VALIDATION_FAILED", field: "site" },
  { name: "boot_mode outside its enum", method: "POST", path: nodes, body: enroll((b) => (b.boot_mode = "pxe")), status: 400, code: "VALIDATION_FAILED", field: "boot_mode" },
  { name: "site missing", method: "POST", path: nodes, body: enroll((b) => delete b.site), status: 400, code: "VALIDATION_FAILED", field: "site" },
  { name: "bmc.address missing", method: "POST", path: nodes, body: enroll((b) => delete b.bmc.address), status: 400, code: "VALIDATION_FAILED", field: "bmc.address" },
  { name: "an http:// BMC address", method: "POST", path: nodes, body: enroll((b) => (b.bmc.address = "http://10.0.0.5")), status: 400, code: "VALIDATION_FAILED", field: "bmc.address" },
  { name: "bmc.tls.verify as a string", method: "POST", path: nodes, body: enroll((b) => (b.bmc.tls = { verify: "no" })), status: 400, code: "VALIDATION_FAILED", field: "bmc.tls.verify" },
  { name: "a MAC address that is not one", method: "POST", path: nodes, body: enroll((b) => (b.mac_address = "02:00:5e:00:aa")), status: 400, code: "VALIDATION_FAILED", field: "mac_address" },
  { name: "an unknown network mode", method: "POST", path: nodes, body: enroll((b) => (b.network = { mode: "pxe" })), status: 400, code: "VALIDATION_FAILED", field: "network.mode" },

  // node updates
  { name: "PATCH with nothing to change", method: "PATCH", path: node, body: () => ({}), status: 400, code: "VALIDATION_FAILED", field: "body" },
  { name: "PATCH of a field that cannot change (initiator_iqn)", method: "PATCH", path: node, body: () => ({ initiator_iqn: "iqn.2026-11.evil:x" }), status: 400, code: "VALIDATION_FAILED", field: "initiator_iqn" },
  { name: "PATCH with boot_mode outside its enum", method: "PATCH", path: node, body: () => ({ boot_mode: "legacy" }), status: 400, code: "VALIDATION_FAILED", field: "boot_mode" },
  { name: "PATCH with an http:// BMC address", method: "PATCH", path: node, body: () => ({ bmc: { ...enrollBody(stack).bmc, address: "http://10.0.0.5" } }), status: 400, code: "VALIDATION_FAILED", field: "bmc.address" },
  { name: "PATCH with a bad MAC", method: "PATCH", path: node, body: () => ({ mac_address: "zz:zz:zz:zz:zz:zz" }), status: 400, code: "VALIDATION_FAILED", field: "mac_address" },
  { name: "PATCH of a node_id that is not a UUID", method: "PATCH", path: () => "/v1/nodes/node-1", body: () => ({ name: "x" }), status: 400, code: "VALIDATION_FAILED", field: "node_id" },
  { name: "DELETE of a node_id that is not a UUID", method: "DELETE", path: () => "/v1/nodes/node-1", status: 400, code: "VALIDATION_FAILED", field: "node_id" },

  // boot-from-volume
  { name: "volume_id that is not a UUID", method: "POST", path: boot, body: bootBody({ volume_id: "vol-1" }), status: 400, code: "VALIDATION_FAILED", field: "volume_id" },
  { name: "volume_id missing", method: "POST", path: boot, body: () => ({ protocol: "iscsi" }), status: 400, code: "VALIDATION_FAILED", field: "volume_id" },
  { name: "multipath as a string", method: "POST", path: boot, body: bootBody({ multipath: "true" }), status: 400, code: "VALIDATION_FAILED", field: "multipath" },
  { name: "protocol outside its enum", method: "POST", path: boot, body: bootBody({ protocol: "nvme" }), status: 400, code: "VALIDATION_FAILED", field: "protocol" },
  { name: "an unknown boot-from-volume field", method: "POST", path: boot, body: bootBody({ force: true }), status: 400, code: "VALIDATION_FAILED", field: "force" },
  { name: "an Idempotency-Key with a space in it", method: "POST", path: boot, body: bootBody(), headers: { "idempotency-key": "my key" }, status: 400, code: "VALIDATION_FAILED", field: "Idempotency-Key" },
  { name: "boot-from-volume on a node_id that is not a UUID", method: "POST", path: () => "/v1/nodes/node-1/boot-from-volume", body: bootBody(), status: 400, code: "VALIDATION_FAILED", field: "node_id" },
  { name: "undeploy of a node_id that is not a UUID", method: "DELETE", path: () => "/v1/nodes/node-1/boot-from-volume", status: 400, code: "VALIDATION_FAILED", field: "node_id" },

  // reads: path and query
  { name: "GET of a node_id that is not a UUID", method: "GET", path: () => "/v1/nodes/node-1", status: 400, code: "VALIDATION_FAILED", field: "node_id" },
  { name: "GET of a request_id that is not a UUID", method: "GET", path: () => "/v1/boot-requests/req-1", status: 400, code: "VALIDATION_FAILED", field: "request_id" },
  { name: "limit=0", method: "GET", path: () => "/v1/nodes?limit=0", status: 400, code: "VALIDATION_FAILED", field: "limit" },
  { name: "limit=abc", method: "GET", path: () => "/v1/nodes?limit=abc", status: 400, code: "VALIDATION_FAILED", field: "limit" },
  { name: "limit above 100", method: "GET", path: () => "/v1/boot-requests?limit=101", status: 400, code: "VALIDATION_FAILED", field: "limit" },
  { name: "state=bogus", method: "GET", path: () => "/v1/boot-requests?state=bogus", status: 400, code: "VALIDATION_FAILED", field: "state" },
  { name: "node_id filter that is not a UUID", method: "GET", path: () => "/v1/boot-requests?node_id=node-1", status: 400, code: "VALIDATION_FAILED", field: "node_id" },
  { name: "an unknown query parameter", method: "GET", path: () => "/v1/nodes?colour=blue", status: 400, code: "VALIDATION_FAILED", field: "colour" },
  { name: "a cursor that is not base64 JSON", method: "GET", path: () => "/v1/nodes?cursor=%25%25%25", status: 400, code: "VALIDATION_FAILED", field: "cursor" },
  { name: "a forged node cursor (valid JSON, not a key)", method: "GET", path: () => `/v1/nodes?cursor=${forged({ pk: "x" })}`, status: 400, code: "VALIDATION_FAILED", field: "cursor" },
  { name: "a forged request cursor (another project's key)", method: "GET", path: () => `/v1/boot-requests?cursor=${forged({ pk: `REQ#${UNKNOWN_ID}`, sk: "REQ", gsi_project_pk: "PROJ#other#REQ", gsi_project_sk: `x#${UNKNOWN_ID}` })}`, status: 400, code: "VALIDATION_FAILED", field: "cursor" },
  { name: "a cursor that decodes to a number", method: "GET", path: () => `/v1/nodes?cursor=${forged(123)}`, status: 400, code: "VALIDATION_FAILED", field: "cursor" },
];

function forged(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString("base64url");
}

async function send(c: BadInput): Promise<Reply> {
  return api.call(c.method, c.path(), c.body?.(), c.headers ?? {});
}

const WRITES = BAD_INPUTS.filter((c) => c.method !== "GET");

describe("bad input is refused with a 4xx naming the field", () => {
  it.each(BAD_INPUTS)("$name → $status $code naming $field", async (c) => {
    expectError(await send(c), c.status, c.code, c.field);
  });

  it("no bad input is answered with a 5xx", async () => {
    const statuses = await Promise.all(BAD_INPUTS.map(async (c) => [c.name, (await send(c)).status] as const));
    expect(statuses.filter(([, s]) => s >= 500)).toEqual([]);
  });
});

describe("bad input writes nothing", () => {
  it.each(WRITES)("$name leaves nodes and boot requests as they were", async (c) => {
    const before = await visibleState(api);
    await send(c);
    expect(await visibleState(api)).toEqual(before);
  });

  it.each(WRITES.filter((c) => c.path === boot))("$name leaves the node unlocked", async (c) => {
    await send(c);
    const n = await api.get(`/v1/nodes/${nodeId}`);
    expect(n.body.active_request_id).toBeNull();
    expect((await api.get(`/v1/boot-requests?node_id=${nodeId}`)).body.boot_requests).toEqual([]);
  });
});
