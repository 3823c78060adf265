/**
 * SAN boot places on a BMC, read and written with evidence: standard NetworkDeviceFunctions
 * (iSCSI `iSCSIBoot`, Fibre Channel `FibreChannel.BootTargets`) here, HPE's BIOS iSCSI initiator
 * in vendors/. A place is read as it is in force and as it will be once staged settings apply;
 * a write is planned from that view, its claim recorded (WriteGuard) before the PATCH goes out,
 * and sent where the BMC wants it (the resource, or its `@Redfish.Settings` object with an apply
 * time). Undo puts back only what a claim says sanboot wrote, and only while it is still ours.
 */
import { SanbootError } from "../errors";
import { claimFor, differing, patchBody, restoreValues, stillOurs, type Claim, type ClaimKind, type JsonValue } from "./claims";
import type { ClearResult, ConfigureResult, FcBootSpec, FcPortIdentity, PendingSettings, SanChange, SanIscsiSpec, WriteGuard } from "./driver";
import { getResource, type Found } from "./redfish-discovery";
import { chooseFcFunction, FC_IDENTITY, fcIdentity, isFcTyped, wantedFc } from "./redfish-fc";
import { chooseIscsiFunction, ISCSI_IDENTITY, secretsInPlace, wantedIscsi } from "./redfish-san-boot";
import { CLEAR_APPLY_TIME_PREFERENCE, withApplyTime, writeTarget, type ApplyTimePreference, type WriteTarget } from "./redfish-settings";
import type { NetworkDeviceFunction } from "./redfish-types";
import type { RedfishReply } from "./redfish-transport";
import { contains, type RedfishWriter } from "./redfish-writer";
import type { VendorName } from "./vendor-select";
import { configJobRequest } from "./vendors/dell-idrac";

export interface SanContext {
  w: RedfishWriter;
  vendor: VendorName;
  /** the system's manager (Links.ManagedBy), where Dell keeps its Jobs */
  managerUri: string | undefined;
}

/** A place as the BMC shows it now and as it will be once what is staged applies. */
export interface PlaceView {
  now: Record<string, unknown>;
  will: Record<string, unknown>;
  target: WriteTarget;
  /** of whatever a write goes to (settings object or resource) */
  etag: string | undefined;
}

export type PlaceReader = (ctx: SanContext, uri: string, preference?: ApplyTimePreference) => Promise<PlaceView>;

/** A NetworkDeviceFunction, with its settings object overlaid when it has one. */
export const readFunction: PlaceReader = async (ctx, fnUri, preference) => {
  const found = await getResource<NetworkDeviceFunction>(ctx.w.t, fnUri);
  const now = { ...found.body, "@odata.id": fnUri } as Record<string, unknown>;
  const target = writeTarget(fnUri, (now as unknown as NetworkDeviceFunction)["@Redfish.Settings"], preference);
  if (!target.deferred) return { now, will: now, target, etag: found.etag };
  const settings = await getResource<Record<string, unknown>>(ctx.w.t, target.uri);
  return { now, will: overlay(now, settings.body), target, etag: settings.etag };
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
  /** the paths that make the place ours, when the plan decides them (HPE attempts); else the kind's */
  identity?: readonly string[];
}

const identityOf: Record<ClaimKind, readonly string[]> = {
  nic_iscsi: ISCSI_IDENTITY,
  nic_fc: FC_IDENTITY,
  hpe_bios_iscsi: [],
  boot_override: [],
};

/** Plans from a fresh view, records the claim, PATCHes, settles (task, job, pending). Null when there was nothing to write. */
export async function writePlace(
  ctx: SanContext,
  kind: ClaimKind,
  uri: string,
  read: PlaceReader,
  plan: (view: PlaceView) => PlannedWrite | null,
  guard: WriteGuard,
): Promise<{ claim: Claim; pending: PendingSettings | undefined } | null> {
  let claim: Claim | undefined;
  let target: WriteTarget | undefined;
  const reply = await ctx.w.patchFresh(async () => {
    const view = await read(ctx, uri);
    const p = plan(view);
    if (!p) return null;
    claim = claimFor(kind, uri, view.will, p.values, Object.keys(p.secrets), p.identity ?? identityOf[kind]);
    // The evidence is in the table before anything changes on the BMC.
    await guard.record({ claims: [claim] });
    target = view.target;
    return { uri: view.target.uri, body: withApplyTime(patchBody({ ...p.values, ...p.secrets }), view.target.applyTime), etag: view.etag };
  });
  if (!reply || !claim || !target) return null;
  const settled = await dellJobFallback(ctx, target, reply);
  return { claim, pending: await ctx.w.settle(settled, { ...target, resourceUri: uri }) };
}

/**
 * Puts back what `claim` wrote, if the place is still ours as it will be once staged settings
 * apply (someone else's staged change makes it theirs). What is pending afterwards: our undo,
 * staged while ours is still in force (including one an earlier call staged and no reset
 * applied yet).
 */
