/**
 * SAN boot targets on standard NetworkDeviceFunctions: iSCSI (`iSCSIBoot`) and Fibre Channel
 * (`FibreChannel.BootTargets`), each written where the BMC wants it (the resource, or its
 * `@Redfish.Settings` object with an apply time), "already done?" judged on what will be in force
 * once pending settings apply, and what was there before recorded for rollback.
 */
import { SanbootError } from "../errors";
import type { ClearResult, ConfigureResult, FcBootSpec, FcPortIdentity, PendingSettings, SanBootSnapshot, SanIscsiSpec } from "./driver";
import { getResource, type Found } from "./redfish-discovery";
import { chooseFcFunction, fcBootPatch, fcClearPatch, fcIdentity, fcSnapshot, isFcCapable, normaliseWwn } from "./redfish-fc";
import {
  chooseIscsiFunction,
  clearPatch,
  desiredIscsiBoot,
  holdsReadableTarget,
  iscsiSnapshot,
  isIscsiCapable,
  macsOf,
  normaliseMac,
  pendingView,
  restorePatch,
  sanBootPatch,
} from "./redfish-san-boot";
import { CLEAR_APPLY_TIME_PREFERENCE, withApplyTime, writeTarget, type ApplyTimePreference, type WriteTarget } from "./redfish-settings";
import type { NetworkDeviceFunction } from "./redfish-types";
import type { RedfishReply } from "./redfish-transport";
import { contains, type RedfishWriter, type SecretMemory } from "./redfish-writer";
import type { VendorName } from "./vendor-select";
import { configJobRequest } from "./vendors/dell-idrac";

export interface SanContext {
  w: RedfishWriter;
  secrets: SecretMemory;
  vendor: VendorName;
  /** the system's manager (Links.ManagedBy), where Dell keeps its Jobs */
  managerUri: string | undefined;
}

export interface FunctionView {
  /** what will be in force once pending settings apply */
  fn: NetworkDeviceFunction;
  /** what is in force now */
  resource: NetworkDeviceFunction;
  /** of whatever a write goes to (settings object or resource) */
  etag: string | undefined;
  target: WriteTarget;
  /** settings object only: staged and not yet in force (the resource does not hold it all) */
  staged: boolean;
}

export async function readFunction(w: RedfishWriter, fnUri: string, preference?: ApplyTimePreference): Promise<FunctionView> {
  const found = await getResource<NetworkDeviceFunction>(w.t, fnUri);
  const resource = { ...found.body, "@odata.id": fnUri };
  const target = writeTarget(fnUri, resource["@Redfish.Settings"], preference);
  if (!target.deferred) return { fn: resource, resource, etag: found.etag, target, staged: false };
  const settings = await getResource<Partial<NetworkDeviceFunction>>(w.t, target.uri);
  return { fn: pendingView(resource, settings.body), resource, etag: settings.etag, target, staged: !contains(resource, settings.body) };
}

interface Written {
  before: FunctionView;
  pending: PendingSettings | undefined;
}

/** Plan from a fresh view, PATCH, settle (task, job, pending). `written` null when there was nothing to do. */
async function writeFunction(
  ctx: SanContext,
  fnUri: string,
  decide: (view: FunctionView) => Record<string, unknown> | null,
  preference?: ApplyTimePreference,
): Promise<{ written: Written | null; last: FunctionView }> {
  let before: FunctionView | undefined;
  let last: FunctionView | undefined;
  const reply = await ctx.w.patchFresh(async () => {
    const view = (last = await readFunction(ctx.w, fnUri, preference));
    const body = decide(view);
    if (!body) return null;
    before = view;
    return { uri: view.target.uri, body: withApplyTime(body, view.target.applyTime), etag: view.etag };
  });
  if (!reply || !before) return { written: null, last: last! };
  const settled = await dellJobFallback(ctx, before.target, reply);
  return { written: { before, pending: await ctx.w.settle(settled, { ...before.target, resourceUri: fnUri }) }, last: last! };
}

/**
 * A clear of one function: what it left pending. When nothing was sent because the staged
 * settings already clear it but what is in force does not (a retry after an earlier clear, before
 * its reset), those settings are pending too: "already cleared" was judged on them.
 */
async function clearFunction(ctx: SanContext, fnUri: string, decide: (fn: NetworkDeviceFunction) => Record<string, unknown> | null): Promise<ClearResult> {
  const { written, last } = await writeFunction(ctx, fnUri, (view) => decide(view.fn), CLEAR_APPLY_TIME_PREFERENCE);
  if (written) return { changed: true, ...(written.pending ? { pending: [written.pending] } : {}) };
  if (!last.staged || decide(last.resource) === null) return { changed: false };
  return { changed: false, pending: [{ resource_uri: fnUri, settings_uri: last.target.uri, apply_time: last.target.applyTime ?? "OnReset" }] };
}

/** Several clears as one answer. */
export function mergeClears(parts: ClearResult[]): ClearResult {
  const pending = parts.flatMap((p) => p.pending ?? []);
  return { changed: parts.some((p) => p.changed), ...(pending.length > 0 ? { pending } : {}) };
}

