/**
 * Each step's place in the workflow and its retry policy, as data: one table to read when
 * asking "what happens after X", "how often is X retried", "how long may X wait".
 */
import type { ForwardStep, RequestState, StepFunction, StepName, UndoStep } from "./states";

export interface StepPolicy {
  fn: StepFunction;
  /** attempts before the step fails for good */
  maxAttempts: number;
  /** exponential backoff: base * 2^(attempt-1), capped, times a jitter factor in [0.5, 1) */
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * How long one attempt may take before it counts as failed (STEP_TIMEOUT): the one time budget
   * of the step. A relay command carries it as its deadline, and every wait at the relay and in
   * the BMC driver ends by then (relay/executor.ts). Sized for real BMCs: vendor configuration
   * jobs run during POST and take up to 20-30 minutes (notes/redfish-vendors.md).
   */
  waitDeadlineMs: number;
  /** if the chained invocation is lost, the sweeper dispatches the step again after this */
  redispatchAfterMs: number;
  /**
   * Claim the request (a conditional write) before working, so that two invocations never do the
   * work side by side: for steps whose work is not safe to race (Cinder attach and detach). Steps
   * that only enqueue or read a relay command are safe as they are (the command id is derived,
   * its creation conditional) and skip the extra write.
   */
  exclusive: boolean;
}

export const STEP_POLICY: Record<StepName, StepPolicy> = {
  prepare_connector: { fn: "attach", exclusive: false, maxAttempts: 5, baseDelayMs: 2_000, maxDelayMs: 60_000, waitDeadlineMs: 300_000, redispatchAfterMs: 30_000 },
  // attach: one run's calls to Cinder end by this budget (the attachment request carries it as its
  // deadline), so a run ends before its claim (120 s) and the attach function's timeout (120 s,
  // serverless.yml). It is long because Cinder queues: a create waits for the exports ahead of it
  // in cinder-volume, and cinder-api gives up on its own after rpc_response_timeout (60 s); a
  // create cut short would be a create of unknown outcome that Cinder may still be carrying out.
  attach_volume: { fn: "attach", exclusive: true, maxAttempts: 6, baseDelayMs: 2_000, maxDelayMs: 120_000, waitDeadlineMs: 100_000, redispatchAfterMs: 60_000 },
  // configure: a PATCH, then following the task or job that stages it (minutes on a busy BMC)
  configure_firmware: { fn: "firmware", exclusive: false, maxAttempts: 4, baseDelayMs: 5_000, maxDelayMs: 120_000, waitDeadlineMs: 900_000, redispatchAfterMs: 30_000 },
  // power_on: where the SAN device appears only after staged settings applied (iDRAC, iLO), a
  // POST that runs the configuration job first (up to 30 min), then the override and the reset
  power_on: { fn: "firmware", exclusive: false, maxAttempts: 4, baseDelayMs: 5_000, maxDelayMs: 120_000, waitDeadlineMs: 2_100_000, redispatchAfterMs: 30_000 },
  // await_boot: POST of a large server, then the OS loader from the SAN
  await_boot: { fn: "firmware", exclusive: false, maxAttempts: 3, baseDelayMs: 5_000, maxDelayMs: 60_000, waitDeadlineMs: 1_800_000, redispatchAfterMs: 30_000 },
  // Undo steps try harder: giving up leaves something behind. clear: power off (a graceful
  // shutdown takes minutes), put back what was written, and where that is staged a power cycle
  // through POST to apply it (the same 30 min as a configuration job).
  clear_firmware: { fn: "firmware", exclusive: false, maxAttempts: 10, baseDelayMs: 5_000, maxDelayMs: 300_000, waitDeadlineMs: 2_400_000, redispatchAfterMs: 30_000 },
  detach_volume: { fn: "attach", exclusive: true, maxAttempts: 10, baseDelayMs: 2_000, maxDelayMs: 300_000, waitDeadlineMs: 300_000, redispatchAfterMs: 60_000 },
};

/** The forward path: in state `from`, run `step`; success leads to `to`. */
export const FORWARD: ReadonlyArray<{ from: RequestState; step: ForwardStep; to: RequestState }> = [
  { from: "accepted", step: "prepare_connector", to: "connector_ready" },
  { from: "connector_ready", step: "attach_volume", to: "attached" },
  { from: "attached", step: "configure_firmware", to: "firmware_configured" },
  { from: "firmware_configured", step: "power_on", to: "booting" },
  { from: "booting", step: "await_boot", to: "active" },
];

/**
 * What must be undone once a forward step has started (it may have had an effect even if it
 * failed): newest first. Starting attach_volume may leave an attachment; starting
 * configure_firmware (or anything after) may leave a boot target and a powered-on server.
 */
export function undoFor(step: ForwardStep | null): UndoStep[] {
  const reached = step === null ? FORWARD.length : FORWARD.findIndex((f) => f.step === step);
  const undo: UndoStep[] = [];
  if (reached >= FORWARD.findIndex((f) => f.step === "configure_firmware")) undo.push("clear_firmware");
  if (reached >= FORWARD.findIndex((f) => f.step === "attach_volume")) undo.push("detach_volume");
  return undo;
}

/** When an attempt of `step` that starts at `now` is out of time: the deadline its relay command carries. */
export function stepDeadline(step: StepName, now: Date): string {
  return new Date(now.getTime() + STEP_POLICY[step].waitDeadlineMs).toISOString();
}

export function forwardStepOf(state: RequestState): ForwardStep | null {
  return FORWARD.find((f) => f.from === state)?.step ?? null;
}
