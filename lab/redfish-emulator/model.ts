/**
 * The state of one emulated server as its BMC sees it. Everything the HTTP layer answers is
 * rendered from this; everything a PATCH or an action changes is changed here. How a system is
 * first built (ids, MACs, the operator's leftovers) is in build-system.ts.
 */
import type { Flavour } from "./flavours";
import type { IscsiBootValues } from "./iscsi-fields";
import type { MachineState } from "./machine";
import type { ExtendedInfo } from "./redfish-errors";

export type { Flavour } from "./flavours";
export { DELL_APPLY_TIMES, GENERIC_APPLY_TIMES } from "./flavours";

export type PowerState = "On" | "Off" | "PoweringOn" | "PoweringOff";

export const DEFAULT_RESET_TYPES = [
  "On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "PushPowerButton", "PowerCycle",
];

export interface SystemSpec {
  /** system id under /redfish/v1/Systems (and /Chassis); generated when absent */
  id?: string;
  /** MAC of the first iSCSI-capable port; the second port gets the next MAC */
  mac?: string;
  /** credentials for this system; the emulator's global ones otherwise */
  username?: string;
  password?: string;
  powerState?: "On" | "Off";
  /** BootSourceOverrideTarget@Redfish.AllowableValues (default: the flavour's) */
  bootTargets?: string[];
  /** add RemoteDrive to the override targets (no vendor offers it; default false) */
  remoteDrive?: boolean;
  /** ResetType@Redfish.AllowableValues (default: DEFAULT_RESET_TYPES) */
  resetTypes?: string[];
  /** publish Links.Chassis on the system (default true); false makes clients walk /Chassis */
  linkChassis?: boolean;
  /**
   * how the system's NICs are linked: "all" (NetworkInterfaces, Links.Chassis and the chassis'
   * ComputerSystems, default), "interfaces" (NetworkInterfaces only: no chassis link either way),
   * "chassis" (no NetworkInterfaces: clients must walk the chassis)
   */
  links?: "all" | "interfaces" | "chassis";
  /** operator configuration on what sanboot does not use (default true): see build-system.ts */
  operatorConfig?: boolean;
  /** the override someone else left (default Pxe, Once, UEFI when operatorConfig) */
  bootOverride?: { target: string; enabled: "Disabled" | "Once" | "Continuous"; mode?: "UEFI" | "Legacy" };
  /** answer weak ETags (W/"...") as some BMCs do */
  weakEtags?: boolean;
  /** default generic */
  flavour?: Flavour;
  /** Fibre Channel HBA ports (one adapter, functions with WWPNs and no MAC); default 0 */
  fcPorts?: number;
  /**
   * the iSCSI NIC's ports are converged (Ethernet, iSCSI and FibreChannel capable, with WWPNs):
   * their personality (`NetDevFuncType`) may be switched to FibreChannel, as the BMC lists
   */
  converged?: boolean;
  /** SupportedApplyTimes of settings objects (default per flavour) */
  applyTimes?: string[];
  /** dell / dell10: iSCSI boot through the BIOS initiator (IscsiDev1Con*), NICs without iSCSIBoot */
  dellBiosIscsi?: boolean;
  /** hpe: BIOS attributes over the defaults (BootMode, iSCSIPolicy, NicBoot1, NicBoot2) */
  hpeBios?: Record<string, string>;
  /**
   * back the system with a real virtual machine (machine.ts; the emulator's machine backend):
   * `osMarker` is the console line that says the OS runs (the backend's default otherwise)
   */
  machine?: boolean | { osMarker?: string };
}

/** A Dell HBA's unused boot target slot. */
export const ZERO_WWPN = "00:00:00:00:00:00:00:00";

export interface FcBootTarget {
  WWPN: string;
  LUNID: string;
  BootPriority: number;
}

export interface FcState {
  permanentWwpn: string;
  permanentWwnn: string;
  wwpn: string;
  wwnn: string;
  wwnSource: string;
  bootTargets: FcBootTarget[];
}

/** What a settings object holds until it applies. */
export interface PendingChanges {
  bootMode?: string;
  netDevFuncType?: string;
  iscsiBoot?: IscsiBootValues;
  bootTargets?: FcBootTarget[];
  hpeBootTargetSource?: string;
}

/** The `@Redfish.Settings` side of a resource that has a settings (or XCC pending) object. */
export interface SettingsState {
  /** where the object lives under the resource: `Settings` (annotated) or XCC's `Pending` (not) */
  path: "Settings" | "Pending";
  applyTimes: string[];
  /** bumped on every write to the settings object and on every apply */
  version: number;
  /** of the last apply: they stay until the next apply */
  messages: ExtendedInfo[];
  appliedAt: string | null;
  appliedEtag: string | null;
}

