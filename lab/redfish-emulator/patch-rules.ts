/**
 * What a PATCH may change, and the Redfish messages for what it may not. A PATCH is checked in
 * full before anything is applied: one bad property refuses the whole request (400) and writes
 * nothing, which is what clients must be ready for.
 */
import { checkIscsiField, type IscsiBootValues } from "./iscsi-fields";
import type { FcBootTarget, FunctionState, SystemState } from "./model";
import { msg, type ExtendedInfo } from "./redfish-errors";
import { uefiTargets } from "./settings";

export type PatchOutcome = { ok: true; apply: () => void } | { ok: false; messages: ExtendedInfo[] };

const SYSTEM_READ_ONLY = new Set([
  "Id", "Name", "SystemType", "Manufacturer", "Model", "SerialNumber", "PowerState", "BootProgress",
  "Actions", "Links", "Status",
]);
const FUNCTION_READ_ONLY = new Set(["Id", "Name", "NetDevFuncCapabilities", "Status", "DeviceEnabled"]);

const isAnnotation = (k: string) => k.startsWith("@") || k.includes("@");
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function checkSystemPatch(sys: SystemState, body: Record<string, unknown>): PatchOutcome {
  const problems: ExtendedInfo[] = [];
  const boot: Partial<SystemState["boot"]> = {};
  for (const [key, value] of Object.entries(body)) {
    if (isAnnotation(key)) continue;
    if (key === "Boot") {
      if (!isObject(value)) {
        problems.push(msg.propertyValueTypeError("Boot", value));
        continue;
      }
      checkBoot(sys, value, boot, problems);
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

function checkBoot(
  sys: SystemState,
  value: Record<string, unknown>,
  out: Partial<SystemState["boot"]>,
  problems: ExtendedInfo[],
): void {
  const oneOf = (name: string, v: unknown, allowed: readonly string[]): v is string => {
    if (typeof v !== "string") problems.push(msg.propertyValueTypeError(`Boot.${name}`, v));
    else if (!allowed.includes(v)) problems.push(msg.propertyValueNotInList(`Boot.${name}`, v));
    else return true;
    return false;
  };
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
        if (oneOf(key, v, ["Legacy", "UEFI"])) out.mode = v as SystemState["boot"]["mode"];
        break;
      case "UefiTargetBootSourceOverride":
        if (v !== null && typeof v !== "string") problems.push(msg.propertyValueTypeError(`Boot.${key}`, v));
        // Vendor-like flavours only take the device paths they publish (generic takes any).
        else if ((sys.flavour === "dell" || sys.flavour === "hpe") && v !== null && v !== "None" && !uefiTargets(sys).includes(v)) {
          problems.push(msg.propertyValueNotInList(`Boot.${key}`, v));
        } else out.uefiTarget = v;
        break;
      default:
        problems.push(msg.propertyUnknown(`Boot.${key}`));
    }
  }
}

/** A checked function PATCH, before it lands on the resource or in its settings object. */
export interface FunctionChanges {
  iscsi: IscsiBootValues;
  bootMode: string | undefined;
  netDevFuncType?: string | undefined;
  mac: string | undefined;
  bootTargets: FcBootTarget[] | undefined;
}

export function checkFunctionPatch(fn: FunctionState, body: Record<string, unknown>): PatchOutcome {
  const parsed = parseFunctionPatch(fn, body);
  if (!parsed.ok) return parsed;
  return { ok: true, apply: () => applyFunctionChanges(fn, parsed.changes) };
}

export function applyFunctionChanges(fn: FunctionState, c: FunctionChanges): void {
  Object.assign(fn.iscsiBoot, c.iscsi);
  if (c.bootMode !== undefined) fn.bootMode = c.bootMode;
  if (c.netDevFuncType !== undefined) fn.netDevFuncType = c.netDevFuncType;
  if (c.mac !== undefined) fn.mac = c.mac;
  if (c.bootTargets !== undefined && fn.fc) fn.fc.bootTargets = c.bootTargets;
  fn.version += 1;
}

export function parseFunctionPatch(
  fn: FunctionState,
  body: Record<string, unknown>,
): { ok: true; changes: FunctionChanges } | { ok: false; messages: ExtendedInfo[] } {
  const problems: ExtendedInfo[] = [];
  const iscsi: IscsiBootValues = {};
  let bootMode: string | undefined;
  let mac: string | undefined;
  let bootTargets: FcBootTarget[] | undefined;
  let netDevFuncType: string | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (isAnnotation(key)) continue;
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
        else checkIscsi(value, iscsi, problems);
        break;
      case "FibreChannel":
        if (!fn.fc) problems.push(msg.propertyUnknown(key));
        else if (!isObject(value)) problems.push(msg.propertyValueTypeError(key, value));
        else bootTargets = checkFc(value, problems);
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
      default:
        problems.push(FUNCTION_READ_ONLY.has(key) ? msg.propertyNotWritable(key) : msg.propertyUnknown(key));
    }
  }
  if (problems.length > 0) return { ok: false, messages: problems };
  return { ok: true, changes: { iscsi, bootMode, mac, bootTargets, netDevFuncType } };
}

const WWN = /^([0-9A-Fa-f]{2}[:-]){7}([0-9A-Fa-f]{2})$/;

/** FibreChannel: BootTargets is writable (WWPN pattern, LUNID a string, unique BootPriority). */
function checkFc(value: Record<string, unknown>, problems: ExtendedInfo[]): FcBootTarget[] | undefined {
  let out: FcBootTarget[] | undefined;
  for (const [k, v] of Object.entries(value)) {
    if (isAnnotation(k)) continue;
    const path = `FibreChannel.${k}`;
    if (k === "PermanentWWPN" || k === "PermanentWWNN" || k === "FibreChannelId") problems.push(msg.propertyNotWritable(path));
    else if (k !== "BootTargets") problems.push(msg.propertyUnknown(path));
    else if (!Array.isArray(v)) problems.push(msg.propertyValueTypeError(path, v));
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

function checkIscsi(value: Record<string, unknown>, out: IscsiBootValues, problems: ExtendedInfo[]): void {
  for (const [k, v] of Object.entries(value)) {
    if (isAnnotation(k)) continue;
    const problem = checkIscsiField(k, v);
    const path = `iSCSIBoot.${k}`;
    if (problem === null) out[k] = v as IscsiBootValues[string];
    else if (problem.kind === "unknown") problems.push(msg.propertyUnknown(path));
    else if (problem.kind === "type") problems.push(msg.propertyValueTypeError(path, v));
    else if (problem.kind === "outOfRange") problems.push(msg.propertyValueOutOfRange(path, v));
    else problems.push(msg.propertyValueNotInList(path, v));
  }
}
