/**
 * A step carried out by the site's relay: the first run enqueues one command, later runs (chained
 * by the relay's report, or by the sweeper) read its outcome. The command id is derived from
 * request, step and attempt, so a step run twice enqueues once; a new attempt withdraws the
 * previous attempt's command.
 */
import type { KeyObject } from "node:crypto";
import type { Deps } from "../../deps";
import type { ErrorCode } from "../../errors";
import { sealCommand } from "../../relay/command-secrets";
import type { CommandBody } from "../../relay/protocol";
import { parseSitePublicKey } from "../../relay/site-seal";
import { queuedCommand, type BootRequestRecord } from "../../store/records";
import { STEP_POLICY, type StepName } from "../../workflow";
import type { StepOutcome } from "./step";

export const commandIdFor = (req: BootRequestRecord, step: StepName): string => `${req.request_id}.${step}.${req.attempts + 1}`;

const siteKeys = new Map<string, KeyObject>();
function siteKeyOf(deps: Deps, site: string): KeyObject | undefined {
  const pem = deps.config.SANBOOT_SITE_KEYS[site];
  if (!pem) return undefined;
  if (!siteKeys.has(pem)) siteKeys.set(pem, parseSitePublicKey(pem));
  return siteKeys.get(pem);
}

export async function viaRelay(
  deps: Deps,
  req: BootRequestRecord,
  step: StepName,
  body: () => CommandBody | Promise<CommandBody>,
  /** what to store from the relay's result when the command succeeded */
  onSuccess: (result: Record<string, unknown>) => Partial<BootRequestRecord> | Promise<Partial<BootRequestRecord>> = () => ({}),
): Promise<StepOutcome> {
  const now = deps.clock.now();
  const commandId = commandIdFor(req, step);
  const recheckAt = new Date(now.getTime() + STEP_POLICY[step].redispatchAfterMs).toISOString();
  const cmd = await deps.store.getCommand(commandId);
  if (!cmd) {
    // a previous attempt's command must not run after this one is queued
    if (req.command_id && req.command_id !== commandId) await deps.store.cancelCommand(req.command_id, now.toISOString());
    const record = queuedCommand(
      {
        command_id: commandId,
        site: req.site,
        request_id: req.request_id,
        node_id: req.node_id,
        step,
        attempt: req.attempts + 1,
        body: await sealCommand(await body(), deps.secrets, commandId, siteKeyOf(deps, req.site)),
      },
      now.toISOString(),
    );
    await deps.store.enqueueCommand(record);
    return { event: { type: "step_waiting", step, recheck_at: recheckAt }, patch: { command_id: commandId } };
  }
  switch (cmd.status) {
    case "succeeded": {
      const result = cmd.outcome?.ok ? cmd.outcome.result : {};
      return { event: { type: "step_succeeded", step }, patch: { ...(await onSuccess(result)), command_id: null } };
    }
    case "failed": {
      const e = cmd.outcome && !cmd.outcome.ok ? cmd.outcome.error : { code: "INTERNAL", message: "the relay reported a failure", retryable: true };
      return {
        event: { type: "step_failed", step, error: { code: e.code as ErrorCode, message: e.message, retryable: e.retryable } },
        patch: { command_id: null },
      };
    }
    case "cancelled":
      return { event: { type: "step_failed", step, error: { code: "RELAY_TIMEOUT", message: "the relay command was withdrawn", retryable: true } }, patch: { command_id: null } };
    default:
      return { event: { type: "step_waiting", step, recheck_at: recheckAt }, patch: { command_id: commandId } };
  }
}
