/**
 * Pure decisions about a Fibre Channel function: its identity (WWPN / WWNN, no MAC), which
 * function a spec means, and what `FibreChannel.BootTargets` must hold, as property paths
 * (claims.ts turns them into PATCHes, claims and undo). FC boot is written only on a function
 * whose personality (`NetDevFuncType`) is FibreChannel; a converged function is switched only
 * where the BMC lists FibreChannel among the personalities it accepts, and the switch is part of
 * the claim, so undo switches it back. No I/O.
 */
import type { JsonValue } from "./claims";
import type { FcBootSpec, FcPortIdentity } from "./driver";
import type { FcBootTargetEntry, NetworkDeviceFunction } from "./redfish-types";

export type BootTarget = { WWPN: string; LUNID: string; BootPriority: number };

export const FC_IDENTITY = ["FibreChannel.BootTargets", "NetDevFuncType", "BootMode"] as const;

/** 16 hex digits, lowercase, no separators (Cinder's connector form); undefined when not a WWN. */
export function normaliseWwn(wwn: string | null | undefined): string | undefined {
  if (!wwn) return undefined;
  const hex = wwn.replace(/^0x/i, "").replace(/[:-]/g, "").toLowerCase();
  return /^[0-9a-f]{16}$/.test(hex) ? hex : undefined;
}

/** The schema's form: `^([0-9A-Fa-f]{2}[:-]){7}([0-9A-Fa-f]{2})$`, written upper case with colons. */
export function redfishWwn(wwn: string): string | undefined {
  const hex = normaliseWwn(wwn);
  return hex ? hex.toUpperCase().match(/../g)!.join(":") : undefined;
}

/** HBAs report unused BootTargets slots as all-zero WWPNs: no target. */
export function isTargetWwpn(wwpn: string | null | undefined): boolean {
  const hex = normaliseWwn(wwpn);
  return hex !== undefined && hex !== "0000000000000000";
}

/** The function's personality is Fibre Channel: it is an HBA port now. */
export function isFcTyped(fn: NetworkDeviceFunction): boolean {
  return fn.NetDevFuncType === "FibreChannel";
}

/** A converged function the BMC lets us switch to the FibreChannel personality. */
export function canBecomeFc(fn: NetworkDeviceFunction): boolean {
  const caps = fn.NetDevFuncCapabilities;
  const types = fn["NetDevFuncType@Redfish.AllowableValues"];
  return Array.isArray(caps) && caps.includes("FibreChannel") && Array.isArray(types) && types.includes("FibreChannel");
}

const wwpnsOf = (fn: NetworkDeviceFunction) => [fn.FibreChannel?.WWPN, fn.FibreChannel?.PermanentWWPN].map(normaliseWwn);

export function fcIdentity(fn: NetworkDeviceFunction): FcPortIdentity | undefined {
  const fc = fn.FibreChannel;
  const wwpn = normaliseWwn(fc?.WWPN) ?? normaliseWwn(fc?.PermanentWWPN);
  if (!wwpn) return undefined;
  return {
    function_uri: fn["@odata.id"],
    id: fn.Id ?? fn["@odata.id"].split("/").pop() ?? "",
    wwpn,
    wwnn: normaliseWwn(fc?.WWNN) ?? normaliseWwn(fc?.PermanentWWNN),
    permanent_wwpn: normaliseWwn(fc?.PermanentWWPN),
    permanent_wwnn: normaliseWwn(fc?.PermanentWWNN),
    wwn_source: fc?.WWNSource ?? undefined,
    boot_mode: fn.BootMode ?? undefined,
  };
}

export type FcChoice = { ok: true; fn: NetworkDeviceFunction; switchType: boolean } | { ok: false; reason: string };

/**
 * The claimed function (an earlier run of this request); else by WWPN (in force or permanent);
 * else the first FC-typed function. A function found by WWPN that is not FC-typed is used only
 * where the BMC allows switching it.
 */
