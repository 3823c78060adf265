/**
 * Renders the Redfish resources of the emulated systems as JSON bodies, shaped after the DMTF
 * schema (ServiceRoot, ComputerSystem, Chassis, NetworkAdapter, NetworkDeviceFunction and their
 * collections). ETags are added by the server from the body and the resource's write version.
 */
import { isSecret } from "./iscsi-fields";
import type { AdapterState, FunctionState, SystemState } from "./model";

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
};

export function serviceRoot(): Body {
  return {
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
    BootProgress: { LastState: s.bootProgress },
    Boot: {
      BootSourceOverrideEnabled: s.boot.enabled,
      "BootSourceOverrideEnabled@Redfish.AllowableValues": ["Disabled", "Once", "Continuous"],
      BootSourceOverrideTarget: s.boot.target,
      "BootSourceOverrideTarget@Redfish.AllowableValues": s.bootTargets,
      BootSourceOverrideMode: s.boot.mode,
      "BootSourceOverrideMode@Redfish.AllowableValues": ["Legacy", "UEFI"],
      UefiTargetBootSourceOverride: s.boot.uefiTarget,
    },
    Actions: {
      "#ComputerSystem.Reset": {
        target: uris.reset(s),
        "ResetType@Redfish.AllowableValues": s.resetTypes,
      },
    },
    Links: s.linkChassis ? { Chassis: [{ "@odata.id": uris.chassis(s) }] } : {},
    Status: { State: "Enabled", Health: "OK" },
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
    Links: { ComputerSystems: [{ "@odata.id": uris.system(s) }] },
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
    "NetDevFuncType@Redfish.AllowableValues": ["Disabled", "Ethernet"],
    NetDevFuncCapabilities: f.capabilities,
    DeviceEnabled: true,
    BootMode: f.bootMode,
    "BootMode@Redfish.AllowableValues": f.bootModes,
    Ethernet: { MACAddress: f.mac, PermanentMACAddress: f.permanentMac, MTUSize: 1500 },
    ...(f.capabilities.includes("iSCSI") ? { iSCSIBoot: iscsi } : {}),
    Status: { State: "Enabled", Health: "OK" },
  };
}
