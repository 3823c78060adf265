/**
 * Renders the Redfish resources of the emulated systems as JSON bodies, shaped after the DMTF
 * schema (ServiceRoot, ComputerSystem, Chassis, NetworkAdapter, NetworkDeviceFunction and their
 * collections). ETags are added by the server from the body and the resource's write version.
 */
import { isSecret } from "./iscsi-fields";
import type { AdapterState, FunctionState, Job, SystemState } from "./model";
import { renderAttempt, settingsAnnotation, taskUri, uefiTargets } from "./settings";

export type Body = Record<string, unknown>;

const V1 = "/redfish/v1";

export const uris = {
  system: (s: SystemState) => `${V1}/Systems/${s.id}`,
  reset: (s: SystemState) => `${V1}/Systems/${s.id}/Actions/ComputerSystem.Reset`,
  chassis: (s: SystemState) => `${V1}/Chassis/${s.id}`,
  adapters: (s: SystemState) => `${V1}/Chassis/${s.id}/NetworkAdapters`,
  adapter: (s: SystemState, a: AdapterState) => `${V1}/Chassis/${s.id}/NetworkAdapters/${a.id}`,
  functions: (s: SystemState, a: AdapterState) => `${uris.adapter(s, a)}/NetworkDeviceFunctions`,
  fn: (s: SystemState, a: { id: string }, f: FunctionState) =>
    `${V1}/Chassis/${s.id}/NetworkAdapters/${a.id}/NetworkDeviceFunctions/${f.id}`,
  fnSettings: (s: SystemState, f: FunctionState) => `${uris.fn(s, { id: f.adapterId }, f)}/Settings`,
  manager: (s: SystemState) =>
    `${V1}/Managers/${s.flavour === "dell" ? "iDRAC.Embedded.1" : s.flavour === "hpe" ? "1" : `BMC-${s.id}`}`,
  bios: (s: SystemState) => `${V1}/Systems/${s.id}/Bios`,
  hpeIscsi: (s: SystemState) => `${V1}/Systems/${s.id}/Bios/iScsi`,
  hpeIscsiSettings: (s: SystemState) => `${V1}/Systems/${s.id}/Bios/iScsi/Settings`,
  interfaces: (s: SystemState) => `${V1}/Systems/${s.id}/NetworkInterfaces`,
  iface: (s: SystemState, a: AdapterState) => `${V1}/Systems/${s.id}/NetworkInterfaces/${a.id}`,
  ifaceFunctions: (s: SystemState, a: AdapterState) => `${V1}/Systems/${s.id}/NetworkInterfaces/${a.id}/NetworkDeviceFunctions`,
};

const VENDOR = { dell: { Vendor: "Dell", Product: "Integrated Dell Remote Access Controller", oem: "Dell" }, hpe: { Vendor: "HPE", Product: "ProLiant DL360 Gen10", oem: "Hpe" } } as const;

/**
 * The ServiceRoot names a vendor only when every system behind this emulator has that flavour (a
 * mixed lab has no single vendor: clients must then ask each system's Manager).
 */
