/**
 * Pure decisions about ComputerSystem boot override and power: whether the BMC can be told to
 * boot a SAN device at all, which override target it allows for that, whether it is already set,
 * what undo puts back, which ResetType to use, and what a BootProgress says about a boot.
 * Allowed values come from the resource (`@Redfish.AllowableValues`, or an ActionInfo the driver
 * fetched).
 */
import { stillOurs, restoreValues, type BootMarks, type Claim, type JsonValue } from "./claims";
import type { BootProperties, ComputerSystem } from "./redfish-types";

export type BootMode = "uefi" | "bios";

export type OverrideDecision =
  | { kind: "patch"; body: { Boot: Record<string, string> } }
  | { kind: "done" }
  | { kind: "missing"; reason: string };

const allows = (list: string[] | undefined, value: string) => !Array.isArray(list) || list.includes(value);

/**
 * The paths that make an override ours: the target, and the device path it names. Not BootNext:
 * UEFI firmware clears it once it booted the option, while the target stays.
 */
export const OVERRIDE_IDENTITY = ["Boot.BootSourceOverrideTarget", "Boot.UefiTargetBootSourceOverride"] as const;

/** A UEFI boot option as `Boot.BootOptions` lists it (the DMTF way to name a boot device). */
export interface BootOptionEntry {
  ref: string | undefined;
  path: string;
}

/**
 * Can this system be told to boot a SAN device in `mode`? RemoteDrive (either mode) where the BMC
 * allows it (or publishes no list: then the BMC judges); in UEFI, else UefiTarget, but only where
 * the BMC offers a source of device paths to name the device with (the allowed values of
 * UefiTargetBootSourceOverride, or Boot.BootOptions). Reads only; the reason names what is missing.
 */
export function sanBootCapability(system: ComputerSystem, mode: BootMode): { ok: true } | { ok: false; reason: string } {
  const boot = system.Boot;
  if (!boot) return { ok: false, reason: "the system has no Boot properties, so no boot override can name the SAN device" };
  const targets = boot["BootSourceOverrideTarget@Redfish.AllowableValues"];
  if (allows(targets, "RemoteDrive")) return { ok: true };
  if (mode === "uefi" && (allows(targets, "UefiTarget") || (Array.isArray(targets) && targets.includes("UefiBootNext")))) {
    const paths = boot["UefiTargetBootSourceOverride@Redfish.AllowableValues"];
    const options = (boot as Record<string, unknown>).BootOptions;
    if (Array.isArray(paths) || (options && typeof options === "object")) return { ok: true };
    return {
      ok: false,
      reason: "UefiTarget is allowed but the BMC lists no UEFI device paths (no UefiTargetBootSourceOverride@Redfish.AllowableValues, no Boot.BootOptions), so the SAN device cannot be named; RemoteDrive is not allowed",
    };
  }
  return { ok: false, reason: `no boot override target can name a ${mode} SAN device (allowed: ${(targets ?? []).join(", ") || "none"}; needs RemoteDrive${mode === "uefi" ? " or UefiTarget with device paths" : ""})` };
}

