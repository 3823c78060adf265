/**
 * Pure decisions about deferred writes: where a change goes (`@Redfish.Settings` object or the
 * resource), which `@Redfish.SettingsApplyTime` to ask for, what a task monitor or job body says
 * about progress, and whether a settings object reports that its last apply failed.
 */
import type { SettingsMark } from "./claims";
import type { RedfishMessage, SettingsAnnotation, TaskLike } from "./redfish-types";

/**
 * OnReset first, for writes and undos alike: a SAN boot target is read by the option ROM / UEFI
 * driver at POST anyway, the workflow resets the server right after a configure, and Immediate
 * "may result in an immediate host reset" (DMTF Settings) of a server someone may be using.
 * Immediate only where that is all the BMC offers.
 */
export const APPLY_TIME_PREFERENCE = ["OnReset", "Immediate"] as const;

export type ApplyTimePreference = readonly string[];

export interface WriteTarget {
  uri: string;
  /** undefined: PATCH the resource itself, or a settings object that publishes no apply times */
  applyTime: string | undefined;
  /** true when the write lands in a settings object (applies later, or when the BMC says) */
  deferred: boolean;
}

export function writeTarget(
  resourceUri: string,
  settings: SettingsAnnotation | undefined,
  preference: ApplyTimePreference = APPLY_TIME_PREFERENCE,
): WriteTarget {
  const uri = settings?.SettingsObject?.["@odata.id"];
  if (typeof uri !== "string" || uri.length === 0) return { uri: resourceUri, applyTime: undefined, deferred: false };
  const times = settings?.SupportedApplyTimes;
  const applyTime = Array.isArray(times) ? preference.find((t) => times.includes(t)) : undefined;
  return { uri, applyTime, deferred: true };
}

/**
 * When a resource's settings last applied, as its `@Redfish.Settings` says (Time, ETag). iLO
 * renders both unset as "" (HpeiSCSISoftwareInitiator): a blank says nothing, like an absent one.
 */
export function settingsMark(resource: Record<string, unknown>): SettingsMark | undefined {
  const s = resource["@Redfish.Settings"] as SettingsAnnotation | undefined;
  const time = typeof s?.Time === "string" && s.Time !== "" ? s.Time : undefined;
  const etag = typeof s?.ETag === "string" && s.ETag !== "" ? s.ETag : undefined;
  if (time === undefined && etag === undefined) return undefined;
  return { ...(time ? { time } : {}), ...(etag ? { etag } : {}) };
}

/**
 * Did the settings apply since `since` (their Time or ETag moved)? Undefined when the resource
 * says nothing about applies. Messages read before this is true belong to an earlier apply.
 */
export function appliedSince(resource: Record<string, unknown>, since: SettingsMark | undefined): boolean | undefined {
  const now = settingsMark(resource);
  if (!now) return undefined;
  if (!since) return true;
  return now.time !== since.time || now.etag !== since.etag;
}

export function withApplyTime(body: Record<string, unknown>, applyTime: string | undefined): Record<string, unknown> {
  return applyTime ? { ...body, "@Redfish.SettingsApplyTime": { ApplyTime: applyTime } } : body;
}

export interface MessageSummary {
  id: string;
  message: string;
}

/** Base registry MessageIds (and iLO's PropertyValueIncompatible) that say a property did not take. */
const FAILED_SETTINGS =
  /\.(SettingsFailed|PropertyValueNotInList|PropertyValueTypeError|PropertyValueFormatError|PropertyValueOutOfRange|PropertyValueConflict|PropertyValueIncompatible|PropertyValueError|PropertyMissing|PropertyNotUpdated|PropertyUnknown|PropertyNotWritable|ActionParameter\w*|GeneralError|InternalError)$/;

/**
 * Messages of a settings annotation that say the last apply failed (OK / Success ones are not).
 * With `wrote` (the paths of one write), a message that names properties, none of them written
 * there, is someone else's (iLO reports every attribute its last apply refused, ours or not).
 */
export function settingsFailures(settings: SettingsAnnotation | undefined, wrote?: string[]): MessageSummary[] {
  const messages = settings?.Messages;
  if (!Array.isArray(messages)) return [];
  // every segment of every path written: a message naming "iSCSISources" concerns iSCSISources[0].iSCSILUN
  const ours = wrote ? new Set(wrote.flatMap(segments)) : undefined;
  return messages
    .filter((m) => {
      const id = m.MessageId ?? "";
      const sev = m.MessageSeverity ?? m.Severity;
      if (!(FAILED_SETTINGS.test(id) || sev === "Critical")) return false;
      if (!ours) return true;
      const named = namedProperties(m);
      return named.length === 0 || named.some((p) => ours.has(p));
    })
    .map(summary);
}

