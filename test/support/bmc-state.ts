/**
 * What an operator compares on a BMC before and after sanboot: power, the boot override, every
 * function's boot configuration (and HPE's BIOS iSCSI initiator, the BIOS attributes), each both
 * as in force now and as the next POST will leave it (what is in force with what is staged laid
 * over it: a staged value equal to the one in force changes nothing), secrets aside: a BMC never
 * answers a secret, so one overwritten cannot be put back (README, "what undo restores").
 */
import type { SystemSnapshot } from "../../lab/redfish-emulator";
import { blankAttempt } from "../../lab/redfish-emulator/hpe-iscsi";

type Fn = SystemSnapshot["functions"][number];
type Attempt = NonNullable<SystemSnapshot["hpeIscsi"]>["sources"][number];
interface StagedAttempts {
  initiatorName?: string | null;
  sources?: Array<Attempt | null>;
}

export function bmcState(s: SystemSnapshot) {
  return {
    PowerState: s.PowerState,
    Boot: s.Boot,
    functions: s.functions.map((f) => ({ id: f.id, now: functionState(f), next: functionState(f, f.pending) })),
    bios: s.bios ? { now: maskSecrets(s.bios.attributes), next: maskSecrets({ ...s.bios.attributes, ...(s.bios.pending ?? {}) }) } : null,
    hpe: s.hpeIscsi ? { now: attempts(s.hpeIscsi), next: attempts(s.hpeIscsi, s.hpeIscsi.pending as StagedAttempts | null) } : null,
  };
}

function functionState(f: Fn, staged?: Fn["pending"]) {
  const p = staged ?? {};
  return {
    netDevFuncType: p.netDevFuncType ?? f.netDevFuncType,
    bootMode: p.bootMode ?? f.bootMode,
    iSCSIBoot: { ...f.iSCSIBoot, ...(p.iscsiBoot ?? {}), CHAPSecret: null, MutualCHAPSecret: null },
    ...(f.fc ? { bootTargets: p.bootTargets ?? f.fc.bootTargets } : {}),
    ...(f.hpeBootTargetSource !== undefined ? { bootTargetSource: p.hpeBootTargetSource ?? f.hpeBootTargetSource } : {}),
  };
}

/** HPE's attempts, staged ones laid over (null clears one). */
function attempts(h: NonNullable<SystemSnapshot["hpeIscsi"]>, staged?: StagedAttempts | null) {
  const sources = h.sources.map((a, i) => {
    const p = staged?.sources?.[i];
    const laid = p === null ? blankAttempt() : { ...a, ...(p ?? {}) };
    // iLO blanks the attempts left with instance 0 when it applies staged ones
    const next = staged && laid.iSCSIAttemptInstance === 0 ? blankAttempt() : laid;
    return { ...next, iSCSIChapSecret: null, iSCSIReverseChapSecret: null, UEFIDevicePath: null };
  });
  return { initiatorName: staged?.initiatorName !== undefined ? staged.initiatorName : h.initiatorName, sources };
}

function maskSecrets(attrs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, /Secret$/.test(k) ? null : v]));
}
