/**
 * Commits a workflow transition and carries out what it asks for. The write is conditional on
 * the version read; only after it commits are the next step chained, the node released and the
 * change published. A lost chain or a failed publish is repaired by the sweeper, never thrown.
 */
import type { Deps } from "../deps";
import type { StateChangeEvent } from "../events/publisher";
import { recordTransition } from "../metrics/workflow-metrics";
import type { BootRequestRecord } from "../store/records";
import type { TransitionResult, WorkflowCommand } from "../workflow";

export async function commitTransition(
  deps: Deps,
  before: BootRequestRecord,
  result: TransitionResult,
  patch: Partial<BootRequestRecord> = {},
  /** `finishedCommand`: a command the step read as ended, which there is no need to withdraw */
  opts: { finishedCommand?: string } = {},
): Promise<BootRequestRecord> {
  const now = deps.clock.now().toISOString();
  const after: BootRequestRecord = { ...before, ...result.state, ...patch, version: before.version + 1, updated_at: now };
  await deps.store.saveRequest(after);
  recordTransition(deps.metrics, before, after, deps.clock.now());
  if (before.command_id && after.command_id !== before.command_id && before.command_id !== opts.finishedCommand) {
    // a command nobody waits for any more (superseded, rolled back, undeployed) must not run
    await deps.store.cancelCommand(before.command_id, now).catch((err: Error) =>
      deps.log.warn("could not withdraw a relay command", { command_id: before.command_id, error: err.message }),
    );
  }
  await carryOut(deps, after, result.commands);
  return after;
}

export async function carryOut(deps: Deps, req: BootRequestRecord, commands: WorkflowCommand[]): Promise<void> {
  const now = deps.clock.now().toISOString();
  for (const c of commands) {
    try {
      switch (c.type) {
        case "release_node":
          await deps.store.releaseNode(req.node_id, req.request_id, now);
          break;
        case "publish_state_change":
          await deps.publisher.publish(stateChange(req, c.from, c.to, now));
          break;
        case "run_step":
          // a retry or a poll starts at its time (whole seconds, never early), the chain at once
          if (c.delay_ms) await deps.dispatcher.dispatchAfter(c.fn, { request_id: req.request_id }, Math.ceil(c.delay_ms / 1_000));
          else await deps.dispatcher.dispatch(c.fn, { request_id: req.request_id });
          break;
      }
    } catch (err) {
      // The transition is committed; what follows is repaired later (the sweeper re-dispatches
      // due steps; a node lock held by an ended request is freed when the node is next used,
      // see freeAbandonedLock). Record it, don't undo the commit.
      deps.log.warn("follow-up of a committed transition failed", { request_id: req.request_id, command: c.type, error: String((err as Error).message) });
    }
  }
}

export function stateChange(req: BootRequestRecord, from: StateChangeEvent["from"], to: StateChangeEvent["to"], at: string): StateChangeEvent {
  return {
    request_id: req.request_id,
    node_id: req.node_id,
    project_id: req.project_id,
    volume_id: req.volume_id,
    from,
    to,
    at,
    error_code: req.error?.code ?? null,
  };
}
