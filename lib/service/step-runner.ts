/**
 * Runs the current step of one request: claim it, do (or find done) its work, commit the
 * transition. Called by the attach and firmware functions, from a chain, a relay report or the
 * sweeper. Never throws: a chained Lambda that throws is retried blindly by AWS and kills
 * serverless-offline (notes/stack.md); everything is recorded in the state table instead.
 */
import type { Deps } from "../deps";
import { ConflictError, toErrorRecord } from "../errors";
import type { BootRequestRecord, CommandRecord } from "../store/records";
import { STEP_POLICY, TransitionRejected, isTerminal, succeedInTurn, transition, type StepFunction, type StepName, type TransitionResult, type WorkflowCommand } from "../workflow";
import { commitTransition } from "./apply-transition";
import { attachVolume, detachVolume, prepareConnector } from "./steps/attach-steps";
import { awaitBoot, clearFirmware, configureFirmware, powerOn } from "./steps/firmware-steps";
import type { StepContext } from "./steps/relay-step";
import type { StepImpl, StepOutcome } from "./steps/step";

/** A function, not a table built at load: relay-queue.ts (which the steps import) imports this module too. */
const stepImpl = (step: StepName): StepImpl => ({
  prepare_connector: prepareConnector,
  attach_volume: attachVolume,
  configure_firmware: configureFirmware,
  power_on: powerOn,
  await_boot: awaitBoot,
  clear_firmware: clearFirmware,
  detach_volume: detachVolume,
})[step];

/** How long one invocation may hold a step before another may take it over. */
const CLAIM_MS = 120_000;

export type RunResult = "done" | "skipped";

export interface RunOptions {
  /** the command the relay just reported (the relay function runs the step in its result call) */
  finished?: CommandRecord;
  /**
   * Run the step that follows in this invocation when it is this function's too and due now
   * (prepare_connector → attach_volume; a firmware step whose command ended → the next one's
   * command), or one this function may run for another (runsAsGuest: attach_volume →
   * configure_firmware), instead of chaining another invocation. Default true.
   */
  continueHere?: boolean;
}

/** Steps run one after another in one invocation, at most (a guard, the forward path is shorter). */
const MAX_STEPS_HERE = 8;

export async function runStep(deps: Deps, fn: StepFunction, requestId: string, opts: RunOptions = {}): Promise<RunResult> {
  const log = deps.log.child({ request_id: requestId, fn });
  try {
    let req = await deps.store.getRequest(requestId);
    let ctx: StepContext = opts.finished ? { finished: opts.finished } : {};
    for (let here = 0; req && here < MAX_STEPS_HERE; here++) {
      const next = await runOnce(deps, fn, req, ctx, opts.continueHere !== false, here > 0, log);
      if (next === "skipped") return here === 0 ? "skipped" : "done";
      if (next === "done") return "done";
      req = next.req;
      ctx = next.inHand ? { inHand: next.inHand } : {};
    }
    return req ? "done" : "skipped";
  } catch (err) {
    if (err instanceof ConflictError || err instanceof TransitionRejected) return "skipped"; // someone else moved it
    log.error("step run failed", { error: String((err as Error)?.message ?? err) });
    return "skipped";
  }
}

/**
 * Another function's step that `fn` runs when its own step's commit leaves that step due now.
 * attach holds everything configure_firmware's run needs (the table, the relay doorbell, events,
 * the firmware retry queue: serverless.yml) but kms:Decrypt, so it runs it only with the target's
 * secret in hand (the one attach_volume just had from Cinder) or no secret to open: the firmware
 * function is not invoked for it (issue 11). Run later (a retry, the sweeper), it is firmware's.
 */
function runsAsGuest(fn: StepFunction, step: StepName, req: BootRequestRecord, inHand: ReadonlyMap<string, string> | undefined): boolean {
  if (fn !== "attach" || step !== "configure_firmware" || !req.target) return false;
  const sealed = req.target.driver_volume_type === "iscsi" ? req.target.auth_password_sealed : null;
  return !sealed || inHand?.has(sealed) === true;
}

/** The step that runs next in this invocation: the request as committed, and what its step handed on. */
interface Continuation {
  req: BootRequestRecord;
  inHand?: ReadonlyMap<string, string>;
}

