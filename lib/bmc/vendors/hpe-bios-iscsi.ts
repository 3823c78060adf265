/**
 * HPE iLO: reading and writing the BIOS UEFI iSCSI initiator (`Bios/iScsi` and its settings
 * object) as a claimed place (redfish-san-targets.ts). The decisions are in hpe-ilo.ts.
 */
import { SanbootError } from "../../errors";
import { stillOurs, type Claim } from "../claims";
import type { ConfigureResult, SanIscsiSpec, WriteGuard } from "../driver";
import { getResource, type Found } from "../redfish-discovery";
import { settingsFailures, writeTarget, type MessageSummary } from "../redfish-settings";
import { writePlace, type PlaceReader, type SanContext } from "../redfish-san-targets";
import { linkOf, type ComputerSystem, type SettingsAnnotation } from "../redfish-types";
import { contains } from "../redfish-writer";
import { chooseNicSource, claimedAttempts, iscsiLinkOf, overrideHints, pendingIscsi, placeAttempts, planIscsi, type HpeIscsi } from "./hpe-ilo";

/** The `Bios/iScsi` URI of the system, when its BIOS has a UEFI iSCSI initiator. */
export async function findBiosIscsi(ctx: SanContext, system: Found<ComputerSystem>): Promise<string | undefined> {
  const biosUri = linkOf(system.body.Bios);
  if (!biosUri) return undefined;
  return iscsiLinkOf((await ctx.w.t.get(biosUri)).body);
}

/** The initiator in force and as its settings object will make it; writes go to the settings object. */
export const readBiosIscsi: PlaceReader = async (ctx, uri) => {
  const resource = (await getResource<HpeIscsi & { "@Redfish.Settings"?: SettingsAnnotation }>(ctx.w.t, uri)).body;
  const target = writeTarget(uri, resource["@Redfish.Settings"]);
  if (!target.deferred) {
    throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: ${uri} publishes no settings object to write`);
  }
  const settings = await getResource<HpeIscsi>(ctx.w.t, target.uri);
  // BIOS settings apply at the next POST, whatever the settings object says about apply times.
  return {
    now: resource as Record<string, unknown>,
    will: pendingIscsi(resource, settings.body) as Record<string, unknown>,
    target: { ...target, applyTime: undefined },
    etag: settings.etag,
  };
};

export async function configureBiosIscsi(ctx: SanContext, uri: string, spec: SanIscsiSpec, iscsiMacs: string[], guard: WriteGuard): Promise<ConfigureResult> {
  if (spec.network.mode === "static" && spec.network.vlan_id !== undefined) {
    throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: the UEFI iSCSI initiator takes no VLAN; tag the NIC port instead`);
  }
  const prior = guard.prior.claims.find((c) => c.kind === "hpe_bios_iscsi" && c.uri === uri);
  const written = await writePlace(
    ctx,
    "hpe_bios_iscsi",
    uri,
    readBiosIscsi,
    (v) => {
      const view = v.will as HpeIscsi;
      const nic = chooseNicSource(view.iSCSINicSources, iscsiMacs, spec.mac_address?.replace(/[^0-9a-fA-F]/g, "").toLowerCase());
      if (!nic) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: no UEFI iSCSI NIC source for ${spec.mac_address ?? "the first iSCSI port"}`);
      const placed = placeAttempts(view, spec.targets.length, prior ? claimedAttempts(Object.keys(prior.wrote)) : []);
      if (!placed) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: all ${view.iSCSISources?.length ?? 0} UEFI iSCSI attempts are in use`);
      const secretsKnown = prior !== undefined && prior.secrets.length > 0 && stillOurs(view, prior);
      const plan = planIscsi(view, spec, nic, placed, secretsKnown);
      if (Object.keys(plan.values).length === 0 && Object.keys(plan.secrets).length === 0) return null;
      return plan;
    },
    guard,
  );
  return {
    changed: written !== null,
    function_uri: uri,
    ...(written ? { claim: written.claim } : {}),
    // BIOS settings apply at the next POST, whatever the answer says.
    ...(written ? { pending: written.pending ?? { resource_uri: uri, settings_uri: (await readBiosIscsi(ctx, uri)).target.uri, apply_time: "OnReset" } } : {}),
  };
}

export interface BiosIscsiState {
  hints: string[];
  pending: boolean;
  failures: MessageSummary[];
}

/** What our claimed attempts offer the override, whether what we staged is still waiting, and failures. */
export async function biosIscsiState(ctx: SanContext, claim: Claim): Promise<BiosIscsiState> {
  const resource = (await getResource<HpeIscsi & { "@Redfish.Settings"?: SettingsAnnotation }>(ctx.w.t, claim.uri)).body;
  const v = await readBiosIscsi(ctx, claim.uri);
  return {
    hints: overrideHints(resource, claimedAttempts(Object.keys(claim.wrote))),
    pending: !contains(v.now, v.will),
    failures: settingsFailures(resource["@Redfish.Settings"]),
  };
}
