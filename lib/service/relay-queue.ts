/** The service side of the relay protocol: authenticate a site, lease, heartbeat, report. */
import type { Deps } from "../deps";
import { SanbootError } from "../errors";
import { openCommand } from "../relay/command-secrets";
import { recordBmcCalls, recordLeased } from "../metrics/relay-metrics";
import type { BmcCalls, CommandOutcome, LeaseRequest, LeasedCommand, SequenceProgress } from "../relay/protocol";
import { STEP_POLICY } from "../workflow";
import { storeInventory } from "./nodes";
import type { BmcEvidence } from "../bmc/claims";
import { doorbellOf, type DoorbellListener } from "./relay-doorbell";
import { relaySiteOf } from "./sites";
import { runStep } from "./step-runner";

/** The site a relay token belongs to (lib/service/sites.ts: the table's sites, then the environment's). */
export async function authenticateRelay(deps: Deps, token: string | undefined): Promise<string> {
  const site = token ? await relaySiteOf(deps, token) : null;
  if (site) return site;
  throw new SanbootError("UNAUTHENTICATED", "send Authorization: Bearer <relay token of your site>");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Long-poll: answers as soon as commands are leasable, or empty after wait_seconds.
 *
 * Between queries it waits for the site's doorbell (relay-doorbell.ts) where the store has one:
 * a ring means "look now" (and, should the query not see the command yet, once more after one
 * poll interval: a table index may lag its write). A bell that hears every ring of the
 * deployment is all it waits for: the table is asked at the start of the long-poll and after
 * each ring. A bell that hears every ring but wakes one lease per ring (SQS) is waited on for its
 * pollMs at a time, the table asked between. Otherwise the table is also asked again at a growing
 * interval (poll, x1.5 each time, up to 8 x poll), as it is without a bell: an idle site then
 * costs a few queries per long-poll instead of one every poll interval.
 */
export async function lease(deps: Deps, site: string, req: LeaseRequest): Promise<LeasedCommand[]> {
  const bell = doorbellOf(deps.store);
  // armed before the first query: a ring between the query and the wait still counts
  const listener = bell?.listen(site);
  try {
    return await leaseLoop(deps, site, req, listener, bell?.heardEverywhere === true, bell?.pollMs);
  } finally {
    listener?.close();
  }
}

async function leaseLoop(deps: Deps, site: string, req: LeaseRequest, listener: DoorbellListener | undefined, bellOnly: boolean, bellPollMs?: number): Promise<LeasedCommand[]> {
  const until = Date.now() + req.wait_seconds * 1000;
  const base = deps.config.SANBOOT_RELAY_POLL_MS;
  let interval = base;
  let rung = false;
  for (;;) {
    const now = deps.clock.now().toISOString();
    const leased = await deps.store.leaseCommands(site, { relayId: req.relay_id, now, leaseSeconds: deps.config.SANBOOT_LEASE_SECONDS, max: req.max_commands });
    if (leased.length > 0) {
      recordLeased(deps.metrics, site, leased, deps.clock.now());
      if (leased.some((c) => c.leases > 1)) deps.log.warn("commands leased again after a lease expired", { site, ids: leased.filter((c) => c.leases > 1).map((c) => c.command_id) });
      return Promise.all(
        leased.map(async (c) => ({
          command_id: c.command_id,
          lease_token: c.lease_token!,
          lease_expires_at: c.lease_expires_at!,
          attempt: c.attempt,
          body: await openCommand(c.body, deps.secrets),
          ...(c.checkpoint ? { checkpoint: c.checkpoint } : {}),
        })),
      );
    }
    const left = until - Date.now();
    if (left <= 0) return [];
    // rung, yet nothing to lease: look once more after one interval (an index may lag its write)
    const wait = Math.min(rung ? base : bellOnly ? left : (bellPollMs ?? interval), left);
    if (!rung) interval = Math.min(interval * 1.5, base * 8);
    if (listener) rung = await listener.wait(wait);
    else await sleep(wait);
    if (rung) interval = base;
    // the next long-poll starts with a query: one at the end of this one would be the same
    else if (Date.now() >= until) return [];
  }
}

/** The FC ports in a read_fc_inventory result, normalised; anything malformed is dropped. */
export function fcPortsOf(result: Record<string, unknown>): Array<{ wwpn: string; wwnn: string | null }> {
  const ports = Array.isArray(result.ports) ? result.ports : [];
  return ports
    .map((p: { wwpn?: unknown; wwnn?: unknown }) => ({
      wwpn: typeof p?.wwpn === "string" ? p.wwpn.replace(/[:-]/g, "").toLowerCase() : "",
      wwnn: typeof p?.wwnn === "string" ? p.wwnn.replace(/[:-]/g, "").toLowerCase() : null,
    }))
    .filter((p) => /^[0-9a-f]{16}$/.test(p.wwpn));
}

export async function heartbeat(deps: Deps, site: string, commandId: string, leaseToken: string, checkpoint?: BmcEvidence, progress?: SequenceProgress): Promise<string> {
  return deps.store.heartbeat({ site, commandId, leaseToken }, deps.clock.now().toISOString(), deps.config.SANBOOT_LEASE_SECONDS, checkpoint, progress);
}

export async function release(deps: Deps, site: string, commandId: string, leaseToken: string): Promise<void> {
  await deps.store.releaseCommand({ site, commandId, leaseToken }, deps.clock.now().toISOString());
  // leasable again at once: another relay of the site may take it now
  await doorbellOf(deps.store)?.ring(site);
}

/**
 * Records the outcome and moves the waiting step on: a firmware step is run here, with the
 * command just stored in hand (it needs no reading, and no other invocation); what comes after it
 * is chained as the step's commit asks. An attach step (an FC inventory read) is chained to the
 * attach function, which has Cinder.
 */
export async function report(deps: Deps, site: string, commandId: string, leaseToken: string, outcome: CommandOutcome, bmcCalls?: BmcCalls, progress?: SequenceProgress): Promise<void> {
  const cmd = await deps.store.completeCommand({ site, commandId, leaseToken }, outcome, deps.clock.now().toISOString(), progress);
  // after the lease check: a result sent again (its answer lost) is refused above and not counted twice
  if (cmd.body.type === "boot_sequence") {
    // each step's calls under its step; what the result carries belongs to the step that did not finish
    for (const p of progress ?? []) recordBmcCalls(deps.metrics, p.step, p.bmc_calls);
    const open = cmd.body.steps.find((s) => !(progress ?? []).some((p) => p.step === s.step))?.step ?? cmd.body.steps.at(-1)!.step;
    recordBmcCalls(deps.metrics, open, bmcCalls);
  } else recordBmcCalls(deps.metrics, cmd.step, bmcCalls);
  if (cmd.request_id === null || cmd.step === "node_inventory") {
    // a node's own command: the inventory read at enrollment
    if (!cmd.node_id) return;
    if (outcome.ok) await storeInventory(deps, cmd.node_id, { ports: fcPortsOf(outcome.result) });
    else {
      deps.log.warn("inventory read failed", { node_id: cmd.node_id, code: outcome.error.code });
      await storeInventory(deps, cmd.node_id, { error: { code: outcome.error.code, message: outcome.error.message } });
    }
    return;
  }
  const fn = STEP_POLICY[cmd.step].fn;
  if (fn === "firmware") {
    // never throws; a run that could not commit is left to the sweeper like a lost chain
    await runStep(deps, fn, cmd.request_id, { finished: cmd, continueHere: false });
    return;
  }
  await deps.dispatcher.dispatch(fn, { request_id: cmd.request_id }).catch((err: Error) =>
    deps.log.warn("chain after a relay report failed; the sweeper will pick it up", { command_id: commandId, error: err.message }),
  );
}
