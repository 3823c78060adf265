/**
 * Pure decisions about a NIC function's iSCSI boot target: which function, what iSCSIBoot should
 * hold for a spec, what must change (the PATCH body, or nothing), and what "cleared" means.
 * No I/O: the driver feeds in resources it read and sends what these return.
 */
import type { SanBootSnapshot, SanIscsiSpec } from "./driver";
import type { IscsiBoot, IscsiValue, NetworkDeviceFunction } from "./redfish-types";
import { writeTarget } from "./redfish-settings";

export const SECRET_FIELDS = ["CHAPSecret", "MutualCHAPSecret"] as const;

export function normaliseMac(mac: string | null | undefined): string | undefined {
  if (!mac) return undefined;
  const hex = mac.replace(/[^0-9a-fA-F]/g, "").toLowerCase();
  return hex.length === 12 ? hex : undefined;
}

export function isIscsiCapable(fn: NetworkDeviceFunction): boolean {
  const caps = fn.NetDevFuncCapabilities;
  return Array.isArray(caps) ? caps.includes("iSCSI") : fn.NetDevFuncType === "iSCSI";
}

export function macsOf(fn: NetworkDeviceFunction): string[] {
  return [fn.Ethernet?.MACAddress, fn.Ethernet?.PermanentMACAddress]
    .map(normaliseMac)
    .filter((m): m is string => m !== undefined);
}

export type FunctionChoice = { ok: true; fn: NetworkDeviceFunction } | { ok: false; reason: string };

/** By MAC when given (and it must be iSCSI-capable), else the first iSCSI-capable function. */
export function chooseIscsiFunction(fns: NetworkDeviceFunction[], mac?: string): FunctionChoice {
  if (mac !== undefined) {
    const wanted = normaliseMac(mac);
    if (!wanted) return { ok: false, reason: `"${mac}" is not a MAC address` };
    const fn = fns.find((f) => macsOf(f).includes(wanted));
    if (!fn) return { ok: false, reason: `no network device function has MAC ${mac}` };
    if (!isIscsiCapable(fn)) return { ok: false, reason: `network device function ${fn["@odata.id"]} (MAC ${mac}) cannot boot iSCSI` };
    return { ok: true, fn };
  }
  const fn = fns.find(isIscsiCapable);
  return fn ? { ok: true, fn } : { ok: false, reason: "no network device function is iSCSI-capable" };
}

const isV6 = (address: string) => address.includes(":");

/** What iSCSIBoot must hold for `spec` (secrets included). Absent paths are blanked. */
export function desiredIscsiBoot(spec: SanIscsiSpec): IscsiBoot {
  const [primary, secondary] = spec.targets;
  const net = spec.network;
  const vlan = net.mode === "static" ? net.vlan_id : undefined;
  const out: IscsiBoot = {
    IPAddressType: isV6(primary!.address) || (net.mode === "static" && isV6(net.address)) ? "IPv6" : "IPv4",
    InitiatorName: spec.initiator_name,
    TargetInfoViaDHCP: false,
    IPMaskDNSViaDHCP: net.mode === "dhcp",
    PrimaryTargetName: primary!.name,
    PrimaryTargetIPAddress: primary!.address,
    PrimaryTargetTCPPort: primary!.port,
    PrimaryLUN: primary!.lun,
    PrimaryVLANEnable: vlan !== undefined,
    SecondaryTargetName: secondary?.name ?? null,
    SecondaryTargetIPAddress: secondary?.address ?? null,
    SecondaryTargetTCPPort: secondary?.port ?? null,
    SecondaryLUN: secondary?.lun ?? null,
    SecondaryVLANEnable: secondary !== undefined && vlan !== undefined,
    AuthenticationMethod: spec.auth.method,
    CHAPUsername: spec.auth.method === "None" ? null : spec.auth.username,
    CHAPSecret: spec.auth.method === "None" ? null : spec.auth.secret,
    // Readable, so a function leaving MutualCHAP is seen to differ (diffIscsiBoot then blanks the secret).
    MutualCHAPUsername: spec.auth.method === "MutualCHAP" ? spec.auth.mutual_username : null,
  };
  if (spec.auth.method === "MutualCHAP") out.MutualCHAPSecret = spec.auth.mutual_secret;
  if (net.mode === "static") {
    out.InitiatorIPAddress = net.address;
    out.InitiatorNetmask = net.netmask;
    out.InitiatorDefaultGateway = net.gateway ?? null;
  }
  if (vlan !== undefined) {
    out.PrimaryVLANId = vlan;
    if (secondary) out.SecondaryVLANId = vlan;
  }
  return out;
}

