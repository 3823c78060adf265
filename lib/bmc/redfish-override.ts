/**
 * The system's boot override as a place (redfish-places.ts): written where the BMC wants Boot
 * changes (the ComputerSystem's own `@Redfish.Settings` object where it publishes one, as
 * iDRAC10 does; else the system), naming the SAN device the DMTF way (`Boot.BootOptions`, or the
 * allowed UefiTarget paths), claimed before the PATCH and put back by its claim.
 */
import type { Claim, JsonValue } from "./claims";
import { claimFor, patchBody } from "./claims";
import type { ClearResult, OverrideWant, WriteGuard } from "./driver";
import { chooseSanOverride, OVERRIDE_IDENTITY, overrideValues, type BootOptionEntry } from "./redfish-boot-power";
import { getResource } from "./redfish-discovery";
import { readSettled, type PlaceReader, type PlaceView } from "./redfish-places";
import { linkOf, memberLinks, type BootOption, type ComputerSystem } from "./redfish-types";
import type { SanContext } from "./vendors/quirks";
import { SanbootError } from "../errors";

/** The system now and with its settings object overlaid; Boot writes ask no apply time (the next boot uses them). */
export const readSystem: PlaceReader = async (ctx, uri) => {
  const v = await readSettled(ctx, uri, undefined);
  return { ...v, target: { ...v.target, applyTime: undefined } };
};

/** The system's UEFI boot options with their device paths (none where it publishes no BootOptions). */
export async function bootOptions(ctx: SanContext, system: ComputerSystem): Promise<BootOptionEntry[]> {
  const uri = linkOf(system.Boot?.BootOptions);
  if (!uri) return [];
  const out: BootOptionEntry[] = [];
  for (const member of memberLinks((await ctx.w.t.get(uri)).body)) {
    const o = (await getResource<BootOption>(ctx.w.t, member)).body;
    if (typeof o.UefiDevicePath === "string" && o.UefiDevicePath) out.push({ ref: o.BootOptionReference ?? o.Id, path: o.UefiDevicePath });
  }
  return out;
}

const bootOf = (view: PlaceView) => (view.will as ComputerSystem).Boot;

/**
 * The override to the SAN device `hints` name: null when already set; a claim recorded before the
 * PATCH. Throws BMC_CAPABILITY_MISSING (nothing written) when no allowed target can name it.
 */
export async function writeSanOverride(ctx: SanContext, uri: string, want: OverrideWant, hints: string[], guard: WriteGuard): Promise<Claim | null> {
  let claim: Claim | null = null;
  let options: BootOptionEntry[] | undefined;
  await ctx.w.patchFresh(async () => {
    const view = await readSystem(ctx, uri);
    const boot = bootOf(view);
    const needsOptions = !(boot?.["BootSourceOverrideTarget@Redfish.AllowableValues"] ?? ["RemoteDrive"]).includes("RemoteDrive");
    options ??= needsOptions ? await bootOptions(ctx, view.will as ComputerSystem) : [];
    const decision = chooseSanOverride(boot, want.mode, hints, want.persistence, options);
    if (decision.kind === "missing") throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ctx.w.ep.system_id}: ${decision.reason}`);
    if (decision.kind === "done") return null;
    claim = claimFor("boot_override", uri, view.will, overrideValues(decision.body), [], OVERRIDE_IDENTITY);
    await guard.record({ claims: [claim] });
    return { uri: view.target.uri, body: decision.body, etag: view.etag };
  });
  return claim;
}

/** Whether the override can name the SAN device now (the options it would use appear after settings apply). */
export async function canNameSanDevice(ctx: SanContext, uri: string, want: OverrideWant, hints: string[]): Promise<boolean> {
  const view = await readSystem(ctx, uri);
  const boot = bootOf(view);
  const needsOptions = !(boot?.["BootSourceOverrideTarget@Redfish.AllowableValues"] ?? ["RemoteDrive"]).includes("RemoteDrive");
  const options = needsOptions ? await bootOptions(ctx, view.will as ComputerSystem) : [];
  return chooseSanOverride(boot, want.mode, hints, want.persistence, options).kind !== "missing";
}

/** Writes `values` (Boot paths) decided from the override as it will be; the change reported as `action`. */
export async function writeOverride(
  ctx: SanContext,
  claim: Claim,
  plan: (system: ComputerSystem, claim: Claim) => Record<string, JsonValue> | null,
  action: string,
): Promise<ClearResult> {
  const reply = await ctx.w.patchFresh(async () => {
    const view = await readSystem(ctx, claim.uri);
    const values = plan(view.will as ComputerSystem, claim);
    return values ? { uri: view.target.uri, body: patchBody(values), etag: view.etag } : null;
  });
  return reply ? { changed: true, changes: [{ kind: "override", uri: claim.uri, action }] } : { changed: false, changes: [] };
}

/** Before a POST that only applies settings: claim and write `values` (the override that boots nothing). */
export async function writeParkedOverride(ctx: SanContext, uri: string, plan: (system: ComputerSystem) => Record<string, JsonValue> | null, guard: WriteGuard): Promise<void> {
  await ctx.w.patchFresh(async () => {
    const view = await readSystem(ctx, uri);
    const values = plan(view.will as ComputerSystem);
    if (!values) return null;
    await guard.record({ claims: [claimFor("boot_override", uri, view.will, values, [], OVERRIDE_IDENTITY)] });
    return { uri: view.target.uri, body: patchBody(values), etag: view.etag };
  });
}
