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
import { SEQUENCE_STEPS, type SequenceStep } from "../../relay/common";
import { bmcEvidence } from "../../relay/evidence";
import type { CommandBody } from "../../relay/protocol";
import { mergeEvidence, NO_EVIDENCE, type BmcEvidence } from "../../bmc/claims";
import type { SanChange } from "../../bmc/driver";
import { parseSitePublicKey } from "../../relay/site-seal";
import { queuedCommand, type BootRequestRecord, type CommandRecord } from "../../store/records";
import { STEP_POLICY, type StepName } from "../../workflow";
import type { StepOutcome } from "./step";
import { findSite } from "../sites";
import { isSequenceStep, stepsDone } from "./sequence-view";

export const commandIdFor = (req: BootRequestRecord, step: StepName): string => `${req.request_id}.${step}.${req.attempts + 1}`;

const siteKeys = new Map<string, KeyObject>();
/** The key the site's secrets are sealed to: its record's, else the environment's (lib/service/sites.ts). */
async function siteKeyOf(deps: Deps, site: string): Promise<KeyObject | undefined> {
  const pem = (await findSite(deps, site))?.sealingKeyPem;
  if (!pem) return undefined;
  if (!siteKeys.has(pem)) siteKeys.set(pem, parseSitePublicKey(pem));
  return siteKeys.get(pem);
}

/** The relay's side of a step: the command for it, and what to keep of a step's result. */
export interface RelayWork {
  /** the command for this attempt, given the evidence of the BMC writes recorded so far */
  body: (evidence: BmcEvidence) => CommandBody | Promise<CommandBody>;
  /**
   * The forward steps this command carries out, the step itself first (a boot sequence); only the
   * step when absent. Later steps of the list find the command still theirs and wait on it.
   */
  steps?: SequenceStep[];
  /** what to store from a step's result when it succeeded (the step's own, or one a sequence carried) */
  onSuccess?: (result: Record<string, unknown>, step: StepName) => Partial<BootRequestRecord> | Promise<Partial<BootRequestRecord>>;
}

/** What the run already knows: the command the relay just reported (its result call runs the step). */
export interface StepContext {
  finished?: CommandRecord;
  /**
   * Target secrets the step before sealed in this very invocation, by their sealed form (held in
   * memory for the step that runs next here, never stored or logged): opened without the key.
   */
  inHand?: ReadonlyMap<string, string>;
}

/**
 * The command a request waits on covers `step` when it is that step's own, or a boot sequence
 * that began at an earlier step of the sequence (its id names the step it began at).
 */
function commandCovering(req: BootRequestRecord, step: StepName): string | null {
  if (!req.command_id) return null;
  if (req.command_id === commandIdFor(req, step)) return req.command_id;
  if (!req.boot_sequence || !isSequenceStep(step)) return null;
  const began = /\.([a-z_]+)\.\d+$/.exec(req.command_id)?.[1];
  return began && isSequenceStep(began) && SEQUENCE_STEPS.indexOf(began) < SEQUENCE_STEPS.indexOf(step) ? req.command_id : null;
}

/** When a command carrying `steps` from `now` is out of time: their budgets one after another. */
export function commandDeadline(steps: readonly StepName[], now: Date): string {
  return new Date(now.getTime() + steps.reduce((ms, s) => ms + STEP_POLICY[s].waitDeadlineMs, 0)).toISOString();
}

