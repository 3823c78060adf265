import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynalite, type RunningStore } from "../../lab/dynalite";
import { ConflictError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { queuedCommand, type CommandRecord, type NodeRecord } from "../../lib/store/records";
import { StateTable } from "../../lib/store/state-table";

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
    await table.releaseNode(n.node_id, "other", now);
    expect((await table.getNode(n.node_id))?.active_request_id).toBe("r1");
    await table.releaseNode(n.node_id, "r1", now);
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

describe("relay command queue", () => {
  it("a command is leased by one of two racing relays only", async () => {
    const site = `race-${newId()}`;
    await table.enqueueCommand(command(site));
    const [a, b] = await Promise.all([table.leaseCommands(site, "relay-a", now, 60, 5), table.leaseCommands(site, "relay-b", now, 60, 5)]);
    expect(a.length + b.length).toBe(1);
  });

  it("an expired lease is handed to the next relay, and the first relay's result is refused", async () => {
    const site = `exp-${newId()}`;
    const c = command(site);
    await table.enqueueCommand(c);
    const [first] = await table.leaseCommands(site, "relay-a", now, 30, 5);
    expect(first?.lease_owner).toBe("relay-a");
    // before expiry nobody else gets it
    expect(await table.leaseCommands(site, "relay-b", "2026-11-25T10:00:10.000Z", 30, 5)).toEqual([]);
    const [second] = await table.leaseCommands(site, "relay-b", "2026-11-25T10:00:31.000Z", 30, 5);
    expect(second?.lease_owner).toBe("relay-b");
    expect(second?.leases).toBe(2);
    await expect(table.completeCommand(site, c.command_id, first!.lease_token!, { ok: true, result: {} }, now)).rejects.toMatchObject({ code: "LEASE_LOST" });
    const done = await table.completeCommand(site, c.command_id, second!.lease_token!, { ok: true, result: {} }, now);
    expect(done.status).toBe("succeeded");
    expect(await table.leaseCommands(site, "relay-c", "2026-11-25T11:00:00.000Z", 30, 5)).toEqual([]);
  });

  it("a relay cannot lease, heartbeat or complete another site's command", async () => {
    const c = command(`own-${newId()}`);
    await table.enqueueCommand(c);
    expect(await table.leaseCommands("other-site", "relay-x", now, 30, 5)).toEqual([]);
    const [mine] = await table.leaseCommands(c.site, "relay-a", now, 30, 5);
    await expect(table.heartbeat("other-site", c.command_id, mine!.lease_token!, now, 30)).rejects.toMatchObject({ code: "LEASE_LOST" });
    await expect(table.completeCommand("other-site", c.command_id, mine!.lease_token!, { ok: true, result: {} }, now)).rejects.toMatchObject({
      code: "LEASE_LOST",
    });
  });

  it("a command handed back is leasable at once by another relay, and the old token is void", async () => {
    const c = command(`rel-${newId()}`);
    await table.enqueueCommand(c);
    const [mine] = await table.leaseCommands(c.site, "relay-a", now, 60, 5);
    await table.releaseCommand(c.site, c.command_id, mine!.lease_token!, now);
    const [again] = await table.leaseCommands(c.site, "relay-b", now, 60, 5);
    expect(again?.lease_owner).toBe("relay-b");
    await expect(table.completeCommand(c.site, c.command_id, mine!.lease_token!, { ok: true, result: {} }, now)).rejects.toMatchObject({ code: "LEASE_LOST" });
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