export type HpeAttempt = Record<string, string | number | boolean | null>;

export interface HpeState {
  initiatorName: string | null;
  nicSources: string[];
  /** BIOS mappings: NicBootN -> the function it drives (not list order) */
  nicPorts: Record<string, string>;
  sources: HpeAttempt[];
  pending: { initiatorName?: string | null; sources?: Array<HpeAttempt | null> } | null;
  version: number;
  settings: SettingsState;
}

export type BiosValue = string | number | null;

/** Systems/{id}/Bios: attributes in force (secrets included) and what waits for the next POST. */
export interface BiosState {
  attributes: Record<string, BiosValue>;
  pending: Record<string, BiosValue> | null;
  /** null: a read-only BIOS (no settings object) */
  settings: SettingsState | null;
  version: number;
}

export interface Job {
  id: string;
  systemId: string;
  /** the settings object it applies */
  target: string;
  state: "Scheduled" | "Running" | "Completed" | "Failed";
  message: string;
  messageId: string;
  /** Dell configuration job, or a generic-settings task */
  kind: "dell-job" | "task";
  /** Dell jobs: what they configure, and which iDRAC serves them (their URIs differ) */
  jobType?: "NICConfiguration" | "BIOSConfiguration";
  idrac?: 9 | 10;
  /** generic-settings task monitors: when the task ends (ms epoch) and what it then applies */
  doneAt?: number;
  onDone?: () => void;
}

export interface FunctionState {
  id: string;
  adapterId: string;
  netDevFuncType: string;
  /** the personalities a PATCH may set (`NetDevFuncType@Redfish.AllowableValues`); absent: read-only */
  netDevFuncTypes?: string[];
  capabilities: string[];
  bootModes: string[];
  bootMode: string;
  mac: string;
  permanentMac: string;
  /** UEFI device path of the port (PCI position), the root of its boot option paths */
  pciPath: string;
  iscsiBoot: IscsiBootValues;
  /** Fibre Channel functions only */
  fc?: FcState;
  /** Dell HBAs: BootTargets is a fixed array of this many slots */
  fcSlots?: number;
  /** HPE FC functions: Oem.Hpe.BootTargetSource (UEFI | NetworkDeviceFunction | None) */
  hpeBootTargetSource?: string;
  /** flavours with settings (or pending) objects */
  settings?: SettingsState;
  pending: PendingChanges | null;
  /** bumped on every write: part of the ETag, so a write always changes it */
  version: number;
}

export interface AdapterState {
  id: string;
  model: string;
  functions: FunctionState[];
  /** in the chassis but not the system's (a DPU's own functions): absent from NetworkInterfaces */
  foreign?: boolean;
}

export interface Faults {
  latencyMs: number;
  /** answer the next N requests with `failStatus` */
  failNext: number;
  failStatus: number;
  /** destroy the socket of the next N requests without answering */
  dropNext: number;
  /** answer the next PATCH with 412 as if another client had written first */
  etagMismatchOnce: boolean;
  /** sessions (requests in flight) the BMC serves at once; 0 = unlimited */
  maxSessions: number;
  /** what the request beyond maxSessions gets: 503 (busy) or 401 (no session left) */
  sessionLimitStatus: number;
  /** the next reset with pending settings fails to apply them (Base SettingsFailed, job Failed) */
  settingsFailOnReset: boolean;
  /** Dell: the Lifecycle Controller answers NotReady to the next N status calls */
  lcNotReady: number;
  /**
   * the next N resets are refused with a 400, as a BMC refuses one when the host's state does not
   * allow it (iDRAC in System Lockdown, iLO's InvalidOperationForSystemState): a power_on that
   * fails after configure, before any reboot
   */
  resetRefused: number;
}

export interface PatchRecord {
  at: string;
  path: string;
  body: unknown;
  status: number;
}

/** What the firmware actually booted (secrets included: the lab is where tests look at them). */
export type BootedDevice =
  | {
      kind: "iscsi";
      target: string;
      targetIp: string | null;
      port: number | null;
      lun: number;
      initiator: string | null;
      initiatorIp: string | null;
      mac: string;
      functionId?: string;
      /** HPE: the attempt's instance; Dell BIOS: the connection (1 or 2) */
      attempt?: number;
      connection?: number;
      chap: { username: string | null; secret: string | null; mutualUsername: string | null; mutualSecret: string | null } | null;
      path: string;
    }
  | { kind: "fc"; wwpn: string; lun: string; functionId: string; initiatorWwpn: string; path: string }
  | { kind: "disk"; path: string }
  | { kind: "pxe"; functionId?: string; mac?: string; path?: string }
  | { kind: "setup" }
  | { kind: "other"; target: string };

