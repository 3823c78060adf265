/**
 * The state of one emulated server as its BMC sees it. Everything the HTTP layer answers is
 * rendered from this; everything a PATCH or an action changes is changed here.
 *
 * Ids are generated per system (adapter `NIC.Slot.<n>`, function `NIC.Slot.<n>-<port>-1`, with
 * <n> varying between systems) so a client that hard-codes ids fails against the lab, as it
 * would against a real fleet.
 *
 * Like the trees of real BMCs (and DMTF's own mockups), a default system is not a blank slate:
 * the second port of its iSCSI NIC holds an operator's iSCSI boot configuration (with CHAP), the
 * on-board port PXE boots, someone left a one-time PXE boot override set, and its chassis holds a
 * DPU whose functions belong to the DPU, not to the system: the system names its own through
 * `NetworkInterfaces`. A client that clears what it did not write, or walks the chassis instead of
 * the system's links, is caught here before a real BMC catches it.
 */
import { blankIscsiBoot, type IscsiBootValues } from "./iscsi-fields";
import type { ExtendedInfo } from "./redfish-errors";

/**
 * How the BMC behaves:
 * - generic: NetworkDeviceFunctions PATCHed in place, RemoteDrive override allowed.
 * - generic-settings: functions publish `@Redfish.Settings`; a PATCH of the settings object
 *   answers 202 with a task monitor; Immediate applies when the task ends, OnReset at the reset.
 * - dell: iDRAC-like: `/Settings` objects applied OnReset through a job (202 + Location under
 *   /redfish/v1/Managers/iDRAC.Embedded.1/Jobs) that completes (or fails) at the next reset; no
 *   RemoteDrive, UefiTarget paths appear once the NIC / HBA settings applied.
 * - hpe: iLO 5-like: BIOS UEFI iSCSI initiator at Systems/{id}/Bios/iScsi with a settings object
 *   applied at the next POST; attempts then appear as UefiTarget device paths.
 */
export type Flavour = "generic" | "generic-settings" | "dell" | "hpe";

export const DELL_BOOT_TARGETS = ["None", "Pxe", "Floppy", "Cd", "Hdd", "BiosSetup", "Utilities", "UefiTarget", "SDCard", "UefiHttp"];
export const HPE_BOOT_TARGETS = ["None", "Cd", "Hdd", "Usb", "SDCard", "Utilities", "Diags", "BiosSetup", "Pxe", "UefiShell", "UefiHttp", "UefiTarget"];
export const DELL_APPLY_TIMES = ["OnReset", "AtMaintenanceWindowStart", "InMaintenanceWindowOnReset"];
export const GENERIC_APPLY_TIMES = ["Immediate", "OnReset"];

export type PowerState = "On" | "Off" | "PoweringOn" | "PoweringOff";

export const DEFAULT_BOOT_TARGETS = [
  "None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "UefiShell", "UefiTarget", "UefiHttp", "RemoteDrive",
];
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
  /** BootSourceOverrideTarget@Redfish.AllowableValues (default: DEFAULT_BOOT_TARGETS) */
  bootTargets?: string[];
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
  /** operator configuration on what sanboot does not use (default true): see the header */
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
}

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
}

/** The `@Redfish.Settings` side of a resource that has a settings object. */
export interface SettingsState {
  applyTimes: string[];
  /** bumped on every write to the settings object and on every apply */
  version: number;
  messages: ExtendedInfo[];
  appliedAt: string | null;
}

export type HpeAttempt = Record<string, string | number | boolean | null>;

export interface HpeState {
  initiatorName: string | null;
  nicSources: string[];
  sources: HpeAttempt[];
  pending: { initiatorName?: string | null; sources?: Array<HpeAttempt | null> } | null;
  version: number;
  settings: SettingsState;
}

export interface Job {
  id: string;
  systemId: string;
  /** the settings object it applies */
  target: string;
  state: "Scheduled" | "Running" | "Completed" | "Failed";
  message: string;
  messageId: string;
  /** generic-settings task monitors: when the task ends (ms epoch) and what it then applies */
  kind: "dell-job" | "task";
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
  iscsiBoot: IscsiBootValues;
  /** Fibre Channel functions only */
  fc?: FcState;
  /** flavours with settings objects */
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
}

export interface PatchRecord {
  at: string;
  path: string;
  body: unknown;
  status: number;
}

export interface BootRecord {
  at: string;
  override: { target: string; mode: string; uefiTarget?: string | null } | null;
  /** iSCSIBoot of the functions whose BootMode was iSCSI at that boot (secrets included); HPE: the attempt booted */
  iscsi: Array<{ functionId: string; mac: string; iscsiBoot: IscsiBootValues }>;
  /** FC functions whose BootMode was FibreChannel */
  fc?: Array<{ functionId: string; wwpn: string; bootTargets: FcBootTarget[] }>;
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
  hpe: HpeState | null;
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
  };
  bootTargets: string[];
  resetTypes: string[];
  adapters: AdapterState[];
  version: number;
  faults: Faults;
  counters: { requests: number; patches: number; resets: number };
  patches: PatchRecord[];
  resets: Array<{ at: string; resetType: string }>;
  boots: BootRecord[];
  timers: Set<NodeJS.Timeout>;
}

