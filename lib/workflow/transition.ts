/**
 * The boot-request state machine: transition(state, event, now) → { state, commands }.
 * Pure and deterministic. Jitter is derived from the request id and the attempt number, so the
 * same inputs always give the same schedule and tests can state exact times.
 */
import type { ErrorRecord } from "../errors";
import { FORWARD, STEP_POLICY, forwardStepOf, stepDeadline, undoFor } from "./policy";
import type {
  HistoryEntry,
  RequestState,
  StepName,
  TransitionResult,
  UndoStep,
  WorkflowCommand,
  WorkflowEvent,
  WorkflowState,
} from "./states";
import { isTerminal } from "./states";

const iso = (ms: number): string => new Date(ms).toISOString();

/** A stable fraction in [0, 1) from a string (FNV-1a), used for jitter. */
function stableFraction(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x1_0000_0000;
}

/** Delay before attempt `attempt + 1` of `step`, after `attempt` failures. */
export function backoffMs(requestId: string, step: StepName, attempt: number): number {
  const p = STEP_POLICY[step];
  const exp = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + 0.5 * stableFraction(`${requestId}:${step}:${attempt}`)));
}

/** The initial state of a request just accepted, and the command that starts it. */
export function start(requestId: string, now: Date): TransitionResult {
  const at = now.toISOString();
  const step = forwardStepOf("accepted")!;
  const state: WorkflowState = {
    request_id: requestId,
    state: "accepted",
    step,
    attempts: 0,
    undo: [],
    next_attempt_at: iso(now.getTime() + STEP_POLICY[step].redispatchAfterMs),
    step_deadline_at: null,
    error: null,
    history: [{ state: "accepted", at, step: null, attempts: 0, error: null }],
  };
  return { state, commands: [{ type: "run_step", step, fn: STEP_POLICY[step].fn }] };
}

export class TransitionRejected extends Error {
  override readonly name = "TransitionRejected";
}

export function transition(current: WorkflowState, event: WorkflowEvent, now: Date): TransitionResult {
  if (isTerminal(current.state)) throw new TransitionRejected(`request is ${current.state}; nothing more happens`);
  switch (event.type) {
    case "undeploy_requested":
      return undeploy(current, now);
    case "step_succeeded":
      assertCurrentStep(current, event.step);
      return succeed(current, now);
    case "step_waiting":
      assertCurrentStep(current, event.step);
      return wait(current, event.recheck_at, now, event.deadline_at, event.poll === true);
    case "step_failed":
      assertCurrentStep(current, event.step);
      return fail(current, event.error, now);
  }
}

function assertCurrentStep(current: WorkflowState, step: StepName): void {
  if (current.step !== step) {
    throw new TransitionRejected(`step ${step} reported, but the request is at ${current.step ?? "no step"} (${current.state})`);
  }
}

function runStep(step: StepName, delayMs = 0): WorkflowCommand {
  return delayMs > 0 ? { type: "run_step", step, fn: STEP_POLICY[step].fn, delay_ms: delayMs } : { type: "run_step", step, fn: STEP_POLICY[step].fn };
}

/** Move to `to`, with `step` next (or nothing), recording history and the commands that follow. */
function moveTo(
  current: WorkflowState,
  to: RequestState,
  next: { step: StepName | null; undo: UndoStep[]; error: ErrorRecord | null },
  now: Date,
): TransitionResult {
  const entry: HistoryEntry = {
    state: to,
    at: now.toISOString(),
    step: current.step,
    attempts: current.step === null ? 0 : current.attempts + 1,
    error: next.error,
  };
  const state: WorkflowState = {
    ...current,
    state: to,
    step: next.step,
    attempts: 0,
    undo: next.undo,
    step_deadline_at: null,
    next_attempt_at: next.step === null ? null : iso(now.getTime() + STEP_POLICY[next.step].redispatchAfterMs),
    error: next.error ?? current.error,
    history: [...current.history, entry],
  };
  const commands: WorkflowCommand[] = [];
  if (to !== current.state) commands.push({ type: "publish_state_change", from: current.state, to });
  if (next.step !== null) commands.push(runStep(next.step));
  if (isTerminal(to)) commands.push({ type: "release_node" });
  return { state, commands };
}

function succeed(current: WorkflowState, now: Date): TransitionResult {
  if (current.state === "rolling_back" || current.state === "detaching") return nextUndo(current, current.undo.slice(1), null, now);
  const leg = FORWARD.find((f) => f.from === current.state)!;
  return moveTo(current, leg.to, { step: forwardStepOf(leg.to), undo: [], error: null }, now);
}

