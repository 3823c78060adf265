/**
 * Dell's BIOS iSCSI initiator (SystemSpec `dellBiosIscsi`): device 1 with two connections
 * (IscsiDev1Con1*, IscsiDev1Con2*) in Systems/{id}/Bios attributes, written through Bios/Settings
 * behind a BIOSConfiguration job and applied at POST. An enabled connection with a target becomes
 * a boot option on the NIC its Interface names.
 */
import { chapOf, type BootDevice } from "./boot-device";
import { stageBios } from "./bios";
import { traits } from "./flavours";
import { dellGuard, scheduleDellJob, type JobsApi } from "./dell-jobs";
import { allFunctions, type BiosValue, type SystemState } from "./model";
import { isObject } from "./json";
import { msg, type ExtendedInfo } from "./redfish-errors";
import { applyTimeOf, type StageOutcome } from "./staging";
import { iscsiPath } from "./uefi-paths";
import { uris } from "./uris";

type Rule = readonly string[] | "string" | "fqdd" | { min: number; max: number };

const EN_DIS = ["Enabled", "Disabled"] as const;

function connectionRules(n: 1 | 2): Record<string, Rule> {
  const c = `IscsiDev1Con${n}`;
  return {
    [`${c}EnDis`]: EN_DIS,
    [`${c}Interface`]: "fqdd",
    [`${c}Protocol`]: ["IPv4", "IPv6"],
    [`${c}VlanEnDis`]: EN_DIS,
    [`${c}VlanId`]: { min: 1, max: 4094 },
    [`${c}DhcpEnDis`]: EN_DIS,
    [`${c}TgtDhcpEnDis`]: EN_DIS,
    [`${c}Ip`]: "string",
    [`${c}Mask`]: "string",
    [`${c}Gateway`]: "string",
    [`${c}TargetIp`]: "string",
    [`${c}TargetName`]: "string",
    [`${c}Port`]: { min: 1, max: 65535 },
    [`${c}Lun`]: "string",
    [`${c}Auth`]: ["None", "Chap"],
    [`${c}ChapType`]: ["OneWay", "Mutual"],
    [`${c}ChapName`]: "string",
    [`${c}ChapSecret`]: "string",
    [`${c}RevChapName`]: "string",
    [`${c}RevChapSecret`]: "string",
  };
}

const RULES: Record<string, Rule> = {
  BootMode: ["Uefi", "Bios"],
  IscsiInitiatorName: "string",
  IscsiDev1EnDis: EN_DIS,
  IscsiDev1ConOrder: ["Con1Con2", "Con2Con1"],
  ...connectionRules(1),
  ...connectionRules(2),
};

/** Attributes a Dell system starts with: the iSCSI ones only when it boots iSCSI through the BIOS. */
export function dellBiosDefaults(slotPortIds: string[], iscsi: boolean): Record<string, BiosValue> {
  const attrs: Record<string, BiosValue> = { BootMode: "Uefi" };
  if (!iscsi) return attrs;
  Object.assign(attrs, { IscsiInitiatorName: "", IscsiDev1EnDis: "Disabled", IscsiDev1ConOrder: "Con1Con2" });
  for (const n of [1, 2] as const) {
    const c = `IscsiDev1Con${n}`;
    Object.assign(attrs, {
      [`${c}EnDis`]: "Disabled", [`${c}Interface`]: slotPortIds[n - 1] ?? "", [`${c}Protocol`]: "IPv4", [`${c}VlanEnDis`]: "Disabled",
      [`${c}VlanId`]: 1, [`${c}DhcpEnDis`]: "Disabled", [`${c}TgtDhcpEnDis`]: "Disabled", [`${c}Ip`]: "", [`${c}Mask`]: "", [`${c}Gateway`]: "",
      [`${c}TargetIp`]: "", [`${c}TargetName`]: "", [`${c}Port`]: 3260, [`${c}Lun`]: "0", [`${c}Auth`]: "None", [`${c}ChapType`]: "OneWay",
      [`${c}ChapName`]: "", [`${c}ChapSecret`]: null, [`${c}RevChapName`]: "", [`${c}RevChapSecret`]: null,
    });
  }
  return attrs;
}

