/**
 * The iSCSIBoot properties of NetworkDeviceFunction (DMTF schema), with the type rules the
 * emulator enforces on PATCH. One table so rendering, validation and blanking agree.
 */
export type IscsiValue = string | number | boolean | null;
export type IscsiBootValues = Record<string, IscsiValue>;

type Rule =
  | { type: "string"; secret?: boolean }
  | { type: "boolean" }
  | { type: "integer"; min: number; max: number }
  | { type: "enum"; values: readonly string[] };

const str: Rule = { type: "string" };
const bool: Rule = { type: "boolean" };
const secret: Rule = { type: "string", secret: true };
const port: Rule = { type: "integer", min: 0, max: 65535 };
const lun: Rule = { type: "integer", min: 0, max: 0xffff };
const vlan: Rule = { type: "integer", min: 0, max: 4094 };

export const ISCSI_RULES: Readonly<Record<string, Rule>> = {
  IPAddressType: { type: "enum", values: ["IPv4", "IPv6"] },
  InitiatorIPAddress: str,
  InitiatorName: str,
  InitiatorDefaultGateway: str,
  InitiatorNetmask: str,
  TargetInfoViaDHCP: bool,
  PrimaryTargetName: str,
  PrimaryTargetIPAddress: str,
  PrimaryTargetTCPPort: port,
  PrimaryLUN: lun,
  PrimaryVLANEnable: bool,
  PrimaryVLANId: vlan,
  PrimaryDNS: str,
  SecondaryTargetName: str,
  SecondaryTargetIPAddress: str,
  SecondaryTargetTCPPort: port,
  SecondaryLUN: lun,
  SecondaryVLANEnable: bool,
  SecondaryVLANId: vlan,
  SecondaryDNS: str,
  IPMaskDNSViaDHCP: bool,
  RouterAdvertisementEnabled: bool,
  AuthenticationMethod: { type: "enum", values: ["None", "CHAP", "MutualCHAP"] },
  CHAPUsername: str,
  CHAPSecret: secret,
  MutualCHAPUsername: str,
  MutualCHAPSecret: secret,
};

export function isSecret(name: string): boolean {
  const rule = ISCSI_RULES[name];
  return rule?.type === "string" && rule.secret === true;
}

/**
 * A function that was never configured: no initiator, no target, no CHAP. The DMTF blank is null;
 * a vendor's firmware reads some of them as zero addresses and empty names (`vendor`).
 */
export function blankIscsiBoot(vendor: IscsiBootValues = {}): IscsiBootValues {
  const v: IscsiBootValues = {};
  for (const name of Object.keys(ISCSI_RULES)) v[name] = null;
  return {
    ...v,
    IPAddressType: "IPv4",
    TargetInfoViaDHCP: false,
    PrimaryVLANEnable: false,
    SecondaryVLANEnable: false,
    IPMaskDNSViaDHCP: false,
    RouterAdvertisementEnabled: false,
    AuthenticationMethod: "None",
    ...vendor,
  };
}

export type FieldProblem =
  | { kind: "unknown"; name: string }
  | { kind: "type"; name: string; value: unknown }
  | { kind: "notInList"; name: string; value: unknown }
  | { kind: "outOfRange"; name: string; value: unknown };

/**
 * Checks one property. Every property is nullable in the DMTF schema; vendor firmware stores
 * strings, so `nullStrings: false` refuses null for string and enum properties (their type).
 */
export function checkIscsiField(name: string, value: unknown, nullStrings = true): FieldProblem | null {
  const rule = ISCSI_RULES[name];
  if (!rule) return { kind: "unknown", name };
  if (value === null) return nullStrings || (rule.type !== "string" && rule.type !== "enum") ? null : { kind: "type", name, value };
  switch (rule.type) {
    case "string":
      return typeof value === "string" ? null : { kind: "type", name, value };
    case "boolean":
      return typeof value === "boolean" ? null : { kind: "type", name, value };
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) return { kind: "type", name, value };
      return value >= rule.min && value <= rule.max ? null : { kind: "outOfRange", name, value };
    case "enum":
      if (typeof value !== "string") return { kind: "type", name, value };
      return rule.values.includes(value) ? null : { kind: "notInList", name, value };
  }
}
