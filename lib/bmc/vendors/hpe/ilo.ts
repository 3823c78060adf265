/**
 * HPE iLO 5/6/7. iSCSI boot goes through the UEFI software initiator of the BIOS, not the NIC
 * (bios-iscsi.ts): it needs UEFI boot mode, `iSCSIPolicy` SoftwareInitiator and the NIC's
 * `NicBootN` NetworkBoot, and applies at the next POST; after that reboot each attempt is a UEFI
 * boot option named by `UEFIDevicePath`, which the boot override names with `UefiTarget`.
 * Fibre Channel through a NetworkDeviceFunction is used only while its `Oem.Hpe.BootTargetSource`
 * is NetworkDeviceFunction (with UEFI the function's targets are ignored): sanboot sets it, and
 * the claim puts it back. iLO takes no null for address and LUN strings.
 */
import type { JsonValue } from "../../claims";
import { readSettled } from "../../redfish-places";
import type { Manager, NetworkDeviceFunction, ServiceRoot } from "../../redfish-types";
import { undoPlace } from "../../redfish-places";
import { hasOem } from "../select";
import { quirks, type VendorQuirks } from "../quirks";
import { configureBiosIscsi, readBiosIscsi, readSettledBios } from "./bios-iscsi";

export function isHpe(root: ServiceRoot | undefined, manager: Manager | undefined): boolean {
  if (/^(hpe|hp|hewlett)/i.test(root?.Vendor ?? "") || hasOem(root?.Oem, "Hpe") || hasOem(root?.Oem, "Hp")) return true;
  if (!manager) return false;
  return hasOem(manager.Oem, "Hpe") || hasOem(manager.Oem, "Hp") || /\bilo\b/i.test(manager.Model ?? "");
}

/** iLO's blanks: "0.0.0.0" for addresses, "0" for a LUN; CHAP names, secrets and the target name take null. */
function blank(path: string): JsonValue {
  if (/(IpAddress|IPAddress|Netmask|Gateway)$/.test(path)) return "0.0.0.0";
  if (/LUN$/.test(path)) return "0";
  return null;
}

export const HPE_ILO: VendorQuirks = quirks({
  name: "hpe",
  label: "HPE iLO",
  iscsiPlace: (ctx, system, _fns, spec, guard) => configureBiosIscsi(ctx, system, spec, guard),
  undoVendorPlace: async (ctx, claim) => {
    if (claim.kind === "hpe_bios_iscsi") return undoPlace(ctx, claim, readBiosIscsi);
    if (claim.kind === "bios_attributes") return undoPlace(ctx, claim, readSettledBios);
    return undefined;
  },
  fcValues: (fn: NetworkDeviceFunction, values) => {
    const source = (fn as { Oem?: { Hpe?: { BootTargetSource?: string | null } } }).Oem?.Hpe?.BootTargetSource;
    return { ok: true, value: source === undefined ? values : { ...values, "Oem.Hpe.BootTargetSource": "NetworkDeviceFunction" } };
  },
  blank,
});

export { readSettled };
