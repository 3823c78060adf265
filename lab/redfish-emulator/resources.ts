/**
 * Renders the Redfish resources every flavour has as JSON bodies, shaped after the DMTF schema
 * (ServiceRoot, ComputerSystem and its BootOptions, Manager, Chassis, NetworkAdapter,
 * NetworkDeviceFunction and their collections). Vendor-only resources are in vendor-resources.ts.
 * ETags are added by the router from the body and the resource's write version.
 */
import type { BootOptionEntry } from "./boot-options";
import { uefiTargets } from "./boot-options";
import { traits } from "./flavours";
import { isSecret } from "./iscsi-fields";
import type { AdapterState, FunctionState, SystemState } from "./model";
import { settingsAnnotation } from "./staging";
import { uris } from "./uris";

export { uris } from "./uris";

export type Body = Record<string, unknown>;

const V1 = "/redfish/v1";

/**
 * The ServiceRoot names a vendor only when every system behind this emulator has that vendor (a
 * mixed lab has no single vendor: clients must then ask each system's Manager).
 */
export function serviceRoot(systems: SystemState[] = []): Body {
  const vendors = new Set(systems.map((s) => traits(s.flavour).vendor?.name));
  const only = vendors.size === 1 ? traits(systems[0]!.flavour).vendor : null;
  return {
    ...(only ? { Vendor: only.name, Product: only.product, Oem: { [only.oem]: {} } } : {}),
    Managers: { "@odata.id": `${V1}/Managers` },
    "@odata.id": `${V1}/`,
    "@odata.type": "#ServiceRoot.v1_15_0.ServiceRoot",
    Id: "RootService",
    Name: "Root Service",
    RedfishVersion: "1.17.0",
    UUID: "5a9c0a1e-6b1d-4c55-9c1f-1ab0c0ffee00",
    Systems: { "@odata.id": `${V1}/Systems` },
    Chassis: { "@odata.id": `${V1}/Chassis` },
    TaskService: { "@odata.id": `${V1}/TaskService` },
    Links: { Sessions: { "@odata.id": `${V1}/SessionService/Sessions` } },
  };
}

export function collection(uri: string, type: string, name: string, members: string[]): Body {
  return {
    "@odata.id": uri,
    "@odata.type": `#${type}Collection.${type}Collection`,
    Name: name,
    Members: members.map((m) => ({ "@odata.id": m })),
    "Members@odata.count": members.length,
  };
}

/** The override as the system (or iDRAC10's settings object) renders it. */
function bootOverride(s: SystemState): Body {
  const t = traits(s.flavour);
  return {
    BootSourceOverrideEnabled: s.boot.enabled,
    "BootSourceOverrideEnabled@Redfish.AllowableValues": ["Disabled", "Once", "Continuous"],
    BootSourceOverrideTarget: s.boot.target,
    "BootSourceOverrideTarget@Redfish.AllowableValues": s.bootTargets,
    ...(t.overrideMode ? { BootSourceOverrideMode: s.boot.mode, "BootSourceOverrideMode@Redfish.AllowableValues": ["Legacy", "UEFI"] } : {}),
    UefiTargetBootSourceOverride: s.boot.uefiTarget,
    ...(t.publishesUefiTargets ? { "UefiTargetBootSourceOverride@Redfish.AllowableValues": uefiTargets(s) } : {}),
    BootNext: s.boot.bootNext,
  };
}

