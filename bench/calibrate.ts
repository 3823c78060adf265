/**
 * What the benchmark itself costs the state table, measured before the timed phases while
 * nothing else happens: the relay's idle long-poll (its lease call queries the site queue every
 * SANBOOT_RELAY_POLL_MS), and the table requests behind one list call of the caller's poller.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { LocalStack } from "../lab/local-stack";
import type { Api } from "../test/support/api-client";

export interface Calibration {
  /** state-table requests per second with the relay idle */
  idlePerSecond: number;
  /** state-table requests per GET /v1/boot-requests page, net of the idle load */
  perListCall: number;
}

export async function calibrate(stack: LocalStack, api: Api, windowMs = 1_000, listCalls = 50): Promise<Calibration> {
  const table = stack.service.deps.store;
  let t0 = performance.now();
  let c0 = table.requestCount;
  await sleep(windowMs);
  const idlePerSecond = ((table.requestCount - c0) * 1000) / (performance.now() - t0);

  t0 = performance.now();
  c0 = table.requestCount;
  for (let i = 0; i < listCalls; i++) await api.get("/v1/boot-requests?limit=100");
  const net = table.requestCount - c0 - (idlePerSecond * (performance.now() - t0)) / 1000;
  return { idlePerSecond, perListCall: Math.max(0, net / listCalls) };
}