/** PATCH of Bios/Settings {Attributes, @Redfish.SettingsApplyTime}. */
export function stageDellBios(sys: SystemState, body: Record<string, unknown>, jobs: JobsApi): StageOutcome {
  const bios = sys.bios!;
  const settingsUri = uris.biosSettings(sys);
  const guard = dellGuard(sys, settingsUri);
  if (guard) return guard;
  const problems: ExtendedInfo[] = [];
  const attrs: Record<string, BiosValue> = {};
  const nics = allFunctions(sys).filter((f) => f.capabilities.includes("Ethernet")).map((f) => f.id);
  for (const [k, v] of Object.entries(body)) {
    if (k.includes("@")) continue;
    if (k !== "Attributes") problems.push(msg.propertyUnknown(k));
    else if (!isObject(v)) problems.push(msg.propertyValueTypeError(k, v));
    else for (const [name, value] of Object.entries(v)) checkAttribute(name, value, bios.attributes, nics, attrs, problems);
  }
  const at = applyTimeOf(body, bios.settings!.applyTimes);
  if (!at.ok) problems.push(...at.messages);
  if (problems.length > 0 || !at.ok) return { ok: false, messages: problems };
  return {
    ok: true,
    apply: () => {
      stageBios(bios, attrs);
      return scheduleDellJob(sys, jobs, settingsUri, "BIOSConfiguration", at.value);
    },
  };
}

const isRange = (r: Rule): r is { min: number; max: number } => typeof r === "object" && !Array.isArray(r);

function checkAttribute(name: string, value: unknown, known: Record<string, BiosValue>, nics: string[], out: Record<string, BiosValue>, problems: ExtendedInfo[]): void {
  const rule = RULES[name];
  const path = `Attributes.${name}`;
  if (!rule || !(name in known)) return void problems.push(msg.propertyUnknown(path));
  if (Array.isArray(rule)) {
    if (typeof value !== "string") problems.push(msg.propertyValueTypeError(path, value));
    else if (!rule.includes(value)) problems.push(msg.propertyValueNotInList(path, value));
    else out[name] = value;
  } else if (isRange(rule)) {
    if (typeof value !== "number" || !Number.isInteger(value)) problems.push(msg.propertyValueTypeError(path, value));
    else if (value < rule.min || value > rule.max) problems.push(msg.propertyValueOutOfRange(path, value));
    else out[name] = value;
  } else if (typeof value !== "string") problems.push(msg.propertyValueTypeError(path, value));
  else if (rule === "fqdd" && !nics.includes(value)) problems.push(msg.propertyValueNotInList(path, value));
  else out[name] = value;
}

/** The BIOS connections that boot: device and connection enabled, a target, UEFI boot mode. */
export function dellBiosDevices(sys: SystemState): BootDevice[] {
  const a = sys.bios?.attributes;
  if (!a || traits(sys.flavour).idrac === null || a.IscsiDev1EnDis !== "Enabled" || a.BootMode !== "Uefi") return [];
  const order: Array<1 | 2> = a.IscsiDev1ConOrder === "Con2Con1" ? [2, 1] : [1, 2];
  const out: BootDevice[] = [];
  for (const n of order) {
    const c = (k: string) => a[`IscsiDev1Con${n}${k}`];
    const target = c("TargetName");
    const fn = allFunctions(sys).find((f) => f.id === c("Interface"));
    if (c("EnDis") !== "Enabled" || typeof target !== "string" || target === "" || !c("TargetIp") || !fn) continue;
    const lun = Number.parseInt(String(c("Lun") ?? "0"), 10) || 0;
    const ip = typeof c("Ip") === "string" && c("Ip") !== "" ? String(c("Ip")) : "0.0.0.0";
    const path = iscsiPath(fn.pciPath, fn.mac, ip, target, lun);
    const chap = c("Auth") === "Chap" ? chapOf(c("ChapType") === "Mutual" ? "MutualCHAP" : "CHAP", c("ChapName"), c("ChapSecret"), c("RevChapName"), c("RevChapSecret")) : null;
    out.push({
      path,
      displayName: `iSCSI IscsiDev1Con${n} ${target} LUN ${lun}`,
      san: true,
      device: {
        kind: "iscsi", target, targetIp: String(c("TargetIp")), port: typeof c("Port") === "number" ? (c("Port") as number) : null, lun,
        initiator: typeof a.IscsiInitiatorName === "string" ? a.IscsiInitiatorName : null, initiatorIp: ip, mac: fn.mac, functionId: fn.id,
        connection: n, chap, path,
      },
    });
  }
  return out;
}