export function computerSystem(s: SystemState): Body {
  return {
    "@odata.id": uris.system(s),
    "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
    Id: s.id,
    Name: `Lab server ${s.id}`,
    SystemType: "Physical",
    Manufacturer: "sanboot lab",
    Model: "Redfish emulator",
    SerialNumber: `LAB${String(s.index + 1).padStart(5, "0")}`,
    PowerState: s.power,
    BootProgress: { LastState: s.bootProgress, LastStateTime: s.bootProgressAt },
    LastResetTime: s.lastResetAt,
    ...(s.links !== "chassis" ? { NetworkInterfaces: { "@odata.id": uris.interfaces(s) } } : {}),
    ...(s.flavour === "hpe" ? { EthernetInterfaces: { "@odata.id": uris.ethernetInterfaces(s) } } : {}),
    Boot: { ...bootOverride(s), BootOptions: { "@odata.id": uris.bootOptions(s) } },
    ...(s.bios ? { Bios: { "@odata.id": uris.bios(s) } } : {}),
    ...(s.machine ? { LogServices: { "@odata.id": uris.logServices(s) } } : {}),
    ...(s.settings ? { "@Redfish.Settings": settingsAnnotation(s.settings, uris.systemSettings(s)) } : {}),
    Actions: {
      "#ComputerSystem.Reset": {
        target: uris.reset(s),
        "ResetType@Redfish.AllowableValues": s.resetTypes,
      },
    },
    Links: { ...(s.linkChassis ? { Chassis: [{ "@odata.id": uris.chassis(s) }] } : {}), ManagedBy: [{ "@odata.id": uris.manager(s) }] },
    Status: { State: "Enabled", Health: "OK" },
  };
}

/** iDRAC10's Systems/{id}/Settings: the Boot override as set (it applies at once). */
export function systemSettings(s: SystemState): Body {
  const { "BootSourceOverrideTarget@Redfish.AllowableValues": _t, "BootSourceOverrideEnabled@Redfish.AllowableValues": _e, ...boot } = bootOverride(s);
  return {
    "@odata.id": uris.systemSettings(s),
    "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
    Id: "Settings",
    Name: `Settings of ${s.id}`,
    Boot: boot,
  };
}

export function bootOption(s: SystemState, o: BootOptionEntry): Body {
  return {
    "@odata.id": uris.bootOption(s, o.ref),
    "@odata.type": "#BootOption.v1_0_4.BootOption",
    Id: o.ref,
    Name: o.displayName,
    BootOptionReference: o.ref,
    DisplayName: o.displayName,
    UefiDevicePath: o.path,
    BootOptionEnabled: true,
  };
}

export function manager(s: SystemState): Body {
  const common = { "@odata.id": uris.manager(s), "@odata.type": "#Manager.v1_17_0.Manager", ManagerType: "BMC", Status: { State: "Enabled", Health: "OK" } };
  const idrac = traits(s.flavour).idrac;
  if (idrac !== null) {
    return {
      ...common, Id: "iDRAC.Embedded.1", Name: "Manager",
      ...(idrac === 10 ? { Model: "17G Monolithic", FirmwareVersion: "1.20.25.00" } : { Model: "14G Monolithic", FirmwareVersion: "6.10.30.00" }),
      Links: { Oem: { Dell: { DellLCService: { "@odata.id": uris.lcService() } } } },
      Oem: { Dell: { DelliDRACCard: { IPMIVersion: "2.0" } } },
    };
  }
  const id = uris.manager(s).split("/").pop();
  switch (s.flavour) {
    case "hpe":
      return { ...common, Id: "1", Name: "Manager", Model: "iLO 5", FirmwareVersion: "iLO 5 v2.78", Oem: { Hpe: { Firmware: { Current: { VersionString: "iLO 5 v2.78" } } } } };
    case "lenovo":
      return { ...common, Id: id, Name: "Manager", Manufacturer: "Lenovo", Model: "XClarity Controller", FirmwareVersion: "TGBT58O 5.10", Oem: { Lenovo: { release_name: "XCC" } } };
    case "supermicro":
      return { ...common, Id: id, Name: "Manager", Manufacturer: "Supermicro", Model: "X13DEM", FirmwareVersion: "01.04.08" };
    default:
      return { ...common, Id: id, Name: "Lab BMC", Manufacturer: "sanboot lab", Model: "Redfish emulator", FirmwareVersion: "1.0.0" };
  }
}

export function chassis(s: SystemState): Body {
  return {
    "@odata.id": uris.chassis(s),
    "@odata.type": "#Chassis.v1_21_0.Chassis",
    Id: s.id,
    Name: `Chassis of ${s.id}`,
    ChassisType: "RackMount",
    NetworkAdapters: { "@odata.id": uris.adapters(s) },
    Links: s.links === "interfaces" ? {} : { ComputerSystems: [{ "@odata.id": uris.system(s) }] },
    Status: { State: "Enabled", Health: "OK" },
  };
}

