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
  BootProgress?: { LastState?: string | null; LastStateTime?: string | null; LastBootTimeSeconds?: number | null } | null;
  Boot?: BootProperties;
  Actions?: Record<string, ResetActionDescriptor | undefined>;
  Links?: { Chassis?: ODataLink[]; ManagedBy?: ODataLink[] };
  Bios?: ODataLink;
  NetworkInterfaces?: ODataLink;
  /** ComputerSystem 1_12 */
  LastResetTime?: string | null;
}

export interface NetworkInterface {
  NetworkDeviceFunctions?: ODataLink;
  Links?: { NetworkAdapter?: ODataLink };
}

export interface ServiceRoot {
  RedfishVersion?: string;
  Systems?: ODataLink;
  Vendor?: string;
  Product?: string;
  Oem?: Record<string, unknown>;
  Managers?: ODataLink;
}

export interface Manager {
  Id?: string;
  Manufacturer?: string;
  Model?: string;
  FirmwareVersion?: string;
  Oem?: Record<string, unknown>;
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
  /** BootOptionReference of the option a UefiBootNext override boots (ComputerSystem 1_5) */
  BootNext?: string | null;
  /** the BootOption collection (ComputerSystem 1_5) */
  BootOptions?: ODataLink;
}

export interface BootOption {
  Id?: string;
  BootOptionReference?: string;
  DisplayName?: string;
  UefiDevicePath?: string | null;
  BootOptionEnabled?: boolean;
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
  Links?: { ComputerSystems?: ODataLink[]; Contains?: ODataLink[] };
}

export interface NetworkAdapter {
  NetworkDeviceFunctions?: ODataLink;
}

export type IscsiValue = string | number | boolean | null;
export type IscsiBoot = Record<string, IscsiValue>;

/** A Redfish Message (Message registry entry as answered in `Messages` / ExtendedInfo). */
export interface RedfishMessage {
  MessageId?: string;
  Message?: string;
  RelatedProperties?: string[];
  MessageArgs?: unknown[];
  Severity?: string;
  MessageSeverity?: string;
}

export interface SettingsAnnotation {
  SettingsObject?: ODataLink;
  SupportedApplyTimes?: string[];
  /** ETag of the resource after the settings were last applied */
  ETag?: string;
  Time?: string;
  /** outcome of the last apply; `Base.1.x.SettingsFailed` and friends when it failed */
  Messages?: RedfishMessage[];
}

export interface FcBootTargetEntry {
  WWPN?: string | null;
  LUNID?: string | null;
  BootPriority?: number | null;
}

export interface FibreChannelProps {
  PermanentWWPN?: string | null;
  PermanentWWNN?: string | null;
  WWPN?: string | null;
  WWNN?: string | null;
  WWNSource?: string | null;
  FibreChannelId?: string | null;
  BootTargets?: FcBootTargetEntry[] | null;
}

export interface NetworkDeviceFunction {
  "@odata.id": string;
  Id?: string;
  NetDevFuncType?: string;
  "NetDevFuncType@Redfish.AllowableValues"?: string[];
  NetDevFuncCapabilities?: string[];
  BootMode?: string | null;
  "BootMode@Redfish.AllowableValues"?: string[];
  Ethernet?: { MACAddress?: string | null; PermanentMACAddress?: string | null };
  iSCSIBoot?: IscsiBoot;
  FibreChannel?: FibreChannelProps;
  "@Redfish.Settings"?: SettingsAnnotation;
}

/** A DMTF Task, a DMTF Job, or a Dell job (`JobState`, `Message`, `MessageId`). */
export interface TaskLike {
  TaskState?: string;
  JobState?: string;
  TaskStatus?: string;
  /** a DMTF Job's health (Job v1: JobStatus), the counterpart of a Task's TaskStatus */
  JobStatus?: string;
  PercentComplete?: number;
  Messages?: RedfishMessage[];
  Message?: string;
  MessageId?: string;
}

export function linkOf(v: unknown): string | undefined {
  const id = (v as Partial<ODataLink> | undefined)?.["@odata.id"];
  return typeof id === "string" && id.length > 0 ? id : undefined;
}

export function memberLinks(collection: unknown): string[] {
  const members = (collection as RedfishCollection | undefined)?.Members;
  return Array.isArray(members) ? members.map(linkOf).filter((m): m is string => m !== undefined) : [];
}