export function serviceRoot(systems: SystemState[] = []): Body {
  const flavours = new Set(systems.map((s) => s.flavour));
  const only = flavours.size === 1 ? [...flavours][0] : undefined;
  const vendor = only === "dell" || only === "hpe" ? VENDOR[only] : undefined;
  return {
    ...(vendor ? { Vendor: vendor.Vendor, Product: vendor.Product, Oem: { [vendor.oem]: {} } } : {}),
    Managers: { "@odata.id": `${V1}/Managers` },
    "@odata.id": `${V1}/`,
    "@odata.type": "#ServiceRoot.v1_15_0.ServiceRoot",
    Id: "RootService",
    Name: "Root Service",
    RedfishVersion: "1.17.0",
    UUID: "5a9c0a1e-6b1d-4c55-9c1f-1ab0c0ffee00",
    Systems: { "@odata.id": `${V1}/Systems` },
    Chassis: { "@odata.id": `${V1}/Chassis` },
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
    Boot: {
      BootSourceOverrideEnabled: s.boot.enabled,
      "BootSourceOverrideEnabled@Redfish.AllowableValues": ["Disabled", "Once", "Continuous"],
      BootSourceOverrideTarget: s.boot.target,
      "BootSourceOverrideTarget@Redfish.AllowableValues": s.bootTargets,
      BootSourceOverrideMode: s.boot.mode,
      "BootSourceOverrideMode@Redfish.AllowableValues": ["Legacy", "UEFI"],
      UefiTargetBootSourceOverride: s.boot.uefiTarget,
      ...(s.flavour === "dell" || s.flavour === "hpe" ? { "UefiTargetBootSourceOverride@Redfish.AllowableValues": uefiTargets(s) } : {}),
    },
    ...(s.flavour === "hpe" ? { Bios: { "@odata.id": uris.bios(s) } } : {}),
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

export function manager(s: SystemState): Body {
  const common = { "@odata.id": uris.manager(s), "@odata.type": "#Manager.v1_17_0.Manager", ManagerType: "BMC", Status: { State: "Enabled", Health: "OK" } };
  if (s.flavour === "dell") {
    return { ...common, Id: "iDRAC.Embedded.1", Name: "Manager", Model: "14G Monolithic", FirmwareVersion: "6.10.30.00",
      Oem: { Dell: { DelliDRACCard: { IPMIVersion: "2.0" } } } };
  }
  if (s.flavour === "hpe") {
    return { ...common, Id: "1", Name: "Manager", Model: "iLO 5", FirmwareVersion: "iLO 5 v2.78", Oem: { Hpe: { Firmware: { Current: { VersionString: "iLO 5 v2.78" } } } } };
  }
  return { ...common, Id: `BMC-${s.id}`, Name: "Lab BMC", Manufacturer: "sanboot lab", Model: "Redfish emulator", FirmwareVersion: "1.0.0" };
}

export function job(j: Job): Body {
  return {
    "@odata.id": `${V1}/Managers/iDRAC.Embedded.1/Jobs/${j.id}`,
    "@odata.type": "#DellJob.v1_5_0.DellJob",
    Id: j.id,
    Name: "Configure: NIC / FC",
    JobType: "NICConfiguration",
    JobState: j.state,
    Message: j.message,
    MessageId: j.messageId,
    PercentComplete: j.state === "Completed" || j.state === "Failed" ? 100 : 0,
    TargetSettingsURI: j.target,
  };
}

export function task(j: Job): Body {
  return {
    "@odata.id": taskUri(j),
    "@odata.type": "#Task.v1_7_0.Task",
    Id: j.id,
    Name: "Apply settings",
    TaskState: j.state,
    TaskStatus: j.state === "Failed" ? "Critical" : "OK",
    Messages: [{ MessageId: j.messageId, Message: j.message }],
    Payload: { TargetUri: j.target, HttpOperation: "PATCH" },
  };
}

export function bios(s: SystemState): Body {
  return {
    "@odata.id": uris.bios(s),
    "@odata.type": "#Bios.v1_2_0.Bios",
    Id: "Bios",
    Name: "BIOS Current Settings",
    AttributeRegistry: "BiosAttributeRegistryU32.v1_2_68",
    Attributes: { BootMode: "Uefi" },
    Oem: { Hpe: { Links: { iScsi: { "@odata.id": uris.hpeIscsi(s) } } } },
  };
}

export function hpeIscsi(s: SystemState, settingsEtag: string): Body {
  const h = s.hpe!;
  return {
    "@odata.id": uris.hpeIscsi(s),
    "@odata.type": "#HpeiSCSISoftwareInitiator.v2_0_0.HpeiSCSISoftwareInitiator",
    Id: "iScsi",
    Name: "iSCSI Software Initiator Current Settings",
    iSCSIInitiatorName: h.initiatorName,
    iSCSINicSources: h.nicSources,
    iSCSISources: h.sources.map(renderAttempt),
    "@Redfish.Settings": settingsAnnotation(h.settings, uris.hpeIscsiSettings(s), settingsEtag),
  };
}

/** The settings object: what is staged (attempts left alone are `{}`), secrets null. */
export function hpeIscsiSettings(s: SystemState): Body {
  const p = s.hpe!.pending;
  return {
    "@odata.id": uris.hpeIscsiSettings(s),
    "@odata.type": "#HpeiSCSISoftwareInitiator.v2_0_0.HpeiSCSISoftwareInitiator",
    Id: "Settings",
    Name: "iSCSI Software Initiator Pending Settings",
    ...(p?.initiatorName !== undefined ? { iSCSIInitiatorName: p.initiatorName } : {}),
    ...(p?.sources ? { iSCSISources: p.sources.map((a) => (a ? renderAttempt(a) : {})) } : {}),
  };
}

/** A function's settings object: the staged changes only. */
export function functionSettings(s: SystemState, f: FunctionState): Body {
  const p = f.pending;
  const iscsi = p?.iscsiBoot ? Object.fromEntries(Object.entries(p.iscsiBoot).map(([k, v]) => [k, isSecret(k) ? null : v])) : undefined;
  return {
    "@odata.id": uris.fnSettings(s, f),
    "@odata.type": "#NetworkDeviceFunction.v1_9_0.NetworkDeviceFunction",
    Id: "Settings",
    Name: `Pending settings of ${f.id}`,
    ...(p?.bootMode !== undefined ? { BootMode: p.bootMode } : {}),
    ...(p?.netDevFuncType !== undefined ? { NetDevFuncType: p.netDevFuncType } : {}),
    ...(iscsi ? { iSCSIBoot: iscsi } : {}),
    ...(p?.bootTargets ? { FibreChannel: { BootTargets: p.bootTargets } } : {}),
  };
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

export function networkDeviceFunction(s: SystemState, f: FunctionState): Body {
  // Secrets are write-only: a GET answers null for them, as real BMCs do.
  const iscsi: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f.iscsiBoot)) iscsi[k] = isSecret(k) ? null : v;
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
    ...(f.capabilities.includes("iSCSI") ? { iSCSIBoot: iscsi } : {}),
    ...(f.settings ? { "@Redfish.Settings": settingsAnnotation(f.settings, uris.fnSettings(s, f), `W/"applied-${f.version}"`) } : {}),
    Status: { State: "Enabled", Health: "OK" },
  };
}