const SAN_DEVICE_PATH = /iSCSI\(|Fibre(Ex)?\(/i;

/**
 * Which UEFI device path is the SAN device: with `hints` (target IQNs, FC target WWPNs, an HPE
 * attempt's path), one that names one of them; without, any iSCSI or Fibre Channel path.
 */
export function sanDevicePath(paths: string[] | undefined, hints: string[] = []): string | undefined {
  const list = paths ?? [];
  if (hints.length === 0) return list.find((p) => SAN_DEVICE_PATH.test(p));
  // a WWN hint in any notation (colons, dashes, 0x) is 16 hex digits to look for
  const lower = hints.map((h) => (/^(0x)?([0-9a-f]{2}[:-]?){7}[0-9a-f]{2}$/i.test(h) ? h.replace(/^0x/i, "").replace(/[:-]/g, "") : h).toLowerCase());
  const names = (p: string) => {
    const flat = p.toLowerCase();
    const hex = flat.replace(/[:-]/g, "");
    return lower.some((h) => flat === h || flat.includes(`iscsi(${h},`) || (/^[0-9a-f]{16}$/.test(h) && hex.includes(h)));
  };
  return list.find((p) => SAN_DEVICE_PATH.test(p) && names(p)) ?? list.find((p) => lower.includes(p.toLowerCase()));
}

/**
 * RemoteDrive ("a remote drive, such as an iSCSI target") in either mode when allowed; in UEFI,
 * else the UEFI boot option that names the SAN device (see sanDevicePath), from the allowed
 * UefiTargetBootSourceOverride paths or `Boot.BootOptions`: by `BootNext` with UefiBootNext where
 * the BMC lists it and the option has a reference, else by its path with UefiTarget (UefiTarget
 * alone says nothing about which device to boot). When the BMC publishes no allowed list,
 * RemoteDrive is tried and the BMC judges.
 */
export function chooseSanOverride(
  boot: BootProperties | undefined,
  mode: BootMode,
  hints: string[] = [],
  /** Once: the next boot only (the default); Continuous: every boot until cleared */
  persistence: "once" | "continuous" = "once",
  options: BootOptionEntry[] = [],
): OverrideDecision {
  if (!boot) return { kind: "missing", reason: "the system has no Boot properties" };
  const targets = boot["BootSourceOverrideTarget@Redfish.AllowableValues"];
  const wanted: Record<string, string> = {};
  const listed = (t: string) => Array.isArray(targets) && targets.includes(t);

  if (allows(targets, "RemoteDrive")) wanted.BootSourceOverrideTarget = "RemoteDrive";
  else if (mode === "uefi" && (allows(targets, "UefiTarget") || listed("UefiBootNext"))) {
    const paths = [...(boot["UefiTargetBootSourceOverride@Redfish.AllowableValues"] ?? []), ...options.map((o) => o.path)];
    const path = sanDevicePath(paths, hints);
    if (!path) return { kind: "missing", reason: "RemoteDrive is not allowed and no UEFI boot option names the SAN device" };
    const option = options.find((o) => o.path === path && o.ref);
    if (listed("UefiBootNext") && option) {
      wanted.BootSourceOverrideTarget = "UefiBootNext";
      wanted.BootNext = option.ref!;
    } else if (allows(targets, "UefiTarget")) {
      wanted.BootSourceOverrideTarget = "UefiTarget";
      wanted.UefiTargetBootSourceOverride = path;
    } else return { kind: "missing", reason: "the SAN device's boot option has no BootOptionReference for UefiBootNext, and UefiTarget is not allowed" };
  } else {
    return { kind: "missing", reason: `no boot override target for a ${mode} SAN boot is allowed (allowed: ${(targets ?? []).join(", ")})` };
  }

  const enabledAllowed = boot["BootSourceOverrideEnabled@Redfish.AllowableValues"];
  // The one asked for where allowed, else the other: either boots the SAN device next.
  const order = persistence === "continuous" ? ["Continuous", "Once"] : ["Once", "Continuous"];
  const enabled = order.find((e) => allows(enabledAllowed, e));
  if (!enabled) return { kind: "missing", reason: "the BMC allows neither a Once nor a Continuous boot override" };
  wanted.BootSourceOverrideEnabled = enabled;

  // Only where the BMC reports a mode: older services have no BootSourceOverrideMode at all.
  if ("BootSourceOverrideMode" in boot) {
    const m = mode === "uefi" ? "UEFI" : "Legacy";
    if (!allows(boot["BootSourceOverrideMode@Redfish.AllowableValues"], m)) {
      return { kind: "missing", reason: `the BMC does not allow boot override mode ${m}` };
    }
    wanted.BootSourceOverrideMode = m;
  }

  const current = boot as Record<string, unknown>;
  const changed = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => current[k] !== v));
  if (Object.keys(changed).length === 0) return { kind: "done" };
  // Target and Enabled travel together: some BMCs reset one when the other is written alone.
  return {
    kind: "patch",
    body: {
      Boot: {
        ...changed,
        BootSourceOverrideTarget: wanted.BootSourceOverrideTarget!,
        BootSourceOverrideEnabled: wanted.BootSourceOverrideEnabled!,
      },
    },
  };
}

