/**
 * Deferred settings, as BMCs with settings objects behave: a PATCH of `.../Settings` stages the
 * change (generic-settings: behind a task monitor; dell: behind a configuration job), and the next
 * reset applies it, or fails to (fault `settingsFailOnReset`: `Base.1.8.SettingsFailed` in the
 * resource's `@Redfish.Settings.Messages`, the job Failed). HPE's BIOS iSCSI initiator is staged
 * and applied the same way. Applied SAN devices become UEFI device paths the override can name.
 */
import { randomBytes } from "node:crypto";
import { isSecret } from "./iscsi-fields";
import { allFunctions, blankAttempt, type FunctionState, type HpeAttempt, type Job, type SettingsState, type SystemState } from "./model";
import { applyFunctionChanges, parseFunctionPatch } from "./patch-rules";
import { msg, type ExtendedInfo } from "./redfish-errors";

export type StageOutcome =
  | { ok: true; apply: () => { status: number; location?: string; body?: unknown } }
  | { ok: false; status?: number; messages: ExtendedInfo[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function applyTimeOf(body: Record<string, unknown>): { ok: true; value: string | undefined } | { ok: false; messages: ExtendedInfo[] } {
  const a = body["@Redfish.SettingsApplyTime"];
  if (a === undefined) return { ok: true, value: undefined };
  const v = isObject(a) ? a.ApplyTime : undefined;
  if (typeof v !== "string") return { ok: false, messages: [msg.propertyValueTypeError("@Redfish.SettingsApplyTime/ApplyTime", v)] };
  return { ok: true, value: v };
}

export interface JobsApi {
  newJob(sys: SystemState, job: Omit<Job, "id" | "systemId">): Job;
  taskDelayMs: number;
}

/** PATCH of a function's settings object. */
export function stageFunction(sys: SystemState, fn: FunctionState, settingsUri: string, body: Record<string, unknown>, jobs: JobsApi): StageOutcome {
  const settings = fn.settings!;
  const parsed = parseFunctionPatch(fn, body);
  if (!parsed.ok) return parsed;
  const at = applyTimeOf(body);
  if (!at.ok) return at;
  if (at.value !== undefined && !settings.applyTimes.includes(at.value)) {
    return { ok: false, messages: [msg.propertyValueNotInList("@Redfish.SettingsApplyTime/ApplyTime", at.value)] };
  }
  const c = parsed.changes;
  return {
    ok: true,
    apply: () => {
      const p = (fn.pending ??= {});
      if (Object.keys(c.iscsi).length > 0) p.iscsiBoot = { ...(p.iscsiBoot ?? {}), ...c.iscsi };
      if (c.bootMode !== undefined) p.bootMode = c.bootMode;
      if (c.netDevFuncType !== undefined) p.netDevFuncType = c.netDevFuncType;
      if (c.bootTargets !== undefined) p.bootTargets = c.bootTargets;
      settings.version += 1;
      settings.messages = [];
      if (sys.flavour === "dell") {
        if (at.value === undefined) return { status: 200 };
        const job = jobs.newJob(sys, { target: settingsUri, state: "Scheduled", message: "Task successfully scheduled.", messageId: "JCP001", kind: "dell-job" });
        return { status: 202, location: jobUri(job) };
      }
      // generic-settings: a task validates and stages; Immediate applies when it ends.
      const task = jobs.newJob(sys, {
        target: settingsUri,
        state: "Running",
        message: "The task is running.",
        messageId: "TaskEvent.1.0.TaskStarted",
        kind: "task",
        doneAt: Date.now() + jobs.taskDelayMs,
        ...(at.value === "Immediate" ? { onDone: () => applyFunction(fn, false) } : {}),
      });
      return { status: 202, location: taskMonitorUri(task) };
    },
  };
}

export const jobUri = (job: Job) => `/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/${job.id}`;
export const taskMonitorUri = (job: Job) => `/redfish/v1/TaskService/TaskMonitors/${job.id}`;
export const taskUri = (job: Job) => `/redfish/v1/TaskService/Tasks/${job.id}`;
export const newJobId = (kind: Job["kind"]) => (kind === "dell-job" ? `JID_${randomBytes(6).toString("hex").toUpperCase()}` : randomBytes(6).toString("hex"));

/** A running task whose time came completes (and applies what it carries). */
export function settleTask(job: Job): void {
  if (job.kind === "task" && job.state === "Running" && job.doneAt !== undefined && Date.now() >= job.doneAt) {
    job.state = "Completed";
    job.message = "The task has completed successfully.";
    job.messageId = "TaskEvent.1.0.TaskCompletedOK";
    job.onDone?.();
  }
}

function applyFunction(fn: FunctionState, fail: boolean): boolean {
  const p = fn.pending;
  if (!p || !fn.settings) return false;
  fn.pending = null;
  const s = fn.settings;
  s.version += 1;
  s.appliedAt = new Date().toISOString();
  if (fail) {
    const props = [...Object.keys(p.iscsiBoot ?? {}).map((k) => `iSCSIBoot/${k}`), ...(p.bootMode ? ["BootMode"] : []), ...(p.bootTargets ? ["FibreChannel/BootTargets"] : [])];
    s.messages = [{ ...msg.settingsFailed(props.join(", ")), Severity: "Critical" }];
    return true;
  }
  applyFunctionChanges(fn, { iscsi: p.iscsiBoot ?? {}, bootMode: p.bootMode, mac: undefined, bootTargets: p.bootTargets, netDevFuncType: p.netDevFuncType });
  s.messages = [{ ...msg.success(), Severity: "OK" }];
  return true;
}

/** At a reset: every pending settings object applies (or fails, once, under the fault). */
export function applyAtReset(sys: SystemState): void {
  const fail = sys.faults.settingsFailOnReset;
  let any = false;
  for (const fn of allFunctions(sys)) any = applyFunction(fn, fail) || any;
  if (sys.hpe?.pending) {
    any = true;
    applyHpe(sys, fail);
  }
  for (const job of sys.jobs) {
    if (job.kind === "dell-job" && job.state === "Scheduled") {
      job.state = fail ? "Failed" : "Completed";
      job.message = fail ? "Unable to apply the configuration: invalid attribute value." : "Job completed successfully.";
      job.messageId = fail ? "SYS051" : "PR19";
    }
  }
  if (any && fail) sys.faults.settingsFailOnReset = false;
}

// ---- HPE BIOS iSCSI ----

const ATTEMPT_RULES: Record<string, "string" | "boolean" | "integer" | readonly string[]> = {
  iSCSIAttemptName: "string",
  iSCSINicSource: "string",
  iSCSIConnection: ["Enabled", "Disabled"],
  iSCSIIpAddressType: ["IPv4", "IPv6"],
  iSCSIInitiatorInfoViaDHCP: "boolean",
  iSCSIInitiatorIpAddress: "string",
  iSCSIInitiatorNetmask: "string",
  iSCSIInitiatorGateway: "string",
  iSCSITargetInfoViaDHCP: "boolean",
  iSCSITargetName: "string",
  iSCSITargetIpAddress: "string",
  iSCSITargetTcpPort: "integer",
  iSCSILUN: "string",
  iSCSIAuthenticationMethod: ["None", "Chap"],
  iSCSIChapType: ["OneWay", "Mutual"],
  iSCSIChapUsername: "string",
  iSCSIChapSecret: "string",
  iSCSIReverseChapUsername: "string",
  iSCSIReverseChapSecret: "string",
};
export const HPE_SECRETS = new Set(["iSCSIChapSecret", "iSCSIReverseChapSecret"]);

/** PATCH of Bios/iScsi/Settings: `{}` leaves an attempt alone, null resets it, an object merges. */
export function stageHpe(sys: SystemState, body: Record<string, unknown>): StageOutcome {
  const hpe = sys.hpe!;
  const problems: ExtendedInfo[] = [];
  let name: string | null | undefined;
  let sources: Array<HpeAttempt | null> | undefined;
  for (const [k, v] of Object.entries(body)) {
    if (k.includes("@")) continue;
    if (k === "iSCSIInitiatorName") {
      if (typeof v === "string" || v === null) name = v;
      else problems.push(msg.propertyValueTypeError(k, v));
    } else if (k === "iSCSISources") {
      if (!Array.isArray(v) || v.length > hpe.sources.length) {
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
          if (f === "iSCSIAttemptInstance" && fv === i + 1) continue;
          if (!rule) problems.push(f === "UEFIDevicePath" || f === "iSCSIAttemptInstance" ? msg.propertyNotWritable(path) : msg.propertyUnknown(path));
          else if (fv === null) out[f] = null;
          else if (Array.isArray(rule)) (typeof fv === "string" && rule.includes(fv) ? (out[f] = fv) : problems.push(msg.propertyValueNotInList(path, fv)));
          else if (rule === "integer" ? Number.isInteger(fv) : typeof fv === rule) out[f] = fv as HpeAttempt[string];
          else problems.push(msg.propertyValueTypeError(path, fv));
        }
        if (out.iSCSINicSource && !hpe.nicSources.includes(String(out.iSCSINicSource))) problems.push(msg.propertyValueNotInList(`${k}[${i}].iSCSINicSource`, out.iSCSINicSource));
        return out;
      });
    } else problems.push(k === "iSCSINicSources" ? msg.propertyNotWritable(k) : msg.propertyUnknown(k));
  }
  if (problems.length > 0) return { ok: false, messages: problems };
  return {
    ok: true,
    apply: () => {
      const p = (hpe.pending ??= {});
      if (name !== undefined) p.initiatorName = name;
      if (sources) {
        const merged = p.sources ?? [];
        sources.forEach((a, i) => {
          if (a === null) merged[i] = null;
          else if (Object.keys(a).length > 0) merged[i] = { ...(merged[i] ?? {}), ...a };
          else merged[i] ??= {};
        });
        p.sources = merged;
      }
      hpe.settings.version += 1;
      hpe.settings.messages = [];
      return {
        status: 200,
        body: { error: { code: "iLO.0.10.ExtendedInfo", message: "See @Message.ExtendedInfo for more information.",
          "@Message.ExtendedInfo": [{ MessageId: "iLO.2.14.SystemResetRequired" }] } },
      };
    },
  };
}

