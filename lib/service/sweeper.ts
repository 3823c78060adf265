/**
 * The safety net of at-least-once chaining: re-dispatches every request whose next attempt is
 * due (a lost chain, a retry after backoff, a wait that needs looking at again). The step itself
 * decides what "due" means (retry, timeout, done); the sweeper only invokes.
 */
import type { Deps } from "../deps";
import type { BootRequestRecord } from "../store/records";
import { STEP_POLICY } from "../workflow";
import { silentSitesNow } from "./sites";

export async function sweep(deps: Deps, limit = 200): Promise<{ dispatched: number }> {
  const now = deps.clock.now();
  const due = await deps.store.dueRequests(now.toISOString(), limit);
  // every sweep says how many, none included: an alarm on a request stuck past its deadline reads it
  deps.metrics.gauge("RequestsPastDeadline", due.filter((r) => pastDeadline(r, now)).length);
  let dispatched = 0;
  for (const req of due) {
    if (!req.step) continue;
    try {
      await deps.dispatcher.dispatch(STEP_POLICY[req.step].fn, { request_id: req.request_id });
      dispatched++;
    } catch (err) {
      deps.metrics.count("SweeperErrors", 1);
      deps.log.warn("sweeper could not dispatch", { request_id: req.request_id, error: (err as Error).message });
    }
  }
  if (dispatched) deps.log.info("sweep", { due: due.length, dispatched });
  await checkRelays(deps);
  return { dispatched };
}

/**
 * Every sweep counts the sites whose relays fell silent (lib/service/relay-health.ts), 0 included,
 * and names them in the log: the relay-silent alarm reads the count, the operator the names.
 * Its failure costs the count of one sweep, never the dispatches.
 */
async function checkRelays(deps: Deps): Promise<void> {
  try {
    const silent = await silentSitesNow(deps);
    deps.metrics.gauge("SitesRelaySilent", silent.length);
    if (silent.length) deps.log.warn("sites whose relays fell silent", { sites: silent, offline_after_seconds: deps.config.SANBOOT_RELAY_OFFLINE_SECONDS });
  } catch (err) {
    deps.metrics.count("SweeperErrors", 1);
    deps.log.warn("sweeper could not check the sites' relays", { error: (err as Error).message });
  }
}

/**
 * The current attempt's deadline (the step's one time budget) has passed. The step, run again,
 * fails it with STEP_TIMEOUT at once; a request that stays past its deadline sweep after sweep is
 * one whose step does not run (its function failing, its dispatch lost every time).
 */
function pastDeadline(req: BootRequestRecord, now: Date): boolean {
  return req.step_deadline_at !== null && Date.parse(req.step_deadline_at) <= now.getTime();
}
