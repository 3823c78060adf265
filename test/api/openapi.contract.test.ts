/**
 * The OpenAPI document, as GET /v1/openapi.json serves it, against serverless.yml and against
 * the handlers: every route declared is documented, and in a real run of the flows over the
 * local stack (enroll, list, show, update, boot, status, undeploy, the relay's calls, and the
 * refusals: 400, 401, 403, 404, 409, 413, 415, 422) every answer is what the document gives for
 * its operation and status, checked by the document's own schemas.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { LAB_CREDENTIALS_REF, LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { httpStatusOf } from "../../lib/http/error-map";
import type { ErrorCode } from "../../lib/errors";
import { Api, cinderAdmin, enrollLabNode, useLocalStack, type Reply } from "../support/api";
import { OpenApiContract } from "../support/openapi-contract";
import { UNKNOWN_ID, enrollBody, newToken } from "./helpers";
import { sha256Hex } from "../../lib/ids";
import { generateSiteKeyPair } from "../../lib/relay/site-seal";

const ROOT = join(__dirname, "..", "..");
const CONTRACT_SITE = "contract";
const contractRelayToken = newToken("relay-contract");

/** An Api whose every answer is checked against the document at once. */
class CheckedApi extends Api {
  constructor(
    url: string,
    token: string | null,
    private readonly contract: () => OpenApiContract,
  ) {
    super(url, token);
  }
  override async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const r = await super.call(method, path, body, headers);
    expect(this.contract().problems(method, path, r)).toEqual([]);
    return r;
  }
}

let stack: LocalStack;
let contract: OpenApiContract;
let api: CheckedApi;
let anonymous: CheckedApi;
let relay: CheckedApi;

useLocalStack({ extraRelaySites: { [CONTRACT_SITE]: contractRelayToken } }, (s) => (stack = s));

beforeAll(async () => {
  const served = await new Api(stack.service.url, null).get("/v1/openapi.json");
  expect(served.status, served.text).toBe(200);
  contract = new OpenApiContract(served.body);
  api = new CheckedApi(stack.service.url, stack.apiToken, () => contract);
  anonymous = new CheckedApi(stack.service.url, null, () => contract);
  relay = new CheckedApi(stack.service.url, contractRelayToken, () => contract);
});

/** openapi-spec-validator (Python, on the machine image): a check of the document nobody here wrote */
const SPEC_VALIDATOR = "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))";
const hasSpecValidator = spawnSync("python3", ["-c", "import openapi_spec_validator"]).status === 0;

/** Runs the spec validator on the document without blocking this process (it hosts the service). */
function specValidator(doc: unknown): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("python3", ["-c", SPEC_VALIDATOR], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", (status) => resolve({ status, stderr }));
    p.stdin.end(JSON.stringify(doc));
  });
}

/** until the relay has read the node's FC ports (the inventory at enrollment) */
async function waitForPorts(nodeId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await api.get(`/v1/nodes/${nodeId}`)).body.fc_ports) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`node ${nodeId}: its FC ports were never read`);
}

function declaredRoutes(): string[] {
  const yml = parse(readFileSync(join(ROOT, "serverless.yml"), "utf8")) as { functions: Record<string, { events?: Array<{ httpApi?: { method: string; path: string } }> }> };
  return Object.values(yml.functions)
    .flatMap((f) => f.events ?? [])
    .flatMap((e) => (e.httpApi ? [`${e.httpApi.method.toUpperCase()} ${e.httpApi.path}`] : []));
}