/** Continue the undo list; when it is empty the request ends (failed after a rollback, detached after undeploy). */
function nextUndo(current: WorkflowState, remaining: UndoStep[], error: ErrorRecord | null, now: Date): TransitionResult {
  const [step = null] = remaining;
  if (step !== null) {
    // stay in the same state, run the next undo step
    const state: WorkflowState = {
      ...current,
      step,
      attempts: 0,
      undo: remaining,
      step_deadline_at: null,
      next_attempt_at: iso(now.getTime() + STEP_POLICY[step].redispatchAfterMs),
      error: error ?? current.error,
    };
    return { state, commands: [runStep(step)] };
  }
  const end: RequestState = current.state === "rolling_back" ? "failed" : "detached";
  return moveTo(current, end, { step: null, undo: [], error }, now);
}

/**
 * The step waits for work it handed on. A relay's report chains the step when it comes; work
 * nobody reports on (`poll`) is looked at again at the recheck time by a delayed trigger. Either
 * way the sweeper comes back at `next_attempt_at` if nothing else did.
 */
function wait(current: WorkflowState, recheckAt: string, now: Date, handedDeadline: string | undefined, poll: boolean): TransitionResult {
  const step = current.step!;
  const deadline = current.step_deadline_at ?? handedDeadline ?? stepDeadline(step, now);
  if (now.getTime() >= Date.parse(deadline)) {
    return fail(current, { code: "STEP_TIMEOUT", message: `${step} got no answer before ${deadline}`, retryable: true }, now);
  }
  const next = Math.min(Date.parse(recheckAt), Date.parse(deadline));
  const commands = poll ? [runStep(step, Math.max(1, next - now.getTime()))] : [];
  return { state: { ...current, step_deadline_at: deadline, next_attempt_at: iso(next) }, commands };
}

function fail(current: WorkflowState, error: ErrorRecord, now: Date): TransitionResult {
  const step = current.step!;
  const attempts = current.attempts + 1;
  const undoing = current.state === "rolling_back" || current.state === "detaching";
  if (error.retryable && attempts < STEP_POLICY[step].maxAttempts) {
    // the retry is triggered at its backoff time; next_attempt_at lets the sweeper catch a lost trigger
    const delay = backoffMs(current.request_id, step, attempts);
    const state: WorkflowState = {
      ...current,
      attempts,
      error,
      step_deadline_at: null,
      next_attempt_at: iso(now.getTime() + delay),
    };
    return { state, commands: [runStep(step, delay)] };
  }
  if (undoing) {
    // An undo step that cannot finish is recorded and the rest of the undo still runs: a
    // stuck BMC must not keep the volume attached.
    const left: ErrorRecord = { code: error.code, message: `${step} did not finish: ${error.message}`, retryable: false };
    return nextUndo({ ...current, attempts: attempts - 1 }, current.undo.slice(1), left, now);
  }
  const undo = undoFor(step as Exclude<StepName, UndoStep>);
  const failed = { ...current, attempts: attempts - 1 };
  if (undo.length === 0) return moveTo(failed, "failed", { step: null, undo: [], error }, now);
  return moveTo(failed, "rolling_back", { step: undo[0]!, undo, error }, now);
}

function undeploy(current: WorkflowState, now: Date): TransitionResult {
  if (current.state === "detaching" || current.state === "rolling_back") {
    throw new TransitionRejected(`request is already ${current.state}`);
  }
  const undo = undoFor(current.state === "active" ? null : (current.step as Exclude<StepName, UndoStep>));
  if (undo.length === 0) return moveTo(current, "detached", { step: null, undo: [], error: null }, now);
  return moveTo(current, "detaching", { step: undo[0]!, undo, error: null }, now);
}

/**
 * Steps that succeeded one after another (a boot sequence the relay carried out), each recorded at
 * its time, kept between the request's last entry and `now` (a relay's clock is not ours). Answers
 * the state after them and the state changes to publish; what runs next is for the caller's last
 * transition to say.
 */
export function succeedInTurn<S extends WorkflowState & { created_at?: string }>(
  current: S,
  steps: ReadonlyArray<{ step: StepName; at: string }>,
  now: Date,
): { state: S; published: WorkflowCommand[] } {
  let state = current;
  const published: WorkflowCommand[] = [];
  for (const p of steps) {
    const floor = Date.parse(state.history.at(-1)?.at ?? state.created_at ?? now.toISOString());
    const at = new Date(Math.min(now.getTime(), Math.max(floor, Date.parse(p.at) || now.getTime())));
    const r = transition(state, { type: "step_succeeded", step: p.step }, at);
    published.push(...r.commands.filter((c) => c.type === "publish_state_change"));
    state = { ...state, ...r.state };
  }
  return { state, published };
}
