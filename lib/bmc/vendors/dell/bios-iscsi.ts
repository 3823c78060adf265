/**
 * Dell iDRAC in UEFI boot mode, where the NIC function offers no iSCSI boot of its own: the
 * BIOS's UEFI iSCSI initiator, driven by BIOS attributes (`IscsiInitiatorName`, `IscsiDev1EnDis`,
 * `IscsiDev1Con1*`, `IscsiDev1Con2*` for a second path) written through `Bios/Settings` with
 * `@Redfish.SettingsApplyTime` (a BIOSConfiguration job, applied at the next POST). Once applied,
 * the connection is a UEFI boot option (BootOptions) the override names. Values as Dell's BIOS
 * takes them: Enabled/Disabled, Auth Chap/None, ChapType OneWay/Mutual, the port an integer, the
 * LUN a string, no nulls; the connection's interface is the NIC function's FQDD (its Id).
 */
import { SanbootError } from "../../../errors";
import { differing, stillOurs, type JsonValue } from "../../claims";
import type { ConfigureResult, SanIscsiSpec, WriteGuard } from "../../driver";
import type { Found } from "../../redfish-discovery";
import { readSettled, writePlace, type PlaceReader } from "../../redfish-places";
import { isIscsiCapable, macsOf, normaliseMac } from "../../redfish-san-boot";
import { linkOf, type ComputerSystem, type NetworkDeviceFunction } from "../../redfish-types";
import type { SanContext } from "../quirks";

export const readBios: PlaceReader = (ctx, uri, preference) => readSettled(ctx, uri, undefined, preference);

/** Does a NIC function offer iSCSI boot itself (iSCSIBoot, and BootMode iSCSI where it lists modes)? */
export function offersNicIscsi(fn: NetworkDeviceFunction): boolean {
  const modes = fn["BootMode@Redfish.AllowableValues"];
  return isIscsiCapable(fn) && fn.iSCSIBoot !== undefined && (!Array.isArray(modes) || modes.includes("iSCSI"));
}

const A = (name: string) => `Attributes.${name}`;

/** The attributes a spec wants on connection `n` (1 primary, 2 the multipath secondary). */
export function connection(n: 1 | 2, spec: SanIscsiSpec, iface: string): Record<string, JsonValue> {
  const t = spec.targets[n - 1]!;
  const p = `IscsiDev1Con${n}`;
  const net = spec.network;
  const v: Record<string, JsonValue> = {
    [A(`${p}EnDis`)]: "Enabled",
    [A(`${p}Interface`)]: iface,
    [A(`${p}Protocol`)]: t.address.includes(":") ? "IPv6" : "IPv4",
    [A(`${p}DhcpEnDis`)]: net.mode === "dhcp" ? "Enabled" : "Disabled",
    [A(`${p}TgtDhcpEnDis`)]: "Disabled",
    [A(`${p}TargetIp`)]: t.address,
    [A(`${p}TargetName`)]: t.name,
    [A(`${p}Port`)]: t.port,
    [A(`${p}Lun`)]: String(t.lun),
    [A(`${p}Auth`)]: spec.auth.method === "None" ? "None" : "Chap",
  };
  if (net.mode === "static") {
    v[A(`${p}Ip`)] = net.address;
    v[A(`${p}Mask`)] = net.netmask;
    if (net.gateway !== undefined) v[A(`${p}Gateway`)] = net.gateway;
    if (net.vlan_id !== undefined) Object.assign(v, { [A(`${p}VlanEnDis`)]: "Enabled", [A(`${p}VlanId`)]: net.vlan_id });
  }
  if (spec.auth.method !== "None") {
    v[A(`${p}ChapType`)] = spec.auth.method === "MutualCHAP" ? "Mutual" : "OneWay";
    v[A(`${p}ChapName`)] = spec.auth.username;
  }
  if (spec.auth.method === "MutualCHAP") v[A(`${p}RevChapName`)] = spec.auth.mutual_username;
  return v;
}

function secrets(spec: SanIscsiSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of spec.targets.map((_t, i) => i + 1)) {
    if (spec.auth.method !== "None") out[A(`IscsiDev1Con${n}ChapSecret`)] = spec.auth.secret;
    if (spec.auth.method === "MutualCHAP") out[A(`IscsiDev1Con${n}RevChapSecret`)] = spec.auth.mutual_secret;
  }
  return out;
}

/** Configures the BIOS initiator, or undefined where this system's NICs program iSCSI boot themselves or its BIOS has no initiator. */
export async function configureDellBiosIscsi(ctx: SanContext, system: Found<ComputerSystem>, fns: Array<Found<NetworkDeviceFunction>>, spec: SanIscsiSpec, guard: WriteGuard): Promise<ConfigureResult | undefined> {
  if (spec.boot_mode !== "uefi" || fns.some((f) => offersNicIscsi(f.body))) return undefined;
  const biosUri = linkOf(system.body.Bios);
  if (!biosUri) return undefined;
  const bios = (await readBios(ctx, biosUri)).will as { Attributes?: Record<string, unknown> };
  if (bios.Attributes?.IscsiDev1Con1TargetName === undefined) return undefined;
  if (bios.Attributes.BootMode !== undefined && bios.Attributes.BootMode !== "Uefi") {
    throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: the BIOS iSCSI initiator needs BIOS BootMode Uefi (it is ${String(bios.Attributes.BootMode)})`);
  }
  const wanted = spec.mac_address ? normaliseMac(spec.mac_address) : undefined;
  const nic = wanted ? fns.find((f) => macsOf(f.body).includes(wanted)) : undefined;
  if (wanted && !nic) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: no network device function has MAC ${spec.mac_address}`);
  const iface = nic?.body.Id ?? String(bios.Attributes.IscsiDev1Con1Interface ?? "");
  if (!iface) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: name the iSCSI boot port (the node's mac_address)`);
  const prior = guard.prior.claims.find((c) => c.kind === "dell_bios_iscsi" && c.uri === biosUri);
  const written = await writePlace(ctx, "dell_bios_iscsi", biosUri, readBios, (view) => {
    const values: Record<string, JsonValue> = {
      [A("IscsiInitiatorName")]: spec.initiator_name,
      [A("IscsiDev1EnDis")]: "Enabled",
      ...connection(1, spec, iface),
      ...(spec.targets[1] ? connection(2, spec, iface) : {}),
    };
    const changes = differing(view.will, values);
    const vouched = prior !== undefined && prior.secrets.length > 0 && stillOurs(view.will, prior);
    if (Object.keys(changes).length === 0 && (vouched || spec.auth.method === "None")) return null;
    return { values: changes, secrets: secrets(spec) };
  }, guard, [A("IscsiDev1Con1TargetName"), A("IscsiInitiatorName"), A("IscsiDev1Con1TargetIp")]);
  return {
    changed: written !== null,
    function_uri: biosUri,
    ...(written ? { claim: written.claim } : {}),
    ...(written?.pending ? { pending: written.pending } : {}),
  };
}
