/**
 * Pure decisions about a NIC function's iSCSI boot target: which function, and what iSCSIBoot
 * must hold for a spec, as property paths (claims.ts turns them into PATCHes, claims and undo).
 * Only the properties the wanted state needs: a secondary path, mutual CHAP or static addresses
 * are written only when the spec has them, or to blank what the function holds there.
 * No I/O: the driver feeds in resources it read and sends what these return.
 */
import { isBlank, sameValue, stillOurs, type Claim, type JsonValue } from "./claims";
import type { SanIscsiSpec } from "./driver";
import type { NetworkDeviceFunction } from "./redfish-types";

export const SECRET_FIELDS = ["CHAPSecret", "MutualCHAPSecret"] as const;

/** Paths that make a function ours, most telling first (claims.ts `identity`). */
export const ISCSI_IDENTITY = ["iSCSIBoot.PrimaryTargetName", "iSCSIBoot.InitiatorName", "iSCSIBoot.PrimaryTargetIPAddress", "BootMode"] as const;

export function normaliseMac(mac: string | null | undefined): string | undefined {
  if (!mac) return undefined;
  const hex = mac.replace(/[^0-9a-fA-F]/g, "").toLowerCase();
  return hex.length === 12 ? hex : undefined;
}

/**
 * A function that can boot iSCSI: it says iSCSI among its capabilities (or, with no list, is of
 * type iSCSI), and its personality is not Fibre Channel (an FC-typed function has no NIC boot).
 */
export function isIscsiCapable(fn: NetworkDeviceFunction): boolean {
  const caps = fn.NetDevFuncCapabilities;
  const capable = Array.isArray(caps) ? caps.includes("iSCSI") : fn.NetDevFuncType === "iSCSI";
  return capable && fn.NetDevFuncType !== "FibreChannel" && fn.NetDevFuncType !== "Disabled";
}

export function macsOf(fn: NetworkDeviceFunction): string[] {
  return [fn.Ethernet?.MACAddress, fn.Ethernet?.PermanentMACAddress]
    .map(normaliseMac)
    .filter((m): m is string => m !== undefined);
}

/** Holds no iSCSI boot configuration of anyone's: not booting iSCSI, no target named. */
export function isUnconfigured(fn: NetworkDeviceFunction): boolean {
  const b = fn.iSCSIBoot ?? {};
  return (
    fn.BootMode !== "iSCSI" &&
    ["PrimaryTargetName", "PrimaryTargetIPAddress", "SecondaryTargetName", "SecondaryTargetIPAddress"].every((f) => isBlank(f, b[f]))
  );
}

export type FunctionChoice = { ok: true; fn: NetworkDeviceFunction } | { ok: false; reason: string };

/**
 * The function to write: the one an earlier run of this request claimed; else by MAC when the
 * node names one; else one that already holds the node's own initiator name (sanboot generated
 * it for this node: nobody else writes it); else the first iSCSI-capable function that holds
 * nobody's configuration (a configured one is never taken without being named: its CHAP secret
 * could not be put back).
 */
export function chooseIscsiFunction(fns: NetworkDeviceFunction[], mac?: string, claimed?: string, initiator?: string): FunctionChoice {
  if (claimed) {
    const fn = fns.find((f) => f["@odata.id"] === claimed);
    if (fn) return { ok: true, fn };
  }
  if (mac !== undefined) {
    const wanted = normaliseMac(mac);
    if (!wanted) return { ok: false, reason: `"${mac}" is not a MAC address` };
    const fn = fns.find((f) => macsOf(f).includes(wanted));
    if (!fn) return { ok: false, reason: `no network device function of this system has MAC ${mac}` };
    if (!isIscsiCapable(fn)) return { ok: false, reason: `network device function ${fn["@odata.id"]} (MAC ${mac}) cannot boot iSCSI` };
    return { ok: true, fn };
  }
  const capable = fns.filter(isIscsiCapable);
  if (capable.length === 0) return { ok: false, reason: "no network device function of this system can boot iSCSI" };
  const mine = initiator ? capable.find((f) => sameValue("iSCSIBoot.InitiatorName", f.iSCSIBoot?.InitiatorName, initiator)) : undefined;
  if (mine) return { ok: true, fn: mine };
  const free = capable.find(isUnconfigured);
  if (free) return { ok: true, fn: free };
  return {
    ok: false,
    reason: `every iSCSI-capable function holds another iSCSI boot configuration (${capable.map((f) => f["@odata.id"]).join(", ")}); set the node's mac_address to the port sanboot may use`,
  };
}

