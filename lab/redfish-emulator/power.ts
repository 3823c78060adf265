/**
 * ComputerSystem.Reset: PowerState moves through PoweringOn / PoweringOff and settles after a
 * delay, as on real hardware. Reaching On is a boot: a `Once` override is consumed and what the
 * system booted from is recorded, so tests can ask "did it boot from that iSCSI target?".
 */
import { allFunctions, type SystemState } from "./model";
import { applyAtReset } from "./settings";
import { msg, type ExtendedInfo } from "./redfish-errors";

export type ResetOutcome = { ok: true } | { ok: false; status: number; messages: ExtendedInfo[] };

const ACTION = "ComputerSystem.Reset";

export function reset(sys: SystemState, resetType: unknown, delayMs: number): ResetOutcome {
  if (resetType === undefined) return { ok: false, status: 400, messages: [msg.actionParameterMissing(ACTION, "ResetType")] };
  if (typeof resetType !== "string" || !sys.resetTypes.includes(resetType)) {
    return { ok: false, status: 400, messages: [msg.actionParameterValueNotInList(String(resetType), "ResetType", ACTION)] };
  }
  const on = sys.power === "On" || sys.power === "PoweringOn";
  const conflict = (why: string): ResetOutcome => ({ ok: false, status: 409, messages: [msg.operationNotAllowed(why)] });
  sys.counters.resets += 1;
  sys.resets.push({ at: new Date().toISOString(), resetType });
  if (resetType !== "Nmi") sys.lastResetAt = new Date().toISOString();
  switch (resetType) {
    case "On":
    case "ForceOn":
      if (on) return conflict("the system is already powered on");
      startPowerOn(sys, delayMs);
      return { ok: true };
    case "ForceOff":
    case "GracefulShutdown":
      if (on) startPowerOff(sys, delayMs);
      return { ok: true };
    case "ForceRestart":
    case "GracefulRestart":
      if (!on) return conflict("the system is powered off");
      startPowerOn(sys, delayMs);
      return { ok: true };
    case "PowerCycle":
      startPowerOn(sys, delayMs);
      return { ok: true };
    case "PushPowerButton":
      if (on) startPowerOff(sys, delayMs);
      else startPowerOn(sys, delayMs);
      return { ok: true };
    default:
      // Nmi and anything else allowed: accepted, no power change.
      return { ok: true };
  }
}

export function cancelTimers(sys: SystemState): void {
  for (const t of sys.timers) clearTimeout(t);
  sys.timers.clear();
}

function later(sys: SystemState, delayMs: number, fn: () => void): void {
  cancelTimers(sys);
  const t = setTimeout(() => {
    sys.timers.delete(t);
    fn();
  }, delayMs);
  t.unref();
  sys.timers.add(t);
}

function startPowerOn(sys: SystemState, delayMs: number): void {
  sys.power = "PoweringOn";
  progress(sys, "PrimaryProcessorInitializationStarted");
  later(sys, delayMs, () => boot(sys));
}

function startPowerOff(sys: SystemState, delayMs: number): void {
  sys.power = "PoweringOff";
  later(sys, delayMs, () => {
    sys.power = "Off";
    progress(sys, "None");
  });
}

function boot(sys: SystemState): void {
  // POST: staged settings (NIC / HBA settings objects, Dell jobs, HPE BIOS iSCSI) apply first.
  applyAtReset(sys);
  const override =
    sys.boot.enabled === "Disabled"
      ? null
      : { target: sys.boot.target, mode: sys.boot.mode, ...(sys.boot.target === "UefiTarget" ? { uefiTarget: sys.boot.uefiTarget } : {}) };
  const iscsi = allFunctions(sys)
    .filter((f) => f.bootMode === "iSCSI")
    .map((f) => ({ functionId: f.id, mac: f.mac, iscsiBoot: { ...f.iscsiBoot } }));
  // HPE: the UEFI iSCSI attempt the override names is what boots.
  for (const a of sys.hpe?.sources ?? []) {
    if (override?.target === "UefiTarget" && a.UEFIDevicePath && a.UEFIDevicePath === sys.boot.uefiTarget) {
      iscsi.push({
        functionId: `iScsi.Attempt${String(a.iSCSIAttemptInstance)}`,
        mac: "",
        iscsiBoot: {
          InitiatorName: sys.hpe!.initiatorName,
          PrimaryTargetName: a.iSCSITargetName ?? null,
          PrimaryTargetIPAddress: a.iSCSITargetIpAddress ?? null,
          PrimaryTargetTCPPort: a.iSCSITargetTcpPort ?? null,
          PrimaryLUN: Number(a.iSCSILUN ?? 0),
          AuthenticationMethod: a.iSCSIAuthenticationMethod === "Chap" ? (a.iSCSIChapType === "Mutual" ? "MutualCHAP" : "CHAP") : "None",
          CHAPUsername: a.iSCSIChapUsername ?? null,
          CHAPSecret: a.iSCSIChapSecret ?? null,
          MutualCHAPUsername: a.iSCSIReverseChapUsername ?? null,
          MutualCHAPSecret: a.iSCSIReverseChapSecret ?? null,
        },
      });
    }
  }
  const fc = allFunctions(sys)
    .filter((f) => f.bootMode === "FibreChannel" && f.fc)
    .map((f) => ({ functionId: f.id, wwpn: f.fc!.wwpn, bootTargets: f.fc!.bootTargets.map((t) => ({ ...t })) }));
  sys.boots.push({ at: new Date().toISOString(), override, iscsi, ...(fc.length > 0 ? { fc } : {}) });
  if (sys.boot.enabled === "Once") {
    sys.boot.enabled = "Disabled";
    sys.version += 1;
  }
  sys.power = "On";
  progress(sys, "OSRunning");
}

function progress(sys: SystemState, state: string): void {
  sys.bootProgress = state;
  sys.bootProgressAt = new Date().toISOString();
}