export async function undoPlace(ctx: SanContext, claim: Claim, read: PlaceReader): Promise<ClearResult> {
  let task: string | undefined;
  const reply = await ctx.w.patchFresh(async () => {
    const view = await read(ctx, claim.uri, CLEAR_APPLY_TIME_PREFERENCE);
    if (!stillOurs(view.will, claim)) return null;
    const values = restoreValues(view.will, claim);
    if (!values) return null;
    return { uri: view.target.uri, body: withApplyTime(patchBody(values), view.target.applyTime), etag: view.etag };
  });
  if (reply) {
    const view = await read(ctx, claim.uri, CLEAR_APPLY_TIME_PREFERENCE);
    const settled = await dellJobFallback(ctx, view.target, reply);
    task = (await ctx.w.settle(settled, { ...view.target, resourceUri: claim.uri }))?.task_uri;
  }
  const wrote = reply !== null;
  const changes: SanChange[] = wrote ? [{ kind: claim.kind === "hpe_bios_iscsi" ? "bios_iscsi" : "function", uri: claim.uri, action: "restored" }] : [];
  const after = await read(ctx, claim.uri, CLEAR_APPLY_TIME_PREFERENCE);
  // Pending: ours is in force and what is staged is our undo (it holds `before` everywhere).
  if (!after.target.deferred || !stillOurs(after.now, claim) || restoreValues(after.will, claim) !== null) return { changed: wrote, changes };
  const pending: PendingSettings = {
    resource_uri: claim.uri,
    settings_uri: after.target.uri,
    apply_time: after.target.applyTime ?? "OnReset",
    ...(task ? { task_uri: task } : {}),
  };
  return { changed: wrote, changes, pending: [pending] };
}

/** Several undos as one answer. */
export function mergeClears(parts: ClearResult[]): ClearResult {
  const pending = parts.flatMap((p) => p.pending ?? []);
  return { changed: parts.some((p) => p.changed), changes: parts.flatMap((p) => p.changes), ...(pending.length > 0 ? { pending } : {}) };
}

/** iDRAC firmware that takes no apply time stages the settings; a config job applies them at reset. */
async function dellJobFallback(ctx: SanContext, target: WriteTarget, reply: RedfishReply): Promise<RedfishReply> {
  if (ctx.vendor !== "dell" || !target.deferred || target.applyTime !== undefined || reply.status === 202 || !ctx.managerUri) return reply;
  const job = configJobRequest(ctx.managerUri, target.uri);
  const created = await ctx.w.t.post(job.uri, job.body);
  return created.location ? { ...created, status: 202 } : reply;
}

const missing = (systemId: string, reason: string) => new SanbootError("BMC_CAPABILITY_MISSING", `system ${systemId}: ${reason}`);

function result(fnUri: string, written: { claim: Claim; pending: PendingSettings | undefined } | null): ConfigureResult {
  return {
    changed: written !== null,
    function_uri: fnUri,
    ...(written ? { claim: written.claim } : {}),
    ...(written?.pending ? { pending: written.pending } : {}),
  };
}

// ---- iSCSI ----

export async function configureIscsi(ctx: SanContext, fns: Array<Found<NetworkDeviceFunction>>, spec: SanIscsiSpec, guard: WriteGuard): Promise<ConfigureResult> {
  const prior = guard.prior.claims.find((c) => c.kind === "nic_iscsi");
  const choice = chooseIscsiFunction(fns.map((f) => f.body), spec.mac_address, prior?.uri, spec.initiator_name);
  if (!choice.ok) throw missing(ctx.w.ep.system_id, choice.reason);
  const fnUri = choice.fn["@odata.id"];
  const written = await writePlace(ctx, "nic_iscsi", fnUri, readFunction, (view) => {
    const fn = view.will as unknown as NetworkDeviceFunction;
    const allowed = fn["BootMode@Redfish.AllowableValues"];
    if (Array.isArray(allowed) && !allowed.includes("iSCSI")) throw missing(ctx.w.ep.system_id, `network device function ${fnUri} does not allow BootMode iSCSI`);
    const wanted = wantedIscsi(spec, fn);
    const values = differing(fn, wanted.values);
    const sendSecrets = Object.keys(values).length > 0 || !secretsInPlace(fn, prior, wanted);
    if (Object.keys(values).length === 0 && !sendSecrets) return null;
    return { values, secrets: sendSecrets ? wanted.secrets : {} };
  }, guard);
  return result(fnUri, written);
}

// ---- Fibre Channel ----

/** The system's Fibre Channel ports: functions whose personality is FibreChannel. */
export function fcInventory(fns: Array<Found<NetworkDeviceFunction>>): FcPortIdentity[] {
  return fns
    .filter((f) => isFcTyped(f.body))
    .map((f) => fcIdentity(f.body))
    .filter((p): p is FcPortIdentity => p !== undefined);
}

export async function configureFc(ctx: SanContext, fns: Array<Found<NetworkDeviceFunction>>, spec: FcBootSpec, guard: WriteGuard): Promise<ConfigureResult> {
  const prior = guard.prior.claims.find((c) => c.kind === "nic_fc");
  const choice = chooseFcFunction(fns.map((f) => f.body), spec.wwpn, prior?.uri);
  if (!choice.ok) throw missing(ctx.w.ep.system_id, choice.reason);
  const fnUri = choice.fn["@odata.id"];
  const written = await writePlace(ctx, "nic_fc", fnUri, readFunction, (view) => {
    const fn = view.will as unknown as NetworkDeviceFunction;
    const wanted = wantedFc(fn, spec, choice.switchType && !isFcTyped(fn));
    if (!wanted.ok) throw missing(ctx.w.ep.system_id, wanted.reason);
    const values = differing(fn, wanted.values);
    return Object.keys(values).length > 0 ? { values, secrets: {} } : null;
  }, guard);
  return result(fnUri, written);
}

/** Does anything staged on the place differ from what is in force? */
export function isStaged(view: PlaceView): boolean {
  return view.target.deferred && !contains(view.now, view.will);
}