/** Fields a BMC may normalise (IQNs are case-insensitive, RFC 3722). */
const CASE_INSENSITIVE = new Set(["InitiatorName", "PrimaryTargetName", "SecondaryTargetName"]);

function blank(v: IscsiValue | undefined): boolean {
  return v === null || v === undefined || v === "";
}

export function sameValue(field: string, current: IscsiValue | undefined, wanted: IscsiValue): boolean {
  if (blank(current) && blank(wanted)) return true;
  if (typeof current === "string" && typeof wanted === "string" && CASE_INSENSITIVE.has(field)) {
    return current.toLowerCase() === wanted.toLowerCase();
  }
  return current === wanted;
}

/**
 * The iSCSIBoot properties to send: those whose readable value differs. A secret cannot be read
 * back (BMCs answer null), so it is sent whenever anything else changes, and on its own when the
 * caller cannot vouch that the BMC still holds it (`secretKnown` false).
 */
export function diffIscsiBoot(current: IscsiBoot | undefined, wanted: IscsiBoot, secretKnown: boolean): IscsiBoot {
  const patch: IscsiBoot = {};
  for (const [field, value] of Object.entries(wanted)) {
    if ((SECRET_FIELDS as readonly string[]).includes(field)) continue;
    if (!sameValue(field, current?.[field], value)) patch[field] = value;
  }
  const secrets = SECRET_FIELDS.filter((f) => f in wanted);
  const unverifiable = !secretKnown && secrets.some((f) => !blank(wanted[f]));
  if (secrets.length > 0 && (Object.keys(patch).length > 0 || unverifiable)) {
    for (const f of secrets) patch[f] = wanted[f] ?? null;
  }
  // Leaving MutualCHAP: the target's secret must not stay on the card.
  if ("MutualCHAPUsername" in patch && blank(patch.MutualCHAPUsername) && !("MutualCHAPSecret" in patch)) patch.MutualCHAPSecret = null;
  return patch;
}

export type SanBootPatch = { ok: true; body: Record<string, unknown> | null } | { ok: false; reason: string };

/** The PATCH body that makes `fn` boot `spec` (null when it already does). */
export function sanBootPatch(fn: NetworkDeviceFunction, spec: SanIscsiSpec, secretKnown: boolean): SanBootPatch {
  const allowedModes = fn["BootMode@Redfish.AllowableValues"];
  if (Array.isArray(allowedModes) && !allowedModes.includes("iSCSI")) {
    return { ok: false, reason: `network device function ${fn["@odata.id"]} does not allow BootMode iSCSI` };
  }
  const iscsi = diffIscsiBoot(fn.iSCSIBoot, desiredIscsiBoot(spec), secretKnown);
  const body: Record<string, unknown> = {};
  if (Object.keys(iscsi).length > 0) body.iSCSIBoot = iscsi;
  if (fn.BootMode !== "iSCSI") body.BootMode = "iSCSI";
  return { ok: true, body: Object.keys(body).length > 0 ? body : null };
}

const TARGET_FIELDS = [
  "PrimaryTargetName", "PrimaryTargetIPAddress", "SecondaryTargetName", "SecondaryTargetIPAddress", "InitiatorName",
] as const;

/** True when the function holds an iSCSI target or initiator that sanboot could have written. */
export function holdsSanBoot(fn: NetworkDeviceFunction): boolean {
  return fn.BootMode === "iSCSI" || TARGET_FIELDS.some((f) => !blank(fn.iSCSIBoot?.[f]));
}

/** The BootMode a cleared function returns to: Disabled, else PXE, from what it allows. */
export function restoredBootMode(fn: NetworkDeviceFunction): string | undefined {
  const allowed = fn["BootMode@Redfish.AllowableValues"];
  if (!Array.isArray(allowed)) return "Disabled";
  return ["Disabled", "PXE"].find((m) => allowed.includes(m));
}

