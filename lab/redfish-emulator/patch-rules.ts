/**
 * What a PATCH may change, and the Redfish messages for what it may not. A PATCH is checked in
 * full before anything is applied: one bad property refuses the whole request (400) and writes
 * nothing, which is what clients must be ready for. Vendor rules (null strings, CHAP
 * dependencies, unchanged values, fixed FC slots) come from the flavour's traits.
 */
import { bootOptions } from "./boot-options";
import { traits } from "./flavours";
import { checkIscsiField, isSecret, type IscsiBootValues } from "./iscsi-fields";
import { isAnnotation, isObject } from "./json";
import type { FcBootTarget, FunctionState, SystemState } from "./model";
import { msg, type ExtendedInfo } from "./redfish-errors";

export type PatchOutcome = { ok: true; apply: () => void } | { ok: false; messages: ExtendedInfo[] };

const SYSTEM_READ_ONLY = new Set([
  "Id", "Name", "SystemType", "Manufacturer", "Model", "SerialNumber", "PowerState", "BootProgress",
  "Actions", "Links", "Status",
]);
const FUNCTION_READ_ONLY = new Set(["Id", "Name", "NetDevFuncCapabilities", "Status", "DeviceEnabled"]);


/**
 * PATCH of Systems/{id} (`via: "system"`) or of iDRAC10's Systems/{id}/Settings (`"settings"`):
 * iDRAC10 takes Boot only through its settings object, where it applies at once.
 */
export function checkSystemPatch(sys: SystemState, body: Record<string, unknown>, via: "system" | "settings" = "system"): PatchOutcome {
  const problems: ExtendedInfo[] = [];
  const boot: Partial<SystemState["boot"]> = {};
  for (const [key, value] of Object.entries(body)) {
    if (isAnnotation(key)) continue;
    if (key === "Boot") {
      if (sys.settings && via === "system") problems.push(msg.propertyNotWritable("Boot"));
      else if (!isObject(value)) problems.push(msg.propertyValueTypeError("Boot", value));
      else checkBoot(sys, value, boot, problems);
    } else if (SYSTEM_READ_ONLY.has(key)) problems.push(msg.propertyNotWritable(key));
    else problems.push(msg.propertyUnknown(key));
  }
  if (problems.length > 0) return { ok: false, messages: problems };
  return {
    ok: true,
    apply: () => {
      Object.assign(sys.boot, boot);
      sys.version += 1;
    },
  };
}

function checkBoot(sys: SystemState, value: Record<string, unknown>, out: Partial<SystemState["boot"]>, problems: ExtendedInfo[]): void {
  const oneOf = (name: string, v: unknown, allowed: readonly string[]): v is string => {
    if (typeof v !== "string") problems.push(msg.propertyValueTypeError(`Boot.${name}`, v));
    else if (!allowed.includes(v)) problems.push(msg.propertyValueNotInList(`Boot.${name}`, v));
    else return true;
    return false;
  };
  const options = bootOptions(sys);
  for (const [key, v] of Object.entries(value)) {
    if (isAnnotation(key)) continue;
    switch (key) {
      case "BootSourceOverrideTarget":
        if (oneOf(key, v, sys.bootTargets)) out.target = v;
        break;
      case "BootSourceOverrideEnabled":
        if (oneOf(key, v, ["Disabled", "Once", "Continuous"])) out.enabled = v as SystemState["boot"]["enabled"];
        break;
      case "BootSourceOverrideMode":
        if (!traits(sys.flavour).overrideMode) problems.push(msg.propertyUnknown(`Boot.${key}`));
        else if (oneOf(key, v, ["Legacy", "UEFI"])) out.mode = v as SystemState["boot"]["mode"];
        break;
      case "UefiTargetBootSourceOverride":
        // Firmware boots device paths it enumerated: only a BootOption's path (or clearing it).
        if (v !== null && typeof v !== "string") problems.push(msg.propertyValueTypeError(`Boot.${key}`, v));
        else if (v !== null && v !== "" && v !== sys.boot.uefiTarget && !options.some((o) => o.path === v)) problems.push(msg.propertyValueNotInList(`Boot.${key}`, v));
        else out.uefiTarget = v;
        break;
      case "BootNext":
        if (v !== null && typeof v !== "string") problems.push(msg.propertyValueTypeError(`Boot.${key}`, v));
        else if (v !== null && !options.some((o) => o.ref === v)) problems.push(msg.propertyValueNotInList(`Boot.${key}`, v));
        else out.bootNext = v;
        break;
      default:
        problems.push(msg.propertyUnknown(`Boot.${key}`));
    }
  }
  const target = out.target ?? sys.boot.target;
  const next = out.bootNext !== undefined ? out.bootNext : sys.boot.bootNext;
  if (target === "UefiBootNext" && (out.target !== undefined || out.bootNext !== undefined) && !options.some((o) => o.ref === next)) {
    if (!problems.some((p) => p.MessageArgs.includes("Boot.BootNext"))) problems.push(msg.propertyValueNotInList("Boot.BootNext", next));
  }
}

