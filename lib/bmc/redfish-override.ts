/**
 * The system's boot override as a place (redfish-places.ts): written where the BMC wants Boot
 * changes (the ComputerSystem's own `@Redfish.Settings` object where it publishes one, as
 * iDRAC10 does; else the system), naming the SAN device the DMTF way (`Boot.BootOptions`, or the
 * allowed UefiTarget paths), claimed before the PATCH and put back by its claim.
 */
import type { Claim, JsonValue } from "./claims";
import { claimFor, patchBody } from "./claims";
import type { ClearResult, OverrideWant, WriteGuard } from "./driver";
import { chooseSanOverride, OVERRIDE_IDENTITY, overrideValues, sanDevicePath, type BootOptionEntry, type OverrideDecision } from "./redfish-boot-power";
import { getResource } from "./redfish-discovery";
import { readSettled, type PlaceReader } from "./redfish-places";
import { linkOf, memberLinks, type BootOption, type BootProperties, type ComputerSystem } from "./redfish-types";
import type { SanContext } from "./vendors/quirks";
import { SanbootError } from "../errors";

/** The system now and with its settings object overlaid; Boot writes ask no apply time (the next boot uses them). */
export const readSystem: PlaceReader = async (ctx, uri) => {
  const v = await readSettled(ctx, uri, undefined);
  return { ...v, target: { ...v.target, applyTime: undefined } };
};

/** A boot option as listed: its member URI, and whether its contents came from an earlier read. */
export interface ListedOption extends BootOptionEntry {
  uri: string;
  remembered: boolean;
}

/** What a system's boot options said (member URI → entry; null: no UEFI device path), kept as structure. */
type KnownOptions = Record<string, BootOptionEntry | null>;
const BOOT_OPTIONS = "boot-options";

async function readOption(ctx: SanContext, uri: string): Promise<BootOptionEntry | null> {
  const o = (await getResource<BootOption>(ctx.w.t, uri)).body;
  return typeof o.UefiDevicePath === "string" && o.UefiDevicePath ? { ref: o.BootOptionReference ?? o.Id, path: o.UefiDevicePath } : null;
}

/**
 * The system's UEFI boot options with their device paths (none where it publishes no BootOptions).
 * The collection is read every time (an option appears once settings applied); a member read
 * before is taken as it was (firmware describes a device by its option, and keeps it while the
 * device exists), any other member is read. `decide` reads again the one option it would name.
 */
export async function bootOptions(ctx: SanContext, system: ComputerSystem): Promise<ListedOption[]> {
  const uri = linkOf(system.Boot?.BootOptions);
  if (!uri) return [];
  const known = ctx.known?.peek<KnownOptions>(BOOT_OPTIONS) ?? {};
  const seen: KnownOptions = {};
  const out: ListedOption[] = [];
  for (const member of memberLinks((await ctx.w.t.get(uri)).body)) {
    const remembered = Object.hasOwn(known, member);
    const entry = remembered ? known[member]! : await readOption(ctx, member);
    seen[member] = entry;
    if (entry) out.push({ ...entry, uri: member, remembered });
  }
  ctx.known?.remember(BOOT_OPTIONS, seen);
  return out;
}

/** Reads the boot options where nothing is known of them yet, so a later decision reads only what is new. */
export async function learnBootOptions(ctx: SanContext, system: ComputerSystem): Promise<void> {
  if (ctx.known && ctx.known.peek(BOOT_OPTIONS) === undefined) await bootOptions(ctx, system);
}

const needsOptions = (boot: BootProperties | undefined) => !(boot?.["BootSourceOverrideTarget@Redfish.AllowableValues"] ?? ["RemoteDrive"]).includes("RemoteDrive");

/**
 * The override to the SAN device from the system as it will be (`system`). The option it names is
 * never one only remembered: that one is read again, and when it changed, or when nothing names
 * the device while some options were only remembered, every option is read afresh.
 */
async function decide(ctx: SanContext, system: ComputerSystem, want: OverrideWant, hints: string[]): Promise<OverrideDecision> {
  const boot = system.Boot;
  for (let pass = 0; ; pass++) {
    const options = needsOptions(boot) ? await bootOptions(ctx, system) : [];
    const decision = chooseSanOverride(boot, want.mode, hints, want.persistence, options);
    if (pass > 0 || !options.some((o) => o.remembered)) return decision;
    const path = sanDevicePath([...(boot?.["UefiTargetBootSourceOverride@Redfish.AllowableValues"] ?? []), ...options.map((o) => o.path)], hints);
    // the option chooseSanOverride names: by reference where it has one
    const named = options.find((o) => o.path === path && o.ref) ?? options.find((o) => o.path === path);
    if (decision.kind !== "missing" && !named?.remembered) return decision;
    if (decision.kind !== "missing" && named) {
      const now = await readOption(ctx, named.uri);
      if (now && now.path === named.path && now.ref === named.ref) return decision;
    }
    ctx.known?.remember(BOOT_OPTIONS, {});
  }
}

/**
 * The override to the SAN device `hints` name: null when already set; a claim recorded before the
 * PATCH. Throws BMC_CAPABILITY_MISSING (nothing written) when no allowed target can name it.
 */
export async function writeSanOverride(ctx: SanContext, uri: string, want: OverrideWant, hints: string[], guard: WriteGuard): Promise<Claim | null> {
  let claim: Claim | null = null;
  await ctx.w.patchFresh(async () => {
    const view = await readSystem(ctx, uri);
    const decision = await decide(ctx, view.will as ComputerSystem, want, hints);
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
  return (await decide(ctx, view.will as ComputerSystem, want, hints)).kind !== "missing";
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