/** The override as a flat path map (claims.ts) of what a decision writes. */
export function overrideValues(body: { Boot: Record<string, string> }): Record<string, JsonValue> {
  return Object.fromEntries(Object.entries(body.Boot).map(([k, v]) => [`Boot.${k}`, v]));
}

/** Target and Enabled travel together: some BMCs reset one when the other is written alone. */
function withPair(values: Record<string, JsonValue>, system: ComputerSystem): Record<string, JsonValue> {
  if (!("Boot.BootSourceOverrideTarget" in values) && !("Boot.BootSourceOverrideEnabled" in values)) return values;
  return {
    "Boot.BootSourceOverrideTarget": system.Boot?.BootSourceOverrideTarget ?? null,
    "Boot.BootSourceOverrideEnabled": system.Boot?.BootSourceOverrideEnabled ?? null,
    ...values,
  };
}

/**
 * What undo writes to Boot: what the claim found there, only while the override is still the one
 * sanboot set (its target, and its device path when it named one). Null: not ours, or as found.
 */
export function overrideRestore(system: ComputerSystem, claim: Claim): Record<string, JsonValue> | null {
  if (!stillOurs(system, claim)) return null;
  const values = restoreValues(system, claim);
  return values ? withPair(values, system) : null;
}

/**
 * While a POST only applies staged settings (before the SAN device can be named), the system
 * must boot nothing: a one-time BiosSetup override where allowed (it stops in setup), else none
 * at all. Whatever override was there is in the claim this write records first.
 */
export function overridePark(system: ComputerSystem): Record<string, JsonValue> | null {
  const boot = system.Boot;
  if (!boot) return null;
  const targets = boot["BootSourceOverrideTarget@Redfish.AllowableValues"];
  const wanted: Record<string, JsonValue> = allows(targets, "BiosSetup") && allows(boot["BootSourceOverrideEnabled@Redfish.AllowableValues"], "Once")
    ? { "Boot.BootSourceOverrideTarget": "BiosSetup", "Boot.BootSourceOverrideEnabled": "Once" }
    : { "Boot.BootSourceOverrideEnabled": "Disabled" };
  const current = system as unknown as Record<string, unknown>;
  const differs = Object.entries(wanted).some(([k, v]) => (current.Boot as Record<string, unknown>)[k.slice(5)] !== v);
  return differs ? withPair(wanted, system) : null;
}

/** Disables the override sanboot set (before a power cycle that must boot nothing of ours). */
export function overrideDisable(system: ComputerSystem, claim: Claim): Record<string, JsonValue> | null {
  if (!stillOurs(system, claim) || system.Boot?.BootSourceOverrideEnabled === "Disabled" || system.Boot?.BootSourceOverrideEnabled == null) return null;
  return withPair({ "Boot.BootSourceOverrideEnabled": "Disabled" }, system);
}

export interface ResetAction {
  target: string;
  /** undefined when the BMC publishes no list (inline or via ActionInfo) */
  allowed: string[] | undefined;
  actionInfo: string | undefined;
}

/** The Reset action as the system describes it in `Actions`; never an assumed URI. */
export function resetActionOf(system: ComputerSystem): ResetAction | undefined {
  const action = system.Actions?.["#ComputerSystem.Reset"];
  if (!action || typeof action.target !== "string" || action.target.length === 0) return undefined;
  const allowed = action["ResetType@Redfish.AllowableValues"];
  return {
    target: action.target,
    allowed: Array.isArray(allowed) ? allowed : undefined,
    actionInfo: typeof action["@Redfish.ActionInfo"] === "string" ? action["@Redfish.ActionInfo"] : undefined,
  };
}

const PREFERENCES = {
  /** power on a system that is off */
  on: ["On", "ForceOn", "PushPowerButton", "PowerCycle"],
  /** reboot a system that is on, so it boots the new target now */
  restart: ["ForceRestart", "GracefulRestart", "PowerCycle"],
  off: ["ForceOff", "GracefulShutdown", "PushPowerButton"],
} as const;