/** A checked function PATCH, before it lands on the resource or in its settings object. */
export interface FunctionChanges {
  iscsi: IscsiBootValues;
  bootMode: string | undefined;
  netDevFuncType?: string | undefined;
  mac: string | undefined;
  bootTargets: FcBootTarget[] | undefined;
  hpeBootTargetSource?: string | undefined;
}

export function checkFunctionPatch(sys: SystemState, fn: FunctionState, body: Record<string, unknown>): PatchOutcome {
  const parsed = parseFunctionPatch(sys, fn, body, "applied");
  if (!parsed.ok) return parsed;
  return { ok: true, apply: () => applyFunctionChanges(fn, parsed.changes) };
}

export function applyFunctionChanges(fn: FunctionState, c: FunctionChanges): void {
  Object.assign(fn.iscsiBoot, c.iscsi);
  if (c.bootMode !== undefined) fn.bootMode = c.bootMode;
  if (c.netDevFuncType !== undefined) fn.netDevFuncType = c.netDevFuncType;
  if (c.mac !== undefined) fn.mac = c.mac;
  if (c.bootTargets !== undefined && fn.fc) fn.fc.bootTargets = c.bootTargets;
  if (c.hpeBootTargetSource !== undefined) fn.hpeBootTargetSource = c.hpeBootTargetSource;
  fn.version += 1;
}

/** The function as the next apply would leave it: what a settings PATCH is judged against. */
export function pendingView(fn: FunctionState): { iscsiBoot: IscsiBootValues; bootMode: string; netDevFuncType: string; bootTargets: FcBootTarget[] | undefined } {
  const p = fn.pending ?? {};
  return {
    iscsiBoot: { ...fn.iscsiBoot, ...(p.iscsiBoot ?? {}) },
    bootMode: p.bootMode ?? fn.bootMode,
    netDevFuncType: p.netDevFuncType ?? fn.netDevFuncType,
    bootTargets: p.bootTargets ?? fn.fc?.bootTargets,
  };
}

/** XCC's `{function}/Pending` takes these iSCSIBoot properties and nothing else. */
export const LENOVO_PENDING_ISCSI = new Set([
  "AuthenticationMethod", "CHAPSecret", "CHAPUsername", "IPAddressType", "InitiatorDefaultGateway", "InitiatorIPAddress", "InitiatorName",
  "InitiatorNetmask", "MutualCHAPSecret", "MutualCHAPUsername", "PrimaryLUN", "PrimaryTargetIPAddress", "PrimaryTargetName",
  "PrimaryTargetTCPPort", "TargetInfoViaDHCP",
]);

