/**
 * Dell iDRAC configuration jobs and the Lifecycle Controller, per generation as Dell documents
 * them: on iDRAC9 a settings write answers 202 with the job in `Location`
 * (`Managers/iDRAC.Embedded.1/Jobs/JID_…`); on iDRAC10 the `Location` is a TaskMonitor whose GET
 * has no content, and the job is read at `Managers/iDRAC.Embedded.1/Oem/Dell/Jobs/JID_…`. A job
 * stays Scheduled until the next reset; while it does, iDRAC refuses new pending values for its
 * target (SYS011), so a rollback before the reboot deletes our job (which discards its values).
 * Dell's tools check `DellLCService.GetRemoteServicesAPIStatus` until LCStatus is Ready before
 * configuring; "not ready" comes and goes.
 */
import { SanbootError } from "../../../errors";
import type { Claim } from "../../claims";
import { isNotFound } from "../../redfish-transport";
import { linkOf } from "../../redfish-types";
import type { SanContext } from "../quirks";

export type DellGeneration = 9 | 10;

const MANAGER = "/redfish/v1/Managers/iDRAC.Embedded.1";

/** Where a generation keeps its jobs. */
export function jobsCollection(gen: DellGeneration, managerUri = MANAGER): string {
  return gen === 10 ? `${managerUri.replace(/\/+$/, "")}/Oem/Dell/Jobs` : `${managerUri.replace(/\/+$/, "")}/Jobs`;
}

/** The job behind a 202's Location: iDRAC10's TaskMonitor holds nothing to read, its job does. */
export function jobOfLocation(gen: DellGeneration, location: string): string {
  const jid = /\/(JID_[A-Za-z0-9_]+)\/?$/.exec(location)?.[1];
  if (gen === 10 && jid && /\/TaskService\/TaskMonitors\//.test(location)) return `${jobsCollection(10)}/${jid}`;
  return location;
}

/** The request that makes the job applying `settingsUri` at the next reset (firmware that takes no apply time). */
export function configJobRequest(gen: DellGeneration, managerUri: string | undefined, settingsUri: string): { uri: string; body: Record<string, unknown> } {
  return { uri: jobsCollection(gen, managerUri ?? MANAGER), body: { TargetSettingsURI: settingsUri } };
}

/** Job states in which the job has not run yet: deleting it drops its pending values. */
const WAITING = new Set(["New", "Scheduled", "Scheduling", "Pending", "Waiting", "ReadyForExecution", "RebootPending", "Paused"]);

/**
 * Has the job behind this body not run yet? A DellJob says so in `JobState`; a Task of iDRAC10's
 * TaskService in `Oem.Dell.JobState`, else its own `TaskState`.
 */
export function jobWaiting(body: unknown): boolean {
  const job = body as { JobState?: string; TaskState?: string; Oem?: { Dell?: { JobState?: string } } } | undefined;
  const state = job?.JobState ?? job?.Oem?.Dell?.JobState ?? job?.TaskState;
  return typeof state === "string" && WAITING.has(state);
}

/** Deletes the claim's jobs that have not run (their pending values go with them): true when one was. */
export async function withdrawJobs(ctx: SanContext, claim: Claim): Promise<boolean> {
  let any = false;
  for (const uri of claim.jobs ?? []) {
    let waiting: boolean;
    try {
      waiting = jobWaiting((await ctx.w.t.get(uri)).body);
    } catch (err) {
      if (isNotFound(err)) continue; // gone already
      throw err;
    }
    if (waiting) {
      await ctx.w.t.delete(uri);
      any = true;
    }
  }
  return any;
}

/** Polls the Lifecycle Controller until it is Ready (within the command's budget, at most `maxMs`). */
export async function awaitLifecycleController(ctx: SanContext, maxMs = 600_000): Promise<void> {
  const action = await lcStatusAction(ctx);
  if (!action) return; // firmware without the service: nothing to wait for
  const deadline = ctx.w.deadline(maxMs, maxMs);
  let last = "";
  for (;;) {
    const status = lcReadiness((await ctx.w.t.post(action, {})).body);
    last = status.detail;
    if (status.ready) return;
    if (ctx.w.now() >= deadline) break;
    await ctx.w.pause(deadline);
  }
  throw new SanbootError("BMC_UNREACHABLE", `iDRAC at ${ctx.w.ep.address}: the Lifecycle Controller is not ready (${last}); try again`, { retryable: true });
}

/** What a GetRemoteServicesAPIStatus answer says: ready when LCStatus (and the overall Status, where given) is Ready. */
export function lcReadiness(body: unknown): { ready: boolean; detail: string } {
  const status = (body ?? {}) as { LCStatus?: string; Status?: string; ServerStatus?: string };
  return {
    ready: status.LCStatus === "Ready" && (status.Status === undefined || status.Status === "Ready"),
    detail: `LCStatus ${status.LCStatus ?? "?"}${status.ServerStatus ? `, server ${status.ServerStatus}` : ""}`,
  };
}

async function lcStatusAction(ctx: SanContext): Promise<string | undefined> {
  if (!ctx.managerUri) return undefined;
  const manager = (await ctx.w.t.get(ctx.managerUri)).body as { Links?: { Oem?: { Dell?: { DellLCService?: unknown } } } };
  const serviceUri = linkOf(manager.Links?.Oem?.Dell?.DellLCService);
  if (!serviceUri) return undefined;
  const service = (await ctx.w.t.get(serviceUri)).body as { Actions?: Record<string, { target?: string }> };
  const target = service.Actions?.["#DellLCService.GetRemoteServicesAPIStatus"]?.target;
  return typeof target === "string" && target ? target : undefined;
}
