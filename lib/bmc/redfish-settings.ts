/**
 * Pure decisions about deferred writes: where a change goes (`@Redfish.Settings` object or the
 * resource), which `@Redfish.SettingsApplyTime` to ask for, what a task monitor or job body says
 * about progress, and whether a settings object reports that its last apply failed.
 */
import type { RedfishMessage, SettingsAnnotation, TaskLike } from "./redfish-types";

/**
 * OnReset first: a SAN boot target is read by the option ROM / UEFI driver at POST anyway, and the
 * workflow resets the server right after. Immediate where that is all the BMC offers.
 */
export const APPLY_TIME_PREFERENCE = ["OnReset", "Immediate"] as const;

/**
 * Immediate first for clears: undeploy must leave no target in force, and applying at once spares
 * the reset cycle that would otherwise apply it (iDRAC NIC settings and HPE BIOS offer no
 * Immediate, so there the caller resets).
 */
export const CLEAR_APPLY_TIME_PREFERENCE = ["Immediate", "OnReset"] as const;

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

export function withApplyTime(body: Record<string, unknown>, applyTime: string | undefined): Record<string, unknown> {
  return applyTime ? { ...body, "@Redfish.SettingsApplyTime": { ApplyTime: applyTime } } : body;
}

export interface MessageSummary {
  id: string;
  message: string;
}

const FAILED_SETTINGS = /\.(SettingsFailed|PropertyValueNotInList|PropertyValueTypeError|PropertyValueFormatError|PropertyUnknown|PropertyNotWritable|ActionParameter\w*|GeneralError)$/;

/** Messages of a settings annotation that say the last apply failed (OK / Success ones are not). */
export function settingsFailures(settings: SettingsAnnotation | undefined): MessageSummary[] {
  const messages = settings?.Messages;
  if (!Array.isArray(messages)) return [];
  return messages
    .filter((m) => {
      const id = m.MessageId ?? "";
      const sev = m.MessageSeverity ?? m.Severity;
      return FAILED_SETTINGS.test(id) || sev === "Critical";
    })
    .map(summary);
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

const RUNNING = new Set([
  "New", "Starting", "Running", "Stopping", "Service", "Validating", "Continue", "Downloading", "Downloaded", "Scheduling",
  "ReadyForExecution", "Waiting",
]);
const SCHEDULED = new Set(["Scheduled", "Suspended", "PendingActivation", "UserIntervention"]);
const FAILED = new Set(["Exception", "Killed", "Cancelled", "Failed", "CompletedWithErrors", "Interrupted"]);

/**
 * What a task monitor (DMTF: 202 while running, then the operation's own answer), a Task, a
 * DMTF Job or a Dell job says. `Pending` means "not started": for a write asked OnReset that is
 * the wait for the reset, otherwise it is about to run.
 */
export function taskProgress(status: number, body: TaskLike | undefined, applyTime: string | undefined): TaskProgress {
  const state = body?.TaskState ?? body?.JobState;
  if (typeof state === "string") {
    if (state === "Completed") {
      return body?.TaskStatus === "Critical" ? { state: "failed", messages: taskMessages(body) } : { state: "completed" };
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