export function parseFunctionPatch(
  sys: SystemState,
  fn: FunctionState,
  body: Record<string, unknown>,
  against: "applied" | "pending",
): { ok: true; changes: FunctionChanges } | { ok: false; messages: ExtendedInfo[] } {
  const t = traits(sys.flavour);
  const xcc = fn.settings?.path === "Pending";
  const problems: ExtendedInfo[] = [];
  const iscsi: IscsiBootValues = {};
  let bootMode: string | undefined;
  let mac: string | undefined;
  let bootTargets: FcBootTarget[] | undefined;
  let netDevFuncType: string | undefined;
  let hpeBootTargetSource: string | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (isAnnotation(key)) continue;
    if (xcc && key !== "iSCSIBoot") {
      problems.push(FUNCTION_READ_ONLY.has(key) || ["BootMode", "NetDevFuncType", "FibreChannel", "Ethernet"].includes(key) ? msg.propertyNotWritable(key) : msg.propertyUnknown(key));
      continue;
    }
    switch (key) {
      case "NetDevFuncType":
        if (!fn.netDevFuncTypes) problems.push(msg.propertyNotWritable(key));
        else if (typeof value !== "string") problems.push(msg.propertyValueTypeError(key, value));
        else if (!fn.netDevFuncTypes.includes(value)) problems.push(msg.propertyValueNotInList(key, value));
        else netDevFuncType = value;
        break;
      case "BootMode":
        if (typeof value !== "string") problems.push(msg.propertyValueTypeError(key, value));
        else if (!fn.bootModes.includes(value)) problems.push(msg.propertyValueNotInList(key, value));
        else bootMode = value;
        break;
      case "iSCSIBoot":
        if (!fn.capabilities.includes("iSCSI")) problems.push(msg.propertyUnknown(key));
        else if (!isObject(value)) problems.push(msg.propertyValueTypeError(key, value));
        else checkIscsi(value, iscsi, problems, t.nullIscsiStrings, xcc);
        break;
      case "FibreChannel":
        if (!fn.fc) problems.push(msg.propertyUnknown(key));
        else if (!isObject(value)) problems.push(msg.propertyValueTypeError(key, value));
        else bootTargets = checkFc(value, problems, fn.fcSlots);
        break;
      case "Ethernet":
        if (!fn.mac) problems.push(msg.propertyUnknown(key));
        else if (!isObject(value)) problems.push(msg.propertyValueTypeError(key, value));
        else
          for (const [k, v] of Object.entries(value)) {
            if (isAnnotation(k)) continue;
            if (k === "MACAddress" && typeof v === "string" && /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/.test(v)) mac = v.toUpperCase();
            else if (k === "MACAddress") problems.push(msg.propertyValueTypeError(`Ethernet.${k}`, v));
            else if (k === "PermanentMACAddress" || k === "MTUSize") problems.push(msg.propertyNotWritable(`Ethernet.${k}`));
            else problems.push(msg.propertyUnknown(`Ethernet.${k}`));
          }
        break;
      case "Oem":
        if (fn.hpeBootTargetSource === undefined) problems.push(msg.propertyUnknown(key));
        else hpeBootTargetSource = checkHpeOem(value, problems);
        break;
      default:
        problems.push(FUNCTION_READ_ONLY.has(key) ? msg.propertyNotWritable(key) : msg.propertyUnknown(key));
    }
  }
  const view = against === "pending" ? pendingView(fn) : { iscsiBoot: fn.iscsiBoot, bootMode: fn.bootMode, netDevFuncType: fn.netDevFuncType, bootTargets: fn.fc?.bootTargets };
  if (t.chapDependencies) checkChapDependencies(iscsi, view.iscsiBoot, problems);
  if (t.refuseUnchanged && against === "pending") {
    // iDRAC refuses to stage a value the attribute already has (pending or current).
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (bootMode !== undefined && bootMode === view.bootMode) problems.push(msg.propertyValueConflict("BootMode"));
    if (netDevFuncType !== undefined && netDevFuncType === view.netDevFuncType) problems.push(msg.propertyValueConflict("NetDevFuncType"));
    for (const [k, v] of Object.entries(iscsi)) if (!isSecret(k) && same(v, view.iscsiBoot[k])) problems.push(msg.propertyValueConflict(`iSCSIBoot.${k}`));
    if (bootTargets !== undefined && same(bootTargets, view.bootTargets)) problems.push(msg.propertyValueConflict("FibreChannel.BootTargets"));
  }
  if (problems.length > 0) return { ok: false, messages: problems };
  return { ok: true, changes: { iscsi, bootMode, mac, bootTargets, netDevFuncType, ...(hpeBootTargetSource !== undefined ? { hpeBootTargetSource } : {}) } };
}

/** CHAP names and secrets are writable only under the AuthenticationMethod that uses them. */
function checkChapDependencies(patch: IscsiBootValues, view: IscsiBootValues, problems: ExtendedInfo[]): void {
  const method = "AuthenticationMethod" in patch ? patch.AuthenticationMethod : view.AuthenticationMethod;
  for (const k of ["CHAPUsername", "CHAPSecret"]) {
    if (k in patch && method !== "CHAP" && method !== "MutualCHAP") problems.push(msg.propertyNotWritable(`iSCSIBoot.${k}`));
  }
  for (const k of ["MutualCHAPUsername", "MutualCHAPSecret"]) {
    if (k in patch && method !== "MutualCHAP") problems.push(msg.propertyNotWritable(`iSCSIBoot.${k}`));
  }
}

