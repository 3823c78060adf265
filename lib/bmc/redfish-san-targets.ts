/**
 * SAN boot targets on standard NetworkDeviceFunctions: iSCSI (`iSCSIBoot`) and Fibre Channel
 * (`FibreChannel.BootTargets`), as places (redfish-places.ts): written with evidence where the BMC
 * wants them, "already done?" judged on what will be in force once pending settings apply, and
 * undone by their claims. What a vendor's function takes is its quirks' to say.
 */
import { SanbootError } from "../errors";
import { differing, isBlank, restoreValues, type Claim, type JsonValue } from "./claims";
import type { ConfigureResult, FcBootSpec, FcPortIdentity, PendingSettings, SanIscsiSpec, WriteGuard } from "./driver";
import type { Found } from "./redfish-discovery";
import { chooseFcFunction, FC_IDENTITY, fcIdentity, isFcTyped, wantedFc } from "./redfish-fc";
import { readFunction, readSettled, writePlace, type PlaceReader, type PlaceView } from "./redfish-places";
import { chooseIscsiFunction, ISCSI_IDENTITY, secretsInPlace, wantedIscsi } from "./redfish-san-boot";
import type { NetworkDeviceFunction } from "./redfish-types";
import type { SanContext } from "./vendors/quirks";

const missing = (systemId: string, reason: string) => new SanbootError("BMC_CAPABILITY_MISSING", `system ${systemId}: ${reason}`);

function result(fnUri: string, written: { claim: Claim; pending: PendingSettings | undefined } | null): ConfigureResult {
  return {
    changed: written !== null,
    function_uri: fnUri,
    ...(written ? { claim: written.claim } : {}),
    ...(written?.pending ? { pending: written.pending } : {}),
  };
}

/**
 * readFunction, but its first read is the one the choice was made from, read in this very call:
 * the plan starts from it, and a re-plan (412, a withdrawn job) reads again.
 */
function readFunctionFrom(fns: Array<Found<NetworkDeviceFunction>>, fnUri: string): PlaceReader {
  let first = fns.find((f) => f.uri === fnUri);
  return (ctx, uri, preference) => {
    const found = first;
    first = undefined;
    if (!found || uri !== fnUri || preference !== undefined) return readFunction(ctx, uri, preference);
    return readSettled(ctx, uri, ctx.quirks.functionTarget(uri, found.body), undefined, found as unknown as Found<Record<string, unknown>>);
  };
}

// ---- iSCSI ----

export async function configureIscsi(ctx: SanContext, fns: Array<Found<NetworkDeviceFunction>>, spec: SanIscsiSpec, guard: WriteGuard): Promise<ConfigureResult> {
  const prior = guard.prior.claims.find((c) => c.kind === "nic_iscsi");
  const choice = chooseIscsiFunction(fns.map((f) => f.body), spec.mac_address, prior?.uri, spec.initiator_name);
  if (!choice.ok) throw missing(ctx.w.ep.system_id, choice.reason);
  const fnUri = choice.fn["@odata.id"];
  const written = await writePlace(ctx, "nic_iscsi", fnUri, readFunctionFrom(fns, fnUri), (view) => {
    const fn = view.will as unknown as NetworkDeviceFunction;
    const allowed = fn["BootMode@Redfish.AllowableValues"];
    if (Array.isArray(allowed) && !allowed.includes("iSCSI")) throw missing(ctx.w.ep.system_id, `network device function ${fnUri} does not allow BootMode iSCSI`);
    const wanted = wantedIscsi(spec, fn, ctx.quirks.blank);
    const takes = ctx.quirks.iscsiValues(wanted.values);
    if (!takes.ok) throw missing(ctx.w.ep.system_id, takes.reason);
    const values = differing(fn, takes.value);
    const sendSecrets = Object.keys(values).length > 0 || !secretsInPlace(fn, prior, wanted);
    if (Object.keys(values).length === 0 && !sendSecrets) return null;
    return { values, secrets: sendSecrets ? wanted.secrets : {} };
  }, guard, ISCSI_IDENTITY);
  return result(fnUri, written);
}

const CHAP_CREDENTIALS = ["iSCSIBoot.CHAPUsername", "iSCSIBoot.CHAPSecret"];
const MUTUAL_CREDENTIALS = ["iSCSIBoot.MutualCHAPUsername", "iSCSIBoot.MutualCHAPSecret"];

/**
 * The undo of an iSCSI function: `before` back, our secrets blanked. Where the BMC makes CHAP
 * credentials read-only once the auth method no longer uses them, the credentials go back first,
 * while the method still allows it, then the rest.
 */
export function iscsiRestore(ctx: SanContext) {
  return (view: PlaceView, claim: Claim, step: number): Array<Record<string, JsonValue>> | null => {
    const values = restoreValues(view.will, claim, ctx.quirks.blank);
    if (!values) return null;
    if (!ctx.quirks.chapDependent) return [values];
    const authNow = String((view.will as { iSCSIBoot?: Record<string, unknown> }).iSCSIBoot?.AuthenticationMethod ?? "None");
    const authAfter = String(values["iSCSIBoot.AuthenticationMethod"] ?? authNow);
    const allows = (auth: string, path: string) => (MUTUAL_CREDENTIALS.includes(path) ? auth === "MutualCHAP" : auth !== "None");
    // credentials the new auth method makes read-only: sent first (the first PATCH), then never again
    const credentials = [...CHAP_CREDENTIALS, ...MUTUAL_CREDENTIALS].filter((p) => p in values && !allows(authAfter, p));
    const rest = Object.fromEntries(Object.entries(values).filter(([p]) => !credentials.includes(p)));
    const first = step === 0 ? Object.fromEntries(credentials.filter((p) => allows(authNow, p)).map((p) => [p, values[p]!])) : {};
    const steps = [...(Object.keys(first).length > 0 ? [first] : []), ...(Object.keys(rest).length > 0 ? [rest] : [])];
    return steps.length > 0 ? steps : null;
  };
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
  const written = await writePlace(ctx, "nic_fc", fnUri, readFunctionFrom(fns, fnUri), (view) => {
    const fn = view.will as unknown as NetworkDeviceFunction;
    const wanted = wantedFc(fn, spec, choice.switchType && !isFcTyped(fn));
    if (!wanted.ok) throw missing(ctx.w.ep.system_id, wanted.reason);
    const takes = ctx.quirks.fcValues(fn, wanted.values);
    if (!takes.ok) throw missing(ctx.w.ep.system_id, takes.reason);
    const values = differing(fn, takes.value);
    return Object.keys(values).length > 0 ? { values, secrets: {} } : null;
  }, guard, FC_IDENTITY);
  return result(fnUri, written);
}

export { isBlank };
