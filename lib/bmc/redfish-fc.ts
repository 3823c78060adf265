/**
 * Pure decisions about a Fibre Channel function: its identity (WWPN / WWNN, no MAC), which
 * function a spec means, what `FibreChannel.BootTargets` must hold and the PATCH that gets there
 * (or nothing), and what clearing or restoring means. No I/O.
 */
import type { FcBootSpec, FcPortIdentity, SanBootSnapshot } from "./driver";
import type { FcBootTargetEntry, NetworkDeviceFunction } from "./redfish-types";

type BootTarget = { WWPN: string; LUNID: string; BootPriority: number };

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

export function isFcCapable(fn: NetworkDeviceFunction): boolean {
  const caps = fn.NetDevFuncCapabilities;
  return Array.isArray(caps) ? caps.includes("FibreChannel") : fn.NetDevFuncType === "FibreChannel";
}

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

export type FcChoice = { ok: true; fn: NetworkDeviceFunction } | { ok: false; reason: string };

/** By WWPN (in force or permanent) when given, else the first FC-capable function. */
export function chooseFcFunction(fns: NetworkDeviceFunction[], wwpn?: string): FcChoice {
  if (wwpn !== undefined) {
    const wanted = normaliseWwn(wwpn);
    if (!wanted) return { ok: false, reason: `"${wwpn}" is not a WWPN` };
    const fn = fns.find((f) => [f.FibreChannel?.WWPN, f.FibreChannel?.PermanentWWPN].map(normaliseWwn).includes(wanted));
    if (!fn) return { ok: false, reason: `no network device function has WWPN ${wwpn}` };
    if (!isFcCapable(fn)) return { ok: false, reason: `network device function ${fn["@odata.id"]} (WWPN ${wwpn}) cannot boot Fibre Channel` };
    return { ok: true, fn };
  }
  const fn = fns.find(isFcCapable);
  return fn ? { ok: true, fn } : { ok: false, reason: "no network device function is Fibre Channel-capable" };
}

/** Priorities as given, else by position; ordered, so comparison is order-independent. */
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

function sameLun(a: string | null | undefined, b: string): boolean {
  if (a === b) return true;
  const n = (s: string) => (/^(0x[0-9a-f]+|\d+)$/i.test(s.trim()) ? Number(s.trim()) : NaN);
  return typeof a === "string" && !Number.isNaN(n(a)) && n(a) === n(b);
}

export function sameBootTargets(current: FcBootTargetEntry[] | null | undefined, wanted: BootTarget[]): boolean {
  const cur = [...(current ?? [])].filter((t) => isTargetWwpn(t.WWPN)).sort((a, b) => (a.BootPriority ?? 0) - (b.BootPriority ?? 0));
  return (
    cur.length === wanted.length &&
    cur.every((c, i) => normaliseWwn(c.WWPN) === normaliseWwn(wanted[i]!.WWPN) && sameLun(c.LUNID, wanted[i]!.LUNID) && (c.BootPriority ?? i) === wanted[i]!.BootPriority)
  );
}

export type FcPatch = { ok: true; body: Record<string, unknown> | null } | { ok: false; reason: string };

/** The PATCH that makes `fn` boot the spec's targets (null when it already does). */
export function fcBootPatch(fn: NetworkDeviceFunction, spec: FcBootSpec): FcPatch {
  const allowed = fn["BootMode@Redfish.AllowableValues"];
  if (Array.isArray(allowed) && !allowed.includes("FibreChannel")) {
    return { ok: false, reason: `network device function ${fn["@odata.id"]} does not allow BootMode FibreChannel` };
  }
  const wanted = desiredBootTargets(spec);
  if (!wanted.ok) return wanted;
  const body: Record<string, unknown> = {};
  if (!sameBootTargets(fn.FibreChannel?.BootTargets, wanted.targets)) body.FibreChannel = { BootTargets: wanted.targets };
  if (fn.BootMode !== "FibreChannel") body.BootMode = "FibreChannel";
  return { ok: true, body: Object.keys(body).length > 0 ? body : null };
}

export function holdsFcBoot(fn: NetworkDeviceFunction): boolean {
  return fn.BootMode === "FibreChannel" || (fn.FibreChannel?.BootTargets ?? []).some((t) => isTargetWwpn(t.WWPN));
}

export function fcSnapshot(fn: NetworkDeviceFunction): SanBootSnapshot {
  const targets = (fn.FibreChannel?.BootTargets ?? [])
    .filter((t) => isTargetWwpn(t.WWPN))
    .map((t, i) => ({ WWPN: t.WWPN!, LUNID: t.LUNID ?? "0", BootPriority: t.BootPriority ?? i }));
  return { kind: "fibre_channel", function_uri: fn["@odata.id"], boot_mode: fn.BootMode ?? null, boot_targets: targets };
}

/**
 * Back to `snap` when given (what the function held before us), else no targets and BootMode
 * Disabled (or PXE where Disabled is not allowed). Null when nothing is to change.
 */
export function fcClearPatch(fn: NetworkDeviceFunction, snap?: Extract<SanBootSnapshot, { kind: "fibre_channel" }>): Record<string, unknown> | null {
  if (!snap && !holdsFcBoot(fn)) return null;
  const targets = snap?.boot_targets ?? [];
  const body: Record<string, unknown> = {};
  if (!sameBootTargets(fn.FibreChannel?.BootTargets, [...targets].sort((a, b) => a.BootPriority - b.BootPriority))) {
    body.FibreChannel = { BootTargets: targets };
  }
  const allowed = fn["BootMode@Redfish.AllowableValues"];
  const fallback = !Array.isArray(allowed) ? "Disabled" : ["Disabled", "PXE"].find((m) => allowed.includes(m));
  const mode = snap ? snap.boot_mode ?? undefined : fn.BootMode === "FibreChannel" ? fallback : undefined;
  if (mode !== undefined && fn.BootMode !== mode) body.BootMode = mode;
  return Object.keys(body).length > 0 ? body : null;
}
