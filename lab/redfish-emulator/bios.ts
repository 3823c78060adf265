/**
 * Systems/{id}/Bios as Dell and HPE serve it: attributes in force, a settings object
 * (`Bios/Settings`) whose attributes apply at the next POST. The vendor files decide which
 * attributes exist and what they take; this one stages, applies and hides secrets.
 */
import type { BiosState, BiosValue, SystemState } from "./model";
import { msg } from "./redfish-errors";
import { markApplied } from "./staging";

/** BIOS secrets are write-only: GET answers null (the lab snapshot keeps them). */
export const isBiosSecret = (name: string) => /ChapSecret$/.test(name);

export function publicAttributes(attrs: Record<string, BiosValue>): Record<string, BiosValue> {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, isBiosSecret(k) ? null : v]));
}

/**
 * Merges checked attributes into the pending set and bumps the settings object. A value staged
 * back to the one in force is no pending change (iLO's settings object is a full copy of the
 * attributes: what differs from the current ones is what the next POST applies).
 */
export function stageBios(bios: BiosState, attrs: Record<string, BiosValue>): void {
  const pending: Record<string, BiosValue> = { ...(bios.pending ?? {}), ...attrs };
  for (const [k, v] of Object.entries(attrs)) if (bios.attributes[k] === v) delete pending[k];
  bios.pending = Object.keys(pending).length ? pending : null;
  bios.settings!.version += 1;
}

/** At POST: pending attributes apply (or fail under the fault, leaving the old ones). */
export function applyBios(sys: SystemState, fail: boolean): boolean {
  const bios = sys.bios;
  if (!bios?.pending || !bios.settings) return false;
  const p = bios.pending;
  bios.pending = null;
  if (fail) {
    markApplied(bios.settings, [{ ...msg.settingsFailed(Object.keys(p).map((k) => `Attributes/${k}`).join(", ")), Severity: "Critical" }], bios.version);
    return true;
  }
  Object.assign(bios.attributes, p);
  bios.version += 1;
  markApplied(bios.settings, [{ ...msg.success(), Severity: "OK" }], bios.version);
  return true;
}
