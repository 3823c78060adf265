/**
 * A place on a BMC that sanboot writes (a NIC or HBA function, a vendor's BIOS iSCSI settings,
 * BIOS attributes, the system's boot override), read as it is in force and as it will be once
 * staged settings apply, written with evidence and undone by that evidence:
 *
 * - writePlace plans from a fresh view, records the claim (WriteGuard) before the PATCH, sends it
 *   where the BMC wants it (the resource, or its `@Redfish.Settings` object with an apply time),
 *   and settles the answer (task, job, pending); jobs the BMC made are recorded with the claim;
 * - undoPlace puts back only what the claim wrote, only while the place is still ours, first
 *   withdrawing what our writes staged and no reset applied (Dell: deleting our job).
 */
import { claimFor, restoreValues, stillOurs, patchBody, type Claim, type ClaimKind, type JsonValue } from "./claims";
import type { ClearResult, PendingSettings, SanChange, WriteGuard } from "./driver";
import { getResource, type Found } from "./redfish-discovery";
import { APPLY_TIME_PREFERENCE, settingsMark, withApplyTime, writeTarget, type ApplyTimePreference, type WriteTarget } from "./redfish-settings";
import type { RedfishReply } from "./redfish-transport";
import type { NetworkDeviceFunction, SettingsAnnotation } from "./redfish-types";
import { contains } from "./redfish-writer";
import type { SanContext } from "./vendors/quirks";

/** A place as the BMC shows it now and as it will be once what is staged applies. */
export interface PlaceView {
  now: Record<string, unknown>;
  will: Record<string, unknown>;
  target: WriteTarget;
  /** of whatever a write goes to (settings object or resource) */
  etag: string | undefined;
}

export type PlaceReader = (ctx: SanContext, uri: string, preference?: ApplyTimePreference) => Promise<PlaceView>;

/**
 * A resource with its settings object overlaid where it has one (or the vendor names one); from
 * `read` when the caller has just read the resource itself.
 */
export async function readSettled(
  ctx: SanContext,
  uri: string,
  target: WriteTarget | undefined,
  preference?: ApplyTimePreference,
  read?: Found<Record<string, unknown>>,
): Promise<PlaceView> {
  const found = read ?? (await getResource<Record<string, unknown>>(ctx.w.t, uri));
  const now: Record<string, unknown> = { ...found.body, "@odata.id": uri };
  const t = target ?? writeTarget(uri, now["@Redfish.Settings"] as SettingsAnnotation | undefined, preference);
  if (!t.deferred) return { now, will: now, target: t, etag: found.etag };
  const settings = await getResource<Record<string, unknown>>(ctx.w.t, t.uri);
  return { now, will: overlay(now, settings.body), target: t, etag: settings.etag };
}

/** A NetworkDeviceFunction, written where the vendor wants it (its settings object, or `/Pending`). */
export const readFunction: PlaceReader = async (ctx, fnUri, preference) => {
  const found = await getResource<NetworkDeviceFunction>(ctx.w.t, fnUri);
  return readSettled(ctx, fnUri, ctx.quirks.functionTarget(fnUri, found.body), preference, found as unknown as Found<Record<string, unknown>>);
};

