/**
 * ComputerSystem.Reset and the boot that follows, in the order real hardware goes through it:
 * PoweringOn, then PowerState On with BootProgress at hardware initialisation, then POST (PCI
 * enumeration) during which staged settings are still pending, and only at the end of POST
 * (`postDelayMs` after On) do they apply and does the firmware pick its boot device (recorded in
 * `boots`), then OSBootStarted and OSRunning. A client that takes PowerState On for "settings
 * applied" reads stale state here as it would on a real BMC. A power off during POST cancels it.
 */
import { bootRecord } from "./boot-options";
import { bootMachine, stopMachine } from "./machine";
import type { SystemState } from "./model";
import { msg, type ExtendedInfo } from "./redfish-errors";
import { applyAtPost, hasStagedSettings } from "./settings";

export type ResetOutcome = { ok: true } | { ok: false; status: number; messages: ExtendedInfo[] };

const ACTION = "ComputerSystem.Reset";

export function reset(sys: SystemState, resetType: unknown): ResetOutcome {
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
      startPowerOn(sys);
      return { ok: true };
    case "ForceOff":
    case "GracefulShutdown":
      if (on) startPowerOff(sys);
      return { ok: true };
    case "ForceRestart":
    case "GracefulRestart":
      if (!on) return conflict("the system is powered off");
      startPowerOn(sys);
      return { ok: true };
    case "PowerCycle":
      startPowerOn(sys);
      return { ok: true };
    case "PushPowerButton":
      if (on) startPowerOff(sys);
      else startPowerOn(sys);
      return { ok: true };
    default:
      // Nmi and anything else allowed: accepted, no power change.
      return { ok: true };
  }
}

/** The host reset an Immediate settings apply causes (not a client's reset action). */
export function restartForApply(sys: SystemState): void {
  sys.counters.resets += 1;
  sys.resets.push({ at: new Date().toISOString(), resetType: "ImmediateApply" });
  sys.lastResetAt = new Date().toISOString();
  startPowerOn(sys);
}

/** Stops everything the system had scheduled (the emulator closes). */
export function cancelTimers(sys: SystemState): void {
  for (const t of sys.timers) clearTimeout(t);
  sys.timers.clear();
  sys.powerTimer = null;
}

/** Runs the steps one after the other; a new power change replaces whatever was still to come. */
function sequence(sys: SystemState, steps: Array<[delayMs: number, step: () => void]>): void {
  if (sys.powerTimer) {
    clearTimeout(sys.powerTimer);
    sys.timers.delete(sys.powerTimer);
    sys.powerTimer = null;
  }
  const [first, ...rest] = steps;
  if (!first) return;
  const t = setTimeout(() => {
    sys.timers.delete(t);
    sys.powerTimer = null;
    first[1]();
    sequence(sys, rest);
  }, first[0]);
  t.unref();
  sys.timers.add(t);
  sys.powerTimer = t;
}

function startPowerOn(sys: SystemState): void {
  const { powerDelayMs, postDelayMs } = sys.timing;
  sys.power = "PoweringOn";
  progress(sys, "PrimaryProcessorInitializationStarted");
  const half = Math.floor(postDelayMs / 2);
  // a machine-backed system's OS states come from its console (machine.ts), not from a timer
  if (sys.machine) stopMachine(sys);
  const steps: Array<[delayMs: number, step: () => void]> = [
    [powerDelayMs, () => {
      sys.power = "On";
      progress(sys, "SystemHardwareInitializationComplete");
    }],
    [half, () => progress(sys, "PCIResourceConfigStarted")],
    [postDelayMs - half, () => endOfPost(sys)],
    ...(sys.machine ? [] : ([[Math.max(1, half), () => progress(sys, "OSRunning")]] as Array<[number, () => void]>)),
  ];
  // no delay, no machine and nothing staged: booted by the time the reset is answered, as ForceOff
  // is off (chained 0-1 ms timers had the first read after the reset land before OSRunning or
  // after it, as the event loop had it: a zero-latency run's read counts varied with the load).
  // Settings staged for this POST still apply on its timers, after PowerState On: a BMC never
  // applies them the instant power turns On.
  if (powerDelayMs === 0 && postDelayMs === 0 && !sys.machine && !hasStagedSettings(sys)) {
    sequence(sys, []);
    for (const [, step] of steps) step();
    return;
  }
  sequence(sys, steps);
}

function startPowerOff(sys: SystemState): void {
  sys.power = "PoweringOff";
  stopMachine(sys);
  const off = () => {
    sys.power = "Off";
    progress(sys, "None");
  };
  // no delay: off by the time the reset is answered (a timer of 0 ms left PoweringOff for the next
  // read or not, as the event loop had it: a zero-latency run's request counts were a coin toss)
  if (sys.timing.powerDelayMs === 0) {
    sequence(sys, []);
    off();
    return;
  }
  sequence(sys, [[sys.timing.powerDelayMs, off]]);
}

/** End of POST: staged settings apply, the firmware boots what the override (or its order) says. */
function endOfPost(sys: SystemState): void {
  applyAtPost(sys);
  const record = bootRecord(sys);
  sys.boots.push(record);
  if (sys.boot.enabled !== "Disabled" && sys.boot.target === "UefiBootNext") {
    // UEFI deletes BootNext once it has been tried.
    sys.boot.bootNext = null;
    sys.version += 1;
  }
  if (sys.boot.enabled === "Once") {
    sys.boot.enabled = "Disabled";
    sys.version += 1;
  }
  if (sys.machine) bootMachine(sys, record);
  else progress(sys, "OSBootStarted");
}

function progress(sys: SystemState, state: string): void {
  sys.bootProgress = state;
  sys.bootProgressAt = new Date().toISOString();
}
