/**
 * Builds one emulated system from its spec.
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
import { dellBiosDefaults } from "./dell-bios";
import { traits } from "./flavours";
import { hpeBiosDefaults } from "./hpe-bios";
import { blankAttempt } from "./hpe-iscsi";
import { blankIscsiBoot } from "./iscsi-fields";
import {
  DEFAULT_RESET_TYPES, ZERO_WWPN, newSettings, noFaults, normaliseMac,
  type BiosState, type FcState, type FunctionState, type SystemSpec, type SystemState, type Timing,
} from "./model";

const hex2 = (x: number) => x.toString(16).padStart(2, "0").toUpperCase();

export function createSystem(spec: SystemSpec, index: number, timing: Timing): SystemState {
  const flavour = spec.flavour ?? "generic";
  const t = traits(flavour);
  const isDell = t.idrac !== null;
  const applyTimes = spec.applyTimes ?? [...t.applyTimes];
  const settings = () =>
    t.nicWrites === "settings" ? newSettings(applyTimes) : t.nicWrites === "pending" ? newSettings([], "Pending") : undefined;
  const slot = (index % 4) + 1;
  const slotMac = normaliseMac(spec.mac ?? macFor(0x10, index, 1));
  const blank = () => blankIscsiBoot(t.iscsiBlank);
  const fcState = (wwn: (kind: number) => string, targets: FcState["bootTargets"]): FcState => ({
    permanentWwpn: wwn(0x10), permanentWwnn: wwn(0x20), wwpn: wwn(0x10), wwnn: wwn(0x20), wwnSource: "ConfiguredLocally", bootTargets: targets,
  });
  const iscsiOnNic = t.san && !spec.dellBiosIscsi;
  const port = (n: number): FunctionState => {
    const mac = n === 1 ? slotMac : nextMac(slotMac, n - 1);
    return {
      id: `NIC.Slot.${slot}-${n}-1`,
      adapterId: `NIC.Slot.${slot}`,
      netDevFuncType: "Ethernet",
      capabilities: iscsiOnNic ? ["Ethernet", "iSCSI"] : ["Ethernet"],
      bootModes: iscsiOnNic ? ["Disabled", "PXE", "iSCSI"] : ["Disabled", "PXE"],
      bootMode: "Disabled",
      mac,
      permanentMac: mac,
      pciPath: `PciRoot(0x0)/Pci(0x1C,0x0)/Pci(0x0,0x${(n - 1).toString(16)})`,
      iscsiBoot: blank(),
      settings: settings(),
      pending: null,
      version: 0,
    };
  };
  const fcPort = (n: number): FunctionState => {
    const wwn = (kind: number) => [kind, 0x00, 0x00, 0x10, 0x9b, (index >> 8) & 0xff, index & 0xff, n].map(hex2).join(":");
    // iDRAC shows an HBA's boot targets as two fixed slots, unused ones zeroed.
    const slots = isDell ? [0, 1].map((p) => ({ WWPN: ZERO_WWPN, LUNID: "0", BootPriority: p })) : [];
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
      pciPath: `PciRoot(0x0)/Pci(0x3,0x0)/Pci(0x0,0x${(n - 1).toString(16)})`,
      iscsiBoot: blank(),
      fc: fcState(wwn, slots),
      ...(isDell ? { fcSlots: 2 } : {}),
      ...(flavour === "hpe" ? { hpeBootTargetSource: "UEFI" } : {}),
      settings: settings(),
      pending: null,
      version: 0,
    };
  };
  const fcCount = t.san ? (spec.fcPorts ?? 0) : 0;
  const embeddedMac = macFor(0x20, index, 1);
  const operator = spec.operatorConfig ?? true;
  const slotPorts = [port(1), port(2)];
  if (spec.converged && t.san) {
    slotPorts.forEach((p, i) => {
      const wwn = (kind: number) => [kind, 0x00, 0x00, 0x0e, 0x1e, (index >> 8) & 0xff, index & 0xff, i + 1].map(hex2).join(":");
      p.capabilities = [...p.capabilities, "FibreChannel"];
      p.netDevFuncTypes = ["Ethernet", "FibreChannel"];
      p.bootModes = [...p.bootModes, "FibreChannel"];
      p.fc = fcState(wwn, []);
      if (flavour === "hpe") p.hpeBootTargetSource = "UEFI";
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
  // XCC has no iSCSI BootMode switch: a function with a target boots iSCSI (the operator's too).
  if (t.nicWrites === "pending") for (const p of slotPorts) if (p.iscsiBoot.PrimaryTargetName) p.bootMode = "iSCSI";
  const dpuMac = macFor(0x30, index, 1);
  const override = spec.bootOverride ?? (operator ? { target: "Pxe", enabled: "Once" as const, mode: "UEFI" as const } : { target: "None", enabled: "Disabled" as const });
  const bootTargets = [...(spec.bootTargets ?? t.bootTargets)];
  if (spec.remoteDrive && !bootTargets.includes("RemoteDrive")) bootTargets.push("RemoteDrive");
  return {
    id: spec.id ?? `lab-node-${index + 1}`,
    index,
    username: spec.username,
    password: spec.password,
    linkChassis: (spec.linkChassis ?? true) && spec.links !== "interfaces",
    links: spec.links ?? "all",
    weakEtags: spec.weakEtags ?? false,
    flavour,
    timing,
    hpe:
      flavour === "hpe"
        ? {
            initiatorName: null,
            nicSources: ["NicBoot1", "NicBoot2"],
            // iLO's mappings do not follow the function list: NicBoot1 drives the slot's port 2.
            nicPorts: { NicBoot1: slotPorts[1]!.id, NicBoot2: slotPorts[0]!.id },
            sources: [1, 2, 3, 4].map(() => blankAttempt()),
            pending: null,
            version: 0,
            settings: newSettings([]),
          }
        : null,
    bios: biosFor(spec, slotPorts, applyTimes),
    settings: flavour === "dell10" ? newSettings(["OnReset"]) : null,
    jobs: [],
    inFlight: 0,
    power: spec.powerState ?? "Off",
    bootProgress: spec.powerState === "On" ? "OSRunning" : "None",
    bootProgressAt: new Date().toISOString(),
    lastResetAt: null,
    boot: { target: override.target, enabled: override.enabled, mode: override.mode ?? "UEFI", uefiTarget: t.initialUefiTarget, bootNext: null },
    bootRefs: new Map(),
    bootTargets,
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
                  capabilities: t.san ? ["Ethernet", "iSCSI"] : ["Ethernet"],
                  bootModes: t.san ? ["Disabled", "PXE", "iSCSI"] : ["Disabled", "PXE"],
                  bootMode: "Disabled",
                  mac: dpuMac,
                  permanentMac: dpuMac,
                  pciPath: "PciRoot(0x0)/Pci(0x2,0x0)/Pci(0x0,0x0)",
                  iscsiBoot: blank(),
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
            pciPath: "PciRoot(0x0)/Pci(0x1D,0x0)/Pci(0x0,0x0)",
            iscsiBoot: blank(),
            pending: null,
            version: 0,
          },
        ],
      },
      { id: `NIC.Slot.${slot}`, model: t.san ? "Lab 25GbE 2P iSCSI" : "Lab 25GbE 2P", functions: slotPorts },
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
    powerTimer: null,
    machine: null,
  };
}

/** Dell and HPE BIOS attributes with a settings object; Supermicro's read-only registry names. */
function biosFor(spec: SystemSpec, slotPorts: FunctionState[], applyTimes: string[]): BiosState | null {
  const flavour = spec.flavour ?? "generic";
  const bios = (attributes: BiosState["attributes"], withSettings: boolean, times: string[] = []): BiosState => ({
    attributes, pending: null, settings: withSettings ? newSettings(times) : null, version: 0,
  });
  if (flavour === "dell" || flavour === "dell10") return bios(dellBiosDefaults(slotPorts.map((p) => p.id), spec.dellBiosIscsi === true), true, applyTimes);
  if (flavour === "hpe") return bios(hpeBiosDefaults(spec.hpeBios), true);
  if (flavour === "supermicro") return bios({ QuietBoot_0027: "Enabled", BootModeSelect_0048: "UEFI", IPv4PXESupport_0195: "Enabled", SecureBoot_002A: "Disabled" }, false);
  return null;
}

function macFor(prefix: number, index: number, port: number): string {
  const b = [0x52, 0x54, prefix, (index >> 8) & 0xff, index & 0xff, port];
  return b.map(hex2).join(":");
}

function nextMac(mac: string, by: number): string {
  const n = BigInt(`0x${mac.replace(/:/g, "")}`) + BigInt(by);
  return normaliseMac(n.toString(16).padStart(12, "0").slice(-12));
}
