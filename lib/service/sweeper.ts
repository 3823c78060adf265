/**
 * The safety net of at-least-once chaining: re-dispatches every request whose next attempt is
 * due (a lost chain, a retry after backoff, a wait that needs looking at again). The step itself
 * decides what "due" means (retry, timeout, done); the sweeper only invokes.
 */
import type { Deps } from "../deps";
import { STEP_POLICY } from "../workflow";

export async function sweep(deps: Deps, limit = 200): Promise<{ dispatched: number }> {
  const due = await deps.store.dueRequests(deps.clock.now().toISOString(), limit);
  let dispatched = 0;
  for (const req of due) {
    if (!req.step) continue;
    try {
      await deps.dispatcher.dispatch(STEP_POLICY[req.step].fn, { request_id: req.request_id });
      dispatched++;
    } catch (err) {
      deps.log.warn("sweeper could not dispatch", { request_id: req.request_id, error: (err as Error).message });
    }
  }
  if (dispatched) deps.log.info("sweep", { due: due.length, dispatched });
  return { dispatched };
}
