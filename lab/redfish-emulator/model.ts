/**
 * The state of one emulated server as its BMC sees it. Everything the HTTP layer answers is
 * rendered from this; everything a PATCH or an action changes is changed here.
 *
 * Ids are generated per system (adapter `NIC.Slot.<n>`, function `NIC.Slot.<n>-<port>-1`, with
 * <n> varying between systems) so a client that hard-codes ids fails against the lab, as it
 * would against a real fleet.
 */
import { blankIscsiBoot, type IscsiBootValues } from "./iscsi-fields";

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
  /** answer weak ETags (W/"...") as some BMCs do */
  weakEtags?: boolean;
}

export interface FunctionState {
  id: string;
  adapterId: string;
  netDevFuncType: string;
  capabilities: string[];
  bootModes: string[];
  bootMode: string;
  mac: string;
  permanentMac: string;
  iscsiBoot: IscsiBootValues;
  /** bumped on every write: part of the ETag, so a write always changes it */
  version: number;
}

export interface AdapterState {
  id: string;
  model: string;
  functions: FunctionState[];
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
}

export interface PatchRecord {
  at: string;
  path: string;
  body: unknown;
  status: number;
}

export interface BootRecord {
  at: string;
  override: { target: string; mode: string } | null;
  /** iSCSIBoot of the functions whose BootMode was iSCSI at that boot (secrets included) */
  iscsi: Array<{ functionId: string; mac: string; iscsiBoot: IscsiBootValues }>;
}

export interface SystemState {
  id: string;
  index: number;
  username: string | undefined;
  password: string | undefined;
  linkChassis: boolean;
  weakEtags: boolean;
  power: PowerState;
  bootProgress: string;
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
  return { latencyMs: 0, failNext: 0, failStatus: 503, dropNext: 0, etagMismatchOnce: false };
}

export function createSystem(spec: SystemSpec, index: number): SystemState {
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
      version: 0,
    };
  };
  const embeddedMac = macFor(0x20, index, 1);
  return {
    id: spec.id ?? `lab-node-${index + 1}`,
    index,
    username: spec.username,
    password: spec.password,
    linkChassis: spec.linkChassis ?? true,
    weakEtags: spec.weakEtags ?? false,
    power: spec.powerState ?? "Off",
    bootProgress: spec.powerState === "On" ? "OSRunning" : "None",
    boot: { target: "None", enabled: "Disabled", mode: "UEFI", uefiTarget: null },
    bootTargets: spec.bootTargets ?? [...DEFAULT_BOOT_TARGETS],
    resetTypes: spec.resetTypes ?? [...DEFAULT_RESET_TYPES],
    adapters: [
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
            version: 0,
          },
        ],
      },
      { id: `NIC.Slot.${slot}`, model: "Lab 25GbE 2P iSCSI", functions: [port(1), port(2)] },
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
