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
import { sameValue } from "../claims";
import type { SanIscsiSpec } from "../driver";
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

const same = (field: string, current: Value | undefined, wanted: Value) => sameValue(`iSCSISources.0.${field}`, current, wanted);

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

const isOurs = (a: Attempt, i?: number) => (i === undefined ? String(a.iSCSIAttemptName ?? "").startsWith("sanboot-") : a.iSCSIAttemptName === ours(i));

/**
 * For each wanted attempt, the array index it goes to: the one an earlier run of this request
 * claimed, else the attempt already named for it, else a free one (no target, not named by
 * sanboot). Undefined when all attempts are taken.
 */
export function placeAttempts(view: HpeIscsi, count: number, claimed: number[] = []): number[] | undefined {
  const sources = view.iSCSISources ?? [];
  const taken = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    let at = claimed[i] ?? -1;
    if (at < 0 || at >= sources.length) at = sources.findIndex((a, j) => !taken.has(j) && isOurs(a, i));
    if (at < 0) at = sources.findIndex((a, j) => !taken.has(j) && blank(a.iSCSITargetName) && !isOurs(a));
    if (at < 0) return undefined;
    taken.add(at);
    out.push(at);
  }
  return out;
}

export interface HpePlan {
  /** readable paths → values */
  values: Record<string, Value>;
  /** write-only paths → values */
  secrets: Record<string, string>;
  /** the paths that make the attempts ours */
  identity: string[];
}

/** What the initiator and our attempts must hold (paths); secrets sent with any change, or when not vouched for. */
export function planIscsi(view: HpeIscsi, spec: SanIscsiSpec, nicSource: string, placed: number[], secretsKnown: boolean): HpePlan {
  const wanted = desiredAttempts(spec, nicSource);
  const sources = view.iSCSISources ?? [];
  const values: Record<string, Value> = {};
  const secrets: Record<string, string> = {};
  const identity: string[] = [];
  if (!same("iSCSITargetName", view.iSCSIInitiatorName ?? null, spec.initiator_name)) values.iSCSIInitiatorName = spec.initiator_name;
  placed.forEach((at, i) => {
    const want = wanted[i]!;
    for (const [k, v] of Object.entries(want)) {
      if ((SECRETS as readonly string[]).includes(k)) continue;
      if (!same(k, sources[at]?.[k], v)) values[`iSCSISources.${at}.${k}`] = v;
    }
    identity.push(`iSCSISources.${at}.iSCSIAttemptName`, `iSCSISources.${at}.iSCSITargetName`);
  });
  if (Object.keys(values).length > 0 || !secretsKnown) {
    placed.forEach((at, i) => {
      for (const s of SECRETS) if (typeof wanted[i]![s] === "string") secrets[`iSCSISources.${at}.${s}`] = wanted[i]![s] as string;
    });
  }
  return { values, secrets, identity: [...identity, "iSCSIInitiatorName"] };
}

/** Target names and applied device paths of the attempts a claim wrote: what the UefiTarget override must name. */
export function overrideHints(view: HpeIscsi, attempts: number[]): string[] {
  const sources = view.iSCSISources ?? [];
  return attempts
    .map((i) => sources[i])
    .filter((a): a is Attempt => a !== undefined && a.iSCSIConnection !== "Disabled" && isOurs(a))
    .flatMap((a) => [a.UEFIDevicePath, a.iSCSITargetName])
    .filter((v): v is string => typeof v === "string" && v.length > 0);
}

/** The attempt indexes a claim's paths name. */
export function claimedAttempts(paths: string[]): number[] {
  const out = new Set<number>();
  for (const p of paths) {
    const m = /^iSCSISources\.(\d+)\./.exec(p);
    if (m) out.add(Number(m[1]));
  }
  return [...out].sort((a, b) => a - b);
}

/** The NIC source for the spec's MAC: the same position among the iSCSI-capable functions' MACs. */
export function chooseNicSource(sources: string[] | undefined, iscsiMacs: string[], mac: string | undefined): string | undefined {
  if (!sources || sources.length === 0) return undefined;
  if (mac === undefined) return sources[0];
  const i = iscsiMacs.indexOf(mac);
  return i >= 0 ? sources[i] : undefined;
}
