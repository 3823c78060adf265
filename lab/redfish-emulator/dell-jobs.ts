/**
 * iDRAC configuration jobs and the Lifecycle Controller that runs them. A settings PATCH with an
 * apply time schedules a job (JCP001) that completes (PR19) or fails (SYS051) at the next POST;
 * while it is scheduled its settings object refuses another set (SYS011), and deleting it discards
 * the staged values. The Lifecycle Controller is busy during POST (and under the `lcNotReady`
 * fault): settings PATCHes then get 503 SYS518, as on a real iDRAC.
 */
import { randomBytes } from "node:crypto";
import { traits } from "./flavours";
import { allFunctions, inPost, type Job, type SystemState } from "./model";
import type { ExtendedInfo } from "./redfish-errors";
import { uris } from "./uris";
import type { StageOutcome } from "./staging";

export interface JobsApi {
  newJob(sys: SystemState, job: Omit<Job, "id" | "systemId">): Job;
  /** the host reset an Immediate apply implies (recorded as resetType ImmediateApply) */
  restart(sys: SystemState): void;
  taskDelayMs: number;
}

const idracInfo = (id: string, message: string, resolution: string, severity: ExtendedInfo["Severity"] = "Warning"): ExtendedInfo => ({
  MessageId: id, Message: message, MessageArgs: [], Severity: severity, Resolution: resolution,
});

export const idracMsg = {
  pendingCommitted: (idrac: 9 | 10) =>
    idracInfo(`IDRAC.2.${idrac === 10 ? 14 : 9}.SYS011`, "Pending configuration values are already committed, unable to perform another set operation.",
      "Wait for the scheduled job to complete or delete the configuration job before attempting more set attribute operations."),
  notReady: () =>
    idracInfo("IDRAC.2.8.SYS518", "iDRAC is not ready. The configuration values cannot be accessed. Please retry after a few minutes.",
      "Wait for the Lifecycle Controller to be ready (DellLCService.GetRemoteServicesAPIStatus) and retry the operation.", "Critical"),
};

export const newJobId = (kind: Job["kind"]) => (kind === "dell-job" ? `JID_${randomBytes(6).toString("hex").toUpperCase()}` : randomBytes(6).toString("hex"));

/** Ready when the host is out of POST and no `lcNotReady` calls are owed. */
export function lcReady(sys: SystemState): boolean {
  return !inPost(sys) && sys.faults.lcNotReady === 0;
}

/** What a Dell settings PATCH meets before validation: a busy Lifecycle Controller, a committed job. */
export function dellGuard(sys: SystemState, settingsUri: string): Extract<StageOutcome, { ok: false }> | null {
  const idrac = traits(sys.flavour).idrac;
  if (idrac === null) return null;
  if (!lcReady(sys)) return { ok: false, status: 503, messages: [idracMsg.notReady()] };
  if (sys.jobs.some((j) => j.kind === "dell-job" && j.state === "Scheduled" && j.target === settingsUri)) {
    return { ok: false, status: 400, messages: [idracMsg.pendingCommitted(idrac)] };
  }
  return null;
}

/** The settings objects a job may target, and how to drop what they stage. */
export function settingsObjects(sys: SystemState): Array<{ uri: string; jobType: NonNullable<Job["jobType"]>; discard: () => void }> {
  const out: Array<{ uri: string; jobType: NonNullable<Job["jobType"]>; discard: () => void }> = [];
  for (const fn of allFunctions(sys)) {
    const s = fn.settings;
    if (s) out.push({ uri: uris.fnSettings(sys, fn), jobType: "NICConfiguration", discard: () => ((fn.pending = null), (s.version += 1)) });
  }
  const bios = sys.bios;
  const bs = bios?.settings;
  if (bios && bs) out.push({ uri: uris.biosSettings(sys), jobType: "BIOSConfiguration", discard: () => ((bios.pending = null), (bs.version += 1)) });
  return out;
}

/**
 * After a Dell settings object staged a change: no apply time leaves it staged (a job may be
 * created later through the Jobs collection); an apply time schedules a job, and Immediate also
 * resets the host now when it is on (the job then completes in that POST).
 */
export function scheduleDellJob(sys: SystemState, jobs: JobsApi, target: string, jobType: NonNullable<Job["jobType"]>, applyTime: string | undefined): { status: number; location?: string } {
  if (applyTime === undefined) return { status: 200 };
  const job = jobs.newJob(sys, {
    target, state: "Scheduled", message: "Task successfully scheduled.", messageId: "JCP001", kind: "dell-job", jobType, idrac: traits(sys.flavour).idrac ?? 9,
  });
  if (applyTime === "Immediate" && (sys.power === "On" || sys.power === "PoweringOn")) jobs.restart(sys);
  return { status: 202, location: uris.jobLocation(job) };
}

/** DELETE of a job: a scheduled one takes its staged values with it; a finished one just goes. */
export function deleteJob(sys: SystemState, job: Job): void {
  sys.jobs = sys.jobs.filter((j) => j !== job);
  if (job.state === "Scheduled") settingsObjects(sys).find((o) => o.uri === job.target)?.discard();
}

/** At POST: every scheduled job completes, or fails under the `settingsFailOnReset` fault. */
export function completeDellJobs(sys: SystemState, fail: boolean): void {
  for (const job of sys.jobs) {
    if (job.kind === "dell-job" && job.state === "Scheduled") {
      job.state = fail ? "Failed" : "Completed";
      job.message = fail ? "Unable to apply the configuration: invalid attribute value." : "Job completed successfully.";
      job.messageId = fail ? "SYS051" : "PR19";
    }
  }
}

/**
 * DellLCService.GetRemoteServicesAPIStatus. The manager URI is shared by every Dell system of the
 * lab, so the answer is NotReady while any of them is in POST or owes `lcNotReady` calls.
 */
export function lcStatus(systems: SystemState[]): Record<string, unknown> {
  const ready = systems.every(lcReady);
  for (const s of systems) if (s.faults.lcNotReady > 0) s.faults.lcNotReady -= 1;
  const state = ready ? "Ready" : "NotReady";
  const server = systems.some(inPost) ? "InPOST" : systems.every((s) => s.power === "Off") ? "PoweredOff" : "OutOfPOST";
  return { LCStatus: state, RTStatus: state, ServerStatus: server, Status: state, "@Message.ExtendedInfo": [] };
}
