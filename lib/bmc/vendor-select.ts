/**
 * Which driver flavour a BMC needs: an explicit node setting (`bmc.driver`) wins; `auto` reads the
 * ServiceRoot (`Vendor`, `Oem`) and, where that says nothing, the system's Manager (`Oem`, `Model`).
 * Anything unrecognised is generic Redfish.
 */
import type { BmcDriverSetting } from "./driver";
import type { Manager, ServiceRoot } from "./redfish-types";
import { isDell } from "./vendors/dell-idrac";
import { isHpe } from "./vendors/hpe-ilo";

export type VendorName = "generic" | "dell" | "hpe";

export function vendorOfSetting(setting: BmcDriverSetting | undefined): VendorName | "auto" {
  switch (setting) {
    case "redfish":
      return "generic";
    case "idrac":
      return "dell";
    case "ilo":
      return "hpe";
    default:
      return "auto";
  }
}

/** From the ServiceRoot alone when it names a vendor, else from the Manager; undefined: ask the Manager. */
export function selectVendor(serviceRoot: ServiceRoot | undefined, manager?: Manager): VendorName | undefined {
  if (isDell(serviceRoot, undefined)) return "dell";
  if (isHpe(serviceRoot, undefined)) return "hpe";
  if (typeof serviceRoot?.Vendor === "string" && serviceRoot.Vendor.length > 0) return "generic";
  if (manager === undefined) return undefined;
  if (isDell(undefined, manager)) return "dell";
  if (isHpe(undefined, manager)) return "hpe";
  return "generic";
}