describe("the document", () => {
  it("is served without a token, as OpenAPI 3.1 with the package's version and a relative server", async () => {
    const r = await anonymous.get("/v1/openapi.json");
    expect(r.body.openapi).toMatch(/^3\.1\.\d+$/);
    expect(r.body.info.version).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
    for (const s of r.body.servers) expect(s.url).toMatch(/^\//);
    expect(r.body.paths["/v1/openapi.json"].get.security).toEqual([]);
  });

  it("documents every route of serverless.yml, and no other", () => {
    const documented = contract.operations.map((o) => `${o.method} ${o.template}`).sort();
    expect(documented).toEqual(declaredRoutes().sort());
  });

  it("gives every operation a unique id, its path parameters, a success answer and the error shape for every error status", () => {
    const ids = contract.operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { template, op, operationId } of contract.operations) {
      const inPath = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p: any) => p.in === "path").map((p: any) => p.name).sort();
      expect(declared, operationId).toEqual(inPath);
      const statuses = Object.keys(op.responses).map(Number);
      expect(statuses.filter((s) => s >= 200 && s < 300), operationId).toHaveLength(1);
      for (const s of statuses.filter((x) => x >= 400)) {
        const schema = op.responses[String(s)].content["application/json"].schema;
        expect(schema.allOf[0], `${operationId} ${s}`).toEqual({ $ref: "#/components/schemas/Error" });
        // the codes documented for a status are codes the error map answers with that status
        for (const code of schema.allOf[1].properties.error.properties.code.enum as ErrorCode[]) expect(httpStatusOf(code), `${operationId} ${s} ${code}`).toBe(s);
      }
    }
  });

  it("asks callers for their token, relays for their site's, and nothing for itself", () => {
    expect(contract.doc.security).toEqual([{ bearer: [] }, { xAuthToken: [] }]);
    expect(Object.keys(contract.doc.components.securitySchemes).sort()).toEqual(["bearer", "relayToken", "xAuthToken"]);
    for (const { template, op } of contract.operations) {
      if (template.startsWith("/v1/relay/")) expect(op.security).toEqual([{ relayToken: [] }]);
      else if (template === "/v1/openapi.json") expect(op.security).toEqual([]);
      else expect(op.security).toBeUndefined();
    }
  });

  it("takes an Idempotency-Key where the handler honours one: on boot-from-volume", () => {
    const withKey = contract.operations.filter((o) => (o.op.parameters ?? []).some((p: any) => p.in === "header" && p.name === "Idempotency-Key"));
    expect(withKey.map((o) => o.operationId)).toEqual(["bootFromVolume"]);
  });

  it("carries the field constraints the handlers check", () => {
    const s = contract.doc.components.schemas;
    expect(s.EnrollNode.required.sort()).toEqual(["bmc", "site"]);
    expect(s.EnrollNode.additionalProperties).toBe(false);
    expect(s.EnrollNode.properties.bmc.properties.address.pattern).toBe("^https:\\/\\/");
    expect(s.BootFromVolume.properties.volume_id.format).toBe("uuid");
    expect(s.NodeChanges.minProperties).toBe(1);
    expect(s.ErrorCode.enum).toEqual(expect.arrayContaining(["VALIDATION_FAILED", "NODE_BUSY", "INTERNAL"]));
  });

  it.skipIf(!hasSpecValidator)("is valid OpenAPI 3.1 to openapi-spec-validator (skipped where python3 has no openapi_spec_validator)", async () => {
    const r = await specValidator(contract.doc);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
  });

  it("has schemas that all compile as JSON Schema 2020-12", () => {
    expect(contract.compileComponents().length).toBeGreaterThan(10);
  });
});

describe("the check itself", () => {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
    status,
    headers: { "content-type": "application/json", ...headers },
    body,
    text: JSON.stringify(body),
  });
  let node: any;
  beforeAll(async () => {
    node = (await api.post("/v1/nodes", enrollBody(stack))).body;
  });

  it("passes the answer as it came", async () => {
    expect(contract.problems("GET", `/v1/nodes/${node.node_id}`, json(200, node))).toEqual([]);
  });

  it.each([
    ["a field the schema does not have", () => ["GET", `/v1/nodes/${node.node_id}`, json(200, { ...node, extra: 1 })]],
    ["a field missing", () => ["GET", `/v1/nodes/${node.node_id}`, json(200, { ...node, initiator_iqn: undefined })]],
    ["a field of another type", () => ["GET", `/v1/nodes/${node.node_id}`, json(200, { ...node, version: "1" })]],
    ["a status the document does not give", () => ["GET", `/v1/nodes/${node.node_id}`, json(201, node)]],
    ["a required header missing", () => ["POST", "/v1/nodes", json(201, node)]],
    ["an error code not documented for its status", () => ["GET", `/v1/nodes/${UNKNOWN_ID}`, json(404, { error: { code: "REQUEST_NOT_FOUND", message: "x", details: [] } })]],
    ["an error in another shape", () => ["GET", `/v1/nodes/${UNKNOWN_ID}`, json(404, { message: "Not Found" })]],
    ["a route the document does not have", () => ["GET", "/v1/volumes", json(200, {})]],
  ] as Array<[string, () => [string, string, Reply]]>)("flags %s", (_name, answer) => {
    const [method, path, reply] = answer();
    expect(contract.problems(method, path, reply)).not.toEqual([]);
  });
});