const isV6 = (address: string) => address.includes(":");

export interface WantedIscsi {
  /** readable paths → values */
  values: Record<string, JsonValue>;
  /** write-only paths → the secrets to send with any change */
  secrets: Record<string, string>;
}

/**
 * What the function must hold for `spec`, judged against what it holds now (`current`); `blank`
 * is how the BMC takes an unset value (null per the schema; "0.0.0.0" / "" where it refuses null).
 */
export function wantedIscsi(spec: SanIscsiSpec, current: NetworkDeviceFunction, blank: (path: string) => JsonValue = () => null): WantedIscsi {
  const [primary, secondary] = spec.targets;
  const net = spec.network;
  const vlan = net.mode === "static" ? net.vlan_id : undefined;
  const cur = current.iSCSIBoot ?? {};
  const held = (f: string) => !isBlank(f, cur[f]);
  const v: Record<string, JsonValue> = {
    BootMode: "iSCSI",
    "iSCSIBoot.IPAddressType": isV6(primary!.address) || (net.mode === "static" && isV6(net.address)) ? "IPv6" : "IPv4",
    "iSCSIBoot.InitiatorName": spec.initiator_name,
    "iSCSIBoot.TargetInfoViaDHCP": false,
    "iSCSIBoot.IPMaskDNSViaDHCP": net.mode === "dhcp",
    "iSCSIBoot.PrimaryTargetName": primary!.name,
    "iSCSIBoot.PrimaryTargetIPAddress": primary!.address,
    "iSCSIBoot.PrimaryTargetTCPPort": primary!.port,
    "iSCSIBoot.PrimaryLUN": primary!.lun,
    "iSCSIBoot.AuthenticationMethod": spec.auth.method,
  };
  if (vlan !== undefined) Object.assign(v, { "iSCSIBoot.PrimaryVLANEnable": true, "iSCSIBoot.PrimaryVLANId": vlan });
  else if (cur.PrimaryVLANEnable === true) v["iSCSIBoot.PrimaryVLANEnable"] = false;
  if (secondary) {
    Object.assign(v, {
      "iSCSIBoot.SecondaryTargetName": secondary.name,
      "iSCSIBoot.SecondaryTargetIPAddress": secondary.address,
      "iSCSIBoot.SecondaryTargetTCPPort": secondary.port,
      "iSCSIBoot.SecondaryLUN": secondary.lun,
    });
    if (vlan !== undefined) Object.assign(v, { "iSCSIBoot.SecondaryVLANEnable": true, "iSCSIBoot.SecondaryVLANId": vlan });
  } else {
    // Someone's second path must not be tried after ours: blank what is there.
    for (const f of ["SecondaryTargetName", "SecondaryTargetIPAddress"]) if (held(f)) v[`iSCSIBoot.${f}`] = blank(`iSCSIBoot.${f}`);
  }
  if (!secondary || vlan === undefined) if (cur.SecondaryVLANEnable === true) v["iSCSIBoot.SecondaryVLANEnable"] = false;
  if (net.mode === "static") {
    v["iSCSIBoot.InitiatorIPAddress"] = net.address;
    v["iSCSIBoot.InitiatorNetmask"] = net.netmask;
    if (net.gateway !== undefined) v["iSCSIBoot.InitiatorDefaultGateway"] = net.gateway;
  }
  const secrets: Record<string, string> = {};
  if (spec.auth.method !== "None") {
    v["iSCSIBoot.CHAPUsername"] = spec.auth.username;
    secrets["iSCSIBoot.CHAPSecret"] = spec.auth.secret;
  }
  if (spec.auth.method === "MutualCHAP") {
    v["iSCSIBoot.MutualCHAPUsername"] = spec.auth.mutual_username;
    secrets["iSCSIBoot.MutualCHAPSecret"] = spec.auth.mutual_secret;
  }
  return { values: v, secrets };
}

/**
 * Are the secrets on the function ours? A BMC never answers them, so only evidence says so: an
 * earlier run of this request claimed the function and its target is still the one we wrote.
 */
export function secretsInPlace(current: NetworkDeviceFunction, prior: Claim | undefined, wanted: WantedIscsi): boolean {
  if (Object.keys(wanted.secrets).length === 0) return true;
  return prior !== undefined && Object.keys(wanted.secrets).every((s) => prior.secrets.includes(s)) && stillOurs(current, prior);
}