/** The segments of a property path ("#/Attributes/NicBoot1", "iSCSIBoot.CHAPSecret", "iSCSISources[0].iSCSILUN"). */
const segments = (path: string) => path.split(/[./#[\]]/).filter((s) => s !== "" && !/^\d+$/.test(s));
const leaf = (path: string) => segments(path).at(-1) ?? path;

/** The properties a message names: RelatedProperties, else its arguments that look like property names. */
function namedProperties(m: RedfishMessage): string[] {
  if (Array.isArray(m.RelatedProperties) && m.RelatedProperties.length > 0) return m.RelatedProperties.map(leaf);
  return (m.MessageArgs ?? []).filter((a): a is string => typeof a === "string" && /^[#A-Za-z][\w./#]*$/.test(a)).map(leaf);
}

export function summary(m: RedfishMessage): MessageSummary {
  return { id: m.MessageId ?? "unknown", message: m.Message ?? "" };
}

export type TaskProgress =
  | { state: "running" }
  /** accepted, waiting for a reset or a maintenance window */
  | { state: "scheduled" }
  | { state: "completed" }
  | { state: "failed"; messages: MessageSummary[] };

/**
 * Every TaskState (Task v1_7: New, Starting, Running, Suspended, Interrupted, Pending, Stopping,
 * Completed, Killed, Exception, Service, Cancelling, Cancelled), every JobState (Job v1_3: the
 * same and UserIntervention, Continue, Validating, Invalid) and Dell's own JobStates, in four
 * outcomes. Suspended waits on someone; UserIntervention too (nothing here can intervene, so the
 * wait ends at the deadline and says so); Cancelling still runs.
 */
const RUNNING = new Set([
  "New", "Starting", "Running", "Stopping", "Service", "Validating", "Continue", "Cancelling", "Downloading", "Downloaded",
  "Scheduling", "ReadyForExecution", "Waiting", "Unknown",
]);
const SCHEDULED = new Set(["Scheduled", "Suspended", "PendingActivation", "UserIntervention", "RebootPending", "Paused"]);
const FAILED = new Set(["Exception", "Killed", "Cancelled", "Failed", "CompletedWithErrors", "Interrupted", "Invalid", "RebootFailed"]);
const COMPLETED = new Set(["Completed", "RebootCompleted"]);

/**
 * What a task monitor (DMTF: 202 while running, then the operation's own answer), a Task, a
 * DMTF Job or a Dell job says. `Pending` means "not started": for a write asked OnReset that is
 * the wait for the reset, otherwise it is about to run.
 */
export function taskProgress(status: number, body: TaskLike | undefined, applyTime: string | undefined): TaskProgress {
  // a Task may carry its Dell job's state in Oem.Dell (iDRAC10's TaskService)
  const state = body?.JobState ?? (body as { Oem?: { Dell?: { JobState?: string } } } | undefined)?.Oem?.Dell?.JobState ?? body?.TaskState;
  if (typeof state === "string") {
    if (COMPLETED.has(state)) {
      // a Task's health is TaskStatus, a DMTF Job's is JobStatus
      return (body?.TaskStatus ?? body?.JobStatus) === "Critical" ? { state: "failed", messages: taskMessages(body) } : { state: "completed" };
    }
    if (FAILED.has(state)) return { state: "failed", messages: taskMessages(body) };
    if (SCHEDULED.has(state)) return { state: "scheduled" };
    if (state === "Pending") return applyTime !== undefined && applyTime !== "Immediate" ? { state: "scheduled" } : { state: "running" };
    if (RUNNING.has(state)) return { state: "running" };
  }
  return status === 202 ? { state: "running" } : { state: "completed" };
}

function taskMessages(body: TaskLike | undefined): MessageSummary[] {
  const list = Array.isArray(body?.Messages) ? body!.Messages!.map(summary) : [];
  if (list.length === 0 && (body?.Message || body?.MessageId)) list.push({ id: body.MessageId ?? "unknown", message: body.Message ?? "" });
  return list;
}

export function describeMessages(messages: MessageSummary[]): string {
  return messages.map((m) => `${m.id}${m.message ? ` (${m.message})` : ""}`).join("; ");
}
