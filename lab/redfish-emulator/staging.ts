/**
 * The parts every settings object shares: what staging a PATCH answers, the apply time it asks
 * for, how an apply is marked (Time, ETag, Messages) and the `@Redfish.Settings` annotation.
 */
import { isObject } from "./json";
import type { SettingsState } from "./model";
import { msg, type ExtendedInfo } from "./redfish-errors";

export type StageOutcome =
  | { ok: true; apply: () => { status: number; location?: string; body?: unknown } }
  | { ok: false; status?: number; messages: ExtendedInfo[] };

/** `@Redfish.SettingsApplyTime.ApplyTime` of a settings PATCH, checked against what is offered. */
export function applyTimeOf(body: Record<string, unknown>, offered: readonly string[]): { ok: true; value: string | undefined } | { ok: false; messages: ExtendedInfo[] } {
  const a = body["@Redfish.SettingsApplyTime"];
  if (a === undefined) return { ok: true, value: undefined };
  const v = isObject(a) ? a.ApplyTime : undefined;
  const path = "@Redfish.SettingsApplyTime/ApplyTime";
  if (typeof v !== "string") return { ok: false, messages: [msg.propertyValueTypeError(path, v)] };
  if (!offered.includes(v)) return { ok: false, messages: [msg.propertyValueNotInList(path, v)] };
  return { ok: true, value: v };
}

/** Marks a settings object applied: Time, ETag and Messages replaced (they stay until the next apply). */
export function markApplied(s: SettingsState, messages: ExtendedInfo[], version: number): void {
  s.version += 1;
  s.appliedAt = new Date().toISOString();
  s.appliedEtag = `W/"applied-${version}"`;
  s.messages = messages;
}

/** The settings annotation a resource with a settings object renders. */
export function settingsAnnotation(s: SettingsState, settingsUri: string): Record<string, unknown> {
  return {
    "@odata.type": "#Settings.v1_4_0.Settings",
    SettingsObject: { "@odata.id": settingsUri },
    ...(s.applyTimes.length > 0 ? { SupportedApplyTimes: s.applyTimes } : {}),
    ...(s.appliedAt ? { Time: s.appliedAt, ETag: s.appliedEtag } : {}),
    Messages: s.messages,
  };
}
