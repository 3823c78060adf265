/**
 * The parts of Redfish resources the driver reads (DMTF schema names). Bodies come off the wire
 * as plain JSON; these types describe them loosely (every property optional) and the helpers
 * that read them check what they use.
 */
export interface ODataLink {
  "@odata.id": string;
}

export interface RedfishCollection {
  Members?: ODataLink[];
}

export interface ComputerSystem {
  "@odata.id"?: string;
  Id?: string;
  PowerState?: string;
  BootProgress?: { LastState?: string };
  Boot?: BootProperties;
  Actions?: Record<string, ResetActionDescriptor | undefined>;
  Links?: { Chassis?: ODataLink[] };
}

export interface BootProperties {
  BootSourceOverrideTarget?: string | null;
  "BootSourceOverrideTarget@Redfish.AllowableValues"?: string[];
  BootSourceOverrideEnabled?: string | null;
  "BootSourceOverrideEnabled@Redfish.AllowableValues"?: string[];
  BootSourceOverrideMode?: string | null;
  "BootSourceOverrideMode@Redfish.AllowableValues"?: string[];
  UefiTargetBootSourceOverride?: string | null;
  "UefiTargetBootSourceOverride@Redfish.AllowableValues"?: string[];
}

export interface ResetActionDescriptor {
  target?: string;
  "ResetType@Redfish.AllowableValues"?: string[];
  "@Redfish.ActionInfo"?: string;
}

export interface ActionInfo {
  Parameters?: Array<{ Name?: string; AllowableValues?: string[] }>;
}

export interface Chassis {
  "@odata.id"?: string;
  NetworkAdapters?: ODataLink;
  Links?: { ComputerSystems?: ODataLink[] };
}

export interface NetworkAdapter {
  NetworkDeviceFunctions?: ODataLink;
}

export type IscsiValue = string | number | boolean | null;
export type IscsiBoot = Record<string, IscsiValue>;

export interface SettingsAnnotation {
  SettingsObject?: ODataLink;
  SupportedApplyTimes?: string[];
}

export interface NetworkDeviceFunction {
  "@odata.id": string;
  Id?: string;
  NetDevFuncType?: string;
  NetDevFuncCapabilities?: string[];
  BootMode?: string | null;
  "BootMode@Redfish.AllowableValues"?: string[];
  Ethernet?: { MACAddress?: string | null; PermanentMACAddress?: string | null };
  iSCSIBoot?: IscsiBoot;
  "@Redfish.Settings"?: SettingsAnnotation;
}

export function linkOf(v: unknown): string | undefined {
  const id = (v as Partial<ODataLink> | undefined)?.["@odata.id"];
  return typeof id === "string" && id.length > 0 ? id : undefined;
}

export function memberLinks(collection: unknown): string[] {
  const members = (collection as RedfishCollection | undefined)?.Members;
  return Array.isArray(members) ? members.map(linkOf).filter((m): m is string => m !== undefined) : [];
}
