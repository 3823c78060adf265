/**
 * What a committed transition means for the workflow's metrics: a boot that reached `active` or
 * ended `failed`, an undeploy that ended `detached` (with everything undone, or not), and how
 * long the whole request took. Read from the records before and after the commit, so the pure
 * workflow (lib/workflow) stays free of metrics.
 */
import type { BootRequestRecord } from "../store/records";
import type { MetricsPort } from "./metrics-port";

export function recordTransition(metrics: MetricsPort, before: BootRequestRecord, after: BootRequestRecord, now: Date): void {
  if (after.state === before.state) return;
  const at = now.getTime();
  switch (after.state) {
    case "active":
      metrics.count("BootSucceeded", 1);
      metrics.duration("RequestDuration", at - Date.parse(after.created_at), { Workflow: "boot" });
      return;
    case "failed":
      // a boot rolled back: the code the API shows for the request
      metrics.count("BootFailed", 1, { ErrorCode: after.error?.code ?? "INTERNAL" });
      metrics.duration("RequestDuration", at - Date.parse(after.created_at), { Workflow: "boot" });
      return;
    case "detached": {
      const left = undoLeftBehind(after);
      if (left) metrics.count("UndeployFailed", 1, { ErrorCode: left });
      else metrics.count("UndeploySucceeded", 1);
      metrics.duration("RequestDuration", at - undeployStartedAt(after, at), { Workflow: "undeploy" });
      return;
    }
  }
}

/**
 * The code of an undo step that gave up, or null when everything was undone. An undo step that
 * runs out of attempts is recorded as the request's error, not retryable, and the rest of the
 * undo runs on (lib/workflow/transition.ts, fail): nothing else in an undeploy leaves such an
 * error (a permanent failure of a forward step rolls back instead, and ends `failed`).
 */
function undoLeftBehind(req: BootRequestRecord): string | null {
  return req.error && !req.error.retryable ? req.error.code : null;
}

/** When the undeploy began: the request's move to `detaching` (none when it ended at once). */
function undeployStartedAt(req: BootRequestRecord, now: number): number {
  const began = [...req.history].reverse().find((h) => h.state === "detaching");
  return began ? Date.parse(began.at) : now;
}