export async function viaRelay(deps: Deps, req: BootRequestRecord, step: StepName, work: RelayWork, ctx: StepContext = {}): Promise<StepOutcome> {
  const now = deps.clock.now();
  const covering = commandCovering(req, step);
  const commandId = covering ?? commandIdFor(req, step);
  const recheckAt = new Date(now.getTime() + STEP_POLICY[step].redispatchAfterMs).toISOString();
  // The request names the command it waits on. One it does not name yet is most likely not queued
  // either: queue it first, and read it only when it was there after all (a run whose commit was lost).
  let cmd = ctx.finished?.command_id === commandId ? ctx.finished : req.command_id === commandId ? await deps.store.getCommand(commandId) : null;
  let base = req.bmc_evidence;
  if (!cmd) {
    // a previous attempt's command must not run after this one is queued; what it recorded counts
    if (req.command_id && req.command_id !== commandId) {
      base = mergeEvidence(base, (await deps.store.getCommand(req.command_id))?.checkpoint);
      await deps.store.cancelCommand(req.command_id, now.toISOString());
    }
    const deadline = commandDeadline(work.steps ?? [step], now);
    const record = queuedCommand(
      {
        command_id: commandId,
        site: req.site,
        request_id: req.request_id,
        node_id: req.node_id,
        step,
        attempt: req.attempts + 1,
        body: await sealCommand({ ...(await work.body(base ?? NO_EVIDENCE)), deadline_at: deadline }, deps.secrets, commandId, await siteKeyOf(deps, req.site)),
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
  // a boot sequence's finished steps, from this one on (their results carry evidence too)
  const done = cmd.body.type === "boot_sequence" ? stepsDone(cmd, step) : [];
  const reported = [cmd.checkpoint, ...done.map((d) => evidenceOf(d.result)), evidenceOf(result)];
  const evidence = reported.some(Boolean) ? mergeEvidence(base, ...reported) : base;
  const kept: Partial<BootRequestRecord> = evidence !== req.bmc_evidence ? { bmc_evidence: evidence } : {};
  const ended = cmd.status === "succeeded" || cmd.status === "failed" || cmd.status === "cancelled";
  const finishedCommand = ended ? cmd.command_id : undefined;

  // The steps of a boot sequence the relay reported finished: each is recorded as succeeded (at
  // its time) before what the command's state says of the step after them.
  let changes = req.bmc_changes ?? [];
  const patch: Partial<BootRequestRecord> = { ...kept };
  for (const d of done) {
    changes = [...changes, ...changesOf(d.result, d.step, now.toISOString())];
    Object.assign(patch, await work.onSuccess?.(d.result, d.step));
  }
  const progressed = done.map((d) => ({ step: d.step as StepName, at: d.at }));
  const sequenceLeft = cmd.body.type === "boot_sequence" ? cmd.body.steps.map((s) => s.step).filter((s) => SEQUENCE_STEPS.indexOf(s) >= SEQUENCE_STEPS.indexOf(step as SequenceStep)) : [step];
  const next = (sequenceLeft[done.length] ?? null) as StepName | null;
  const withChanges = (): Partial<BootRequestRecord> => (changes !== (req.bmc_changes ?? []) ? { ...patch, bmc_changes: changes } : patch);

  if (cmd.body.type === "boot_sequence" && next === null) {
    // every step it carries is done: the last one's success is the event
    const last = progressed.pop()!;
    return { event: { type: "step_succeeded", step: last.step }, progressed, patch: { ...withChanges(), command_id: null }, finishedCommand: cmd.command_id };
  }
  const current = next ?? step;
  switch (cmd.status) {
    case "succeeded": {
      if (cmd.body.type === "boot_sequence") {
        // a sequence that succeeded must have reported every step it carries
        const error = { code: "INTERNAL" as ErrorCode, message: `the relay reported the boot sequence done without step ${current}`, retryable: true };
        return { event: { type: "step_failed", step: current, error }, progressed, patch: { ...withChanges(), command_id: null }, finishedCommand };
      }
      const single = changesOf(result, step, now.toISOString());
      return {
        event: { type: "step_succeeded", step },
        patch: { ...(await work.onSuccess?.(result ?? {}, step)), ...kept, ...(single.length > 0 ? { bmc_changes: [...(req.bmc_changes ?? []), ...single] } : {}), command_id: null },
        finishedCommand,
      };
    }
    case "failed": {
      const e = cmd.outcome && !cmd.outcome.ok ? cmd.outcome.error : { code: "INTERNAL", message: "the relay reported a failure", retryable: true };
      return {
        event: { type: "step_failed", step: current, error: { code: e.code as ErrorCode, message: e.message, retryable: e.retryable } },
        progressed,
        patch: { ...withChanges(), command_id: null },
        finishedCommand,
      };
    }
    case "cancelled":
      return {
        event: { type: "step_failed", step: current, error: { code: "RELAY_TIMEOUT", message: "the relay command was withdrawn", retryable: true } },
        progressed,
        patch: { ...withChanges(), command_id: null },
        finishedCommand,
      };
    default:
      return {
        event: { type: "step_waiting", step: current, recheck_at: recheckAt, ...(progressed.length > 0 && cmd.body.deadline_at ? { deadline_at: cmd.body.deadline_at } : {}) },
        progressed,
        patch: { ...withChanges(), command_id: commandId },
      };
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
