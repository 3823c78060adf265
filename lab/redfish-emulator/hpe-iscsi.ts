/**
 * HPE's BIOS UEFI iSCSI initiator (Systems/{id}/Bios/iScsi), as iLO 5 serves it: four attempts
 * that read as blanks (instance 0, zero addresses) until written, a settings object applied at
 * POST, instances that must be unique among attempts with a target, and an attempt that boots only
 * where the BIOS allows it (UEFI mode, software initiator on, its NIC's NicBootN NetworkBoot).
 */
import { chapOf, type BootDevice } from "./boot-device";
import { isSecret } from "./iscsi-fields";
import type { HpeAttempt, SystemState } from "./model";
import { allFunctions } from "./model";
import { isObject } from "./json";
import { msg, type ExtendedInfo } from "./redfish-errors";
import { markApplied, type StageOutcome } from "./staging";
import { iscsiPath } from "./uefi-paths";

/** An attempt nobody wrote (or one deleted by instance 0). */
export function blankAttempt(): HpeAttempt {
  return {
    iSCSIAttemptInstance: 0,
    iSCSIAttemptName: "",
    iSCSINicSource: null,
    iSCSIConnection: "Disabled",
    iSCSIIpAddressType: "IPv4",
    iSCSIInitiatorInfoViaDHCP: false,
    iSCSIInitiatorIpAddress: "0.0.0.0",
    iSCSIInitiatorNetmask: "0.0.0.0",
    iSCSIInitiatorGateway: "0.0.0.0",
    iSCSITargetInfoViaDHCP: false,
    iSCSITargetName: "",
    iSCSITargetIpAddress: "0.0.0.0",
    iSCSITargetTcpPort: 3260,
    iSCSILUN: "0",
    iSCSIAuthenticationMethod: "None",
    iSCSIChapType: "OneWay",
    iSCSIChapUsername: null,
    iSCSIChapSecret: null,
    iSCSIReverseChapUsername: null,
    iSCSIReverseChapSecret: null,
    UEFIDevicePath: null,
  };
}

type Rule = "string" | "boolean" | "port" | "instance" | "lun" | readonly string[];

const ATTEMPT_RULES: Record<string, Rule> = {
  iSCSIAttemptInstance: "instance",
  iSCSIAttemptName: "string",
  iSCSINicSource: "string",
  iSCSIConnection: ["Disabled", "Enabled", "EnabledMpio"],
  iSCSIIpAddressType: ["IPv4", "IPv6", "Auto"],
  iSCSIInitiatorInfoViaDHCP: "boolean",
  iSCSIInitiatorIpAddress: "string",
  iSCSIInitiatorNetmask: "string",
  iSCSIInitiatorGateway: "string",
  iSCSITargetInfoViaDHCP: "boolean",
  iSCSITargetName: "string",
  iSCSITargetIpAddress: "string",
  iSCSITargetTcpPort: "port",
  iSCSILUN: "lun",
  iSCSIAuthenticationMethod: ["None", "CHAP"],
  iSCSIChapType: ["OneWay", "Mutual"],
  iSCSIChapUsername: "string",
  iSCSIChapSecret: "string",
  iSCSIReverseChapUsername: "string",
  iSCSIReverseChapSecret: "string",
};
/** iLO takes null only for these; an address or a LUN must be a string. */
const NULLABLE = new Set(["iSCSITargetName", "iSCSIChapUsername", "iSCSIChapSecret", "iSCSIReverseChapUsername", "iSCSIReverseChapSecret", "iSCSINicSource", "iSCSIAttemptName"]);
export const HPE_SECRETS = new Set(["iSCSIChapSecret", "iSCSIReverseChapSecret"]);
/** SAM-2 LUN text: up to four groups of up to four digits, dash-separated ("0", "1234-5"). */
const SAM2_LUN = /^\d{1,4}(-\d{1,4}){0,3}$/;

const hasTarget = (a: HpeAttempt) =>
  (typeof a.iSCSITargetName === "string" && a.iSCSITargetName !== "") ||
  (typeof a.iSCSITargetIpAddress === "string" && a.iSCSITargetIpAddress !== "" && a.iSCSITargetIpAddress !== "0.0.0.0");

