/**
 * iLO's BIOS side of UEFI iSCSI: the attributes that gate it (BootMode, iSCSIPolicy, NicBootN),
 * written through Bios/Settings and applied at POST, and the BIOS mappings that say which port
 * a NicBootN is. The mappings deliberately do not follow the function list (NicBoot1 is the
 * slot's second port), so a client must read them instead of counting.
 */
import { stageBios } from "./bios";
import type { BiosValue, SystemState } from "./model";
import { allFunctions } from "./model";
import { isObject } from "./json";
import { msg, type ExtendedInfo } from "./redfish-errors";
import type { StageOutcome } from "./staging";
import { resetRequired } from "./hpe-iscsi";
import { uris } from "./uris";

const ENUMS: Record<string, readonly string[]> = {
  BootMode: ["Uefi", "LegacyBios"],
  iSCSIPolicy: ["SoftwareInitiator", "Disabled"],
  NicBoot1: ["NetworkBoot", "Disabled"],
  NicBoot2: ["NetworkBoot", "Disabled"],
};

export function hpeBiosDefaults(overrides: Record<string, string> = {}): Record<string, BiosValue> {
  return { BootMode: "Uefi", iSCSIPolicy: "SoftwareInitiator", NicBoot1: "NetworkBoot", NicBoot2: "Disabled", ...overrides };
}

/** PATCH of Bios/Settings {Attributes}: 200 and "system reset required", applied at POST. */
export function stageHpeBios(sys: SystemState, body: Record<string, unknown>): StageOutcome {
  const bios = sys.bios!;
  const problems: ExtendedInfo[] = [];
  const attrs: Record<string, BiosValue> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k.includes("@")) continue;
    if (k !== "Attributes") {
      problems.push(msg.propertyUnknown(k));
      continue;
    }
    if (!isObject(v)) {
      problems.push(msg.propertyValueTypeError(k, v));
      continue;
    }
    for (const [name, value] of Object.entries(v)) {
      const path = `Attributes.${name}`;
      const allowed = ENUMS[name];
      if (!(name in bios.attributes)) problems.push(msg.propertyUnknown(path));
      else if (typeof value !== "string") problems.push(msg.propertyValueTypeError(path, value));
      else if (allowed && !allowed.includes(value)) problems.push(msg.propertyValueNotInList(path, value));
      else attrs[name] = value;
    }
  }
  if (problems.length > 0) return { ok: false, messages: problems };
  return {
    ok: true,
    apply: () => {
      stageBios(bios, attrs);
      return { status: 200, body: resetRequired() };
    },
  };
}

/** The slot NIC's ports in function order, with the NicBootN each is mapped to. */
function mappedPorts(sys: SystemState) {
  const hpe = sys.hpe!;
  const byId = Object.fromEntries(Object.entries(hpe.nicPorts).map(([source, id]) => [id, source]));
  return allFunctions(sys)
    .filter((f) => f.capabilities.includes("iSCSI"))
    .map((f, i) => ({ fn: f, n: i + 1, source: byId[f.id] }));
}

export function biosMappings(sys: SystemState): Record<string, unknown> {
  const ports = mappedPorts(sys);
  const adapterPath = ports[0]?.fn.pciPath.replace(/\/Pci\(0x0,0x[0-9a-f]+\)$/, "") ?? "";
  return {
    "@odata.id": uris.biosMappings(sys),
    "@odata.type": "#HpeBiosMapping.v2_0_0.HpeBiosMapping",
    Id: "Mappings",
    Name: "BIOS mappings",
    BiosPciSettingsMappings: [
      {
        Instance: 1,
        CorrelatableID: adapterPath,
        Associations: ["Slot1Enable"],
        Subinstances: ports.map((p) => ({
          Subinstance: p.n,
          CorrelatableID: p.fn.pciPath,
          Associations: [{ PreBootNetwork: `Slot1NicPort${p.n}` }, ...(p.source ? [p.source] : [])],
        })),
      },
    ],
  };
}

/** Systems/{id}/EthernetInterfaces: one per iSCSI-capable port, its UEFI path the mapping's id. */
export function ethernetInterfaceIds(sys: SystemState): string[] {
  return mappedPorts(sys).map((p) => String(p.n));
}

export function ethernetInterface(sys: SystemState, id: string): Record<string, unknown> | undefined {
  const p = mappedPorts(sys).find((x) => String(x.n) === id);
  if (!p) return undefined;
  return {
    "@odata.id": uris.ethernetInterface(sys, id),
    "@odata.type": "#EthernetInterface.v1_4_1.EthernetInterface",
    Id: id,
    Name: `Network port ${p.fn.id}`,
    MACAddress: p.fn.mac,
    PermanentMACAddress: p.fn.permanentMac,
    UefiDevicePath: p.fn.pciPath,
    LinkStatus: "LinkUp",
    Status: { State: "Enabled", Health: "OK" },
  };
}
