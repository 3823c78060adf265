import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynalite, type RunningStore } from "../../lab/dynalite";
import { ConflictError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { queuedCommand, type BootRequestRecord, type CommandRecord, type NodeRecord } from "../../lib/store/records";
import { StateTable } from "../../lib/store/state-table";
import { all, condition } from "../../lib/store/table-client";
import { start } from "../../lib/workflow";

let store: RunningStore;
let table: StateTable;
const now = "2026-11-25T10:00:00.000Z";

beforeAll(async () => {
  store = await startDynalite();
  table = new StateTable({ tableName: "t-store", region: "us-east-1", endpoint: store.endpoint });
  await table.ensureTable();
});
afterAll(async () => {
  table.close();
  await store.close();
});

function node(project = "p1"): NodeRecord {
  const id = newId();
  return {
    node_id: id,
    project_id: project,
    name: null,
    site: "site-a",
    bmc: { driver: "redfish", address: "https://127.0.0.1:8443", system_id: "s1", credentials_ref: "c1", tls: { verify: true } },
    boot_mode: "uefi",
    boot_override: "once",
    mac_address: null,
    network: { mode: "dhcp" },
    initiator_iqn: `iqn.2026-11.io.sanboot:node-${id}`,
    fc_wwpn: null,
    fc_ports: null,
    active_request_id: null,
    version: 1,
    created_at: now,
    updated_at: now,
  };
}

function command(site: string, id = newId()): CommandRecord {
  return queuedCommand(
    {
      command_id: id,
      site,
      request_id: newId(),
      node_id: null,
      step: "power_on",
      attempt: 1,
      body: { type: "power_on", boot_override: "once", san_targets: [], boot_mode: "uefi", bmc: { driver: "redfish", address: "https://127.0.0.1:1", system_id: "s", credentials_ref: "c", tls: { verify: true } } },
    },
    now,
  );
}

function request(n: NodeRecord, state: BootRequestRecord["state"] = "accepted"): BootRequestRecord {
  const id = newId();
  return {
    ...start(id, new Date(now)).state,
    state,
    node_id: n.node_id,
    project_id: n.project_id,
    site: n.site,
    volume_id: newId(),
    requested_protocol: "iscsi",
    protocol: "iscsi",
    multipath: false,
    boot_method: "firmware",
    connector: null,
    attachment_id: null,
    target: null,
    bmc_evidence: null,
    bmc_changes: [],
    boot_confirmed: null,
    boot_evidence: null,
    command_id: null,
    running_until: null,
    version: 1,
    created_at: now,
    updated_at: now,
  };
}

describe("node lock", () => {
  it("of two concurrent lock attempts exactly one wins, the other is NODE_BUSY", async () => {
    const n = node();
    await table.createNode(n);
    const results = await Promise.allSettled([table.lockNode(n.node_id, "p1", "r1", now), table.lockNode(n.node_id, "p1", "r2", now)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(ConflictError);
    expect(lost.reason.code).toBe("NODE_BUSY");
  });

  it("answers the node as locked, so the caller needs no read before or after", async () => {
    const n = node();
    await table.createNode(n);
    const locked = await table.lockNode(n.node_id, "p1", "r1", now);
    expect(locked).toEqual({ ...n, active_request_id: "r1", locked_at: now, updated_at: now, version: 2 });
  });

  it("without a project (an admin) takes a node of any project", async () => {
    const n = node("p9");
    await table.createNode(n);
    expect((await table.lockNode(n.node_id, null, "r1", now)).active_request_id).toBe("r1");
  });

  it("a node that is not there cannot be locked either: NODE_BUSY, the caller finds out why", async () => {
    await expect(table.lockNode(newId(), null, "r1", now)).rejects.toMatchObject({ code: "NODE_BUSY" });
  });

  it("refuses to lock another project's node", async () => {
    const n = node("p1");
    await table.createNode(n);
    await expect(table.lockNode(n.node_id, "p2", "r1", now)).rejects.toMatchObject({ code: "NODE_BUSY" });
    expect((await table.getNode(n.node_id))?.active_request_id).toBeNull();
  });

  it("release frees the node only for the request that holds it", async () => {
    const n = node();
    await table.createNode(n);
    await table.lockNode(n.node_id, "p1", "r1", now);
    expect(await table.releaseNode(n.node_id, "other", now)).toBeNull();
    expect((await table.getNode(n.node_id))?.active_request_id).toBe("r1");
    expect((await table.releaseNode(n.node_id, "r1", now))?.active_request_id).toBeNull();
    expect((await table.getNode(n.node_id))?.active_request_id).toBeNull();
  });

  it("a node with an active request cannot be deleted", async () => {
    const n = node();
    await table.createNode(n);
    await table.lockNode(n.node_id, "p1", "r1", now);
    await expect(table.deleteNode(n.node_id)).rejects.toMatchObject({ code: "NODE_BUSY" });
    await table.releaseNode(n.node_id, "r1", now);
    await table.deleteNode(n.node_id);
    expect(await table.getNode(n.node_id)).toBeNull();
  });
});

describe("nodes and boot requests", () => {
  it("a node id is taken once: NODE_EXISTS", async () => {
    const n = node();
    await table.createNode(n);
    await expect(table.createNode(n)).rejects.toMatchObject({ code: "NODE_EXISTS" });
  });

  it("a node saved over a version it did not read is VERSION_CONFLICT, and nothing is written", async () => {
    const n = node();
    await table.createNode(n);
    await table.saveNode({ ...n, name: "first", version: 2 }, 1);
    await expect(table.saveNode({ ...n, name: "second", version: 2 }, 1)).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    expect((await table.getNode(n.node_id))?.name).toBe("first");
  });

  it("of two saves of the same request version exactly one wins", async () => {
    const n = node();
    const r = request(n);
    await table.createRequest(r);
    await expect(table.createRequest(r)).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    const results = await Promise.allSettled([table.saveRequest({ ...r, attempts: 1, version: 2 }), table.saveRequest({ ...r, attempts: 2, version: 2 })]);
    expect(results.filter((x) => x.status === "fulfilled")).toHaveLength(1);
    expect((results.find((x) => x.status === "rejected") as PromiseRejectedResult).reason).toMatchObject({ code: "VERSION_CONFLICT" });
  });

  it("lists a node's requests of the caller's project only, filtered by state, page by page", async () => {
    const n = node("p-list");
    const mine = [request(n, "active"), request(n, "failed"), request(n, "active")];
    for (const r of [...mine, { ...request(n, "active"), project_id: "p-other" }]) await table.createRequest(r);
    const first = await table.listRequests("p-list", { nodeId: n.node_id, state: "active", limit: 3 });
    const rest = first.cursor ? await table.listRequests("p-list", { nodeId: n.node_id, state: "active", limit: 3, cursor: first.cursor }) : { items: [] };
    expect([...first.items, ...rest.items].map((r) => r.request_id).sort()).toEqual([mine[0]!.request_id, mine[2]!.request_id].sort());
    expect((await table.listRequests("p-list", { limit: 10 })).items).toHaveLength(3);
  });

  it("a cursor this store did not give out is bad input, not an outage", async () => {
    const forged = Buffer.from(JSON.stringify({ pk: "nope" })).toString("base64url");
    await expect(table.listNodes("p1", { limit: 5, cursor: forged })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    await expect(table.listNodes("p1", { limit: 5, cursor: "%%%" })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });
});

describe("relay command queue", () => {
  it("a command is leased by one of two racing relays only", async () => {
    const site = `race-${newId()}`;
    await table.enqueueCommand(command(site));
    const [a, b] = await Promise.all([table.leaseCommands(site, { relayId: "relay-a", now, leaseSeconds: 60, max: 5 }), table.leaseCommands(site, { relayId: "relay-b", now, leaseSeconds: 60, max: 5 })]);
    expect(a.length + b.length).toBe(1);
  });

  it("an expired lease is handed to the next relay, and the first relay's result is refused", async () => {
    const site = `exp-${newId()}`;
    const c = command(site);
    await table.enqueueCommand(c);
    const [first] = await table.leaseCommands(site, { relayId: "relay-a", now, leaseSeconds: 30, max: 5 });
    expect(first?.lease_owner).toBe("relay-a");
    // before expiry nobody else gets it
    expect(await table.leaseCommands(site, { relayId: "relay-b", now: "2026-11-25T10:00:10.000Z", leaseSeconds: 30, max: 5 })).toEqual([]);
    const [second] = await table.leaseCommands(site, { relayId: "relay-b", now: "2026-11-25T10:00:31.000Z", leaseSeconds: 30, max: 5 });
    expect(second?.lease_owner).toBe("relay-b");
    expect(second?.leases).toBe(2);
    await expect(table.completeCommand({ site, commandId: c.command_id, leaseToken: first!.lease_token! }, { ok: true, result: {} }, now)).rejects.toMatchObject({ code: "LEASE_LOST" });
    const done = await table.completeCommand({ site, commandId: c.command_id, leaseToken: second!.lease_token! }, { ok: true, result: {} }, now);
    expect(done.status).toBe("succeeded");
    expect(await table.leaseCommands(site, { relayId: "relay-c", now: "2026-11-25T11:00:00.000Z", leaseSeconds: 30, max: 5 })).toEqual([]);
  });

  it("a relay cannot lease, heartbeat or complete another site's command", async () => {
    const c = command(`own-${newId()}`);
    await table.enqueueCommand(c);
    expect(await table.leaseCommands("other-site", { relayId: "relay-x", now, leaseSeconds: 30, max: 5 })).toEqual([]);
    const [mine] = await table.leaseCommands(c.site, { relayId: "relay-a", now, leaseSeconds: 30, max: 5 });
    await expect(table.heartbeat({ site: "other-site", commandId: c.command_id, leaseToken: mine!.lease_token! }, now, 30)).rejects.toMatchObject({ code: "LEASE_LOST" });
    await expect(table.completeCommand({ site: "other-site", commandId: c.command_id, leaseToken: mine!.lease_token! }, { ok: true, result: {} }, now)).rejects.toMatchObject({
      code: "LEASE_LOST",
    });
  });

  it("a command handed back is leasable at once by another relay, and the old token is void", async () => {
    const c = command(`rel-${newId()}`);
    await table.enqueueCommand(c);
    const [mine] = await table.leaseCommands(c.site, { relayId: "relay-a", now, leaseSeconds: 60, max: 5 });
    await table.releaseCommand({ site: c.site, commandId: c.command_id, leaseToken: mine!.lease_token! }, now);
    const [again] = await table.leaseCommands(c.site, { relayId: "relay-b", now, leaseSeconds: 60, max: 5 });
    expect(again?.lease_owner).toBe("relay-b");
    await expect(table.completeCommand({ site: c.site, commandId: c.command_id, leaseToken: mine!.lease_token! }, { ok: true, result: {} }, now)).rejects.toMatchObject({ code: "LEASE_LOST" });
  });

  it("enqueueing the same command id twice keeps one", async () => {
    const c = command(`dup-${newId()}`);
    expect(await table.enqueueCommand(c)).toBe(true);
    expect(await table.enqueueCommand(c)).toBe(false);
  });
});

describe("idempotency keys", () => {
  it("the first claim wins; a later claim sees the stored record", async () => {
    const rec = { project_id: "p1", key: newId(), body_hash: "h1", status: "in_progress" as const, response: null, expires_at: "2026-11-26T10:00:00.000Z" };
    expect(await table.claimIdempotencyKey(rec, now)).toBeNull();
    await table.completeIdempotencyKey("p1", rec.key, { statusCode: 202, body: { ok: 1 } });
    const seen = await table.claimIdempotencyKey({ ...rec, body_hash: "h2" }, now);
    expect(seen).toMatchObject({ body_hash: "h1", status: "completed", response: { statusCode: 202, body: { ok: 1 } } });
  });
});

describe("the adapter's plumbing", () => {
  it("an SDK error leaves the store as STORE_UNAVAILABLE: a table that is not there is not worth retrying", async () => {
    const missing = new StateTable({ tableName: "t-missing", region: "us-east-1", endpoint: store.endpoint });
    try {
      await expect(missing.getNode("n1")).rejects.toMatchObject({ code: "STORE_UNAVAILABLE", retryable: false });
      await expect(missing.lockNode("n1", null, "r1", now)).rejects.toMatchObject({ code: "STORE_UNAVAILABLE", retryable: false });
    } finally {
      missing.close();
    }
  });

  it("counts its requests by operation", async () => {
    const before = table.requestCounts;
    const n = node();
    await table.createNode(n);
    await table.lockNode(n.node_id, "p1", "r1", now);
    await table.lockNode(n.node_id, "p1", "r2", now).catch(() => undefined);
    const after = table.requestCounts;
    expect((after["create node"] ?? 0) - (before["create node"] ?? 0)).toBe(1);
    expect((after["lock node"] ?? 0) - (before["lock node"] ?? 0)).toBe(2);
  });

  it("condition pieces join with AND, and two pieces that give one placeholder different values are a mistake", () => {
    expect(all(condition("a = :a", { ":a": 1 }), condition("b = :a", { ":a": 1 }))).toMatchObject({ expression: "(a = :a) AND (b = :a)", values: { ":a": 1 } });
    expect(() => all(condition("a = :a", { ":a": 1 }), condition("b = :a", { ":a": 2 }))).toThrow(/:a/);
  });
});
