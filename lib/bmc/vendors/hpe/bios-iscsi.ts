/**
 * HPE iLO: the BIOS UEFI iSCSI initiator (`Bios/iScsi` and its settings object) as a claimed
 * place (redfish-places.ts), with what HPE documents around it: the MAC mapped to an
 * `iSCSINicSource` through the BIOS mappings (never by list order), and the BIOS prerequisites
 * (UEFI boot mode, `iSCSIPolicy` SoftwareInitiator, the NIC's `NicBootN` NetworkBoot) checked,
 * or set where the node allows BIOS changes. The attempt plans are in attempts.ts.
 */
import { SanbootError } from "../../../errors";
import { stillOurs, type Claim } from "../../claims";
import type { ConfigureResult, SanIscsiSpec, WriteGuard } from "../../driver";
import { getResource, type Found } from "../../redfish-discovery";
import { readSettled, writePlace, type PlaceReader } from "../../redfish-places";
import { normaliseMac } from "../../redfish-san-boot";
import { settingsFailures, writeTarget, type MessageSummary } from "../../redfish-settings";
import { linkOf, memberLinks, type ComputerSystem, type SettingsAnnotation } from "../../redfish-types";
import { contains } from "../../redfish-writer";
import type { SanContext } from "../quirks";
import { biosLinkOf, claimedAttempts, overrideHints, pendingIscsi, placeAttempts, planIscsi, type HpeIscsi } from "./attempts";

const missing = (ctx: SanContext, reason: string) => new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: ${reason}`);

/** The initiator in force and as its settings object will make it; writes go to the settings object. */
export const readBiosIscsi: PlaceReader = async (ctx, uri) => {
  const resource = (await getResource<HpeIscsi & { "@Redfish.Settings"?: SettingsAnnotation }>(ctx.w.t, uri)).body;
  const target = writeTarget(uri, resource["@Redfish.Settings"]);
  if (!target.deferred) throw missing(ctx, `${uri} publishes no settings object to write`);
  const settings = await getResource<HpeIscsi>(ctx.w.t, target.uri);
  // BIOS settings apply at the next POST, whatever the settings object says about apply times.
  return { now: resource as Record<string, unknown>, will: pendingIscsi(resource, settings.body) as Record<string, unknown>, target: { ...target, applyTime: undefined }, etag: settings.etag };
};

interface HpeBios {
  uri: string;
  body: { Attributes?: Record<string, unknown> } & Record<string, unknown>;
  iscsi: string | undefined;
  mappings: string | undefined;
}

export async function readBios(ctx: SanContext, system: Found<ComputerSystem>): Promise<HpeBios | undefined> {
  const uri = linkOf(system.body.Bios);
  if (!uri) return undefined;
  const body = (await ctx.w.t.get(uri)).body as HpeBios["body"];
  return { uri, body, iscsi: biosLinkOf(body, "iScsi"), mappings: biosLinkOf(body, "Mappings") };
}

/**
 * The NIC source (`NicBootN`) of the port with `mac`: the system's EthernetInterfaces give the
 * port's UEFI device path, the BIOS mappings the association of the subinstance whose
 * CorrelatableID is that path. Without a MAC, the first source the BIOS lets boot.
 */
async function nicSourceFor(ctx: SanContext, system: Found<ComputerSystem>, bios: HpeBios, sources: string[], mac: string | undefined): Promise<string> {
  if (sources.length === 0) throw missing(ctx, "the UEFI iSCSI initiator lists no NIC sources (iSCSINicSources)");
  if (mac === undefined) return sources.find((s) => bios.body.Attributes?.[s] === "NetworkBoot") ?? sources[0]!;
  const wanted = normaliseMac(mac);
  const ifacesUri = linkOf((system.body as { EthernetInterfaces?: unknown }).EthernetInterfaces);
  if (!ifacesUri || !bios.mappings) throw missing(ctx, `cannot map MAC ${mac} to a UEFI iSCSI NIC source: the BMC publishes ${!ifacesUri ? "no EthernetInterfaces" : "no BIOS mappings (Oem.Hpe.Links.Mappings)"}`);
  let path: string | undefined;
  for (const u of memberLinks((await ctx.w.t.get(ifacesUri)).body)) {
    const iface = (await ctx.w.t.get(u)).body as { MACAddress?: string; PermanentMACAddress?: string; UefiDevicePath?: string };
    if ([iface.MACAddress, iface.PermanentMACAddress].map((m) => normaliseMac(m)).includes(wanted)) path = iface.UefiDevicePath;
  }
  if (!path) throw missing(ctx, `no EthernetInterface of this system has MAC ${mac} with a UEFI device path`);
  const source = nicSourceOfPath((await ctx.w.t.get(bios.mappings)).body, path, sources);
  if (source) return source;
  throw missing(ctx, `the BIOS mappings name no iSCSI NIC source for MAC ${mac} (${path})`);
}

/** The iSCSI NIC source the BIOS mappings associate with the port at UEFI device path `path`. */
export function nicSourceOfPath(mappings: unknown, path: string, sources: string[]): string | undefined {
  const m = mappings as { BiosPciSettingsMappings?: Array<{ Subinstances?: Array<{ CorrelatableID?: string; Associations?: unknown[] }> }> };
  for (const device of m.BiosPciSettingsMappings ?? []) {
    for (const sub of device.Subinstances ?? []) {
      if (sub.CorrelatableID !== path) continue;
      const source = (sub.Associations ?? []).find((a): a is string => typeof a === "string" && sources.includes(a));
      if (source) return source;
    }
  }
  return undefined;
}

/**
 * BIOS prerequisites of the software initiator for `source`: UEFI boot mode (never changed by
 * sanboot), `iSCSIPolicy` SoftwareInitiator and `<source>` NetworkBoot. Answers the attributes to
 * set, or throws naming what is missing and how to allow it.
 */
function prerequisites(ctx: SanContext, bios: HpeBios, source: string, spec: SanIscsiSpec): Record<string, string> {
  const attrs = bios.body.Attributes ?? {};
  if (attrs.BootMode !== undefined && attrs.BootMode !== "Uefi") throw missing(ctx, `the UEFI iSCSI initiator needs BIOS BootMode Uefi (it is ${String(attrs.BootMode)})`);
  const want: Record<string, string> = { iSCSIPolicy: "SoftwareInitiator", [source]: "NetworkBoot" };
  const needed = Object.fromEntries(Object.entries(want).filter(([k, v]) => attrs[k] !== undefined && attrs[k] !== v));
  if (Object.keys(needed).length > 0 && spec.bios_changes !== "allow") {
    throw missing(ctx, `BIOS attribute ${Object.entries(needed).map(([k, v]) => `${k} must be ${v} (it is ${String(attrs[k])})`).join(", ")}; set it, or let sanboot set it (the node's bios_changes: allow)`);
  }
  return needed;
}

