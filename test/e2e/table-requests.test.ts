/**
 * What a boot and an undeploy cost the state table, counted by the store's own counters over the
 * local stack: counts, not times, so a change that adds table requests to the workflow fails here
 * rather than showing up later in the benchmark.
 *
 * The relay's long-poll asks the table on a clock while it finds nothing; those idle queries grow
 * with how long a boot takes, not with what it does, so they are counted apart (one site-queue
 * query per leased command is the boot's own) and bounded per long-poll on their own. Heartbeats
 * that only extend a lease are on a clock too: a long lease keeps them out of a boot; so is the
 * record of a relay's contact.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import type { StateStore } from "../../lib/store/state-store";
import { StateTable } from "../../lib/store/state-table";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";

/**
 * Per boot (iSCSI, one path), the relay's rest of the boot as one command (a boot sequence):
 * intake 3 (lock, whether the site has a relay online, create); prepare_connector and
 * attach_volume in one invocation 4 (read, prepare's commit, attach's claim, commit); the run that
 * queues the sequence 3 (read, enqueue, commit); the relay's 5 (the query that finds it, lease, a
 * heartbeat per checkpoint: the SAN target, the override with the power state, the reset); its
 * result 1, and the firmware step run in the same call 3 (read request, commit, release the node).
 * The goal is 20 (issue 11); before the sequence it was 39.
 */
const BOOT_BUDGET = 20;
/** per undeploy: intake 3 (node, request, commit); clear_firmware 8 (queue: read, enqueue, commit; the relay: query, lease, result; the result runs the step: read, commit); detach_volume 4 (read, claim, commit, release node). Was 16. */
const UNDEPLOY_BUDGET = 15;
/** one idle long-poll of the local stack's relay (1 s, SANBOOT_RELAY_POLL_MS=25 growing to 200 ms) */
const IDLE_POLLS_PER_LONG_POLL = 12;

let stack: LocalStack;
let api: Api;
/** reads the table for the test with its own client, so its requests are not the service's */
let watcher: StateTable;

useLocalStack({ leaseSeconds: 120 }, (s, a) => ((stack = s), (api = a)));
beforeAll(() => {
  watcher = new StateTable({ tableName: stack.service.deps.config.SANBOOT_TABLE, region: "us-east-1", endpoint: stack.store.endpoint });
});
afterAll(() => watcher?.close());

const store = (): StateStore => stack.service.deps.store;

interface Tally {
  /** the workflow's own requests: everything but the site-queue queries that leased nothing */
  work: number;
  idlePolls: number;
  byOperation: Record<string, number>;
}

async function tallyOf(run: () => Promise<void>): Promise<Tally> {
  const before = store().requestCounts;
  await run();
  await stack.service.dispatcher.settle();
  const after = store().requestCounts;
  const byOperation: Record<string, number> = {};
  for (const [op, n] of Object.entries(after)) if (n - (before[op] ?? 0) > 0) byOperation[op] = n - (before[op] ?? 0);
  const queries = byOperation["query site queue"] ?? 0;
  const leased = byOperation["lease command"] ?? 0;
  // a relay's contact is recorded on a clock too (every 30 s per relay), whatever the boot does
  const heard = byOperation["record relay seen"] ?? 0;
  const total = Object.values(byOperation).reduce((a, b) => a + b, 0);
  return { work: total - heard - queries + Math.min(queries, leased), idlePolls: Math.max(0, queries - leased), byOperation };
}

async function until(requestId: string, states: string[]): Promise<string> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const r = await watcher.getRequest(requestId);
    if (r && states.includes(r.state)) return r.state;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`request ${requestId} did not reach ${states.join("/")}`);
}

/** A node whose enrollment inventory read has landed, so that it does not count towards the boot. */
async function enrolledNode(): Promise<string> {
  const { nodeId } = await enrollLabNode(stack, api);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const n = await watcher.getNode(nodeId);
    if (n?.fc_ports || n?.inventory_error) return nodeId;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error("the inventory read of the enrollment did not land");
}

describe("state-table requests per workflow", () => {
  it(`a boot costs at most ${BOOT_BUDGET} table requests, and its undeploy at most ${UNDEPLOY_BUDGET}, the relay's idle polling apart`, async () => {
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const nodeId = await enrolledNode();
    let requestId = "";

    const boot = await tallyOf(async () => {
      const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
      expect(r.status).toBe(202);
      requestId = r.body.request_id;
      expect(await until(requestId, ["active", "failed"])).toBe("active");
    });
    const undeploy = await tallyOf(async () => {
      expect((await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`)).status).toBe(202);
      expect(await until(requestId, ["detached", "failed"])).toBe("detached");
    });

    expect(boot.work, JSON.stringify(boot.byOperation)).toBeLessThanOrEqual(BOOT_BUDGET);
    // the relay was asked for one command, and the firmware step that read it ran in the result call
    expect(boot.byOperation["lease command"]).toBe(1);
    expect(boot.byOperation["get command"] ?? 0).toBe(0);
    expect(undeploy.work, JSON.stringify(undeploy.byOperation)).toBeLessThanOrEqual(UNDEPLOY_BUDGET);
    // the steps work from the node as the lock answered it, and a finished command is not withdrawn
    expect(boot.byOperation["get node"] ?? 0).toBe(0);
    expect(boot.byOperation["cancel command"] ?? 0).toBe(0);
  }, 90_000);

  it(`an idle relay's long-poll asks the site queue at most ${IDLE_POLLS_PER_LONG_POLL} times`, async () => {
    await stack.service.dispatcher.settle();
    const idle = await tallyOf(() => new Promise((res) => setTimeout(res, 3_000)));
    // three one-second long-polls, and the one under way when the window opened
    expect(idle.work, JSON.stringify(idle.byOperation)).toBe(0);
    expect(idle.idlePolls).toBeLessThanOrEqual(4 * IDLE_POLLS_PER_LONG_POLL);
  });
});