/** The resource once a settings object (which may carry only what changes) applies. */
export function overlay(resource: Record<string, unknown>, settings: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...resource };
  for (const [k, v] of Object.entries(settings)) {
    if (k.startsWith("@") || k === "Id" || k === "Name" || k === "Description") continue;
    const cur = out[k];
    if (Array.isArray(v)) {
      // Redfish array PATCH: `{}` leaves an element alone, an object merges into it.
      const base = Array.isArray(cur) ? [...cur] : [];
      v.forEach((el, i) => {
        if (el && typeof el === "object" && !Array.isArray(el) && base[i] && typeof base[i] === "object" && !k.endsWith("BootTargets")) {
          base[i] = { ...(base[i] as object), ...(el as object) };
        } else if (!(el && typeof el === "object" && Object.keys(el).length === 0)) base[i] = el;
      });
      out[k] = k.endsWith("BootTargets") ? v : base;
    } else if (v && typeof v === "object" && cur && typeof cur === "object" && !Array.isArray(cur)) {
      out[k] = overlay(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

export interface PlannedWrite {
  /** readable paths → values, as the claim records them */
  values: Record<string, JsonValue>;
  /** write-only paths → values sent with them */
  secrets: Record<string, string>;
  /** the paths that make the place ours, when the plan decides them; else `identity` of writePlace */
  identity?: readonly string[];
}

/**
 * Plans from a fresh view, records the claim, PATCHes, settles (task, job, pending). Null when
 * there was nothing to write. A write that changes what an earlier write of ours staged first
 * withdraws that one (its job has not run: Dell refuses new values while it waits).
 */
export async function writePlace(
  ctx: SanContext,
  kind: ClaimKind,
  uri: string,
  read: PlaceReader,
  plan: (view: PlaceView) => PlannedWrite | null,
  guard: WriteGuard,
  identity: readonly string[],
): Promise<{ claim: Claim; pending: PendingSettings | undefined } | null> {
  let claim: Claim | undefined;
  let target: WriteTarget | undefined;
  let withdrawn = false;
  const prior = guard.prior.claims.find((c) => c.kind === kind && c.uri === uri);
  const reply = await ctx.w.patchFresh(async () => {
    let view = await read(ctx, uri);
    let p = plan(view);
    if (p && prior?.jobs?.length && !withdrawn && (await ctx.quirks.withdrawStaged(ctx, prior))) {
      withdrawn = true;
      view = await read(ctx, uri);
      p = plan(view);
    }
    if (!p) return null;
    await ctx.quirks.ready(ctx);
    const since = settingsMark(view.now);
    claim = { ...claimFor(kind, uri, view.will, p.values, Object.keys(p.secrets), p.identity ?? identity), ...(since ? { since } : {}) };
    // The evidence is in the table before anything changes on the BMC.
    await guard.record({ claims: [claim] });
    target = view.target;
    return { uri: view.target.uri, body: withApplyTime(patchBody({ ...p.values, ...p.secrets }), view.target.applyTime), etag: view.etag };
  });
  if (!reply || !claim || !target) return null;
  const settled = tracked(ctx, await ctx.quirks.afterStagedWrite(ctx, target, reply));
  if (settled.status === 202 && settled.location) {
    // the job that carries our values: withdrawn, should we undo before it ran
    claim = { ...claim, jobs: [...(claim.jobs ?? []), settled.location] };
    await guard.record({ claims: [claim] });
  }
  const pending = await ctx.w.settle(settled, { ...target, resourceUri: uri });
  return { claim, pending: pending && claim.since ? { ...pending, since: claim.since } : pending };
}

/**
 * Puts back what `claim` wrote, if the place is still ours as it will be once staged settings
 * apply (someone else's staged change makes it theirs). First withdraws what our writes staged
 * that no reset applied (then there may be nothing left to undo, and nothing to reset). What is
 * pending afterwards: our undo, staged while ours is still in force (including one an earlier
 * call staged and no reset applied yet).
 */
export async function undoPlace(
  ctx: SanContext,
  claim: Claim,
  read: PlaceReader,
  /** the PATCHes still to send from `view`, in order; `step` counts those sent (0: none yet) */
  restore?: (view: PlaceView, claim: Claim, step: number) => Array<Record<string, JsonValue>> | null,
): Promise<ClearResult> {
  const undo = restore ?? ((view: PlaceView, c: Claim) => {
    const values = restoreValues(view.will, c, ctx.quirks.blank);
    return values ? [values] : null;
  });
  const changes: SanChange[] = [];
  const what: SanChange["kind"] = claim.kind === "nic_iscsi" || claim.kind === "nic_fc" ? "function" : claim.kind === "boot_override" ? "override" : claim.kind === "bios_attributes" ? "bios" : "bios_iscsi";
  if (claim.jobs?.length && (await ctx.quirks.withdrawStaged(ctx, claim))) changes.push({ kind: "settings", uri: claim.uri, action: "staged write withdrawn" });
  let task: string | undefined;
  let wrote = false;
  // Some BMCs refuse it in one PATCH (CHAP credentials are read-only once the auth method no
  // longer uses them): `restore` may answer steps; each PATCH sends the first one left.
  for (let step = 0; step < 4; step++) {
    let final = true;
    const reply = await ctx.w.patchFresh(async () => {
      const view = await read(ctx, claim.uri, APPLY_TIME_PREFERENCE);
      if (!stillOurs(view.will, claim)) return null;
      const steps = undo(view, claim, step);
      if (!steps || steps.length === 0) return null;
      final = steps.length === 1;
      await ctx.quirks.ready(ctx);
      // only the last step asks an apply time: on a settings object it makes the job
      return { uri: view.target.uri, body: final ? withApplyTime(patchBody(steps[0]!), view.target.applyTime) : patchBody(steps[0]!), etag: view.etag };
    });
    if (!reply) break;
    wrote = true;
    if (!final) continue;
    const view = await read(ctx, claim.uri, APPLY_TIME_PREFERENCE);
    const settled = tracked(ctx, await ctx.quirks.afterStagedWrite(ctx, view.target, reply));
    task = (await ctx.w.settle(settled, { ...view.target, resourceUri: claim.uri }))?.task_uri;
    break;
  }
  if (wrote) changes.push({ kind: what, uri: claim.uri, action: "restored" });
  const after = await read(ctx, claim.uri, APPLY_TIME_PREFERENCE);
  // Pending: ours is in force and what is staged is our undo (it holds `before` everywhere).
  if (!after.target.deferred || !stillOurs(after.now, claim) || restoreValues(after.will, claim) !== null) return { changed: changes.length > 0, changes };
  const pending: PendingSettings = {
    resource_uri: claim.uri,
    settings_uri: after.target.uri,
    apply_time: after.target.applyTime ?? "OnReset",
    ...(task ? { task_uri: task } : {}),
    ...(settingsMark(after.now) ? { since: settingsMark(after.now) } : {}),
  };
  return { changed: changes.length > 0, changes, pending: [pending] };
}

/** A 202's Location as the resource that tells progress (iDRAC10: the job behind a TaskMonitor). */
function tracked(ctx: SanContext, reply: RedfishReply): RedfishReply {
  return reply.location ? { ...reply, location: ctx.quirks.taskUri(reply.location) } : reply;
}

/** Several undos as one answer. */
export function mergeClears(parts: ClearResult[]): ClearResult {
  const pending = parts.flatMap((p) => p.pending ?? []);
  return { changed: parts.some((p) => p.changed), changes: parts.flatMap((p) => p.changes), ...(pending.length > 0 ? { pending } : {}) };
}

/** Does anything staged on the place differ from what is in force? */
export function isStaged(view: PlaceView): boolean {
  return view.target.deferred && !contains(view.now, view.will);
}
