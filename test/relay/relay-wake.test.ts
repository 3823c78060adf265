/**
 * The relay's long-poll and the site's doorbell (lib/service/relay-doorbell.ts): a command queued
 * while a relay waits is handed to that wait as soon as it is written, and an idle long-poll asks
 * the table once when its bell hears every ring; a bell that may miss rings (the enqueuer another
 * process) leaves the lease polling as before. Over the local stack's real table (dynalite).
 */
import { describe, expect, it } from "vitest";
import { LAB_SITE, type LocalStack } from "../../lab/local-stack";
import type { StateStore } from "../../lib/store/state-store";
import { requestInventory } from "../../lib/service/nodes";
import { LocalDoorbell, withRelayDoorbell } from "../../lib/service/relay-doorbell";
import { lease, release } from "../../lib/service/relay-queue";
import { enrollLabNode, useLocalStack, type Api } from "../support/api";

let stack: LocalStack;
let api: Api;
useLocalStack({ relay: false }, (s, a) => ((stack = s), (api = a)));

let raw: StateStore | undefined;
let n = 0;

/** The service's store, its lease queries counted, ringing `bell` when it queues a command (as the deps build it). */
function install(bell: LocalDoorbell): { queries: () => number } {
  const deps = stack.service.deps;
  raw ??= deps.store;
  let queries = 0;
  const counted = new Proxy(raw, {
    get(target, prop) {
      if (prop === "leaseCommands") return (...args: Parameters<StateStore["leaseCommands"]>) => (queries++, target.leaseCommands(...args));
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  deps.store = withRelayDoorbell(counted, bell);
  return { queries: () => queries };
}

/** A node whose inventory command is leased and ended, so the site's queue is empty. */
async function quietNode() {
  const relayId = `drain-${++n}`;
  const { nodeId } = await enrollLabNode(stack, api);
  const deps = stack.service.deps;
  for (const c of await lease(deps, LAB_SITE, { relay_id: relayId, max_commands: 32, wait_seconds: 0 })) {
    await deps.store.cancelCommand(c.command_id, new Date().toISOString());
  }
  return (await deps.store.getNode(nodeId))!;
}

describe("the relay's long-poll and the site's doorbell", () => {
  it("an idle long-poll asks the table once when its bell hears every ring", async () => {
    await quietNode();
    const seen = install(new LocalDoorbell(true));
    const out = await lease(stack.service.deps, LAB_SITE, { relay_id: "idle", max_commands: 4, wait_seconds: 1 });
    expect(out).toEqual([]);
    expect(seen.queries()).toBe(1);
  });

  it("a command queued while a relay waits is handed to that wait, one query after it was written", async () => {
    const node = await quietNode();
    const seen = install(new LocalDoorbell(true));
    const started = Date.now();
    const waiting = lease(stack.service.deps, LAB_SITE, { relay_id: "waiting", max_commands: 4, wait_seconds: 20 });
    await new Promise((r) => setTimeout(r, 200));
    await requestInventory(stack.service.deps, { ...node, version: node.version + 100 });
    const out = await waiting;
    expect(out.map((c) => c.command_id)).toEqual([`${node.node_id}.node_inventory.${node.version + 100}`]);
    expect(seen.queries()).toBe(2);
    // answered by the ring, long before the wait would have ended
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a command another relay hands back wakes the site's waiting relays", async () => {
    const node = await quietNode();
    install(new LocalDoorbell(true));
    const deps = stack.service.deps;
    await requestInventory(deps, { ...node, version: node.version + 200 });
    const [held] = await lease(deps, LAB_SITE, { relay_id: "first", max_commands: 1, wait_seconds: 0 });
    const waiting = lease(deps, LAB_SITE, { relay_id: "second", max_commands: 4, wait_seconds: 20 });
    await new Promise((r) => setTimeout(r, 200));
    await release(deps, LAB_SITE, held!.command_id, held!.lease_token);
    expect((await waiting).map((c) => c.command_id)).toEqual([held!.command_id]);
  });

  it("a bell that may miss rings leaves the lease asking the table at its interval, and a ring still cuts the wait short", async () => {
    const node = await quietNode();
    const seen = install(new LocalDoorbell(false));
    const idle = await lease(stack.service.deps, LAB_SITE, { relay_id: "polling", max_commands: 4, wait_seconds: 1 });
    expect(idle).toEqual([]);
    expect(seen.queries()).toBeGreaterThan(2);

    const waiting = lease(stack.service.deps, LAB_SITE, { relay_id: "polling", max_commands: 4, wait_seconds: 20 });
    await new Promise((r) => setTimeout(r, 200));
    await requestInventory(stack.service.deps, { ...node, version: node.version + 300 });
    expect((await waiting).map((c) => c.command_id)).toEqual([`${node.node_id}.node_inventory.${node.version + 300}`]);
  });
});

describe("LocalDoorbell", () => {
  it("hears a ring that came between arming and waiting, once", async () => {
    const bell = new LocalDoorbell(true);
    const l = bell.listen("a");
    await bell.ring("a");
    expect(await l.wait(1_000)).toBe(true);
    expect(await l.wait(10)).toBe(false);
    l.close();
  });

  it("a site's ring wakes only that site's listeners", async () => {
    const bell = new LocalDoorbell(true);
    const a = bell.listen("a");
    const b = bell.listen("b");
    const waitingB = b.wait(50);
    await bell.ring("a");
    expect(await a.wait(0)).toBe(true);
    expect(await waitingB).toBe(false);
    a.close();
    b.close();
  });
});
