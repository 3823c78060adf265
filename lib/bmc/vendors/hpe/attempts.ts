/**
 * HPE iLO 5/6/7 UEFI software iSCSI attempts (`HpeiSCSISoftwareInitiator` at Bios → Oem.Hpe.Links.iScsi),
 * as HPE documents them: `iSCSISources` is a list of attempts; an attempt whose
 * `iSCSIAttemptInstance` is 0 is ignored (a blank one reads 0, and setting 0 deletes it), so an
 * attempt is made by giving a free slot a unique instance 1..N; `{}` in a PATCH leaves a slot
 * alone; iSCSIAuthenticationMethod is `None` or `CHAP`; address and LUN fields are strings that
 * are never null (unset reads "0.0.0.0" / "0"); the LUN is a SAM-2 string. Pure: the I/O is in
 * bios-iscsi.ts.
 *
 * sanboot's attempts are named `sanboot-<n>` (n = 1 for the primary target, 2 for the multipath
 * secondary), and the claim (claims.ts) says which slots it wrote; no other slot is touched.
 */
import { isBlank, sameValue, type JsonValue } from "../../claims";
import type { SanIscsiSpec } from "../../driver";

type Value = string | number | boolean | null;
export type Attempt = Record<string, Value>;

export interface HpeIscsi {
  "@odata.id"?: string;
  iSCSIInitiatorName?: string | null;
  iSCSINicSources?: string[];
  iSCSISources?: Attempt[];
}

export const SECRETS = ["iSCSIChapSecret", "iSCSIReverseChapSecret"] as const;
const ours = (i: number) => `sanboot-${i + 1}`;

/** A LUN as HPE's SAM-2 form: up to 4 digits as they are, more in groups of 4 ("12345" → "1234-5"). */
export function sam2Lun(lun: number): string {
  const digits = String(lun);
  return digits.length <= 4 ? digits : digits.match(/.{1,4}/g)!.join("-");
}

/** The attempts `spec` wants, in the slots' instances: primary then the multipath secondary. */
export function desiredAttempts(spec: SanIscsiSpec, nicSource: string, instances: number[]): Attempt[] {
  const net = spec.network;
  const multipath = spec.targets.length > 1;
  return spec.targets.map((t, i) => {
    const a: Attempt = {
      iSCSIAttemptInstance: instances[i]!,
      iSCSIAttemptName: ours(i),
      iSCSINicSource: nicSource,
      iSCSIConnection: multipath ? "EnabledMpio" : "Enabled",
      iSCSIIpAddressType: t.address.includes(":") ? "IPv6" : "IPv4",
      iSCSIInitiatorInfoViaDHCP: net.mode === "dhcp",
      iSCSITargetInfoViaDHCP: false,
      iSCSITargetName: t.name,
      iSCSITargetIpAddress: t.address,
      iSCSITargetTcpPort: t.port,
      iSCSILUN: sam2Lun(t.lun),
      iSCSIAuthenticationMethod: spec.auth.method === "None" ? "None" : "CHAP",
    };
    if (spec.auth.method !== "None") {
      a.iSCSIChapType = spec.auth.method === "MutualCHAP" ? "Mutual" : "OneWay";
      a.iSCSIChapUsername = spec.auth.username;
      a.iSCSIChapSecret = spec.auth.secret;
    }
    if (spec.auth.method === "MutualCHAP") {
      a.iSCSIReverseChapUsername = spec.auth.mutual_username;
      a.iSCSIReverseChapSecret = spec.auth.mutual_secret;
    }
    if (net.mode === "static") {
      a.iSCSIInitiatorIpAddress = net.address;
      a.iSCSIInitiatorNetmask = net.netmask;
      if (net.gateway !== undefined) a.iSCSIInitiatorGateway = net.gateway;
    }
    return a;
  });
}

const same = (field: string, current: Value | undefined, wanted: Value) => sameValue(`iSCSISources.0.${field}`, current, wanted);

/** What BIOS fills in once an attempt is configured: a settings object (a full copy on iLO) cannot stage it. */
const READ_ONLY = new Set(["UEFIDevicePath", "StructuredBootString"]);

