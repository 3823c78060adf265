/**
 * HPE iLO 5 quirks. iSCSI boot goes through the UEFI software initiator of the BIOS, not the
 * NIC: `Bios` → `Oem.Hpe.Links.iScsi` (`/redfish/v1/Systems/1/Bios/iScsi`), written through its
 * `@Redfish.Settings` object (applied by the BIOS at the next POST): `iSCSIInitiatorName` and up
 * to four `iSCSISources[]` attempts. Once applied, each attempt is a UEFI boot option whose device
 * path names its target, and the boot override is `UefiTarget` with that path.
 *
 * sanboot owns the attempts it names `sanboot-<n>` (n = 1 for the primary target, 2 for the
 * multipath secondary) and never touches the others. Array PATCHes send `{}` for every attempt
 * they leave alone (Redfish array semantics), so other attempts' unreadable CHAP secrets survive.
 *
 * Which NIC an attempt uses (`iSCSINicSource`) is one of `iSCSINicSources`; the driver maps the
 * spec's MAC to it by the order of the system's iSCSI-capable NetworkDeviceFunctions (the BIOS
 * enumerates NicBoot sources in that order): an assumption to check on each server generation.
 */
import type { SanBootSnapshot, SanIscsiSpec } from "../driver";
import type { Manager, ServiceRoot } from "../redfish-types";
import { hasOem } from "./dell-idrac";

type Value = string | number | boolean | null;
export type Attempt = Record<string, Value>;

export interface HpeIscsi {
  "@odata.id"?: string;
  iSCSIInitiatorName?: string | null;
  iSCSINicSources?: string[];
  iSCSISources?: Attempt[];
}

export function isHpe(root: ServiceRoot | undefined, manager: Manager | undefined): boolean {
  if (/^(hpe|hp|hewlett)/i.test(root?.Vendor ?? "") || hasOem(root?.Oem, "Hpe") || hasOem(root?.Oem, "Hp")) return true;
  if (!manager) return false;
  return hasOem(manager.Oem, "Hpe") || hasOem(manager.Oem, "Hp") || /\bilo\b/i.test(manager.Model ?? "");
}

/** The `Bios` resource's link to the UEFI iSCSI initiator, where the BIOS has one. */
export function iscsiLinkOf(bios: Record<string, unknown>): string | undefined {
  const oem = bios.Oem as Record<string, { Links?: Record<string, { "@odata.id"?: string }> }> | undefined;
  const uri = (oem?.Hpe ?? oem?.Hp)?.Links?.iScsi?.["@odata.id"];
  return typeof uri === "string" && uri.length > 0 ? uri : undefined;
}

export const SECRETS = ["iSCSIChapSecret", "iSCSIReverseChapSecret"] as const;
const ours = (i: number) => `sanboot-${i + 1}`;
const blank = (v: Value | undefined) => v === null || v === undefined || v === "";

export function desiredAttempts(spec: SanIscsiSpec, nicSource: string): Attempt[] {
  const net = spec.network;
  return spec.targets.map((t, i) => {
    const a: Attempt = {
      iSCSIAttemptName: ours(i),
      iSCSINicSource: nicSource,
      iSCSIConnection: "Enabled",
      iSCSIIpAddressType: t.address.includes(":") ? "IPv6" : "IPv4",
      iSCSIInitiatorInfoViaDHCP: net.mode === "dhcp",
      iSCSITargetInfoViaDHCP: false,
      iSCSITargetName: t.name,
      iSCSITargetIpAddress: t.address,
      iSCSITargetTcpPort: t.port,
      iSCSILUN: String(t.lun),
      iSCSIAuthenticationMethod: spec.auth.method === "None" ? "None" : "Chap",
      iSCSIChapType: spec.auth.method === "MutualCHAP" ? "Mutual" : "OneWay",
      iSCSIChapUsername: spec.auth.method === "None" ? null : spec.auth.username,
      iSCSIChapSecret: spec.auth.method === "None" ? null : spec.auth.secret,
      iSCSIReverseChapUsername: spec.auth.method === "MutualCHAP" ? spec.auth.mutual_username : null,
      iSCSIReverseChapSecret: spec.auth.method === "MutualCHAP" ? spec.auth.mutual_secret : null,
    };
    if (net.mode === "static") {
      a.iSCSIInitiatorIpAddress = net.address;
      a.iSCSIInitiatorNetmask = net.netmask;
      a.iSCSIInitiatorGateway = net.gateway ?? null;
    }
    return a;
  });
}