export function networkAdapter(s: SystemState, a: AdapterState): Body {
  return {
    "@odata.id": uris.adapter(s, a),
    "@odata.type": "#NetworkAdapter.v1_9_0.NetworkAdapter",
    Id: a.id,
    Name: a.model,
    Manufacturer: "sanboot lab",
    Model: a.model,
    NetworkDeviceFunctions: { "@odata.id": uris.functions(s, a) },
    Status: { State: "Enabled", Health: "OK" },
  };
}

/** NetworkInterface: the system's view of one of its own adapters. */
export function networkInterface(s: SystemState, a: AdapterState): Body {
  return {
    "@odata.id": uris.iface(s, a),
    "@odata.type": "#NetworkInterface.v1_2_3.NetworkInterface",
    Id: a.id,
    Name: `${a.model} interface`,
    Links: { NetworkAdapter: { "@odata.id": uris.adapter(s, a) } },
    NetworkDeviceFunctions: { "@odata.id": uris.ifaceFunctions(s, a) },
    Status: { State: "Enabled", Health: "OK" },
  };
}

const hideSecrets = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isSecret(k) ? null : x]));

export function networkDeviceFunction(s: SystemState, f: FunctionState): Body {
  return {
    "@odata.id": uris.fn(s, { id: f.adapterId }, f),
    "@odata.type": "#NetworkDeviceFunction.v1_9_0.NetworkDeviceFunction",
    Id: f.id,
    Name: `Network Device Function ${f.id}`,
    NetDevFuncType: f.netDevFuncType,
    ...(f.netDevFuncTypes ? { "NetDevFuncType@Redfish.AllowableValues": f.netDevFuncTypes } : {}),
    NetDevFuncCapabilities: f.capabilities,
    DeviceEnabled: true,
    BootMode: f.bootMode,
    "BootMode@Redfish.AllowableValues": f.bootModes,
    ...(f.mac && f.fc ? { Ethernet: { MACAddress: f.mac, PermanentMACAddress: f.permanentMac, MTUSize: 1500 } } : {}),
    ...(f.fc
      ? {
          FibreChannel: {
            PermanentWWPN: f.fc.permanentWwpn,
            PermanentWWNN: f.fc.permanentWwnn,
            WWPN: f.fc.wwpn,
            WWNN: f.fc.wwnn,
            WWNSource: f.fc.wwnSource,
            FibreChannelId: `0x${(0x010100 + f.version).toString(16)}`,
            BootTargets: f.fc.bootTargets,
          },
        }
      : { Ethernet: { MACAddress: f.mac, PermanentMACAddress: f.permanentMac, MTUSize: 1500 } }),
    // Secrets are write-only: a GET answers null for them, as real BMCs do.
    ...(f.capabilities.includes("iSCSI") ? { iSCSIBoot: hideSecrets(f.iscsiBoot) } : {}),
    ...(f.hpeBootTargetSource !== undefined ? { Oem: { Hpe: { BootTargetSource: f.hpeBootTargetSource } } } : {}),
    ...(f.settings?.path === "Settings" ? { "@Redfish.Settings": settingsAnnotation(f.settings, uris.fnSettings(s, f)) } : {}),
    Status: { State: "Enabled", Health: "OK" },
  };
}

/** A function's settings (or XCC pending) object: the staged changes only, secrets null. */
export function functionSettings(s: SystemState, f: FunctionState): Body {
  const p = f.pending;
  const path = f.settings?.path ?? "Settings";
  return {
    "@odata.id": uris.fnSettings(s, f),
    "@odata.type": "#NetworkDeviceFunction.v1_9_0.NetworkDeviceFunction",
    Id: path,
    Name: `${path} settings of ${f.id}`,
    ...(p?.bootMode !== undefined ? { BootMode: p.bootMode } : {}),
    ...(p?.netDevFuncType !== undefined ? { NetDevFuncType: p.netDevFuncType } : {}),
    ...(p?.iscsiBoot ? { iSCSIBoot: hideSecrets(p.iscsiBoot) } : {}),
    ...(p?.bootTargets ? { FibreChannel: { BootTargets: p.bootTargets } } : {}),
    ...(p?.hpeBootTargetSource !== undefined ? { Oem: { Hpe: { BootTargetSource: p.hpeBootTargetSource } } } : {}),
  };
}
