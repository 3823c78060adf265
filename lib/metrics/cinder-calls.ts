/**
 * Cinder calls as metrics: CinderLatency and CinderErrors by operation, told by the Cinder
 * client of every call it sends (CinderClientOptions.onCall). The operation is the call with its
 * ids taken out, so that each kind of call is one series: `GET /volumes/{id}`, `POST
 * /attachments`, `POST /attachments/{id}/action os-complete`, `POST /volumes/{id}/action
 * os-reserve` (the legacy path's actions are told apart by their name).
 */
import type { CallEvent } from "../cinder/cinder-client";
import type { CinderCall } from "../cinder/cinder-transport";
import type { MetricsPort } from "./metrics-port";

/** The path segments that name a kind of resource or call; every other segment is an id. */
const NAMES = new Set(["volumes", "attachments", "action", "scheduler-stats", "get_pools", "detail"]);

export function cinderOperation(call: Pick<CinderCall, "method" | "path" | "body">): string {
  const path = call.path
    .split("/")
    .map((s) => (s === "" || NAMES.has(s) ? s : "{id}"))
    .join("/");
  const action = path.endsWith("/action") && call.body && typeof call.body === "object" ? Object.keys(call.body)[0] : undefined;
  return `${call.method} ${path}${action ? ` ${action}` : ""}`;
}

/** The client's onCall: a latency sample for every call, and an error for every call that threw. */
export function cinderCallMetrics(metrics: MetricsPort): (event: CallEvent) => void {
  return ({ call, latencyMs, error }) => {
    const dims = { Operation: cinderOperation(call) };
    metrics.duration("CinderLatency", latencyMs, dims);
    if (error !== undefined) metrics.count("CinderErrors", 1, dims);
  };
}
