/**
 * Setup, outside the timed phases: enroll nodes (each a new system in the BMC emulator) and
 * create one bootable volume per boot request, as an operator would, over the API and Cinder.
 */
import type { LocalStack } from "../lab/local-stack";
import { cinderAdmin, enrollLabNode, type Api } from "../test/support/api-client";

export interface Target {
  nodeId: string;
  volumeId: string;
}

/** Setup calls in flight at once: enough to be quick, few enough not to time out on dynalite. */
const SETUP_CONCURRENCY = 16;

/**
 * `volumes`: one per request, already made (a real Cinder's, see real-cinder.ts); without it
 * they are created in the emulator.
 */
export async function prepareFleet(stack: LocalStack, api: Api, nodes: number, requests: number, volumes?: readonly string[]): Promise<Target[]> {
  const enrolled = await pool(Array.from({ length: nodes }), SETUP_CONCURRENCY, () => enrollLabNode(stack, api));
  const cinder = cinderAdmin(stack);
  const ids = volumes ?? (await pool(Array.from({ length: requests }), SETUP_CONCURRENCY, (_, i) => cinder.createVolume({ bootable: true, name: `bench-${i}` })));
  if (ids.length < requests) throw new Error(`${requests} requests need as many volumes, got ${ids.length}`);
  return ids.slice(0, requests).map((volumeId, i) => ({ nodeId: enrolled[i % nodes]!.nodeId, volumeId }));
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the items' order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
