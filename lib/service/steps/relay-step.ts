/**
 * A step carried out by the site's relay: the first run enqueues one command, later runs (chained
 * by the relay's report, or by the sweeper) read its outcome. The command id is derived from
 * request, step and attempt, so a step run twice enqueues once; a new attempt withdraws the
 * previous attempt's command. The command carries the step's deadline (the policy table's budget)
 * and the evidence of what earlier commands wrote on the BMC; every read of a command takes in the
 * evidence it stored before writing, whatever its outcome.
 */
import type { KeyObject } from "node:crypto";
import type { Deps } from "../../deps";
import { SanbootError, type ErrorCode } from "../../errors";
import { sealCommand } from "../../relay/command-secrets";
import { bmcEvidence, type CommandBody } from "../../relay/protocol";
import { mergeEvidence, NO_EVIDENCE, type BmcEvidence } from "../../bmc/claims";
import type { SanChange } from "../../bmc/driver";
import { parseSitePublicKey } from "../../relay/site-seal";
import { queuedCommand, type BootRequestRecord } from "../../store/records";
import { STEP_POLICY, stepDeadline, type StepName } from "../../workflow";
import type { StepOutcome } from "./step";
import { findSite } from "../sites";

export const commandIdFor = (req: BootRequestRecord, step: StepName): string => `${req.request_id}.${step}.${req.attempts + 1}`;

const siteKeys = new Map<string, KeyObject>();
/** The key the site's secrets are sealed to: its record's, else the environment's (lib/service/sites.ts). */
async function siteKeyOf(deps: Deps, site: string): Promise<KeyObject | undefined> {
  const pem = (await findSite(deps, site))?.sealingKeyPem;
  if (!pem) return undefined;
  if (!siteKeys.has(pem)) siteKeys.set(pem, parseSitePublicKey(pem));
  return siteKeys.get(pem);
}

export async function viaRelay(
  deps: Deps,
  req: BootRequestRecord,
  step: StepName,
  /** the command for this attempt, given the evidence of the BMC writes recorded so far */
  body: (evidence: BmcEvidence) => CommandBody | Promise<CommandBody>,
  /** what to store from the relay's result when the command succeeded */
  onSuccess: (result: Record<string, unknown>) => Partial<BootRequestRecord> | Promise<Partial<BootRequestRecord>> = () => ({}),
): Promise<StepOutcome> {
  const now = deps.clock.now();
  const commandId = commandIdFor(req, step);
  const recheckAt = new Date(now.getTime() + STEP_POLICY[step].redispatchAfterMs).toISOString();
  // The request names the command it waits on. One it does not name yet is most likely not queued
  // either: queue it first, and read it only when it was there after all (a run whose commit was lost).
  let cmd = req.command_id === commandId ? await deps.store.getCommand(commandId) : null;
  let base = req.bmc_evidence;
  if (!cmd) {
    // a previous attempt's command must not run after this one is queued; what it recorded counts
    if (req.command_id && req.command_id !== commandId) {
      base = mergeEvidence(base, (await deps.store.getCommand(req.command_id))?.checkpoint);
      await deps.store.cancelCommand(req.command_id, now.toISOString());
    }
    const deadline = stepDeadline(step, now);
    const record = queuedCommand(
      {
        command_id: commandId,
        site: req.site,
        request_id: req.request_id,
        node_id: req.node_id,
        step,
        attempt: req.attempts + 1,
        body: await sealCommand({ ...(await body(base ?? NO_EVIDENCE)), deadline_at: deadline }, deps.secrets, commandId, await siteKeyOf(deps, req.site)),
      },
      now.toISOString(),
    );
    if (await deps.store.enqueueCommand(record)) {
      deps.metrics.count("RelayCommandQueued", 1, { Site: req.site });
      return {
        event: { type: "step_waiting", step, recheck_at: recheckAt, deadline_at: deadline },
        patch: { command_id: commandId, ...(base !== req.bmc_evidence ? { bmc_evidence: base } : {}) },
      };
    }
    cmd = await deps.store.getCommand(commandId);
    if (!cmd) throw new SanbootError("INTERNAL", `relay command ${commandId} is neither new nor stored`, { retryable: true });
  }
  // Whatever became of the command, the evidence it stored before writing is the request's.
  const result = cmd.status === "succeeded" && cmd.outcome?.ok ? cmd.outcome.result : undefined;
  const evidence = cmd.checkpoint || result?.evidence ? mergeEvidence(base, cmd.checkpoint, evidenceOf(result)) : base;
  const kept = evidence !== req.bmc_evidence ? { bmc_evidence: evidence } : {};
  const finishedCommand = cmd.command_id;
  switch (cmd.status) {
    case "succeeded": {
      const changes = changesOf(result, step, now.toISOString());
      return {
        event: { type: "step_succeeded", step },
        patch: { ...(await onSuccess(result ?? {})), ...kept, ...(changes.length > 0 ? { bmc_changes: [...(req.bmc_changes ?? []), ...changes] } : {}), command_id: null },
        finishedCommand,
      };
    }
    case "failed": {
      const e = cmd.outcome && !cmd.outcome.ok ? cmd.outcome.error : { code: "INTERNAL", message: "the relay reported a failure", retryable: true };
      return {
        event: { type: "step_failed", step, error: { code: e.code as ErrorCode, message: e.message, retryable: e.retryable } },
        patch: { ...kept, command_id: null },
        finishedCommand,
      };
    }
    case "cancelled":
      return {
        event: { type: "step_failed", step, error: { code: "RELAY_TIMEOUT", message: "the relay command was withdrawn", retryable: true } },
        patch: { ...kept, command_id: null },
        finishedCommand,
      };
    default:
      return { event: { type: "step_waiting", step, recheck_at: recheckAt }, patch: { ...kept, command_id: commandId } };
  }
}

function evidenceOf(result: Record<string, unknown> | undefined): BmcEvidence | undefined {
  const parsed = bmcEvidence.safeParse(result?.evidence);
  return parsed.success ? parsed.data : undefined;
}

function changesOf(result: Record<string, unknown> | undefined, step: StepName, at: string): BootRequestRecord["bmc_changes"] {
  const list = Array.isArray(result?.changes) ? result.changes : [];
  return list
    .filter((c): c is SanChange => !!c && typeof c === "object" && typeof (c as SanChange).kind === "string" && typeof (c as SanChange).uri === "string")
    .map((c) => ({ kind: c.kind, uri: c.uri, action: String(c.action ?? ""), step, at }));
}