/** A freed attempt: disabled, no target, no credentials. */
export const FREED: Attempt = {
  iSCSIAttemptName: null,
  iSCSIConnection: "Disabled",
  iSCSITargetName: null,
  iSCSITargetIpAddress: null,
  iSCSILUN: null,
  iSCSIAuthenticationMethod: "None",
  iSCSIChapUsername: null,
  iSCSIReverseChapUsername: null,
};

function same(field: string, current: Value | undefined, wanted: Value): boolean {
  if (blank(current) && blank(wanted)) return true;
  if (field === "iSCSITargetName" && typeof current === "string" && typeof wanted === "string") return current.toLowerCase() === wanted.toLowerCase();
  if (field === "iSCSILUN" || field === "iSCSITargetTcpPort") return String(current) === String(wanted);
  return current === wanted;
}

/** The readable fields that differ; secrets join any change, or go alone when not vouched for. */
export function diffAttempt(current: Attempt | undefined, wanted: Attempt, secretKnown: boolean): Attempt {
  const out: Attempt = {};
  for (const [k, v] of Object.entries(wanted)) {
    if ((SECRETS as readonly string[]).includes(k)) continue;
    if (!same(k, current?.[k], v)) out[k] = v;
  }
  const unverifiable = !secretKnown && SECRETS.some((s) => !blank(wanted[s]));
  if (Object.keys(out).length > 0 || unverifiable) for (const s of SECRETS) if (s in wanted) out[s] = wanted[s] ?? null;
  return out;
}

/** The resource as it will be once its settings object applies (element-wise for the attempts). */
export function pendingIscsi(resource: HpeIscsi, settings: HpeIscsi): HpeIscsi {
  const sources = [...(resource.iSCSISources ?? [])].map((a) => ({ ...a }));
  for (const [i, s] of (settings.iSCSISources ?? []).entries()) {
    if (s && typeof s === "object") sources[i] = { ...(sources[i] ?? {}), ...s };
  }
  return {
    ...resource,
    ...(settings.iSCSIInitiatorName !== undefined ? { iSCSIInitiatorName: settings.iSCSIInitiatorName } : {}),
    iSCSISources: sources,
  };
}

const instanceOf = (a: Attempt, i: number) => (typeof a.iSCSIAttemptInstance === "number" ? a.iSCSIAttemptInstance : i + 1);

/**
 * For each wanted attempt, the array index it goes to: the attempt already named for it, else a
 * free one (no target, not ours). Undefined when all attempts are taken.
 */
export function placeAttempts(view: HpeIscsi, count: number): number[] | undefined {
  const sources = view.iSCSISources ?? [];
  const taken = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    let at = sources.findIndex((a) => a.iSCSIAttemptName === ours(i));
    if (at < 0) at = sources.findIndex((a, j) => !taken.has(j) && blank(a.iSCSITargetName) && !String(a.iSCSIAttemptName ?? "").startsWith("sanboot-"));
    if (at < 0) return undefined;
    taken.add(at);
    out.push(at);
  }
  return out;
}

export interface HpePlan {
  body: Record<string, unknown> | null;
  /** what the changed attempts (and the initiator name) held, when a readable value changes */
  previous: SanBootSnapshot | undefined;
  /** array indexes of our attempts */
  placed: number[];
}

