/** Nodes: enroll, show, list page by page, update, delete; refused while a request holds them. */
import { describe, expect, it } from "vitest";
import { LAB_PROJECT, LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { UUID_RE } from "../../lib/ids";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { RFC3720_IQN, enrollBody, expectError, listAll } from "./helpers";

let stack: LocalStack;
let api: Api;

useLocalStack({}, (s, a) => ((stack = s), (api = a)));

async function enroll(extra: Record<string, unknown> = {}) {
  const r = await api.post("/v1/nodes", { ...enrollBody(stack), ...extra });
  expect(r.status, r.text).toBe(201);
  return r;
}

/** a node locked by an active boot request */
async function busyNode(): Promise<{ nodeId: string; requestId: string }> {
  const { nodeId } = await enrollLabNode(stack, api);
  const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
  const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
  await api.waitFor(r.body.request_id, ["active"]);
  return { nodeId, requestId: r.body.request_id };
}

describe("enroll", () => {
  it("answers 201 with the node and its Location", async () => {
    const r = await enroll();
    expect(r.body.node_id).toMatch(UUID_RE);
    expect(r.headers.location).toBe(`/v1/nodes/${r.body.node_id}`);
    expect(r.body).toMatchObject({ project_id: LAB_PROJECT, site: LAB_SITE, boot_mode: "uefi", active_request_id: null, version: 1 });
  });

  it("fills in the defaults: DHCP for the initiator, BMC TLS verified", async () => {
    const body = enrollBody(stack);
    delete body.boot_mode;
    const r = await api.post("/v1/nodes", body);
    expect(r.body.boot_mode).toBe("uefi");
    expect(r.body.network).toEqual({ mode: "dhcp" });
    expect(r.body.bmc.tls).toEqual({ verify: true });
  });

  it("generates an initiator IQN in the RFC 3720 iqn form, one per node", async () => {
    const [one, two] = [await enroll(), await enroll()];
    expect(one.body.initiator_iqn).toMatch(RFC3720_IQN);
    expect(two.body.initiator_iqn).toMatch(RFC3720_IQN);
    expect(one.body.initiator_iqn).not.toBe(two.body.initiator_iqn);
  });

  it("stores the MAC address in lowercase", async () => {
    expect((await enroll({ mac_address: "02:00:5E:00:AB:CD" })).body.mac_address).toBe("02:00:5e:00:ab:cd");
  });

  it("GET answers the node as enrolled", async () => {
    const created = await enroll({ network: { mode: "static", address: "10.0.0.7", netmask: "255.255.255.0", vlan_id: 12 } });
    const shown = await api.get(created.headers.location as string);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual(created.body);
  });
});

describe("list", () => {
  it("pages with limit and next_cursor, every node once", async () => {
    const enrolled = [];
    for (let i = 0; i < 5; i++) enrolled.push((await enroll()).body.node_id);
    const first = await api.get("/v1/nodes?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.nodes).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));

    const pages: any[][] = [];
    let cursor: string | null = null;
    do {
      const r = await api.get(`/v1/nodes?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(r.body.nodes.length).toBeLessThanOrEqual(2);
      pages.push(r.body.nodes);
      cursor = r.body.next_cursor;
    } while (cursor);
    const ids = pages.flat().map((n) => n.node_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(enrolled));
    expect(ids.sort()).toEqual((await listAll(api, "/v1/nodes", "nodes")).map((n) => n.node_id).sort());
  });
});

describe("update", () => {
  it("changes the field sent and bumps the version", async () => {
    const created = (await enroll()).body;
    const r = await api.patch(`/v1/nodes/${created.node_id}`, { name: "rack-7-u12" });
    expect(r.status).toBe(200);
    expect(r.body.name).toBe("rack-7-u12");
    expect(r.body.version).toBe(created.version + 1);
    expect(Date.parse(r.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
    expect((await api.get(`/v1/nodes/${created.node_id}`)).body).toEqual(r.body);
  });

  it("leaves the fields not sent as they were", async () => {
    const created = (await enroll()).body;
    const r = await api.patch(`/v1/nodes/${created.node_id}`, { boot_mode: "bios" });
    const { boot_mode, version, updated_at, ...rest } = r.body;
    const { boot_mode: _b, version: _v, updated_at: _u, ...before } = created;
    expect(boot_mode).toBe("bios");
    expect(rest).toEqual(before);
  });

  it("keeps the initiator IQN across GET and PATCH", async () => {
    const created = (await enroll()).body;
    await api.patch(`/v1/nodes/${created.node_id}`, { name: "renamed", site: "lab-2" });
    await api.patch(`/v1/nodes/${created.node_id}`, { bmc: { ...enrollBody(stack).bmc, system_id: "sys-other" } });
    expect((await api.get(`/v1/nodes/${created.node_id}`)).body.initiator_iqn).toBe(created.initiator_iqn);
  });

  it("clears the name with null", async () => {
    const created = (await enroll({ name: "temp" })).body;
    expect((await api.patch(`/v1/nodes/${created.node_id}`, { name: null })).body.name).toBeNull();
  });

  it("of a node that does not exist answers 404 NODE_NOT_FOUND", async () => {
    expectError(await api.patch("/v1/nodes/6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b", { name: "x" }), 404, "NODE_NOT_FOUND", "node_id");
  });
});

describe("a node held by an active boot request", () => {
  it.each([
    { name: "PATCH", send: (id: string) => api.patch(`/v1/nodes/${id}`, { name: "changed" }) },
    { name: "DELETE", send: (id: string) => api.delete(`/v1/nodes/${id}`) },
  ])("refuses $name with 409 NODE_BUSY and stays as it was", async ({ send }) => {
    const { nodeId, requestId } = await busyNode();
    const before = (await api.get(`/v1/nodes/${nodeId}`)).body;
    expectError(await send(nodeId), 409, "NODE_BUSY");
    expect((await api.get(`/v1/nodes/${nodeId}`)).body).toEqual(before);
    expect(before.active_request_id).toBe(requestId);
  });

  it("can be changed and deleted again once undeployed", async () => {
    const { nodeId, requestId } = await busyNode();
    expect((await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`)).status).toBe(202);
    await api.waitFor(requestId, ["detached"]);
    expect((await api.patch(`/v1/nodes/${nodeId}`, { name: "free" })).status).toBe(200);
    expect((await api.delete(`/v1/nodes/${nodeId}`)).status).toBe(204);
  });
});

describe("delete", () => {
  it("answers 204 with no body, then the node is gone: GET 404, absent from the list", async () => {
    const { node_id } = (await enroll()).body;
    const del = await api.delete(`/v1/nodes/${node_id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe("");
    expectError(await api.get(`/v1/nodes/${node_id}`), 404, "NODE_NOT_FOUND", "node_id");
    expect((await listAll(api, "/v1/nodes", "nodes")).map((n) => n.node_id)).not.toContain(node_id);
  });

  it("a second time answers 404 NODE_NOT_FOUND", async () => {
    const { node_id } = (await enroll()).body;
    await api.delete(`/v1/nodes/${node_id}`);
    expectError(await api.delete(`/v1/nodes/${node_id}`), 404, "NODE_NOT_FOUND");
  });
});
