/** The quirks of each vendor, chosen once per BMC from what vendor detection (select.ts) found. */
import type { Manager } from "../redfish-types";
import { dellIdrac } from "./dell/idrac";
import { HPE_ILO } from "./hpe/ilo";
import { LENOVO_XCC } from "./lenovo/xcc";
import { GENERIC, type VendorName, type VendorQuirks } from "./quirks";
import { SUPERMICRO } from "./supermicro";

export function quirksFor(vendor: VendorName, manager: Manager | undefined): VendorQuirks {
  switch (vendor) {
    case "dell":
      return dellIdrac(manager);
    case "hpe":
      return HPE_ILO;
    case "lenovo":
      return LENOVO_XCC;
    case "supermicro":
      return SUPERMICRO;
    default:
      return GENERIC;
  }
}

/** Whether `quirksFor` needs the vendor's Manager (Dell's generation is told by it). */
export function quirksNeedManager(vendor: VendorName): boolean {
  return vendor === "dell";
}

export { selectVendor, vendorOfSetting } from "./select";
export type { SanContext, VendorName, VendorQuirks } from "./quirks";
