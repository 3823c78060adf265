/**
 * Lenovo XClarity Controller. A NIC function's iSCSI boot is PATCHed at
 * `…/NetworkDeviceFunctions/<id>/Pending` (staged, applied at the next reboot), which takes the
 * documented subset of iSCSIBoot: the auth method and CHAP pairs, the address type, the
 * initiator's name and static addressing, the primary target and whether target info comes by
 * DHCP. Nothing else: no second path, no VLAN, no initiator DHCP switch, no BootMode (XCC enables
 * the boot protocol itself), no Fibre Channel; a spec that needs one is refused naming it, with
 * nothing written. CHAP fields are taken only while the auth method uses them.
 */
import type { JsonValue } from "../../claims";
import { quirks, renderedBlank, type VendorQuirks } from "../quirks";

const PENDING_TAKES = new Set([
  "AuthenticationMethod", "CHAPSecret", "CHAPUsername", "IPAddressType", "InitiatorDefaultGateway", "InitiatorIPAddress",
  "InitiatorName", "InitiatorNetmask", "MutualCHAPSecret", "MutualCHAPUsername", "PrimaryLUN", "PrimaryTargetIPAddress",
  "PrimaryTargetName", "PrimaryTargetTCPPort", "TargetInfoViaDHCP",
]);

/** What a spec wants that XCC's Pending cannot hold, as an operator would fix it. */
const REFUSALS: Array<[RegExp, (v: JsonValue) => boolean, string]> = [
  [/^iSCSIBoot\.Secondary(TargetName|TargetIPAddress)$/, (v) => v !== null && v !== "", "a second iSCSI path (multipath)"],
  [/^iSCSIBoot\.(Primary|Secondary)VLAN(Enable|Id)$/, (v) => v !== false && v !== null, "a VLAN on the boot port"],
  [/^iSCSIBoot\.IPMaskDNSViaDHCP$/, (v) => v === true, "initiator addressing by DHCP (give the node a static network)"],
];

export const LENOVO_XCC: VendorQuirks = quirks({
  name: "lenovo",
  label: "Lenovo XCC",
  functionTarget: (fnUri) => ({ uri: `${fnUri.replace(/\/+$/, "")}/Pending`, applyTime: undefined, deferred: true }),
  iscsiValues: (values) => {
    for (const [path, v] of Object.entries(values)) {
      const refusal = REFUSALS.find(([re, applies]) => re.test(path) && applies(v));
      if (refusal) return { ok: false, reason: `Lenovo XCC's iSCSI boot settings cannot take ${refusal[2]}` };
    }
    return { ok: true, value: Object.fromEntries(Object.entries(values).filter(([p]) => p.startsWith("iSCSIBoot.") && PENDING_TAKES.has(p.slice("iSCSIBoot.".length)))) };
  },
  fcValues: () => ({ ok: false, reason: "Lenovo XCC documents no Fibre Channel boot targets on its network device functions" }),
  blank: renderedBlank,
  chapDependent: true,
});
