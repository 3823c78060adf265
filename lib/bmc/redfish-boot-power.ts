/**
 * Pure decisions about ComputerSystem boot override and power: which override target the BMC
 * allows for a SAN boot, whether it is already set, and which ResetType to use. Allowed values
 * come from the resource (`@Redfish.AllowableValues`, or an ActionInfo the driver fetched).
 */
import type { BootProperties, ComputerSystem } from "./redfish-types";

export type BootMode = "uefi" | "bios";

export type OverrideDecision =
  | { kind: "patch"; body: { Boot: Record<string, string> } }
  | { kind: "done" }
  | { kind: "missing"; reason: string };

const allows = (list: string[] | undefined, value: string) => !Array.isArray(list) || list.includes(value);

const SAN_DEVICE_PATH = /iSCSI\(|Fibre(Ex)?\(/i;

/**
 * Which UEFI device path is the SAN device: with `hints` (target IQNs, FC target WWPNs, an HPE
 * attempt's path), one that names one of them; without, any iSCSI or Fibre Channel path.
 */
export function sanDevicePath(paths: string[] | undefined, hints: string[] = []): string | undefined {
  const list = paths ?? [];
  if (hints.length === 0) return list.find((p) => SAN_DEVICE_PATH.test(p));
  const lower = hints.map((h) => h.toLowerCase());
  const names = (p: string) => {
    const flat = p.toLowerCase();
    const hex = flat.replace(/[:-]/g, "");
    return lower.some((h) => flat === h || flat.includes(`iscsi(${h},`) || (/^[0-9a-f]{16}$/.test(h) && hex.includes(h)));
  };
  return list.find((p) => SAN_DEVICE_PATH.test(p) && names(p)) ?? list.find((p) => lower.includes(p.toLowerCase()));
}

/**
 * RemoteDrive ("a remote drive, such as an iSCSI target") in either mode when allowed; in UEFI,
 * else UefiTarget, but only with a UefiTargetBootSourceOverride device path that names the SAN
 * device (see sanDevicePath), because UefiTarget alone says nothing about which device to boot.
 * When the BMC publishes no allowed list, RemoteDrive is tried and the BMC judges.
 */
export function chooseSanOverride(
  boot: BootProperties | undefined,
  mode: BootMode,
  hints: string[] = [],
  /** Once: the next boot only (the default); Continuous: every boot until cleared */
  persistence: "once" | "continuous" = "once",
): OverrideDecision {
  if (!boot) return { kind: "missing", reason: "the system has no Boot properties" };
  const targets = boot["BootSourceOverrideTarget@Redfish.AllowableValues"];
  const wanted: Record<string, string> = {};

  if (allows(targets, "RemoteDrive")) wanted.BootSourceOverrideTarget = "RemoteDrive";
  else if (mode === "uefi" && allows(targets, "UefiTarget")) {
    const path = sanDevicePath(boot["UefiTargetBootSourceOverride@Redfish.AllowableValues"], hints);
    if (!path) return { kind: "missing", reason: "RemoteDrive is not allowed and no UEFI boot target names the SAN device" };
    wanted.BootSourceOverrideTarget = "UefiTarget";
    wanted.UefiTargetBootSourceOverride = path;
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

const SAN_TARGETS = new Set(["RemoteDrive", "UefiTarget"]);

/**
 * The PATCH that disables the override (null when none is active). With `onlySan`, an override
 * someone set to another device (PXE for a reinstall, say) is left alone.
 */
export function clearOverridePatch(boot: BootProperties | undefined, onlySan = false): { Boot: Record<string, string> } | null {
  if (!boot || boot.BootSourceOverrideEnabled === "Disabled" || boot.BootSourceOverrideEnabled == null) return null;
  if (onlySan && !SAN_TARGETS.has(boot.BootSourceOverrideTarget ?? "")) return null;
  const body: Record<string, string> = { BootSourceOverrideEnabled: "Disabled" };
  if (allows(boot["BootSourceOverrideTarget@Redfish.AllowableValues"], "None")) body.BootSourceOverrideTarget = "None";
  return { Boot: body };
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

/** BootProgress.LastState values that say the OS is starting or running: the SAN boot worked. */
const OS_STARTED = new Set(["OSBootStarted", "OSRunning"]);

/** Booted: On, and where the BMC reports BootProgress, an OS state. */
export function hasBooted(system: ComputerSystem): boolean {
  if (system.PowerState !== "On") return false;
  const last = system.BootProgress?.LastState;
  return typeof last !== "string" || OS_STARTED.has(last);
}
