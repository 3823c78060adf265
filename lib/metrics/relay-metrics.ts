/**
 * The relay queue as metrics: how long commands wait for a relay (RelayCommandWait, at their
 * first lease) and what the relay's Redfish calls took (BmcLatency / BmcErrors, from the
 * measurements a relay sends with a command's result). BMCs are reached from the site only, so
 * the service publishes what the relay measured; the relay itself writes no metrics.
 */
import type { BmcCalls } from "../relay/protocol";
import type { CommandRecord } from "../store/records";
import type { MetricsPort } from "./metrics-port";

/** Queued to leased, for commands leased for the first time (a re-lease waited on a lost relay, not the queue). */
export function recordLeased(metrics: MetricsPort, site: string, leased: readonly CommandRecord[], now: Date): void {
  for (const c of leased) {
    if (c.leases === 1) metrics.duration("RelayCommandWait", now.getTime() - Date.parse(c.created_at), { Site: site });
  }
}

/** A result's BMC calls, by the step the command served (`node_inventory` for an enrollment read). */
export function recordBmcCalls(metrics: MetricsPort, step: string, calls: BmcCalls | undefined): void {
  if (!calls) return; // a relay that predates the measurements
  for (const ms of calls.latencies_ms) metrics.duration("BmcLatency", ms, { Step: step });
  if (calls.failures > 0) metrics.count("BmcErrors", calls.failures, { Step: step });
}
