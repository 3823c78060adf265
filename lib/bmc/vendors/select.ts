/**
 * Which vendor a BMC is: an explicit node setting (`bmc.driver`) wins; `auto` reads the
 * ServiceRoot (`Vendor`, `Oem`) and, where that says nothing, the system's Manager (`Oem`,
 * `Model`, `Manufacturer`). Anything unrecognised is generic Redfish.
 */
import type { BmcDriverSetting } from "../driver";
import type { Manager, ServiceRoot } from "../redfish-types";
import type { VendorName } from "./quirks";

export type { VendorName };

export function hasOem(oem: Record<string, unknown> | undefined, key: string): boolean {
  return typeof oem === "object" && oem !== null && Object.keys(oem).some((k) => k.toLowerCase() === key.toLowerCase());
}

const SIGNS: Array<{ vendor: VendorName; root: RegExp; oem: string[]; manager: RegExp }> = [
  { vendor: "dell", root: /^dell/i, oem: ["Dell"], manager: /idrac|^dell/i },
  { vendor: "hpe", root: /^(hpe|hp|hewlett)/i, oem: ["Hpe", "Hp"], manager: /\bilo\b|^hpe?\b/i },
  { vendor: "lenovo", root: /^lenovo/i, oem: ["Lenovo"], manager: /xclarity|\bxcc\b|^lenovo/i },
  { vendor: "supermicro", root: /^supermicro/i, oem: ["Supermicro"], manager: /supermicro/i },
];

export function vendorOfSetting(setting: BmcDriverSetting | undefined): VendorName | "auto" {
  switch (setting) {
    case "redfish":
      return "generic";
    case "idrac":
      return "dell";
    case "ilo":
      return "hpe";
    case "xcc":
      return "lenovo";
    default:
      return "auto";
  }
}

/** From the ServiceRoot alone when it names a vendor, else from the Manager; undefined: ask the Manager. */
export function selectVendor(serviceRoot: ServiceRoot | undefined, manager?: Manager): VendorName | undefined {
  for (const s of SIGNS) if (s.root.test(serviceRoot?.Vendor ?? "") || s.oem.some((o) => hasOem(serviceRoot?.Oem, o))) return s.vendor;
  if (typeof serviceRoot?.Vendor === "string" && serviceRoot.Vendor.length > 0) return "generic";
  if (manager === undefined) return undefined;
  for (const s of SIGNS) {
    if (s.oem.some((o) => hasOem(manager.Oem, o)) || s.manager.test(`${manager.Model ?? ""} ${manager.Manufacturer ?? ""}`) || (s.vendor === "dell" && /idrac/i.test(manager.Id ?? ""))) return s.vendor;
  }
  return "generic";
}
