export * from "./states";
export { STEP_POLICY, FORWARD, undoFor, forwardStepOf, stepDeadline } from "./policy";
export type { StepPolicy } from "./policy";
export { start, transition, backoffMs, succeedInTurn, TransitionRejected } from "./transition";
