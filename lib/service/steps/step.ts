import type { Deps } from "../../deps";
import type { BootRequestRecord, NodeRecord } from "../../store/records";
import type { StepName, WorkflowEvent } from "../../workflow";
import type { StepContext } from "./relay-step";

/** What one run of a step found or did: the event for the workflow, and fields to store with it. */
export interface StepOutcome {
  event: WorkflowEvent;
  patch?: Partial<BootRequestRecord>;
  /** the relay command whose end this outcome reports: it needs no withdrawing */
  finishedCommand?: string;
  /**
   * Steps that succeeded before `event` (a boot sequence's steps the relay finished), in order,
   * each with when it ended: recorded one after another, then `event` for the step after them.
   */
  progressed?: Array<{ step: StepName; at: string }>;
  /** secrets this run sealed, by their sealed form, for a step that runs next in this invocation (StepContext.inHand) */
  inHand?: ReadonlyMap<string, string>;
}

/**
 * A step. It first asks whether its work is already done (a second run must have no second
 * effect), may throw SanbootError (the runner turns it into step_failed), and never sleeps:
 * work that takes time is handed to the relay and answered with step_waiting.
 */
export type StepImpl = (deps: Deps, req: BootRequestRecord, node: NodeRecord, ctx?: StepContext) => Promise<StepOutcome>;

export const done = (step: StepName, patch?: Partial<BootRequestRecord>): StepOutcome => ({ event: { type: "step_succeeded", step }, patch });