export function chooseFcFunction(fns: NetworkDeviceFunction[], wwpn?: string, claimed?: string): FcChoice {
  const usable = (fn: NetworkDeviceFunction): FcChoice => {
    if (isFcTyped(fn)) return { ok: true, fn, switchType: false };
    if (canBecomeFc(fn)) return { ok: true, fn, switchType: true };
    return { ok: false, reason: `network device function ${fn["@odata.id"]} is ${fn.NetDevFuncType ?? "untyped"}, not FibreChannel, and the BMC offers no switch to FibreChannel` };
  };
  if (claimed) {
    const fn = fns.find((f) => f["@odata.id"] === claimed);
    if (fn) return { ok: true, fn, switchType: !isFcTyped(fn) };
  }
  if (wwpn !== undefined) {
    const wanted = normaliseWwn(wwpn);
    if (!wanted) return { ok: false, reason: `"${wwpn}" is not a WWPN` };
    const fn = fns.find((f) => wwpnsOf(f).includes(wanted));
    if (!fn) return { ok: false, reason: `no network device function of this system has WWPN ${wwpn}` };
    return usable(fn);
  }
  const fn = fns.find(isFcTyped);
  return fn ? { ok: true, fn, switchType: false } : { ok: false, reason: "no network device function of this system is a Fibre Channel port" };
}

/** Priorities as given, else by position; ordered. */
export function desiredBootTargets(spec: FcBootSpec): { ok: true; targets: BootTarget[] } | { ok: false; reason: string } {
  if (spec.targets.length === 0) return { ok: false, reason: "no Fibre Channel boot target given" };
  const out: BootTarget[] = [];
  for (const [i, t] of spec.targets.entries()) {
    const wwpn = redfishWwn(t.wwpn);
    if (!wwpn) return { ok: false, reason: `target ${i}: "${t.wwpn}" is not a WWPN` };
    out.push({ WWPN: wwpn, LUNID: String(t.lun), BootPriority: t.priority ?? i });
  }
  if (new Set(out.map((t) => t.BootPriority)).size !== out.length) return { ok: false, reason: "boot target priorities must be unique" };
  return { ok: true, targets: out.sort((a, b) => a.BootPriority - b.BootPriority) };
}

export type WantedFc = { ok: true; values: Record<string, JsonValue> } | { ok: false; reason: string };

/** What the function must hold for the spec: its boot targets, BootMode, and the personality if switched. */
export function wantedFc(fn: NetworkDeviceFunction, spec: FcBootSpec, switchType: boolean): WantedFc {
  const allowed = fn["BootMode@Redfish.AllowableValues"];
  if (Array.isArray(allowed) && !allowed.includes("FibreChannel")) {
    return { ok: false, reason: `network device function ${fn["@odata.id"]} does not allow BootMode FibreChannel` };
  }
  const wanted = desiredBootTargets(spec);
  if (!wanted.ok) return wanted;
  const values: Record<string, JsonValue> = { "FibreChannel.BootTargets": wanted.targets, BootMode: "FibreChannel" };
  if (switchType) values.NetDevFuncType = "FibreChannel";
  return { ok: true, values };
}

const ZERO_WWPN = "00:00:00:00:00:00:00:00";

/**
 * For an HBA with a fixed number of boot target slots (Dell renders unused ones as all-zero
 * WWPNs and takes the whole array): ours first by priority, the rest zero.
 */
export function inSlots(current: FcBootTargetEntry[] | null | undefined, wanted: BootTarget[]): { ok: true; targets: BootTarget[] } | { ok: false; reason: string } {
  const slots = current ?? [];
  if (slots.length === 0) return { ok: true, targets: wanted };
  if (wanted.length > slots.length) return { ok: false, reason: `the HBA has ${slots.length} boot target slots, ${wanted.length} targets asked` };
  return { ok: true, targets: slots.map((_s, i) => wanted[i] ?? { WWPN: ZERO_WWPN, LUNID: "0", BootPriority: i }) };
}

/** The target WWPNs a claim wrote: what a UEFI FC device path must name. */
export function claimedTargetWwpns(values: Record<string, JsonValue>): string[] {
  const targets = values["FibreChannel.BootTargets"];
  return (Array.isArray(targets) ? targets : [])
    .map((t) => normaliseWwn((t as { WWPN?: string })?.WWPN ?? null))
    .filter((w): w is string => w !== undefined);
}