function checkValue(path: string, f: string, rule: Rule, v: unknown, count: number, problems: ExtendedInfo[]): boolean {
  if (v === null) return NULLABLE.has(f) || (problems.push(msg.propertyValueTypeError(path, v)), false);
  if (Array.isArray(rule)) return (typeof v === "string" && rule.includes(v)) || (problems.push(msg.propertyValueNotInList(path, v)), false);
  switch (rule) {
    case "instance":
      if (typeof v !== "number" || !Number.isInteger(v)) return problems.push(msg.propertyValueTypeError(path, v)), false;
      return (v >= 0 && v <= count) || (problems.push(msg.propertyValueOutOfRange(path, v)), false);
    case "port":
      if (typeof v !== "number" || !Number.isInteger(v)) return problems.push(msg.propertyValueTypeError(path, v)), false;
      return (v >= 1 && v <= 65535) || (problems.push(msg.propertyValueOutOfRange(path, v)), false);
    case "lun":
      if (typeof v !== "string") return problems.push(msg.propertyValueTypeError(path, v)), false;
      return SAM2_LUN.test(v) || (problems.push(msg.propertyValueFormatError(path, v)), false);
    default:
      return typeof v === rule || (problems.push(msg.propertyValueTypeError(path, v)), false);
  }
}

/** PATCH of Bios/iScsi/Settings: `{}` leaves an attempt alone, null resets it, an object merges. */
export function stageHpe(sys: SystemState, body: Record<string, unknown>): StageOutcome {
  const hpe = sys.hpe!;
  const count = hpe.sources.length;
  const problems: ExtendedInfo[] = [];
  let name: string | null | undefined;
  let sources: Array<HpeAttempt | null> | undefined;
  for (const [k, v] of Object.entries(body)) {
    if (k.includes("@")) continue;
    if (k === "iSCSIInitiatorName") {
      if (typeof v === "string" || v === null) name = v;
      else problems.push(msg.propertyValueTypeError(k, v));
    } else if (k === "iSCSISources") {
      if (!Array.isArray(v) || v.length > count) {
        problems.push(msg.propertyValueTypeError(k, v));
        continue;
      }
      sources = v.map((a: unknown, i) => {
        if (a === null) return null;
        if (!isObject(a)) return problems.push(msg.propertyValueTypeError(`${k}[${i}]`, a)), {};
        const out: HpeAttempt = {};
        for (const [f, fv] of Object.entries(a)) {
          const rule = ATTEMPT_RULES[f];
          const path = `${k}[${i}].${f}`;
          if (!rule) problems.push(f === "UEFIDevicePath" ? msg.propertyNotWritable(path) : msg.propertyUnknown(path));
          else if (checkValue(path, f, rule, fv, count, problems)) out[f] = fv as HpeAttempt[string];
        }
        if (out.iSCSINicSource && !hpe.nicSources.includes(String(out.iSCSINicSource))) problems.push(msg.propertyValueNotInList(`${k}[${i}].iSCSINicSource`, out.iSCSINicSource));
        return out;
      });
    } else problems.push(k === "iSCSINicSources" ? msg.propertyNotWritable(k) : msg.propertyUnknown(k));
  }
  if (problems.length > 0) return { ok: false, messages: problems };
  const merged = mergeSources(hpe.pending?.sources ?? [], sources ?? []);
  // After the PATCH, every attempt with a target needs its own instance in 1..N.
  const view = hpe.sources.map((a, i) => (merged[i] === null ? blankAttempt() : { ...a, ...(merged[i] ?? {}) }));
  const seen = new Set<unknown>();
  view.forEach((a, i) => {
    if (!hasTarget(a)) return;
    const n = a.iSCSIAttemptInstance;
    if (typeof n !== "number" || n < 1 || n > count || seen.has(n)) problems.push(msg.propertyValueConflict(`iSCSISources[${i}].iSCSIAttemptInstance`));
    seen.add(n);
  });
  if (problems.length > 0) return { ok: false, messages: problems };
  return {
    ok: true,
    apply: () => {
      const p = (hpe.pending ??= {});
      if (name !== undefined) p.initiatorName = name;
      if (sources) p.sources = merged;
      hpe.settings.version += 1;
      return { status: 200, body: resetRequired() };
    },
  };
}

function mergeSources(pending: Array<HpeAttempt | null>, patch: Array<HpeAttempt | null>): Array<HpeAttempt | null> {
  const merged = [...pending];
  patch.forEach((a, i) => {
    if (a === null) merged[i] = null;
    else if (Object.keys(a).length > 0) merged[i] = { ...(merged[i] ?? {}), ...a };
    else merged[i] ??= {};
  });
  return merged;
}

/** What iLO answers a BIOS write with: 200 and "a system reset is required". */
export function resetRequired(): Record<string, unknown> {
  return {
    error: {
      code: "iLO.0.10.ExtendedInfo",
      message: "See @Message.ExtendedInfo for more information.",
      "@Message.ExtendedInfo": [{ MessageId: "iLO.2.14.SystemResetRequired" }],
    },
  };
}