export interface BootRecord {
  at: string;
  override: { target: string; mode: string; uefiTarget?: string | null; bootNext?: string | null } | null;
  /** iSCSIBoot of the functions whose BootMode was iSCSI at that boot (secrets included); HPE: the attempt booted */
  iscsi: Array<{ functionId: string; mac: string; iscsiBoot: IscsiBootValues }>;
  /** FC functions whose BootMode was FibreChannel */
  fc?: Array<{ functionId: string; wwpn: string; bootTargets: FcBootTarget[] }>;
  /** what the firmware booted: the override's device, or the default order (the disk) */
  booted: BootedDevice;
}

export interface Timing {
  /** PoweringOn / PoweringOff */
  powerDelayMs: number;
  /** POST: from PowerState On until settings apply and the OS boot starts */
  postDelayMs: number;
}

export interface SystemState {
  id: string;
  index: number;
  username: string | undefined;
  password: string | undefined;
  linkChassis: boolean;
  links: "all" | "interfaces" | "chassis";
  weakEtags: boolean;
  flavour: Flavour;
  timing: Timing;
  hpe: HpeState | null;
  bios: BiosState | null;
  /** iDRAC10: Systems/{id}/Settings, where Boot is written */
  settings: SettingsState | null;
  jobs: Job[];
  /** requests being answered right now (for the one-session fault) */
  inFlight: number;
  power: PowerState;
  bootProgress: string;
  /** BootProgress.LastStateTime: when bootProgress last changed */
  bootProgressAt: string;
  /** LastResetTime: the last reset action that changed power */
  lastResetAt: string | null;
  boot: {
    target: string;
    enabled: "Disabled" | "Once" | "Continuous";
    mode: "UEFI" | "Legacy";
    uefiTarget: string | null;
    bootNext: string | null;
  };
  /** BootOptionReference numbers by device path: a device keeps its Boot#### across renders */
  bootRefs: Map<string, number>;
  bootTargets: string[];
  resetTypes: string[];
  adapters: AdapterState[];
  version: number;
  faults: Faults;
  counters: { requests: number; patches: number; resets: number };
  patches: PatchRecord[];
  resets: Array<{ at: string; resetType: string }>;
  boots: BootRecord[];
  /** every timer the system runs (closed with the emulator) */
  timers: Set<NodeJS.Timeout>;
  /** the power / POST sequence step waiting to run (a power change cancels it) */
  powerTimer: NodeJS.Timeout | null;
  /** the virtual machine behind the system, its console and event log (machine.ts) */
  machine: MachineState | null;
}

export function noFaults(): Faults {
  return {
    latencyMs: 0, failNext: 0, failStatus: 503, dropNext: 0, etagMismatchOnce: false,
    maxSessions: 0, sessionLimitStatus: 503, settingsFailOnReset: false, lcNotReady: 0, resetRefused: 0,
  };
}

/** The system's own functions (a foreign adapter's are its device's, not the system's). */
export function allFunctions(sys: SystemState): FunctionState[] {
  return sys.adapters.filter((a) => !a.foreign).flatMap((a) => a.functions);
}

/** Every function in the system's chassis, its own and foreign ones. */
export function chassisFunctions(sys: SystemState): FunctionState[] {
  return sys.adapters.flatMap((a) => a.functions);
}

export function findFunction(sys: SystemState, adapterId: string, functionId: string): FunctionState | undefined {
  return sys.adapters.find((a) => a.id === adapterId)?.functions.find((f) => f.id === functionId);
}

/** Host between power on and the OS boot: POST, where Dell's Lifecycle Controller is busy. */
export function inPost(sys: SystemState): boolean {
  return sys.power === "PoweringOn" || (sys.power === "On" && sys.bootProgress !== "OSBootStarted" && sys.bootProgress !== "OSRunning");
}

export function normaliseMac(mac: string): string {
  const hex = mac.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
  if (hex.length !== 12) throw new Error(`not a MAC address: ${mac}`);
  return hex.match(/../g)!.join(":");
}

export function newSettings(applyTimes: readonly string[], path: SettingsState["path"] = "Settings"): SettingsState {
  return { path, applyTimes: [...applyTimes], version: 0, messages: [], appliedAt: null, appliedEtag: null };
}