export function noFaults(): Faults {
  return {
    latencyMs: 0, failNext: 0, failStatus: 503, dropNext: 0, etagMismatchOnce: false,
    maxSessions: 0, sessionLimitStatus: 503, settingsFailOnReset: false,
  };
}

export function createSystem(spec: SystemSpec, index: number): SystemState {
  const flavour = spec.flavour ?? "generic";
  const applyTimes = spec.applyTimes ?? (flavour === "dell" ? DELL_APPLY_TIMES : GENERIC_APPLY_TIMES);
  const settings = (): SettingsState | undefined =>
    flavour === "generic-settings" || flavour === "dell" ? { applyTimes: [...applyTimes], version: 0, messages: [], appliedAt: null } : undefined;
  const slot = (index % 4) + 1;
  const slotMac = normaliseMac(spec.mac ?? macFor(0x10, index, 1));
  const port = (n: number): FunctionState => {
    const mac = n === 1 ? slotMac : nextMac(slotMac, n - 1);
    return {
      id: `NIC.Slot.${slot}-${n}-1`,
      adapterId: `NIC.Slot.${slot}`,
      netDevFuncType: "Ethernet",
      capabilities: ["Ethernet", "iSCSI"],
      bootModes: ["Disabled", "PXE", "iSCSI"],
      bootMode: "Disabled",
      mac,
      permanentMac: mac,
      iscsiBoot: blankIscsiBoot(),
      settings: settings(),
      pending: null,
      version: 0,
    };
  };
  const fcPort = (n: number): FunctionState => {
    const wwn = (kind: number) => [kind, 0x00, 0x00, 0x10, 0x9b, (index >> 8) & 0xff, index & 0xff, n].map(hex2).join(":");
    return {
      id: `FC.Slot.${slot + 4}-${n}-1`,
      adapterId: `FC.Slot.${slot + 4}`,
      netDevFuncType: "FibreChannel",
      netDevFuncTypes: ["Disabled", "FibreChannel"],
      capabilities: ["FibreChannel"],
      bootModes: ["Disabled", "FibreChannel"],
      bootMode: "Disabled",
      mac: "",
      permanentMac: "",
      iscsiBoot: blankIscsiBoot(),
      fc: { permanentWwpn: wwn(0x10), permanentWwnn: wwn(0x20), wwpn: wwn(0x10), wwnn: wwn(0x20), wwnSource: "ConfiguredLocally", bootTargets: [] },
      settings: settings(),
      pending: null,
      version: 0,
    };
  };
  const fcCount = spec.fcPorts ?? 0;
  const embeddedMac = macFor(0x20, index, 1);
  const operator = spec.operatorConfig ?? true;
  const slotPorts = [port(1), port(2)];
  if (spec.converged) {
    slotPorts.forEach((p, i) => {
      const wwn = (kind: number) => [kind, 0x00, 0x00, 0x0e, 0x1e, (index >> 8) & 0xff, index & 0xff, i + 1].map(hex2).join(":");
      p.capabilities = ["Ethernet", "iSCSI", "FibreChannel"];
      p.netDevFuncTypes = ["Ethernet", "FibreChannel"];
      p.bootModes = ["Disabled", "PXE", "iSCSI", "FibreChannel"];
      p.fc = { permanentWwpn: wwn(0x10), permanentWwnn: wwn(0x20), wwpn: wwn(0x10), wwnn: wwn(0x20), wwnSource: "ConfiguredLocally", bootTargets: [] };
    });
  }
  if (operator) {
    // An operator's own iSCSI boot set up on port 2 (not booting it now): not sanboot's to touch.
    slotPorts[1]!.iscsiBoot = {
      ...slotPorts[1]!.iscsiBoot,
      IPAddressType: "IPv4",
      InitiatorName: "iqn.1998-01.com.example.ops:rescue-initiator",
      IPMaskDNSViaDHCP: false,
      InitiatorIPAddress: "198.51.100.20",
      InitiatorNetmask: "255.255.255.0",
      InitiatorDefaultGateway: "198.51.100.1",
      PrimaryTargetName: "iqn.1998-01.com.example.ops:rescue-image",
      PrimaryTargetIPAddress: "198.51.100.5",
      PrimaryTargetTCPPort: 3260,
      PrimaryLUN: 7,
      AuthenticationMethod: "CHAP",
      CHAPUsername: "ops-rescue",
      CHAPSecret: "ops-rescue-secret",
    };
  }
  const dpuMac = macFor(0x30, index, 1);
  const override = spec.bootOverride ?? (operator ? { target: "Pxe", enabled: "Once" as const, mode: "UEFI" as const } : { target: "None", enabled: "Disabled" as const });
  return {
    id: spec.id ?? `lab-node-${index + 1}`,
    index,
    username: spec.username,
    password: spec.password,
    linkChassis: (spec.linkChassis ?? true) && spec.links !== "interfaces",
    links: spec.links ?? "all",
    weakEtags: spec.weakEtags ?? false,
    flavour,
    hpe:
      flavour === "hpe"
        ? {
            initiatorName: null,
            nicSources: ["NicBoot1", "NicBoot2"],
            sources: [1, 2, 3, 4].map(blankAttempt),
            pending: null,
            version: 0,
            settings: { applyTimes: [], version: 0, messages: [], appliedAt: null },
          }
        : null,
    jobs: [],
    inFlight: 0,
    power: spec.powerState ?? "Off",
    bootProgress: spec.powerState === "On" ? "OSRunning" : "None",
    bootProgressAt: new Date().toISOString(),
    lastResetAt: null,
    boot: { target: override.target, enabled: override.enabled, mode: override.mode ?? "UEFI", uefiTarget: null },
    bootTargets: spec.bootTargets ?? [...(flavour === "dell" ? DELL_BOOT_TARGETS : flavour === "hpe" ? HPE_BOOT_TARGETS : DEFAULT_BOOT_TARGETS)],
    resetTypes: spec.resetTypes ?? [...DEFAULT_RESET_TYPES],
    adapters: [
      ...(operator
        ? [
            {
              // A DPU in the chassis, first in its list: its iSCSI-capable port is the DPU's, not the system's.
              id: "DPU.Slot.1",
              model: "Lab DPU 2x100GbE",
              foreign: true,
              functions: [
                {
                  id: "DPU.Slot.1-1-1",
                  adapterId: "DPU.Slot.1",
                  netDevFuncType: "Ethernet",
                  capabilities: ["Ethernet", "iSCSI"],
                  bootModes: ["Disabled", "PXE", "iSCSI"],
                  bootMode: "Disabled",
                  mac: dpuMac,
                  permanentMac: dpuMac,
                  iscsiBoot: blankIscsiBoot(),
                  pending: null,
                  version: 0,
                } satisfies FunctionState,
              ],
            },
          ]
        : []),
      {
        // An on-board port that can PXE but not iSCSI: "first function" is not "first iSCSI function".
        id: "NIC.Embedded.1",
        model: "Lab 1GbE LOM",
        functions: [
          {
            id: "NIC.Embedded.1-1-1",
            adapterId: "NIC.Embedded.1",
            netDevFuncType: "Ethernet",
            capabilities: ["Ethernet"],
            bootModes: ["Disabled", "PXE"],
            bootMode: "PXE",
            mac: embeddedMac,
            permanentMac: embeddedMac,
            iscsiBoot: blankIscsiBoot(),
            pending: null,
            version: 0,
          },
        ],
      },
      { id: `NIC.Slot.${slot}`, model: "Lab 25GbE 2P iSCSI", functions: slotPorts },
      ...(fcCount > 0
        ? [{ id: `FC.Slot.${slot + 4}`, model: "Lab 32Gb FC HBA", functions: Array.from({ length: fcCount }, (_, i) => fcPort(i + 1)) }]
        : []),
    ],
    version: 0,
    faults: noFaults(),
    counters: { requests: 0, patches: 0, resets: 0 },
    patches: [],
    resets: [],
    boots: [],
    timers: new Set(),
  };
}