describe("every answer of a real run is the documented one", () => {
  let volumeId: string;

  it("nodes: enroll, list by pages, show, update, delete", async () => {
    const created = await api.post("/v1/nodes", { ...enrollBody(stack), network: { mode: "static", address: "10.0.0.7", netmask: "255.255.255.0", vlan_id: 12 } });
    expect(created.status).toBe(201);
    await api.post("/v1/nodes", enrollBody(stack));
    const first = await api.get("/v1/nodes?limit=1");
    expect(first.body.next_cursor).toEqual(expect.any(String));
    await api.get(`/v1/nodes?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    await api.get(`/v1/nodes/${created.body.node_id}`);
    expect((await api.patch(`/v1/nodes/${created.body.node_id}`, { name: null, mac_address: "02:00:5E:00:AB:CD", fc_wwpn: "10:00:00:00:c9:12:34:56" })).status).toBe(200);
    expect((await api.delete(`/v1/nodes/${created.body.node_id}`)).status).toBe(204);
  });

  it("refusals of nodes: bad input, another project, unknown, too large, not JSON", async () => {
    expect((await api.post("/v1/nodes", { ...enrollBody(stack), colour: "blue" })).status).toBe(400);
    expect((await api.post("/v1/nodes", '{"site": "lab",')).status).toBe(400);
    expect((await api.post("/v1/nodes", JSON.stringify(enrollBody(stack)), { "content-type": "text/plain" })).status).toBe(415);
    expect((await api.post("/v1/nodes", { ...enrollBody(stack), name: "x".repeat(17_000) })).status).toBe(413);
    expect((await api.post("/v1/nodes", { ...enrollBody(stack), project_id: "someone-else" })).status).toBe(403);
    expect((await api.get("/v1/nodes?limit=0")).status).toBe(400);
    expect((await api.get("/v1/nodes/node-1")).status).toBe(400);
    expect((await api.get(`/v1/nodes/${UNKNOWN_ID}`)).status).toBe(404);
    expect((await api.patch(`/v1/nodes/${UNKNOWN_ID}`, { name: "x" })).status).toBe(404);
    expect((await api.patch(`/v1/nodes/${UNKNOWN_ID}`, {})).status).toBe(400);
    expect((await api.delete(`/v1/nodes/${UNKNOWN_ID}`)).status).toBe(404);
    expect((await api.post(`/v1/nodes/${UNKNOWN_ID}/boot-from-volume`, { volume_id: UNKNOWN_ID })).status).toBe(404);
    expect((await api.delete(`/v1/nodes/${UNKNOWN_ID}/boot-from-volume`)).status).toBe(404);
    expect((await api.get(`/v1/boot-requests/${UNKNOWN_ID}`)).status).toBe(404);
    expect((await api.get("/v1/boot-requests/req-1")).status).toBe(400);
    expect((await api.get("/v1/boot-requests?state=bogus")).status).toBe(400);
  });

  it("every route that asks for a token answers 401 without one, or with a wrong one", async () => {
    const wrong = new CheckedApi(stack.service.url, "not-a-token", () => contract);
    for (const { method, template, op } of contract.operations) {
      if (op.security?.length === 0) continue;
      const path = template.replace("{command_id}", `${UNKNOWN_ID}.power_on.1`).replace(/\{\w+\}/g, UNKNOWN_ID);
      const body = op.requestBody ? {} : undefined;
      expect((await anonymous.call(method, path, body)).status, `${method} ${path}`).toBe(401);
      expect((await wrong.call(method, path, body)).status, `${method} ${path}`).toBe(401);
    }
  });

  it("a caller's token is taken from X-Auth-Token too, as the document says", async () => {
    expect((await anonymous.call("GET", "/v1/nodes?limit=1", undefined, { "x-auth-token": stack.apiToken })).status).toBe(200);
  });

  it("boot from an iSCSI volume with an Idempotency-Key, follow it to active, list, refuse changes while busy", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const path = `/v1/nodes/${nodeId}/boot-from-volume`;
    const key = newToken("key");
    const accepted = await api.post(path, { volume_id: volumeId, protocol: "iscsi", multipath: true }, { "idempotency-key": key });
    expect(accepted.status).toBe(202);
    const replayed = await api.post(path, { volume_id: volumeId, protocol: "iscsi", multipath: true }, { "idempotency-key": key });
    expect(replayed.headers["idempotent-replayed"]).toBe("true");
    expect((await api.post(path, { volume_id: volumeId, protocol: "iscsi" }, { "idempotency-key": key })).status).toBe(422);
    expect((await api.post(path, { volume_id: volumeId }, { "idempotency-key": "my key" })).status).toBe(400);
    expect((await api.post(path, { volume_id: volumeId })).status).toBe(409);
    const active = await api.waitFor(accepted.body.request_id, ["active", "failed"], 30_000);
    expect(active.state).toBe("active");
    expect(active.target.driver_volume_type).toBe("iscsi");

    await api.get(`/v1/boot-requests?node_id=${nodeId}`);
    await api.get("/v1/boot-requests?state=active&limit=1");
    expect((await api.patch(`/v1/nodes/${nodeId}`, { name: "busy" })).status).toBe(409);
    expect((await api.delete(`/v1/nodes/${nodeId}`)).status).toBe(409);
    expect((await api.get(`/v1/nodes/${nodeId}`)).body.active_request_id).toBe(accepted.body.request_id);

    expect((await api.delete(path)).status).toBe(202);
    expect((await api.waitFor(accepted.body.request_id, ["detached", "failed"], 30_000)).state).toBe("detached");
    expect((await api.delete(path)).status).toBe(409);
  });

  it("boot from a Fibre Channel volume, to active and back", async () => {
    const systemId = "contract-fc";
    stack.bmc.addSystem({ id: systemId, mac: "02:00:5e:fc:0c:01", fcPorts: 2, powerState: "Off" });
    const enrolled = await api.post("/v1/nodes", { site: LAB_SITE, bmc: { address: stack.bmc.url, system_id: systemId, credentials_ref: LAB_CREDENTIALS_REF } });
    await waitForPorts(enrolled.body.node_id);
    const fcVolume = await cinderAdmin(stack).createVolume({ bootable: true, volumeType: "fc" });
    const path = `/v1/nodes/${enrolled.body.node_id}/boot-from-volume`;
    const r = await api.post(path, { volume_id: fcVolume });
    const active = await api.waitFor(r.body.request_id, ["active", "failed"], 30_000);
    expect(active.target?.driver_volume_type).toBe("fibre_channel");
    await api.delete(path);
    await api.waitFor(r.body.request_id, ["detached", "failed"], 30_000);
  });

  it("a boot that fails shows its error and history", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    const notBootable = await cinderAdmin(stack).createVolume({ bootable: false });
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: notBootable, protocol: "iscsi" });
    const failed = await api.waitFor(r.body.request_id, ["failed", "active"], 30_000);
    expect(failed.state).toBe("failed");
    expect(failed.error.code).toBe("VOLUME_NOT_BOOTABLE");
  });

  it("the relay's calls: lease, heartbeat, result, release, and a lease lost", async () => {
    // a node at a site no running relay serves: its inventory read waits for this test to lease it
    const node = (await api.post("/v1/nodes", { ...enrollBody(stack), site: CONTRACT_SITE })).body;
    const lease = async () => (await relay.post("/v1/relay/lease", { relay_id: "contract-relay", wait_seconds: 0 })).body.commands;
    const [first] = await lease();
    expect(first.body.type).toBe("read_fc_inventory");
    const cmd = `/v1/relay/commands/${encodeURIComponent(first.command_id)}`;
    expect((await relay.post(`${cmd}/heartbeat`, { lease_token: first.lease_token })).status).toBe(200);
    const ports = { ports: [{ wwpn: "10:00:00:00:c9:12:34:56", wwnn: "20:00:00:00:c9:12:34:56" }] };
    expect((await relay.post(`${cmd}/result`, { lease_token: first.lease_token, outcome: { ok: true, result: ports } })).status).toBe(200);
    expect((await api.get(`/v1/nodes/${node.node_id}`)).body.fc_ports).toEqual([{ wwpn: "10000000c9123456", wwnn: "20000000c9123456" }]);
    expect((await relay.post(`${cmd}/heartbeat`, { lease_token: first.lease_token })).status).toBe(409);
    expect((await relay.post(`${cmd}/result`, { lease_token: first.lease_token, outcome: { ok: true, result: {} } })).status).toBe(409);

    // a changed BMC is read again: hand that read back, lease it again, and report a failure
    await api.patch(`/v1/nodes/${node.node_id}`, { bmc: { ...enrollBody(stack).bmc, system_id: "sys-other" } });
    const [second] = await lease();
    const cmd2 = `/v1/relay/commands/${encodeURIComponent(second.command_id)}`;
    expect((await relay.post(`${cmd2}/release`, { lease_token: second.lease_token })).status).toBe(200);
    expect((await relay.post(`${cmd2}/release`, { lease_token: second.lease_token })).status).toBe(409);
    const [again] = await lease();
    const failure = { ok: false, error: { code: "BMC_AUTH_FAILED", message: "the BMC refused the login", retryable: false } };
    expect((await relay.post(`${cmd2}/result`, { lease_token: again.lease_token, outcome: failure })).status).toBe(200);
    expect((await api.get(`/v1/nodes/${node.node_id}`)).body.inventory_error).toEqual({ code: "BMC_AUTH_FAILED", message: "the BMC refused the login" });

    expect(await lease()).toEqual([]);
    expect((await relay.post("/v1/relay/lease", { relay_id: "" })).status).toBe(400);
  });

  it("sites: create, list, show, rotate a token, delete, and their refusals", async () => {
    const admin = new CheckedApi(stack.service.url, stack.adminToken, () => contract);
    const [oldToken, newTokenOfSite] = [newToken("relay-dc9"), newToken("relay-dc9")];
    const body = { site: "dc9", description: "the ninth", relay_token_sha256: [sha256Hex(oldToken)], sealing_public_key: generateSiteKeyPair().publicKeyPem };
    expect((await admin.post("/v1/sites", body)).status).toBe(201);
    expect((await admin.post("/v1/sites", body)).status).toBe(409);
    expect((await admin.post("/v1/sites", { ...body, site: "dc10", relay_token_sha256: ["abc"] })).status).toBe(400);
    expect((await api.post("/v1/sites", { ...body, site: "dc11" })).status).toBe(403);
    const first = await admin.get("/v1/sites?limit=1");
    expect(first.status).toBe(200);
    expect((await admin.get("/v1/sites?limit=0")).status).toBe(400);
    expect((await api.get("/v1/sites")).status).toBe(403);
    expect((await admin.get("/v1/sites/dc9")).status).toBe(200);
    expect((await admin.get("/v1/sites/nosuch")).status).toBe(404);
    expect((await admin.get("/v1/sites/Not_A_Site")).status).toBe(400);
    expect((await admin.patch("/v1/sites/dc9", { relay_token_sha256: [sha256Hex(oldToken), sha256Hex(newTokenOfSite)] })).status).toBe(200);
    expect((await admin.patch("/v1/sites/dc9", { relay_token_sha256: [sha256Hex(newTokenOfSite)] })).status).toBe(200);
    expect((await admin.patch("/v1/sites/dc9", {})).status).toBe(400);
    expect((await admin.patch("/v1/sites/nosuch", { description: "x" })).status).toBe(404);
    expect((await admin.patch(`/v1/sites/${CONTRACT_SITE}`, { description: "x" })).status).toBe(409);
    const dc9Relay = new CheckedApi(stack.service.url, newTokenOfSite, () => contract);
    expect((await dc9Relay.get("/v1/relay/whoami")).body).toEqual({ site: "dc9" });
    const node = await api.post("/v1/nodes", { ...enrollBody(stack), site: "dc9" });
    expect(node.status).toBe(201);
    expect((await admin.delete("/v1/sites/dc9")).status).toBe(409);
    expect((await api.delete(`/v1/nodes/${node.body.node_id}`)).status).toBe(204);
    expect((await admin.delete("/v1/sites/dc9")).status).toBe(204);
    expect((await admin.delete("/v1/sites/nosuch")).status).toBe(404);
  });

  it("reached every operation's success, and the refusals the flows above set out to reach", () => {
    for (const { operationId, op } of contract.operations) {
      const success = Object.keys(op.responses).find((s) => s.startsWith("2"));
      expect(contract.seen.has(`${operationId} ${success}`), `${operationId} ${success}`).toBe(true);
    }
    const refusals = [
      "enrollNode 400", "enrollNode 401", "enrollNode 403", "enrollNode 413", "enrollNode 415",
      "listNodes 400", "showNode 400", "showNode 404", "updateNode 400", "updateNode 404", "updateNode 409",
      "deleteNode 404", "deleteNode 409", "bootFromVolume 400", "bootFromVolume 404", "bootFromVolume 409", "bootFromVolume 422",
      "undeploy 404", "undeploy 409", "listBootRequests 400", "showBootRequest 400", "showBootRequest 404",
      "leaseCommands 400", "leaseCommands 401", "heartbeatCommand 409", "releaseCommand 409", "reportCommandResult 409",
      "createSite 400", "createSite 403", "createSite 409", "listSites 400", "listSites 403", "showSite 400", "showSite 404",
      "updateSite 400", "updateSite 404", "updateSite 409", "deleteSite 404", "deleteSite 409",
    ];
    expect(refusals.filter((r) => !contract.seen.has(r))).toEqual([]);
  });
});
