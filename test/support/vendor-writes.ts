/**
 * The writes each vendor documents for one SAN boot, as the BMC's request log shows them, in the
 * form tests compare: method, path (the system as {s}, the NIC function as {fn}, a Dell job as
 * JID) and status. The executor's tests and the whole-stack tests check the same sequences.
 */
import type { RedfishEmulator } from "../../lab/redfish-emulator";

export const RESET = "POST /Systems/{s}/Actions/ComputerSystem.Reset 204";
export const RESET_REFUSED = "POST /Systems/{s}/Actions/ComputerSystem.Reset 400";
export const LC = "POST /Managers/iDRAC.Embedded.1/Oem/Dell/DellLCService/Actions/DellLCService.GetRemoteServicesAPIStatus 200";

/** A path as the vendor documents it. */
export function short(path: string, systemId: string): string {
  return path
    .replace("/redfish/v1", "")
    .replace(new RegExp(`/Systems/${systemId}(?=/|$)`), "/Systems/{s}")
    .replace(new RegExp(`/Chassis/${systemId}/NetworkAdapters/[^/]+/NetworkDeviceFunctions/[^/]+`), "/{fn}")
    .replace(/JID_[0-9A-F]+/, "JID");
}

/**
 * A write refused 412 because the resource changed under it (the system's ETag moves with
 * BootProgress during a POST) and then sent again after a fresh read is one write: whether the
 * race happens depends on timing, the writes that land do not.
 */
export const withoutRaces = (writes: string[]) => writes.filter((w, i) => !(w.endsWith(" 412") && writes[i + 1]?.startsWith(w.slice(0, -3))));

/** Every write the BMC answered from request number `from` on. */
export function writesSince(emu: RedfishEmulator, from: number, systemId: string): string[] {
  return withoutRaces(emu.requests().slice(from).filter((r) => r.method !== "GET").map((r) => `${r.method} ${short(r.path, systemId)} ${r.status}`));
}

export interface VendorWrites {
  /** configure_san_boot */
  configure: string[];
  /** power_on: the override, the reset(s) */
  power: string[];
  /** clear_san_boot after a boot: off, the functions back, the override back */
  undeploy: string[];
  /** clear_san_boot after a configure whose reboot never came (power_on refused) */
  rollback: string[];
}

const GENERIC_OVERRIDE = "PATCH /Systems/{s} 200";
const DELL_JOB = "DELETE /Managers/iDRAC.Embedded.1/Jobs/JID 200";

/** iSCSI, UEFI, one path, CHAP, for each flavour that can program it. */
export const ISCSI_WRITES = {
  generic: {
    configure: ["PATCH /{fn} 200"],
    power: [GENERIC_OVERRIDE, RESET],
    undeploy: [RESET, "PATCH /{fn} 200", GENERIC_OVERRIDE],
    // written in place: the function goes back at once
    rollback: ["PATCH /{fn} 200"],
  },
  "generic-settings": {
    configure: ["PATCH /{fn}/Settings 202"],
    // the override parked on BiosSetup for the POST that applies the settings, then the SAN option
    power: [GENERIC_OVERRIDE, RESET, GENERIC_OVERRIDE, RESET],
    // off, the undo staged OnReset (never Immediate: it may reset the host), one cycle applies it, the override back
    undeploy: [RESET, "PATCH /{fn}/Settings 202", RESET, RESET, GENERIC_OVERRIDE],
    // nothing applied yet: what was there is staged again, no reset
    rollback: ["PATCH /{fn}/Settings 202"],
  },
  dell: {
    configure: [LC, "PATCH /{fn}/Settings 202"],
    power: [GENERIC_OVERRIDE, RESET, GENERIC_OVERRIDE, RESET],
    // the CHAP credentials go back while CHAP is still on (iDRAC makes them read-only after), then the rest with a job
    undeploy: [RESET, LC, "PATCH /{fn}/Settings 200", LC, "PATCH /{fn}/Settings 202", RESET, RESET, GENERIC_OVERRIDE],
    // iDRAC refuses new values while our job waits: the job is deleted, nothing else
    rollback: [DELL_JOB],
  },
  dell10: {
    configure: [LC, "PATCH /{fn}/Settings 202"],
    power: ["PATCH /Systems/{s}/Settings 200", RESET, "PATCH /Systems/{s}/Settings 200", RESET],
    undeploy: [RESET, LC, "PATCH /{fn}/Settings 200", LC, "PATCH /{fn}/Settings 202", RESET, RESET, "PATCH /Systems/{s}/Settings 200"],
    rollback: ["DELETE /Managers/iDRAC.Embedded.1/Oem/Dell/Jobs/JID 200"],
  },
  hpe: {
    // with bios_changes allow: the NIC's NicBootN first, then the attempt
    configure: ["PATCH /Systems/{s}/Bios/Settings 200", "PATCH /Systems/{s}/Bios/iScsi/Settings 200"],
    power: [GENERIC_OVERRIDE, RESET, GENERIC_OVERRIDE, RESET],
    undeploy: [RESET, "PATCH /Systems/{s}/Bios/Settings 200", "PATCH /Systems/{s}/Bios/iScsi/Settings 200", RESET, RESET, GENERIC_OVERRIDE],
    rollback: ["PATCH /Systems/{s}/Bios/Settings 200", "PATCH /Systems/{s}/Bios/iScsi/Settings 200"],
  },
  lenovo: {
    configure: ["PATCH /{fn}/Pending 200"],
    power: [GENERIC_OVERRIDE, RESET, GENERIC_OVERRIDE, RESET],
    // credentials first while CHAP is on, then the rest
    undeploy: [RESET, "PATCH /{fn}/Pending 200", "PATCH /{fn}/Pending 200", RESET, RESET, GENERIC_OVERRIDE],
    rollback: ["PATCH /{fn}/Pending 200", "PATCH /{fn}/Pending 200"],
  },
} satisfies Record<string, VendorWrites>;

export type IscsiFlavour = keyof typeof ISCSI_WRITES;
