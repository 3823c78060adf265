/**
 * What differs between the BMCs the lab imitates, in one table: every other file asks a trait
 * here instead of comparing flavour names, so a new flavour is one row, and a rule ("Dell refuses
 * null strings") is stated once.
 *
 * - generic: DMTF as written: NetworkDeviceFunctions PATCHed in place, null accepted everywhere.
 * - generic-settings: functions publish `@Redfish.Settings`; a settings PATCH answers 202 and a
 *   task monitor; Immediate applies when the task ends (and resets the host), OnReset at POST.
 * - dell: iDRAC9 (14G): `/Settings` objects behind configuration jobs under
 *   Managers/iDRAC.Embedded.1/Jobs, a Lifecycle Controller that is busy during POST.
 * - dell10: iDRAC10 (17G): as dell, but jobs are read through TaskService task monitors and
 *   Managers/iDRAC.Embedded.1/Oem/Dell/Jobs, Boot is written through Systems/{id}/Settings.
 * - hpe: iLO 5: BIOS UEFI iSCSI initiator (Bios/iScsi), BIOS attributes gate it, NIC sources found
 *   through BIOS mappings.
 * - lenovo: XCC: iSCSIBoot written to `{function}/Pending`, applied at the next POST.
 * - supermicro: Ethernet-only NICs, BIOS attribute-registry names, no UefiTarget.
 */
import type { IscsiBootValues } from "./iscsi-fields";

export const FLAVOURS = ["generic", "generic-settings", "dell", "dell10", "hpe", "lenovo", "supermicro"] as const;

export type Flavour = (typeof FLAVOURS)[number];

export interface Traits {
  /** what the ServiceRoot names when every system has this vendor */
  vendor: { name: string; product: string; oem: string } | null;
  /** BootSourceOverrideTarget@Redfish.AllowableValues (RemoteDrive only on request) */
  bootTargets: readonly string[];
  /** how a NIC function takes writes */
  nicWrites: "in-place" | "settings" | "pending";
  /** SupportedApplyTimes of NIC (and Dell BIOS) settings objects */
  applyTimes: readonly string[];
  /** iDRAC generation: jobs, Lifecycle Controller, SYS011 */
  idrac: 9 | 10 | null;
  /** string-typed iSCSIBoot properties take null in a PATCH (the DMTF schema allows it) */
  nullIscsiStrings: boolean;
  /** CHAP user / secret writable only under the AuthenticationMethod that uses them */
  chapDependencies: boolean;
  /** a NIC settings property PATCHed to the value it already has is refused */
  refuseUnchanged: boolean;
  /** publishes UefiTargetBootSourceOverride@Redfish.AllowableValues */
  publishesUefiTargets: boolean;
  /** UefiTargetBootSourceOverride before anyone wrote it */
  initialUefiTarget: string | null;
  /** how never-configured iSCSIBoot properties read (over the all-null DMTF blank) */
  iscsiBlank: IscsiBootValues;
  /** NIC ports offer iSCSI (and FC HBAs exist) */
  san: boolean;
  /** Boot carries BootSourceOverrideMode */
  overrideMode: boolean;
}

const DELL_TARGETS = ["None", "Pxe", "Floppy", "Cd", "Hdd", "BiosSetup", "Utilities", "UefiTarget", "SDCard", "UefiHttp"];
const HPE_TARGETS = ["None", "Cd", "Hdd", "Usb", "SDCard", "Utilities", "Diags", "BiosSetup", "Pxe", "UefiShell", "UefiHttp", "UefiTarget"];
const GENERIC_TARGETS = ["None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "UefiShell", "UefiTarget", "UefiHttp", "UefiBootNext"];
const LENOVO_TARGETS = ["None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "Diags", "UefiTarget"];
const SUPERMICRO_TARGETS = ["None", "Pxe", "Hdd", "Cd", "Usb", "BiosSetup", "UefiShell", "UefiHttp"];

export const DELL_APPLY_TIMES = ["OnReset", "AtMaintenanceWindowStart", "InMaintenanceWindowOnReset"];
export const GENERIC_APPLY_TIMES = ["Immediate", "OnReset"];

/** Vendor firmware reads unset addresses as 0.0.0.0 and unset names as "" (never null). */
const vendorBlank = (initiatorName: string): IscsiBootValues => ({
  InitiatorIPAddress: "0.0.0.0",
  InitiatorNetmask: "0.0.0.0",
  InitiatorDefaultGateway: "0.0.0.0",
  InitiatorName: initiatorName,
  PrimaryTargetName: "",
  PrimaryTargetIPAddress: "0.0.0.0",
  PrimaryTargetTCPPort: 3260,
  PrimaryLUN: 0,
  PrimaryVLANId: 0,
  SecondaryTargetName: "",
  SecondaryTargetIPAddress: "0.0.0.0",
  SecondaryTargetTCPPort: 3260,
  SecondaryLUN: 0,
  SecondaryVLANId: 0,
  PrimaryDNS: "0.0.0.0",
  SecondaryDNS: "0.0.0.0",
  CHAPUsername: "",
  MutualCHAPUsername: "",
  AuthenticationMethod: "None",
});

const generic: Traits = {
  vendor: null,
  bootTargets: GENERIC_TARGETS,
  nicWrites: "in-place",
  applyTimes: GENERIC_APPLY_TIMES,
  idrac: null,
  nullIscsiStrings: true,
  chapDependencies: false,
  refuseUnchanged: false,
  publishesUefiTargets: false,
  initialUefiTarget: null,
  iscsiBlank: {},
  san: true,
  overrideMode: true,
};

const dell: Traits = {
  ...generic,
  vendor: { name: "Dell", product: "Integrated Dell Remote Access Controller", oem: "Dell" },
  bootTargets: DELL_TARGETS,
  nicWrites: "settings",
  applyTimes: DELL_APPLY_TIMES,
  idrac: 9,
  nullIscsiStrings: false,
  chapDependencies: true,
  refuseUnchanged: true,
  initialUefiTarget: "",
  iscsiBlank: vendorBlank("iqn.1995-05.com.broadcom.iscsiboot"),
};

const TABLE: Record<Flavour, Traits> = {
  generic,
  "generic-settings": { ...generic, nicWrites: "settings" },
  dell,
  dell10: { ...dell, idrac: 10, applyTimes: ["OnReset"], overrideMode: false },
  hpe: {
    ...generic,
    vendor: { name: "HPE", product: "ProLiant DL360 Gen10", oem: "Hpe" },
    bootTargets: HPE_TARGETS,
    nullIscsiStrings: false,
    publishesUefiTargets: true,
  },
  lenovo: {
    ...generic,
    vendor: { name: "Lenovo", product: "ThinkSystem SR650 V3", oem: "Lenovo" },
    bootTargets: LENOVO_TARGETS,
    nicWrites: "pending",
    applyTimes: [],
    nullIscsiStrings: false,
    chapDependencies: true,
    publishesUefiTargets: true,
    iscsiBlank: vendorBlank(""),
  },
  supermicro: {
    ...generic,
    vendor: { name: "Supermicro", product: "Super Micro Redfish Service", oem: "Supermicro" },
    bootTargets: SUPERMICRO_TARGETS,
    san: false,
  },
};

export function traits(flavour: Flavour): Traits {
  return TABLE[flavour];
}