/** At POST: staged attempts apply; an attempt left with instance 0 is deleted (blank). */
export function applyHpe(sys: SystemState, fail: boolean): boolean {
  const hpe = sys.hpe;
  if (!hpe?.pending) return false;
  const p = hpe.pending;
  hpe.pending = null;
  if (fail) {
    markApplied(hpe.settings, [{ ...msg.settingsFailed("iSCSISources"), Severity: "Critical" }], hpe.version);
    return true;
  }
  if (p.initiatorName !== undefined) hpe.initiatorName = p.initiatorName;
  (p.sources ?? []).forEach((a, i) => {
    if (a === null) hpe.sources[i] = blankAttempt();
    else if (a) hpe.sources[i] = { ...hpe.sources[i]!, ...a };
  });
  hpe.sources = hpe.sources.map((a) => (a.iSCSIAttemptInstance === 0 ? blankAttempt() : a));
  hpe.version += 1;
  markApplied(hpe.settings, [{ ...msg.success(), Severity: "OK" }], hpe.version);
  return true;
}

/** The port an attempt's NIC source drives, through the BIOS mappings. */
export function hpePortOf(sys: SystemState, source: unknown) {
  const id = typeof source === "string" ? sys.hpe?.nicPorts[source] : undefined;
  return id ? allFunctions(sys).find((f) => f.id === id) : undefined;
}

/** At every POST the BIOS decides which attempts are bootable, and gives those a device path. */
export function refreshHpePaths(sys: SystemState): void {
  const hpe = sys.hpe;
  if (!hpe) return;
  const bios = sys.bios?.attributes ?? {};
  const before = JSON.stringify(hpe.sources.map((a) => a.UEFIDevicePath));
  for (const a of hpe.sources) {
    const port = hpePortOf(sys, a.iSCSINicSource);
    const bootable =
      bios.BootMode === "Uefi" && bios.iSCSIPolicy === "SoftwareInitiator" && bios[String(a.iSCSINicSource)] === "NetworkBoot" &&
      (a.iSCSIConnection === "Enabled" || a.iSCSIConnection === "EnabledMpio") && typeof a.iSCSITargetName === "string" && a.iSCSITargetName !== "" &&
      typeof a.iSCSIAttemptInstance === "number" && a.iSCSIAttemptInstance > 0 && port !== undefined;
    a.UEFIDevicePath = bootable ? iscsiPath(port!.pciPath, port!.mac, String(a.iSCSIInitiatorIpAddress ?? "0.0.0.0"), String(a.iSCSITargetName), lunNumber(a.iSCSILUN)) : null;
  }
  if (JSON.stringify(hpe.sources.map((a) => a.UEFIDevicePath)) !== before) hpe.version += 1;
}

const lunNumber = (lun: unknown) => Number.parseInt(String(lun ?? "0").split("-")[0]!, 10) || 0;

/** Bootable attempts as boot devices, in instance order. */
export function hpeDevices(sys: SystemState): BootDevice[] {
  const hpe = sys.hpe;
  if (!hpe) return [];
  return hpe.sources
    .filter((a) => typeof a.UEFIDevicePath === "string")
    .sort((a, b) => Number(a.iSCSIAttemptInstance) - Number(b.iSCSIAttemptInstance))
    .map((a) => {
      const port = hpePortOf(sys, a.iSCSINicSource);
      const path = String(a.UEFIDevicePath);
      const chap = a.iSCSIAuthenticationMethod === "CHAP"
        ? chapOf(a.iSCSIChapType === "Mutual" ? "MutualCHAP" : "CHAP", a.iSCSIChapUsername, a.iSCSIChapSecret, a.iSCSIReverseChapUsername, a.iSCSIReverseChapSecret)
        : null;
      return {
        path,
        displayName: `iSCSI attempt ${String(a.iSCSIAttemptInstance)}: ${String(a.iSCSITargetName)}`,
        san: true,
        device: {
          kind: "iscsi" as const, target: String(a.iSCSITargetName), targetIp: typeof a.iSCSITargetIpAddress === "string" ? a.iSCSITargetIpAddress : null,
          port: typeof a.iSCSITargetTcpPort === "number" ? a.iSCSITargetTcpPort : null, lun: lunNumber(a.iSCSILUN), initiator: hpe.initiatorName,
          initiatorIp: typeof a.iSCSIInitiatorIpAddress === "string" ? a.iSCSIInitiatorIpAddress : null, mac: port?.mac ?? "", functionId: port?.id,
          attempt: Number(a.iSCSIAttemptInstance), chap, path,
        },
      };
    });
}

/** HPE attempts as GET answers them: secrets null. */
export function renderAttempt(a: HpeAttempt): HpeAttempt {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, HPE_SECRETS.has(k) || isSecret(k) ? null : v]));
}