const BLANK: IscsiBoot = {
  InitiatorName: null,
  InitiatorIPAddress: null,
  InitiatorNetmask: null,
  InitiatorDefaultGateway: null,
  PrimaryTargetName: null,
  PrimaryTargetIPAddress: null,
  PrimaryTargetTCPPort: null,
  PrimaryLUN: null,
  PrimaryVLANEnable: false,
  SecondaryTargetName: null,
  SecondaryTargetIPAddress: null,
  SecondaryTargetTCPPort: null,
  SecondaryLUN: null,
  SecondaryVLANEnable: false,
  AuthenticationMethod: "None",
  CHAPUsername: null,
  MutualCHAPUsername: null,
};

/** The PATCH that blanks the target, initiator and CHAP of `fn` (null when already blank). */
export function clearPatch(fn: NetworkDeviceFunction): Record<string, unknown> | null {
  if (!holdsSanBoot(fn)) return null;
  const body: Record<string, unknown> = {};
  const iscsi = diffIscsiBoot(fn.iSCSIBoot, BLANK, true);
  if (Object.keys(iscsi).length > 0) {
    // Unreadable secrets go too, so nothing of the old target's credentials stays on the card.
    for (const f of SECRET_FIELDS) iscsi[f] = null;
    body.iSCSIBoot = iscsi;
  }
  const mode = restoredBootMode(fn);
  if (fn.BootMode === "iSCSI" && mode !== undefined) body.BootMode = mode;
  return Object.keys(body).length > 0 ? body : null;
}

/**
 * Where to PATCH: the settings object when the BMC applies NIC changes later (Dell and others
 * publish `@Redfish.Settings`), else the resource itself.
 */
export function patchTarget(fn: NetworkDeviceFunction): { uri: string; applyTime: string | undefined } {
  const { uri, applyTime } = writeTarget(fn["@odata.id"], fn["@Redfish.Settings"]);
  return { uri, applyTime };
}

/**
 * What the function will hold once pending settings apply: the resource overlaid with its
 * settings object (which may carry only the changed properties).
 */
export function pendingView(resource: NetworkDeviceFunction, settings: Partial<NetworkDeviceFunction>): NetworkDeviceFunction {
  const fc = settings.FibreChannel ? { FibreChannel: { ...(resource.FibreChannel ?? {}), ...settings.FibreChannel } } : {};
  return {
    ...resource,
    ...(settings.BootMode !== undefined ? { BootMode: settings.BootMode } : {}),
    iSCSIBoot: { ...(resource.iSCSIBoot ?? {}), ...(settings.iSCSIBoot ?? {}) },
    ...fc,
    "@odata.id": resource["@odata.id"],
  };
}

/** True when the readable target (and BootMode) of `fn` already is what `spec` wants. */
export function holdsReadableTarget(fn: NetworkDeviceFunction, spec: SanIscsiSpec): boolean {
  return fn.BootMode === "iSCSI" && Object.keys(diffIscsiBoot(fn.iSCSIBoot, desiredIscsiBoot(spec), true)).length === 0;
}

/** What `fn` holds now, readable values only (secrets are never answered). */
export function iscsiSnapshot(fn: NetworkDeviceFunction): SanBootSnapshot {
  const iscsi: Record<string, IscsiValue> = {};
  for (const [k, v] of Object.entries(fn.iSCSIBoot ?? {})) {
    if (!(SECRET_FIELDS as readonly string[]).includes(k)) iscsi[k] = v;
  }
  return { kind: "iscsi", function_uri: fn["@odata.id"], boot_mode: fn.BootMode ?? null, iscsi_boot: iscsi };
}

/**
 * The PATCH that puts `snap` back on `fn` (null when it already holds it). Our secrets go: the
 * restored target's own secrets cannot be known, so they are blanked, for their owner to re-enter.
 */
export function restorePatch(fn: NetworkDeviceFunction, snap: Extract<SanBootSnapshot, { kind: "iscsi" }>): Record<string, unknown> | null {
  const body: Record<string, unknown> = {};
  const iscsi = diffIscsiBoot(fn.iSCSIBoot, snap.iscsi_boot, true);
  if (Object.keys(iscsi).length > 0) {
    for (const f of SECRET_FIELDS) iscsi[f] = null;
    body.iSCSIBoot = iscsi;
  }
  if (snap.boot_mode !== null && fn.BootMode !== snap.boot_mode) body.BootMode = snap.boot_mode;
  return Object.keys(body).length > 0 ? body : null;
}