export async function configureBiosIscsi(ctx: SanContext, system: Found<ComputerSystem>, spec: SanIscsiSpec, guard: WriteGuard): Promise<ConfigureResult | undefined> {
  const bios = await readBios(ctx, system);
  if (!bios?.iscsi) return undefined;
  const uri = bios.iscsi;
  if (spec.boot_mode !== "uefi") throw missing(ctx, "the UEFI iSCSI initiator boots in UEFI mode only (the node's boot_mode is bios)");
  if (spec.network.mode === "static" && spec.network.vlan_id !== undefined) throw missing(ctx, "the UEFI iSCSI initiator takes no VLAN; tag the NIC port instead");
  const current = (await readBiosIscsi(ctx, uri)).will as HpeIscsi;
  const source = await nicSourceFor(ctx, system, bios, current.iSCSINicSources ?? [], spec.mac_address);
  const needed = prerequisites(ctx, bios, source, spec);
  if (Object.keys(needed).length > 0) {
    await writePlace(ctx, "bios_attributes", bios.uri, readSettledBios, (view) => {
      const attrs = (view.will as { Attributes?: Record<string, unknown> }).Attributes ?? {};
      const values = Object.fromEntries(Object.entries(needed).filter(([k, v]) => attrs[k] !== v).map(([k, v]) => [`Attributes.${k}`, v]));
      return Object.keys(values).length > 0 ? { values, secrets: {} } : null;
    }, guard, Object.keys(needed).map((k) => `Attributes.${k}`));
  }
  const prior = guard.prior.claims.find((c) => c.kind === "hpe_bios_iscsi" && c.uri === uri);
  const written = await writePlace(ctx, "hpe_bios_iscsi", uri, readBiosIscsi, (v) => {
    const view = v.will as HpeIscsi;
    const placed = placeAttempts(view, spec.targets.length, prior ? claimedAttempts(Object.keys(prior.wrote)) : []);
    if (!placed) throw missing(ctx, `all ${view.iSCSISources?.length ?? 0} UEFI iSCSI attempts are in use`);
    const secretsKnown = prior !== undefined && prior.secrets.length > 0 && stillOurs(view, prior);
    const plan = planIscsi(view, spec, source, placed, secretsKnown);
    if (Object.keys(plan.values).length === 0 && Object.keys(plan.secrets).length === 0) return null;
    return plan;
  }, guard, []);
  const settingsUri = (await readBiosIscsi(ctx, uri)).target.uri;
  return {
    changed: written !== null,
    function_uri: uri,
    ...(written ? { claim: written.claim } : {}),
    // BIOS settings apply at the next POST, whatever the answer says.
    ...(written ? { pending: written.pending ?? { resource_uri: uri, settings_uri: settingsUri, apply_time: "OnReset", ...(written.claim.since ? { since: written.claim.since } : {}) } } : {}),
  };
}

/** The BIOS attributes (Bios and its settings object), applied at the next POST. */
export const readSettledBios: PlaceReader = async (ctx, uri) => {
  const v = await readSettled(ctx, uri, undefined);
  return { ...v, target: { ...v.target, applyTime: undefined } };
};

export interface BiosIscsiState {
  hints: string[];
  pending: boolean;
  failures: MessageSummary[];
}

/** What our claimed attempts offer the override, whether what we staged is still waiting, and failures. */
export async function biosIscsiState(ctx: SanContext, claim: Claim): Promise<BiosIscsiState> {
  const v = await readBiosIscsi(ctx, claim.uri);
  const resource = v.now as HpeIscsi & { "@Redfish.Settings"?: SettingsAnnotation };
  return {
    hints: overrideHints(resource, claimedAttempts(Object.keys(claim.wrote))),
    pending: !contains(v.now, v.will),
    failures: settingsFailures(resource["@Redfish.Settings"], Object.keys(claim.wrote)),
  };
}
