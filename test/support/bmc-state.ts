/**
 * What an operator compares on a BMC before and after sanboot: power, the boot override, and
 * every function's boot configuration (and HPE's BIOS iSCSI initiator), secrets aside: a BMC
 * never answers a secret, so one overwritten cannot be put back (README, "what undo restores").
 */
import type { SystemSnapshot } from "../../lab/redfish-emulator";

export function bmcState(s: SystemSnapshot) {
  return {
    PowerState: s.PowerState,
    Boot: s.Boot,
    functions: s.functions.map((f) => ({
      id: f.id,
      netDevFuncType: f.netDevFuncType,
      bootMode: f.bootMode,
      iSCSIBoot: { ...f.iSCSIBoot, CHAPSecret: null, MutualCHAPSecret: null },
      ...(f.fc ? { bootTargets: f.fc.bootTargets } : {}),
      // staged values that apply at the next reset count as what the function will hold
      pending: f.pending ? { ...f.pending, ...(f.pending.iscsiBoot ? { iscsiBoot: { ...f.pending.iscsiBoot, CHAPSecret: null, MutualCHAPSecret: null } } : {}) } : null,
    })),
    // BIOS attributes (HPE prerequisites, Dell's BIOS iSCSI), their secrets aside
    bios: s.bios ? { attributes: maskSecrets(s.bios.attributes), pending: s.bios.pending ? maskSecrets(s.bios.pending) : null } : null,
    hpe: s.hpeIscsi
      ? {
          initiatorName: s.hpeIscsi.initiatorName,
          sources: s.hpeIscsi.sources.map((a) => ({ ...a, iSCSIChapSecret: null, iSCSIReverseChapSecret: null, UEFIDevicePath: null })),
        }
      : null,
  };
}

function maskSecrets(attrs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, /Secret$/.test(k) ? null : v]));
}
