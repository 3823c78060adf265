/**
 * Supermicro documents BIOS configuration through its attribute registry only (names such as
 * `QuietBoot_0027`, applied at reboot) and nothing on NIC iSCSI boot or FC boot targets: unless
 * the system offers a standard NetworkDeviceFunction that can boot iSCSI, a configure is refused
 * saying so, with nothing written.
 */
import { isIscsiCapable } from "../redfish-san-boot";
import { quirks, type VendorQuirks } from "./quirks";

export const SUPERMICRO: VendorQuirks = quirks({
  name: "supermicro",
  label: "Supermicro",
  readsEveryFunction: true,
  iscsiRefusal: (fns) =>
    fns.some((f) => isIscsiCapable(f.body))
      ? undefined
      : "this Supermicro BMC offers no NetworkDeviceFunction that can boot iSCSI, and Supermicro documents no other way to program an iSCSI boot target through Redfish",
});