function applyHpe(sys: SystemState, fail: boolean): void {
  const hpe = sys.hpe!;
  const p = hpe.pending!;
  hpe.pending = null;
  hpe.settings.version += 1;
  hpe.settings.appliedAt = new Date().toISOString();
  if (fail) {
    hpe.settings.messages = [{ ...msg.settingsFailed("iSCSISources"), Severity: "Critical" }];
    return;
  }
  if (p.initiatorName !== undefined) hpe.initiatorName = p.initiatorName;
  (p.sources ?? []).forEach((a, i) => {
    if (a === null) hpe.sources[i] = blankAttempt(i + 1);
    else if (a) hpe.sources[i] = { ...hpe.sources[i]!, ...a };
  });
  const iscsiPorts = allFunctions(sys).filter((f) => f.capabilities.includes("iSCSI"));
  for (const a of hpe.sources) {
    const port = iscsiPorts[hpe.nicSources.indexOf(String(a.iSCSINicSource))];
    a.UEFIDevicePath =
      a.iSCSIConnection === "Enabled" && a.iSCSITargetName && port
        ? iscsiPath(port.mac, String(a.iSCSIInitiatorIpAddress ?? "0.0.0.0"), String(a.iSCSITargetName), Number(a.iSCSILUN ?? 0))
        : null;
  }
  hpe.version += 1;
  hpe.settings.messages = [{ ...msg.success(), Severity: "OK" }];
}

