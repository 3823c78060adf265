/**
 * The vocabulary of a boot request's workflow: states, steps, events and the commands a
 * transition asks its caller to carry out. Pure types: no I/O, no clock, no SDK.
 */
import type { ErrorRecord } from "../errors";

export const REQUEST_STATES = [
  "accepted",
  "connector_ready",
  "attached",
  "firmware_configured",
  "booting",
  "active",
  "rolling_back",
  "failed",
  "detaching",
  "detached",
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** Steps that move a deployment forward, each run in the state before its result. */
export type ForwardStep = "prepare_connector" | "attach_volume" | "configure_firmware" | "power_on" | "await_boot";
/** Steps that undo: run while rolling back or detaching, newest effect first. */
export type UndoStep = "clear_firmware" | "detach_volume";
export type StepName = ForwardStep | UndoStep;

/** Which stateless function carries out a step. */
export type StepFunction = "attach" | "firmware";

export const TERMINAL_STATES: readonly RequestState[] = ["failed", "detached"];
/** A request in one of these states holds its node; `active` holds it until undeploy. */
export const isTerminal = (s: RequestState): boolean => TERMINAL_STATES.includes(s);

export interface HistoryEntry {
  state: RequestState;
  at: string;
  /** the step whose result led here, and how many attempts it took */
  step: StepName | null;
  attempts: number;
  error: ErrorRecord | null;
}

/** The part of a boot request the workflow reads and writes. */
export interface WorkflowState {
  request_id: string;
  state: RequestState;
  /** the step to run now (null when nothing is left to do) */
  step: StepName | null;
  /** attempts already made at `step` */
  attempts: number;
  /** undo steps still to run, in order (rolling_back / detaching) */
  undo: UndoStep[];
  /** when the sweeper must (re)dispatch `step`; null when nothing is due */
  next_attempt_at: string | null;
  /** deadline of the current attempt while it waits on the relay */
  step_deadline_at: string | null;
  /** the last error seen, kept after recovery so operators see what happened */
  error: ErrorRecord | null;
  history: HistoryEntry[];
}

export type WorkflowEvent =
  /** the step's work is done (or was found already done) */
  | { type: "step_succeeded"; step: StepName }
  /**
   * the step handed work to someone else (the relay) and must look again at `recheck_at`;
   * `deadline_at`: the deadline the handed-over work carries (stepDeadline), adopted by the first wait
   */
  | {
      type: "step_waiting";
      step: StepName;
      recheck_at: string;
      deadline_at?: string;
      /**
       * nobody reports back when the work is done (Cinder still busy with a create): the step is
       * run again at `recheck_at` by a delayed trigger. Without it the step waits for a report
       * (the relay's result chains it) and the sweeper is the safety net.
       */
      poll?: boolean;
    }
  | { type: "step_failed"; step: StepName; error: ErrorRecord }
  /** the caller asked to undeploy (DELETE boot-from-volume) */
  | { type: "undeploy_requested" };

export type WorkflowCommand =
  /**
   * invoke the function of `step` asynchronously (the chain); with `delay_ms`, that much later
   * (a retry at its backoff time, a poll at its recheck time), not at the sweeper's next round
   */
  | { type: "run_step"; step: StepName; fn: StepFunction; delay_ms?: number }
  /** the request ended: free its node for the next request */
  | { type: "release_node" }
  /** publish a state change (EventBridge on AWS, the log locally) */
  | { type: "publish_state_change"; from: RequestState; to: RequestState };

export interface TransitionResult {
  state: WorkflowState;
  commands: WorkflowCommand[];
}
