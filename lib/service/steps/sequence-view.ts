/**
 * A boot sequence as the steps it carries and the ones its relay reported done: what the step that
 * reads the command's end records (./relay-step) and what a caller sees of the request while it
 * runs. Apart from ./relay-step so that the status function reaches neither the relay protocol's
 * schemas nor the command sealing (issue 11, cold start).
 */
import type { Deps } from "../../deps";
import { SEQUENCE_STEPS, type SequenceStep } from "../../relay/common";
import type { SequenceProgress } from "../../relay/protocol";
import type { BootRequestRecord, CommandRecord } from "../../store/records";
import { isTerminal, succeedInTurn, type StepName } from "../../workflow";

export const isSequenceStep = (s: string): s is SequenceStep => (SEQUENCE_STEPS as readonly string[]).includes(s);

/** The sequence's finished steps from `step` on, in the sequence's order, each once. */
export function stepsDone(cmd: CommandRecord, step: StepName): SequenceProgress {
  if (!isSequenceStep(step)) return [];
  const from = SEQUENCE_STEPS.indexOf(step);
  const carried = cmd.body.type === "boot_sequence" ? cmd.body.steps.map((s) => s.step) : [];
  const reported = new Map((cmd.progress ?? []).map((p) => [p.step, p]));
  const out: SequenceProgress = [];
  for (const s of carried) {
    if (SEQUENCE_STEPS.indexOf(s) < from) continue;
    const p = reported.get(s);
    if (!p) break; // the steps finish in order: one not reported ends the list
    out.push(p);
  }
  return out;
}

/**
 * The request as a caller should see it while a boot sequence runs: the steps its relay reported
 * finished (its heartbeats carry them) count as done, as the step's commit will record them when
 * the command ends. The record itself is not written; one read of the command.
 */
export async function withSequenceProgress(deps: Deps, req: BootRequestRecord): Promise<BootRequestRecord> {
  if (!req.boot_sequence || !req.command_id || req.step === null || !isSequenceStep(req.step) || isTerminal(req.state)) return req;
  const cmd = await deps.store.getCommand(req.command_id);
  if (!cmd || cmd.body.type !== "boot_sequence" || cmd.request_id !== req.request_id) return req;
  const done = stepsDone(cmd, req.step);
  if (done.length === 0) return req;
  // the last step done ends the sequence: that the request is active is its commit's to say
  const left = cmd.body.steps.filter((s) => SEQUENCE_STEPS.indexOf(s.step) >= SEQUENCE_STEPS.indexOf(req.step as SequenceStep)).length;
  const shown = done.length < left ? done : done.slice(0, -1);
  try {
    return succeedInTurn(req, shown, deps.clock.now()).state;
  } catch {
    return req;
  }
}