/** iDRAC firmware that takes no apply time stages the settings; a config job applies them at reset. */
async function dellJobFallback(ctx: SanContext, target: WriteTarget, reply: RedfishReply): Promise<RedfishReply> {
  if (ctx.vendor !== "dell" || !target.deferred || target.applyTime !== undefined || reply.status === 202 || !ctx.managerUri) return reply;
  const job = configJobRequest(ctx.managerUri, target.uri);
  const created = await ctx.w.t.post(job.uri, job.body);
  return created.location ? { ...created, status: 202 } : reply;
}

const failure = (systemId: string, reason: string) => new SanbootError("BMC_CAPABILITY_MISSING", `system ${systemId}: ${reason}`);

function result(fnUri: string, written: Written | null, previous: SanBootSnapshot | undefined): ConfigureResult {
  return {
    changed: written !== null,
    function_uri: fnUri,
    ...(written && previous ? { previous } : {}),
    ...(written?.pending ? { pending: written.pending } : {}),
  };
}

// ---- iSCSI ----

export async function configureIscsi(ctx: SanContext, fns: Array<Found<NetworkDeviceFunction>>, spec: SanIscsiSpec): Promise<ConfigureResult> {
  const choice = chooseIscsiFunction(fns.map((f) => f.body), spec.mac_address);
  if (!choice.ok) throw failure(ctx.w.ep.system_id, choice.reason);
  const fnUri = choice.fn["@odata.id"];
  const key = secretKey(ctx, fnUri);
  const wanted = desiredIscsiBoot(spec);
  const digest = ctx.secrets.digest(wanted.CHAPSecret, wanted.MutualCHAPSecret);

  let previous: SanBootSnapshot | undefined;
  const { written } = await writeFunction(ctx, fnUri, (view) => {
    const plan = sanBootPatch(view.fn, spec, ctx.secrets.known(key, view.etag, digest));
    if (!plan.ok) throw failure(ctx.w.ep.system_id, plan.reason);
    // A rewrite of an unreadable secret alone leaves the readable target as it was: nothing to record.
    previous = plan.body && !holdsReadableTarget(view.fn, spec) ? iscsiSnapshot(view.fn) : undefined;
    return plan.body;
  });
  if (written) {
    // Re-read for the ETag our write produced: it vouches for the secret until someone else writes.
    ctx.secrets.remember(key, (await ctx.w.t.get(written.before.target.uri)).etag, digest);
  }
  return result(fnUri, written, previous);
}

export async function clearIscsi(
  ctx: SanContext,
  fns: Array<Found<NetworkDeviceFunction>>,
  macAddress: string | undefined,
  previous: SanBootSnapshot | undefined,
): Promise<ClearResult> {
  const wanted = normaliseMac(macAddress);
  const candidates = fns.filter((f) => isIscsiCapable(f.body) && (wanted === undefined || macsOf(f.body).includes(wanted)));
  const parts: ClearResult[] = [];
  for (const candidate of candidates) {
    const fnUri = candidate.body["@odata.id"];
    ctx.secrets.forget(secretKey(ctx, fnUri));
    const snap = previous?.kind === "iscsi" && previous.function_uri === fnUri ? previous : undefined;
    parts.push(await clearFunction(ctx, fnUri, (fn) => (snap ? restorePatch(fn, snap) : clearPatch(fn))));
  }
  return mergeClears(parts);
}

// ---- Fibre Channel ----

export function fcInventory(fns: Array<Found<NetworkDeviceFunction>>): FcPortIdentity[] {
  return fns
    .filter((f) => isFcCapable(f.body))
    .map((f) => fcIdentity(f.body))
    .filter((p): p is FcPortIdentity => p !== undefined);
}

export async function configureFc(ctx: SanContext, fns: Array<Found<NetworkDeviceFunction>>, spec: FcBootSpec): Promise<ConfigureResult> {
  const choice = chooseFcFunction(fns.map((f) => f.body), spec.wwpn);
  if (!choice.ok) throw failure(ctx.w.ep.system_id, choice.reason);
  const fnUri = choice.fn["@odata.id"];
  let previous: SanBootSnapshot | undefined;
  const { written } = await writeFunction(ctx, fnUri, (view) => {
    const plan = fcBootPatch(view.fn, spec);
    if (!plan.ok) throw failure(ctx.w.ep.system_id, plan.reason);
    previous = plan.body ? fcSnapshot(view.fn) : undefined;
    return plan.body;
  });
  return result(fnUri, written, previous);
}

export async function clearFc(
  ctx: SanContext,
  fns: Array<Found<NetworkDeviceFunction>>,
  wwpn: string | undefined,
  previous: SanBootSnapshot | undefined,
): Promise<ClearResult> {
  const wanted = normaliseWwn(wwpn);
  const candidates = fns.filter(
    (f) => isFcCapable(f.body) && (wanted === undefined || [f.body.FibreChannel?.WWPN, f.body.FibreChannel?.PermanentWWPN].map(normaliseWwn).includes(wanted)),
  );
  const parts: ClearResult[] = [];
  for (const candidate of candidates) {
    const fnUri = candidate.body["@odata.id"];
    const snap = previous?.kind === "fibre_channel" && previous.function_uri === fnUri ? previous : undefined;
    parts.push(await clearFunction(ctx, fnUri, (fn) => fcClearPatch(fn, snap)));
  }
  return mergeClears(parts);
}

function secretKey(ctx: SanContext, uri: string): string {
  return `${new URL(ctx.w.ep.address).origin}|${uri}`;
}