/**
 * One step of one request. Answers the request as committed when the step that follows is to
 * run here next (then its record needs no reading again), else whether it ran. `continued`: the
 * step was chosen to run here by the one before it in this invocation (its own, or a guest's).
 */
async function runOnce(deps: Deps, fn: StepFunction, req: BootRequestRecord, ctx: StepContext, continueHere: boolean, continued: boolean, log: Deps["log"]): Promise<RunResult | Continuation> {
  if (isTerminal(req.state) || req.step === null || (!continued && STEP_POLICY[req.step].fn !== fn)) return "skipped";
  const now = deps.clock.now();
  if (req.running_until && Date.parse(req.running_until) > now.getTime()) return "skipped";
  // the node cannot change while the request holds it: the snapshot taken by the lock will do
  const node = req.node_snapshot ?? (await deps.store.getNode(req.node_id));
  if (!node) {
    log.error("request refers to a node that is gone");
    return "skipped";
  }
  // Claim: one conditional write, so two invocations of a step that must not race never both
  // do its work. Other steps are safe side by side; their commit's version check picks one.
  let claimed: BootRequestRecord = req;
  if (STEP_POLICY[req.step].exclusive) {
    claimed = {
      ...req,
      // a hint for one run (attach-steps.ts, volume_seen): this run has it, no later one will
      volume_seen: null,
      running_until: new Date(now.getTime() + CLAIM_MS).toISOString(),
      next_attempt_at: new Date(now.getTime() + CLAIM_MS).toISOString(),
      version: req.version + 1,
    };
    await deps.store.saveRequest(claimed);
  }

  let outcome: StepOutcome;
  const began = deps.clock.now().getTime();
  try {
    outcome = await stepImpl(req.step)(deps, { ...claimed, volume_seen: req.volume_seen ?? null }, node, ctx);
  } catch (err) {
    outcome = { event: { type: "step_failed", step: req.step, error: toErrorRecord(err) } };
    log.warn("step failed", { step: req.step, code: outcome.event.type === "step_failed" ? outcome.event.error.code : undefined });
  }
  // this run's work (a relay step's run queues or reads its command: the relay's time is BmcLatency)
  deps.metrics.duration("StepDuration", deps.clock.now().getTime() - began, { Step: req.step });
  const result = transitions(claimed, outcome, deps.clock.now());
  const after = { ...claimed, ...outcome.patch };
  const here = continueHere
    ? result.commands.find((c): c is Extract<WorkflowCommand, { type: "run_step" }> => c.type === "run_step" && !c.delay_ms && (c.fn === fn || runsAsGuest(fn, c.step, after, outcome.inHand)))
    : undefined;
  let committed: BootRequestRecord;
  try {
    committed = await commitTransition(deps, claimed, here ? { ...result, commands: result.commands.filter((c) => c !== here) } : result, { ...outcome.patch, running_until: null }, { finishedCommand: outcome.finishedCommand });
  } catch (err) {
    // Someone else moved the request first. If it moved on from this step and attempt (an
    // undeploy, say), the command this run queued is nobody's any more; if another run of the
    // same step won, the command is the very one it waits for and stays.
    const orphan = outcome.patch?.command_id;
    if (orphan && orphan !== claimed.command_id) {
      const current = await deps.store.getRequest(req.request_id);
      const stillWanted = current && current.step === claimed.step && current.attempts === claimed.attempts && current.state === claimed.state;
      if (!stillWanted && current?.command_id !== orphan) await deps.store.cancelCommand(orphan, deps.clock.now().toISOString());
    }
    throw err;
  }
  return here ? { req: committed, ...(outcome.inHand ? { inHand: outcome.inHand } : {}) } : "done";
}

/**
 * The outcome as the workflow sees it: the steps a boot sequence finished first (each recorded
 * at its time, never before the request's last entry nor after now), then the outcome's event.
 * Their state changes are all published; what runs next is the last transition's to say.
 */
function transitions(req: BootRequestRecord, outcome: StepOutcome, now: Date): TransitionResult {
  const { state, published } = succeedInTurn(req, outcome.progressed ?? [], now);
  const last = transition(state, outcome.event, now);
  return { state: last.state, commands: [...published, ...last.commands] };
}