// ---- UEFI device paths ----

function iscsiPath(mac: string, ip: string, target: string, lun: number): string {
  return `PciRoot(0x0)/Pci(0x1C,0x0)/Pci(0x0,0x0)/MAC(${mac.replace(/:/g, "")},0x1)/IPv4(${ip})/iSCSI(${target},0x1,0x${lun.toString(16)},None,None,None,TCP)`;
}

function fcPath(wwpn: string, lun: string): string {
  return `PciRoot(0x0)/Pci(0x3,0x0)/Pci(0x0,0x0)/FibreEx(0x${wwpn.replace(/:/g, "")},0x${Number(lun).toString(16).padStart(16, "0")})`;
}

export const LOCAL_DISK_PATH = "PciRoot(0x0)/Pci(0x17,0x0)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT,5B4B2B1B-1111-2222-3333-444455556666,0x800,0x100000)";

/** UefiTargetBootSourceOverride@Redfish.AllowableValues: the disk, and each SAN device in force. */
export function uefiTargets(sys: SystemState): string[] {
  const out = [LOCAL_DISK_PATH];
  for (const fn of allFunctions(sys)) {
    if (fn.bootMode === "iSCSI" && fn.iscsiBoot.PrimaryTargetName) {
      out.push(iscsiPath(fn.mac, String(fn.iscsiBoot.InitiatorIPAddress ?? "0.0.0.0"), String(fn.iscsiBoot.PrimaryTargetName), Number(fn.iscsiBoot.PrimaryLUN ?? 0)));
    }
    if (fn.bootMode === "FibreChannel" && fn.fc) for (const t of fn.fc.bootTargets) out.push(fcPath(t.WWPN, t.LUNID));
  }
  for (const a of sys.hpe?.sources ?? []) if (typeof a.UEFIDevicePath === "string") out.push(a.UEFIDevicePath);
  return out;
}

/** The settings annotation a resource with a settings object renders. */
export function settingsAnnotation(s: SettingsState, settingsUri: string, etag: string): Record<string, unknown> {
  return {
    "@odata.type": "#Settings.v1_4_0.Settings",
    SettingsObject: { "@odata.id": settingsUri },
    ...(s.applyTimes.length > 0 ? { SupportedApplyTimes: s.applyTimes } : {}),
    ...(s.appliedAt ? { Time: s.appliedAt, ETag: etag } : {}),
    Messages: s.messages,
  };
}

/** HPE attempts as GET answers them: secrets null. */
export function renderAttempt(a: HpeAttempt): HpeAttempt {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, HPE_SECRETS.has(k) || isSecret(k) ? null : v]));
}