function checkHpeOem(value: unknown, problems: ExtendedInfo[]): string | undefined {
  if (!isObject(value) || !isObject(value.Hpe)) {
    problems.push(msg.propertyValueTypeError("Oem", value));
    return undefined;
  }
  let out: string | undefined;
  for (const [k, v] of Object.entries(value.Hpe)) {
    if (isAnnotation(k)) continue;
    if (k !== "BootTargetSource") problems.push(msg.propertyUnknown(`Oem.Hpe.${k}`));
    else if (typeof v !== "string") problems.push(msg.propertyValueTypeError(`Oem.Hpe.${k}`, v));
    else if (!["UEFI", "NetworkDeviceFunction", "None"].includes(v)) problems.push(msg.propertyValueNotInList(`Oem.Hpe.${k}`, v));
    else out = v;
  }
  for (const k of Object.keys(value)) if (k !== "Hpe" && !isAnnotation(k)) problems.push(msg.propertyUnknown(`Oem.${k}`));
  return out;
}

const WWN = /^([0-9A-Fa-f]{2}[:-]){7}([0-9A-Fa-f]{2})$/;

/**
 * FibreChannel: BootTargets is writable (WWPN pattern, LUNID a string, unique BootPriority). A
 * Dell HBA's array has fixed slots: the PATCH sends all of them, a zero WWPN marking one unused.
 */
function checkFc(value: Record<string, unknown>, problems: ExtendedInfo[], slots: number | undefined): FcBootTarget[] | undefined {
  let out: FcBootTarget[] | undefined;
  for (const [k, v] of Object.entries(value)) {
    if (isAnnotation(k)) continue;
    const path = `FibreChannel.${k}`;
    if (k === "PermanentWWPN" || k === "PermanentWWNN" || k === "FibreChannelId") problems.push(msg.propertyNotWritable(path));
    else if (k !== "BootTargets") problems.push(msg.propertyUnknown(path));
    else if (!Array.isArray(v)) problems.push(msg.propertyValueTypeError(path, v));
    else if (slots !== undefined && v.length !== slots) problems.push(msg.propertyValueFormatError(path, `${v.length} entries (exactly ${slots} expected)`));
    else {
      const targets: FcBootTarget[] = [];
      v.forEach((t: unknown, i) => {
        const at = `${path}[${i}]`;
        if (!isObject(t)) return problems.push(msg.propertyValueTypeError(at, t));
        if (typeof t.WWPN !== "string" || !WWN.test(t.WWPN)) return problems.push(msg.propertyValueFormatError(`${at}.WWPN`, t.WWPN));
        if (typeof t.LUNID !== "string") return problems.push(msg.propertyValueTypeError(`${at}.LUNID`, t.LUNID));
        if (typeof t.BootPriority !== "number" || !Number.isInteger(t.BootPriority) || t.BootPriority < 0) {
          return problems.push(msg.propertyValueTypeError(`${at}.BootPriority`, t.BootPriority));
        }
        targets.push({ WWPN: t.WWPN.toUpperCase().replace(/-/g, ":"), LUNID: t.LUNID, BootPriority: t.BootPriority });
      });
      if (new Set(targets.map((t) => t.BootPriority)).size !== targets.length) problems.push(msg.propertyValueConflict(`${path}.BootPriority`));
      out = targets;
    }
  }
  return out;
}

function checkIscsi(value: Record<string, unknown>, out: IscsiBootValues, problems: ExtendedInfo[], nullStrings: boolean, xcc: boolean): void {
  for (const [k, v] of Object.entries(value)) {
    if (isAnnotation(k)) continue;
    const path = `iSCSIBoot.${k}`;
    const problem = checkIscsiField(k, v, nullStrings);
    if (problem?.kind === "unknown") problems.push(msg.propertyUnknown(path));
    else if (xcc && !LENOVO_PENDING_ISCSI.has(k)) problems.push(msg.propertyNotWritable(path));
    else if (problem === null) out[k] = v as IscsiBootValues[string];
    else if (problem.kind === "type") problems.push(msg.propertyValueTypeError(path, v));
    else if (problem.kind === "outOfRange") problems.push(msg.propertyValueOutOfRange(path, v));
    else problems.push(msg.propertyValueNotInList(path, v));
  }
}