export type ResetIntent = keyof typeof PREFERENCES;

export function chooseResetType(allowed: string[] | undefined, intent: ResetIntent): string | undefined {
  return PREFERENCES[intent].find((t) => allows(allowed, t));
}

/** On and PoweringOn need a restart to boot a new target; Off and PoweringOff a power-on. */
export function powerIntent(powerState: string | undefined): "on" | "restart" {
  return powerState === "On" || powerState === "PoweringOn" ? "restart" : "on";
}

/** BootProgress.LastState values that say the OS is starting or running. */
export const OS_STARTED = new Set(["OSBootStarted", "OSRunning"]);

export function bootMarks(system: ComputerSystem): BootMarks {
  const bp = system.BootProgress;
  return {
    ...(typeof system.LastResetTime === "string" && system.LastResetTime ? { last_reset_time: system.LastResetTime } : {}),
    ...(typeof bp?.LastState === "string" && bp.LastState ? { boot_progress: bp.LastState } : {}),
    ...(typeof bp?.LastStateTime === "string" && bp.LastStateTime ? { boot_progress_time: bp.LastStateTime } : {}),
  };
}

export type BootJudgement =
  | { state: "booted"; evidence: string }
  | { state: "unconfirmed"; evidence: string }
  /** the OS loader of the new boot started (OSBootStarted): OSRunning is worth waiting for */
  | { state: "loading"; evidence: string }
  | { state: "waiting" };

/**
 * What the system says about the boot power_on started, given what it showed before the reset
 * (`before`) and whether a pre-OS state was seen since (`sawPreOs`, tracked by the caller).
 * Booted: OSRunning whose time moved past the one before the reset, or reached after a pre-OS
 * state was seen; OSBootStarted so reached is `loading` (the loader started, the OS not yet) until
 * the caller has waited long enough for OSRunning (`loaderWaitOver`: a BMC that never reports it).
 * Unconfirmed: On, but the BMC reports no BootProgress at all.
 */
export function judgeBoot(system: ComputerSystem, before: BootMarks | undefined, sawPreOs: boolean, loaderWaitOver = false): BootJudgement {
  const judged = judgeNewOsState(system, before, sawPreOs);
  if (judged.state === "booted" && bootMarks(system).boot_progress === "OSBootStarted" && !loaderWaitOver) return { state: "loading", evidence: judged.evidence };
  return judged;
}

function judgeNewOsState(system: ComputerSystem, before: BootMarks | undefined, sawPreOs: boolean): BootJudgement {
  if (system.PowerState !== "On") return { state: "waiting" };
  const m = bootMarks(system);
  if (m.boot_progress === undefined) {
    const extra = m.last_reset_time && m.last_reset_time !== before?.last_reset_time ? ` (LastResetTime moved to ${m.last_reset_time})` : "";
    return { state: "unconfirmed", evidence: `the BMC reports no BootProgress: PowerState On after the reset${extra} is all it shows, not that anything booted` };
  }
  if (!OS_STARTED.has(m.boot_progress)) return { state: "waiting" };
  const timeMoved = m.boot_progress_time !== undefined && m.boot_progress_time !== before?.boot_progress_time;
  if (timeMoved) return { state: "booted", evidence: `BootProgress ${m.boot_progress} at ${m.boot_progress_time} (BMC time), after the reset` };
  if (sawPreOs) return { state: "booted", evidence: `BootProgress went through POST to ${m.boot_progress} after the reset` };
  if (before?.boot_progress !== undefined && !OS_STARTED.has(before.boot_progress)) {
    return { state: "booted", evidence: `BootProgress moved from ${before.boot_progress} to ${m.boot_progress} after the reset` };
  }
  if (before === undefined || (before.boot_progress === undefined && before.boot_progress_time === undefined)) {
    return { state: "booted", evidence: `BootProgress ${m.boot_progress} after the reset` };
  }
  return { state: "waiting" };
}
