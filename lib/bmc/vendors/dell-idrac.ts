/**
 * Dell iDRAC quirks. NIC and HBA boot targets live in the standard NetworkDeviceFunction, written
 * through its `/Settings` object with `@Redfish.SettingsApplyTime` OnReset; iDRAC answers 202 with
 * a configuration job in `Location` (`/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/JID_...`) that
 * stays `Scheduled` until the next reset and then ends `Completed` or `Failed`. Firmware that
 * answers the PATCH without a job wants one created: POST `{TargetSettingsURI}` to the manager's
 * Jobs collection. The generic write policy (redfish-writer.ts) follows the job; this module only
 * knows what is Dell's.
 */
import type { Manager, ServiceRoot } from "../redfish-types";

/** ServiceRoot `Vendor: "Dell"` / `Oem.Dell`, or a Manager with `Oem.Dell` or an iDRAC model. */
export function isDell(root: ServiceRoot | undefined, manager: Manager | undefined): boolean {
  if (/^dell/i.test(root?.Vendor ?? "") || hasOem(root?.Oem, "Dell")) return true;
  if (!manager) return false;
  return hasOem(manager.Oem, "Dell") || /idrac/i.test(`${manager.Model ?? ""} ${manager.Id ?? ""}`) || /^dell/i.test(manager.Manufacturer ?? "");
}

/**
 * The request that creates the configuration job applying `settingsUri` at the next reset, for
 * firmware that does not take `@Redfish.SettingsApplyTime` (the Jobs collection of the manager).
 */
export function configJobRequest(managerUri: string, settingsUri: string): { uri: string; body: Record<string, unknown> } {
  return { uri: `${managerUri.replace(/\/+$/, "")}/Jobs`, body: { TargetSettingsURI: settingsUri } };
}

export function hasOem(oem: Record<string, unknown> | undefined, key: string): boolean {
  return typeof oem === "object" && oem !== null && Object.keys(oem).some((k) => k.toLowerCase() === key.toLowerCase());
}
