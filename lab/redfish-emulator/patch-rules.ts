/**
 * What a PATCH may change, and the Redfish messages for what it may not. A PATCH is checked in
 * full before anything is applied: one bad property refuses the whole request (400) and writes
 * nothing, which is what clients must be ready for.
 */
import { checkIscsiField, type IscsiBootValues } from "./iscsi-fields";
import type { FunctionState, SystemState } from "./model";
import { msg, type ExtendedInfo } from "./redfish-errors";

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
        if (v === null || typeof v === "string") out.uefiTarget = v;
        else problems.push(msg.propertyValueTypeError(`Boot.${key}`, v));
        break;
      default:
        problems.push(msg.propertyUnknown(`Boot.${key}`));
    }
  }
}

export function checkFunctionPatch(fn: FunctionState, body: Record<string, unknown>): PatchOutcome {
  const problems: ExtendedInfo[] = [];
  const iscsi: IscsiBootValues = {};
  let bootMode: string | undefined;
  let mac: string | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (isAnnotation(key)) continue;
    switch (key) {
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
      case "Ethernet":
        if (!isObject(value)) problems.push(msg.propertyValueTypeError(key, value));
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
        problems.push(FUNCTION_READ_ONLY.has(key) || key === "NetDevFuncType" ? msg.propertyNotWritable(key) : msg.propertyUnknown(key));
    }
  }
  if (problems.length > 0) return { ok: false, messages: problems };
  return {
    ok: true,
    apply: () => {
      Object.assign(fn.iscsiBoot, iscsi);
      if (bootMode !== undefined) fn.bootMode = bootMode;
      if (mac !== undefined) fn.mac = mac;
      fn.version += 1;
    },
  };
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