/** The PATCH for the settings object (null: in place already), given which attempts hold known secrets. */
export function planIscsi(uri: string, view: HpeIscsi, spec: SanIscsiSpec, nicSource: string, secretKnown: (index: number) => boolean): HpePlan | { missing: string } {
  const wanted = desiredAttempts(spec, nicSource);
  const placed = placeAttempts(view, wanted.length);
  if (!placed) return { missing: `all ${view.iSCSISources?.length ?? 0} UEFI iSCSI attempts are in use` };
  const sources = view.iSCSISources ?? [];
  const patch: Attempt[] = sources.map(() => ({}));
  let readable = false;
  placed.forEach((at, i) => {
    const readableDiff = diffAttempt(sources[at], wanted[i]!, true);
    if (Object.keys(readableDiff).length > 0) readable = true;
    patch[at] = diffAttempt(sources[at], wanted[i]!, secretKnown(at));
  });
  // A secondary attempt from an earlier multipath configuration that this spec no longer has.
  sources.forEach((a, at) => {
    if (!placed.includes(at) && String(a.iSCSIAttemptName ?? "").startsWith("sanboot-")) {
      patch[at] = { ...FREED };
      readable = true;
    }
  });
  const body: Record<string, unknown> = {};
  const nameDiffers = !same("iSCSITargetName", view.iSCSIInitiatorName ?? null, spec.initiator_name);
  if (nameDiffers) body.iSCSIInitiatorName = spec.initiator_name;
  if (patch.some((p) => Object.keys(p).length > 0)) body.iSCSISources = trimTail(patch);
  const changedIdx = patch.flatMap((p, i) => (Object.keys(p).length > 0 ? [i] : []));
  const previous: SanBootSnapshot | undefined =
    readable || nameDiffers
      ? {
          kind: "hpe_bios_iscsi",
          resource_uri: uri,
          initiator_name: view.iSCSIInitiatorName ?? null,
          attempts: changedIdx.map((i) => ({ instance: instanceOf(sources[i]!, i), values: readableOf(sources[i]!) })),
        }
      : undefined;
  return { body: Object.keys(body).length > 0 ? body : null, previous, placed };
}

/** The PATCH that frees our attempts, or with `previous` puts back what they held. */
export function planClear(view: HpeIscsi, previous?: Extract<SanBootSnapshot, { kind: "hpe_bios_iscsi" }>): Record<string, unknown> | null {
  const sources = view.iSCSISources ?? [];
  const patch: Attempt[] = sources.map(() => ({}));
  sources.forEach((a, i) => {
    const before = previous?.attempts.find((p) => p.instance === instanceOf(a, i));
    const wanted = before ? before.values : String(a.iSCSIAttemptName ?? "").startsWith("sanboot-") ? FREED : undefined;
    if (!wanted) return;
    const diff = diffAttempt(a, wanted, true);
    if (Object.keys(diff).length > 0) patch[i] = { ...diff, iSCSIChapSecret: null, iSCSIReverseChapSecret: null };
  });
  const body: Record<string, unknown> = {};
  if (patch.some((p) => Object.keys(p).length > 0)) body.iSCSISources = trimTail(patch);
  if (previous && !same("iSCSITargetName", view.iSCSIInitiatorName ?? null, previous.initiator_name)) body.iSCSIInitiatorName = previous.initiator_name;
  return Object.keys(body).length > 0 ? body : null;
}

/** Target names and applied device paths of our attempts: what the UefiTarget override must name. */
export function overrideHints(view: HpeIscsi): string[] {
  return (view.iSCSISources ?? [])
    .filter((a) => String(a.iSCSIAttemptName ?? "").startsWith("sanboot-") && a.iSCSIConnection !== "Disabled")
    .flatMap((a) => [a.UEFIDevicePath, a.iSCSITargetName])
    .filter((v): v is string => typeof v === "string" && v.length > 0);
}

/** The NIC source for the spec's MAC: the same position among the iSCSI-capable functions' MACs. */
export function chooseNicSource(sources: string[] | undefined, iscsiMacs: string[], mac: string | undefined): string | undefined {
  if (!sources || sources.length === 0) return undefined;
  if (mac === undefined) return sources[0];
  const i = iscsiMacs.indexOf(mac);
  return i >= 0 ? sources[i] : undefined;
}

function readableOf(a: Attempt): Attempt {
  const out: Attempt = {};
  for (const [k, v] of Object.entries(a)) if (!(SECRETS as readonly string[]).includes(k) && k !== "UEFIDevicePath" && k !== "StructuredBootString") out[k] = v;
  return out;
}

/** Trailing `{}` carry nothing; shorter arrays are easier on iLO's parser. */
function trimTail(patch: Attempt[]): Attempt[] {
  let end = patch.length;
  while (end > 0 && Object.keys(patch[end - 1]!).length === 0) end--;
  return patch.slice(0, end);
}