/** The resource as it will be once its settings object applies (element-wise for the attempts). */
export function pendingIscsi(resource: HpeIscsi, settings: HpeIscsi): HpeIscsi {
  const sources = [...(resource.iSCSISources ?? [])].map((a) => ({ ...a }));
  for (const [i, s] of (settings.iSCSISources ?? []).entries()) {
    if (s && typeof s === "object") sources[i] = { ...(sources[i] ?? {}), ...Object.fromEntries(Object.entries(s).filter(([k]) => !READ_ONLY.has(k))) };
  }
  return {
    ...resource,
    ...(settings.iSCSIInitiatorName !== undefined ? { iSCSIInitiatorName: settings.iSCSIInitiatorName } : {}),
    iSCSISources: sources,
  };
}

const instanceOf = (a: Attempt | undefined) => (typeof a?.iSCSIAttemptInstance === "number" ? a.iSCSIAttemptInstance : 0);
const isOurs = (a: Attempt, i?: number) => (i === undefined ? String(a.iSCSIAttemptName ?? "").startsWith("sanboot-") : a.iSCSIAttemptName === ours(i));
/** A slot nobody uses: instance 0 (ignored by the BIOS), or no target and not one of ours. */
const isFree = (a: Attempt) => instanceOf(a) === 0 || (isBlank("iSCSITargetName", a.iSCSITargetName) && !isOurs(a));

/**
 * For each wanted attempt, the slot it goes to: the one an earlier run of this request claimed,
 * else the attempt already named for it, else a free slot. Undefined when all slots are taken.
 */
export function placeAttempts(view: HpeIscsi, count: number, claimed: number[] = []): number[] | undefined {
  const sources = view.iSCSISources ?? [];
  const taken = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    let at = claimed[i] ?? -1;
    if (at < 0 || at >= sources.length) at = sources.findIndex((a, j) => !taken.has(j) && isOurs(a, i));
    if (at < 0) at = sources.findIndex((a, j) => !taken.has(j) && isFree(a) && !isOurs(a));
    if (at < 0) return undefined;
    taken.add(at);
    out.push(at);
  }
  return out;
}

/** Instances for the placed slots: each keeps a non-zero one it has, else the lowest no other attempt uses. */
export function instancesFor(view: HpeIscsi, placed: number[]): number[] {
  const sources = view.iSCSISources ?? [];
  const used = new Set(sources.map((a, j) => (placed.includes(j) ? 0 : instanceOf(a))).filter((n) => n > 0));
  return placed.map((at) => {
    const own = instanceOf(sources[at]);
    if (own > 0 && !used.has(own)) {
      used.add(own);
      return own;
    }
    let n = 1;
    while (used.has(n)) n++;
    used.add(n);
    return n;
  });
}

export interface HpePlan {
  /** readable paths → values */
  values: Record<string, JsonValue>;
  /** write-only paths → values */
  secrets: Record<string, string>;
  /** the paths that make the attempts ours */
  identity: string[];
}

/** What the initiator and our attempts must hold (paths); secrets sent with any change, or when not vouched for. */
export function planIscsi(view: HpeIscsi, spec: SanIscsiSpec, nicSource: string, placed: number[], secretsKnown: boolean): HpePlan {
  const wanted = desiredAttempts(spec, nicSource, instancesFor(view, placed));
  const sources = view.iSCSISources ?? [];
  const values: Record<string, JsonValue> = {};
  const secrets: Record<string, string> = {};
  const identity: string[] = [];
  if (!same("iSCSITargetName", view.iSCSIInitiatorName ?? null, spec.initiator_name)) values.iSCSIInitiatorName = spec.initiator_name;
  placed.forEach((at, i) => {
    for (const [k, v] of Object.entries(wanted[i]!)) {
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

/** The attempt slots a claim's paths name. */
export function claimedAttempts(paths: string[]): number[] {
  const out = new Set<number>();
  for (const p of paths) {
    const m = /^iSCSISources\.(\d+)\./.exec(p);
    if (m) out.add(Number(m[1]));
  }
  return [...out].sort((a, b) => a - b);
}

/** The `Bios` resource's link to the UEFI iSCSI initiator, and to the BIOS mappings, where the BIOS has them. */
export function biosLinkOf(bios: Record<string, unknown>, name: "iScsi" | "Mappings"): string | undefined {
  const oem = bios.Oem as Record<string, { Links?: Record<string, { "@odata.id"?: string }> }> | undefined;
  const uri = (oem?.Hpe ?? oem?.Hp)?.Links?.[name]?.["@odata.id"];
  return typeof uri === "string" && uri.length > 0 ? uri : undefined;
}
