/**
 * HPE iLO: reading and writing the BIOS UEFI iSCSI initiator (`Bios/iScsi` and its settings
 * object) with the generic write policy. The decisions are in hpe-ilo.ts.
 */
import { SanbootError } from "../../errors";
import type { ClearResult, ConfigureResult, PendingSettings, SanBootSnapshot, SanIscsiSpec } from "../driver";
import { getResource, type Found } from "../redfish-discovery";
import { settingsFailures, writeTarget, type MessageSummary } from "../redfish-settings";
import type { SanContext } from "../redfish-san-targets";
import { linkOf, type ComputerSystem, type SettingsAnnotation } from "../redfish-types";
import { contains } from "../redfish-writer";
import { chooseNicSource, iscsiLinkOf, overrideHints, pendingIscsi, planClear, planIscsi, type HpeIscsi } from "./hpe-ilo";

/** The `Bios/iScsi` URI of the system, when its BIOS has a UEFI iSCSI initiator. */
export async function findBiosIscsi(ctx: SanContext, system: Found<ComputerSystem>): Promise<string | undefined> {
  const biosUri = linkOf(system.body.Bios);
  if (!biosUri) return undefined;
  return iscsiLinkOf((await ctx.w.t.get(biosUri)).body);
}

interface IscsiView {
  view: HpeIscsi;
  resource: HpeIscsi & { "@Redfish.Settings"?: SettingsAnnotation };
  settingsUri: string;
  settings: HpeIscsi;
  etag: string | undefined;
}

async function read(ctx: SanContext, uri: string): Promise<IscsiView> {
  const resource = (await getResource<IscsiView["resource"]>(ctx.w.t, uri)).body;
  const target = writeTarget(uri, resource["@Redfish.Settings"]);
  if (!target.deferred) {
    throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: ${uri} publishes no settings object to write`);
  }
  const settings = await getResource<HpeIscsi>(ctx.w.t, target.uri);
  return { view: pendingIscsi(resource, settings.body), resource, settingsUri: target.uri, settings: settings.body, etag: settings.etag };
}

export async function configureBiosIscsi(ctx: SanContext, uri: string, spec: SanIscsiSpec, iscsiMacs: string[]): Promise<ConfigureResult> {
  if (spec.network.mode === "static" && spec.network.vlan_id !== undefined) {
    throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: the UEFI iSCSI initiator takes no VLAN; tag the NIC port instead`);
  }
  const key = (i: number) => `${new URL(ctx.w.ep.address).origin}|${uri}#${i}`;
  const digest = ctx.secrets.digest(
    spec.auth.method === "None" ? null : spec.auth.secret,
    spec.auth.method === "MutualCHAP" ? spec.auth.mutual_secret : null,
  );
  let previous: SanBootSnapshot | undefined;
  let placed: number[] = [];
  let settingsUri = "";
  const reply = await ctx.w.patchFresh(async () => {
    const v = await read(ctx, uri);
    settingsUri = v.settingsUri;
    const nic = chooseNicSource(v.view.iSCSINicSources, iscsiMacs, spec.mac_address?.replace(/[^0-9a-fA-F]/g, "").toLowerCase());
    if (!nic) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: no UEFI iSCSI NIC source for ${spec.mac_address ?? "the first iSCSI port"}`);
    const plan = planIscsi(uri, v.view, spec, nic, (i) => ctx.secrets.known(key(i), v.etag, digest));
    if ("missing" in plan) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: ${plan.missing}`);
    previous = plan.previous;
    placed = plan.placed;
    return plan.body ? { uri: v.settingsUri, body: plan.body, etag: v.etag } : null;
  });
  if (!reply) return { changed: false, function_uri: uri };
  const etag = (await ctx.w.t.get(settingsUri)).etag;
  for (const i of placed) ctx.secrets.remember(key(i), etag, digest);
  // BIOS settings apply at the next POST, whatever the answer says.
  const pending = (await ctx.w.settle(reply, { uri: settingsUri, applyTime: undefined, deferred: true, resourceUri: uri })) ?? {
    resource_uri: uri,
    settings_uri: settingsUri,
    apply_time: "OnReset",
  };
  return { changed: true, function_uri: uri, ...(previous ? { previous } : {}), pending };
}

/**
 * Frees our attempts (or puts `previous` back). The BIOS applies it at the next POST, so a clear
 * that sent something is pending; so is one that found the clear already staged but not in force.
 */
export async function clearBiosIscsi(ctx: SanContext, uri: string, previous: SanBootSnapshot | undefined): Promise<ClearResult> {
  const snap = previous?.kind === "hpe_bios_iscsi" && previous.resource_uri === uri ? previous : undefined;
  let last: IscsiView | undefined;
  const reply = await ctx.w.patchFresh(async () => {
    const v = (last = await read(ctx, uri));
    const body = planClear(v.view, snap);
    return body ? { uri: v.settingsUri, body, etag: v.etag } : null;
  });
  const v = last!;
  const base: PendingSettings = { resource_uri: uri, settings_uri: v.settingsUri, apply_time: "OnReset" };
  if (reply) return { changed: true, pending: [(await ctx.w.settle(reply, { uri: v.settingsUri, applyTime: undefined, deferred: true, resourceUri: uri })) ?? base] };
  const staged = !contains(v.resource, v.settings) && planClear(v.resource, snap) !== null;
  return staged ? { changed: false, pending: [base] } : { changed: false };
}

export interface BiosIscsiState {
  hints: string[];
  pending: boolean;
  failures: MessageSummary[];
}

export async function biosIscsiState(ctx: SanContext, uri: string): Promise<BiosIscsiState> {
  const v = await read(ctx, uri);
  return {
    hints: overrideHints(v.view),
    pending: !contains(v.resource, v.settings),
    failures: settingsFailures(v.resource["@Redfish.Settings"]),
  };
}
