/**
 * Deferred settings, as BMCs with settings objects behave: a PATCH of a function's `.../Settings`
 * stages the change (generic-settings: behind a task monitor; Dell: behind a configuration job),
 * and POST applies it, or fails to (fault `settingsFailOnReset`: `Base.1.8.SettingsFailed` in the
 * resource's `@Redfish.Settings.Messages`, the job Failed). Everything staged elsewhere (BIOS
 * attributes, HPE's BIOS iSCSI, XCC's pending objects) applies in the same POST, in `applyAtPost`.
 */
import { applyBios } from "./bios";
import { completeDellJobs, dellGuard, scheduleDellJob, type JobsApi } from "./dell-jobs";
import { traits } from "./flavours";
import { applyHpe, refreshHpePaths } from "./hpe-iscsi";
import { allFunctions, type FunctionState, type SystemState } from "./model";
import { applyFunctionChanges, parseFunctionPatch } from "./patch-rules";
import { msg } from "./redfish-errors";
import { applyTimeOf, markApplied, type StageOutcome } from "./staging";
import { uris } from "./uris";

/** PATCH of a function's settings object (generic-settings, dell, dell10). */
export function stageFunction(sys: SystemState, fn: FunctionState, body: Record<string, unknown>, jobs: JobsApi): StageOutcome {
  const settings = fn.settings!;
  const settingsUri = uris.fnSettings(sys, fn);
  const guard = dellGuard(sys, settingsUri);
  if (guard) return guard;
  const parsed = parseFunctionPatch(sys, fn, body, "pending");
  if (!parsed.ok) return parsed;
  const at = applyTimeOf(body, settings.applyTimes);
  if (!at.ok) return at;
  const c = parsed.changes;
  return {
    ok: true,
    apply: () => {
      const p = (fn.pending ??= {});
      if (Object.keys(c.iscsi).length > 0) p.iscsiBoot = { ...(p.iscsiBoot ?? {}), ...c.iscsi };
      if (c.bootMode !== undefined) p.bootMode = c.bootMode;
      if (c.netDevFuncType !== undefined) p.netDevFuncType = c.netDevFuncType;
      if (c.bootTargets !== undefined) p.bootTargets = c.bootTargets;
      if (c.hpeBootTargetSource !== undefined) p.hpeBootTargetSource = c.hpeBootTargetSource;
      settings.version += 1;
      if (traits(sys.flavour).idrac !== null) return scheduleDellJob(sys, jobs, settingsUri, "NICConfiguration", at.value);
      // generic-settings: a task validates and stages; Immediate applies when it ends, and the
      // host reset that may imply happens then ("may result in an immediate host reset").
      const task = jobs.newJob(sys, {
        target: settingsUri,
        state: "Running",
        message: "The task is running.",
        messageId: "TaskEvent.1.0.TaskStarted",
        kind: "task",
        doneAt: Date.now() + jobs.taskDelayMs,
        ...(at.value === "Immediate"
          ? {
              onDone: () => {
                applyFunction(fn, false);
                if (sys.power === "On" || sys.power === "PoweringOn") jobs.restart(sys);
              },
            }
          : {}),
      });
      return { status: 202, location: uris.jobLocation(task) };
    },
  };
}

/** A running task whose time came (by `now`) completes, and applies what it carries. */
export function settleTask(job: SystemState["jobs"][number], now = Date.now()): void {
  if (job.kind === "task" && job.state === "Running" && job.doneAt !== undefined && now >= job.doneAt) {
    job.state = "Completed";
    job.message = "The task has completed successfully.";
    job.messageId = "TaskEvent.1.0.TaskCompletedOK";
    job.onDone?.();
  }
}

export function applyFunction(fn: FunctionState, fail: boolean): boolean {
  const p = fn.pending;
  if (!p || !fn.settings) return false;
  fn.pending = null;
  if (fail) {
    const props = [...Object.keys(p.iscsiBoot ?? {}).map((k) => `iSCSIBoot/${k}`), ...(p.bootMode ? ["BootMode"] : []), ...(p.bootTargets ? ["FibreChannel/BootTargets"] : [])];
    markApplied(fn.settings, [{ ...msg.settingsFailed(props.join(", ")), Severity: "Critical" }], fn.version);
    return true;
  }
  applyFunctionChanges(fn, { iscsi: p.iscsiBoot ?? {}, bootMode: p.bootMode, mac: undefined, bootTargets: p.bootTargets, netDevFuncType: p.netDevFuncType, hpeBootTargetSource: p.hpeBootTargetSource });
  // XCC switches the boot protocol itself: a function with a target boots iSCSI.
  if (fn.settings.path === "Pending") {
    if (fn.iscsiBoot.PrimaryTargetName) fn.bootMode = "iSCSI";
    else if (fn.bootMode === "iSCSI") fn.bootMode = "Disabled";
  }
  markApplied(fn.settings, [{ ...msg.success(), Severity: "OK" }], fn.version);
  return true;
}

/** POST: BIOS attributes first (they gate HPE's attempts), then every settings object, then jobs. */
/** Whether anything waits for the next POST to apply: staged settings, a scheduled Dell job. */
export function hasStagedSettings(sys: SystemState): boolean {
  return (
    Boolean(sys.bios?.pending && sys.bios.settings) ||
    Boolean(sys.hpe?.pending) ||
    allFunctions(sys).some((fn) => fn.pending !== null && fn.pending !== undefined) ||
    sys.jobs.some((job) => job.kind === "dell-job" && job.state === "Scheduled")
  );
}

export function applyAtPost(sys: SystemState): void {
  const fail = sys.faults.settingsFailOnReset;
  let any = applyBios(sys, fail);
  for (const fn of allFunctions(sys)) any = applyFunction(fn, fail) || any;
  any = applyHpe(sys, fail) || any;
  refreshHpePaths(sys);
  completeDellJobs(sys, fail);
  if (any && fail) sys.faults.settingsFailOnReset = false;
}