export function blankAttempt(instance: number): HpeAttempt {
  return {
    iSCSIAttemptInstance: instance,
    iSCSIAttemptName: null,
    iSCSINicSource: null,
    iSCSIConnection: "Disabled",
    iSCSIIpAddressType: "IPv4",
    iSCSIInitiatorInfoViaDHCP: true,
    iSCSIInitiatorIpAddress: null,
    iSCSIInitiatorNetmask: null,
    iSCSIInitiatorGateway: null,
    iSCSITargetInfoViaDHCP: false,
    iSCSITargetName: null,
    iSCSITargetIpAddress: null,
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

/** The system's own functions (a foreign adapter's are its device's, not the system's). */
export function allFunctions(sys: SystemState): FunctionState[] {
  return sys.adapters.filter((a) => !a.foreign).flatMap((a) => a.functions);
}

/** Every function in the system's chassis, its own and foreign ones. */
export function chassisFunctions(sys: SystemState): FunctionState[] {
  return sys.adapters.flatMap((a) => a.functions);
}

const hex2 = (x: number) => x.toString(16).padStart(2, "0").toUpperCase();

export function findFunction(sys: SystemState, adapterId: string, functionId: string): FunctionState | undefined {
  return sys.adapters.find((a) => a.id === adapterId)?.functions.find((f) => f.id === functionId);
}

export function normaliseMac(mac: string): string {
  const hex = mac.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
  if (hex.length !== 12) throw new Error(`not a MAC address: ${mac}`);
  return hex.match(/../g)!.join(":");
}

function macFor(prefix: number, index: number, port: number): string {
  const b = [0x52, 0x54, prefix, (index >> 8) & 0xff, index & 0xff, port];
  return b.map((x) => x.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

function nextMac(mac: string, by: number): string {
  const n = BigInt(`0x${mac.replace(/:/g, "")}`) + BigInt(by);
  return normaliseMac(n.toString(16).padStart(12, "0").slice(-12));
}
