/**
 * Evidence of what sanboot wrote on a BMC: the only grounds on which undo touches anything.
 *
 * A place (a NIC or HBA function, HPE's BIOS iSCSI initiator, the system's boot override) counts
 * as ours only through a Claim recorded *before* the write it describes: the resource, the
 * readable values written (by property path) and what those paths held just before. Undo reads
 * the place again and puts `before` back only while the claim's identity paths (the target we
 * wrote, our initiator name, our override target) still hold what we wrote; a place someone else
 * has reconfigured since is theirs and is left alone. No claim, no write.
 *
 * Paths are dot-separated property names, array elements by index (`iSCSISources.2.iSCSILUN`).
 * Write-only values (CHAP secrets) are never recorded: `secrets` lists the paths written, and
 * undo blanks them (a BMC never answers the secret it held before, so that one cannot come back).
 */
import type { PowerState } from "./driver";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type ClaimKind = "nic_iscsi" | "nic_fc" | "hpe_bios_iscsi" | "dell_bios_iscsi" | "bios_attributes" | "boot_override";

export interface Claim {
  kind: ClaimKind;
  /** the resource the paths belong to (writes may go to its settings object) */
  uri: string;
  /** path → the readable value sanboot wrote */
  wrote: Record<string, JsonValue>;
  /** path → what it held before sanboot's first write */
  before: Record<string, JsonValue>;
  /** write-only paths sanboot wrote (secrets): blanked on undo */
  secrets: string[];
  /** the paths that must still hold what sanboot wrote for the place to be ours */
  identity: string[];
  /** jobs (or tasks) the BMC made to apply sanboot's writes: withdrawn while they have not run */
  jobs?: string[];
  /**
   * the place's `@Redfish.Settings` Time and ETag when sanboot wrote: its staged write is applied
   * once they moved, and only messages of an apply after that are about it
   */
  since?: SettingsMark;
}

export interface SettingsMark {
  time?: string;
  etag?: string;
}

/** What power_on did to power, so undo turns off only what sanboot turned on. */
export interface PowerEvidence {
  /** PowerState before power_on's first write */
  before: PowerState;
  /** when the reset was sent (relay clock); absent: none was sent (or its answer never came) */
  reset_at?: string;
  /** what the BMC showed before the reset, to tell a new boot from an old one */
  marks?: BootMarks;
}

/** BMC-side markers that change with each boot (BMC clock: compared with each other only). */
export interface BootMarks {
  last_reset_time?: string;
  boot_progress?: string;
  boot_progress_time?: string;
}

export interface BmcEvidence {
  claims: Claim[];
  power?: PowerEvidence;
}

export const NO_EVIDENCE: BmcEvidence = Object.freeze({ claims: [] }) as BmcEvidence;

/**
 * Several records of one request as one: per place, the earliest `before` of each path wins (a
 * later snapshot may already hold sanboot's own write), the latest `wrote` wins.
 */
export function mergeEvidence(...parts: Array<BmcEvidence | null | undefined>): BmcEvidence {
  const claims = new Map<string, Claim>();
  let power: PowerEvidence | undefined;
  for (const part of parts) {
    if (!part) continue;
    for (const c of part.claims ?? []) {
      const key = `${c.kind}|${c.uri}`;
      const known = claims.get(key);
      if (!known) {
        claims.set(key, structuredClone(c));
        continue;
      }
      for (const [path, v] of Object.entries(c.before)) if (!(path in known.before)) known.before[path] = v;
      Object.assign(known.wrote, c.wrote);
      known.secrets = [...new Set([...known.secrets, ...c.secrets])];
      known.identity = [...new Set([...known.identity, ...c.identity])];
      if (c.jobs?.length) known.jobs = [...new Set([...(known.jobs ?? []), ...c.jobs])];
      if (c.since) known.since = c.since;
    }
    if (part.power) {
      power = power
        ? { before: power.before, ...((part.power.reset_at ?? power.reset_at) ? { reset_at: part.power.reset_at ?? power.reset_at } : {}), ...((power.marks ?? part.power.marks) ? { marks: power.marks ?? part.power.marks } : {}) }
        : structuredClone(part.power);
    }
  }
  return { claims: [...claims.values()], ...(power ? { power } : {}) };
}

export function claimOf(e: BmcEvidence | null | undefined, kind: ClaimKind, uri?: string): Claim | undefined {
  return e?.claims.find((c) => c.kind === kind && (uri === undefined || c.uri === uri));
}

// ---- paths ----

export function valueAt(obj: unknown, path: string): JsonValue | undefined {
  let cur: unknown = obj;
  for (const seg of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur as JsonValue | undefined;
}

/**
 * A PATCH body from path → value. Numeric segments become array elements; elements the body
 * leaves alone are `{}` (Redfish array PATCH semantics), and trailing ones are dropped.
 */
export function patchBody(values: Record<string, JsonValue>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(values)) {
    const segs = path.split(".");
    let cur: Record<string, unknown> | unknown[] = root;
    segs.forEach((seg, i) => {
      const last = i === segs.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(segs[i + 1]!);
      const key: string | number = Array.isArray(cur) ? Number(seg) : seg;
      const container = cur as Record<string | number, unknown>;
      if (last) {
        container[key] = value;
        return;
      }
      if (container[key] === undefined || typeof container[key] !== "object") container[key] = nextIsIndex ? [] : {};
      cur = container[key] as Record<string, unknown> | unknown[];
    });
  }
  return fillArrays(root) as Record<string, unknown>;
}

function fillArrays(v: unknown): unknown {
  if (Array.isArray(v)) return Array.from({ length: v.length }, (_, i) => (v[i] === undefined ? {} : fillArrays(v[i])));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillArrays(x)]));
  return v;
}

// ---- comparing values as a BMC renders them ----

const IP_FIELD = /(IPAddress|IpAddress|Netmask|Gateway|DefaultGateway|DNS)$/;
const CASE_INSENSITIVE = /(InitiatorName|TargetName)$/;
const NUMERIC = /(LUN|TCPPort|TcpPort|VLANId|LUNID)$/;

/** Blank as BMCs render it: null, absent, "", and "0.0.0.0" / "::" for addresses. */
export function isBlank(path: string, v: unknown): boolean {
  if (v === null || v === undefined || v === "") return true;
  return IP_FIELD.test(path) && (v === "0.0.0.0" || v === "::");
}

const wwn = (s: unknown) => (typeof s === "string" ? s.replace(/^0x/i, "").replace(/[:-]/g, "").toLowerCase() : s);
const isZeroWwn = (s: unknown) => typeof s === "string" && /^0+$/.test(String(wwn(s)));

function sameLun(a: unknown, b: unknown): boolean {
  const n = (x: unknown) => {
    if (typeof x === "number") return x;
    if (typeof x !== "string") return NaN;
    const t = x.trim();
    if (/^0x[0-9a-f]+$/i.test(t)) return Number(t);
    // SAM-2 form with a dash (HPE "1234-5") reads as the digits
    if (/^\d+(-\d+)*$/.test(t)) return Number(t.replace(/-/g, ""));
    return NaN;
  };
  const x = n(a);
  return !Number.isNaN(x) && x === n(b);
}

function sameBootTargets(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) =>
    (Array.isArray(v) ? v : [])
      .filter((t) => t && typeof t === "object" && !isZeroWwn((t as Record<string, unknown>).WWPN) && (t as Record<string, unknown>).WWPN)
      .map((t, i) => {
        const r = t as Record<string, unknown>;
        return { w: wwn(r.WWPN), l: r.LUNID, p: typeof r.BootPriority === "number" ? r.BootPriority : i };
      })
      .sort((x, y) => x.p - y.p);
  const x = norm(a);
  const y = norm(b);
  return x.length === y.length && x.every((t, i) => t.w === y[i]!.w && t.p === y[i]!.p && (t.l === y[i]!.l || sameLun(t.l, y[i]!.l)));
}

/** Does `current` hold `wanted` at `path`, allowing for how BMCs render values? */
export function sameValue(path: string, current: unknown, wanted: unknown): boolean {
  if (isBlank(path, current) && isBlank(path, wanted)) return true;
  if (path.endsWith("BootTargets")) return sameBootTargets(current, wanted);
  if (typeof current === "string" && typeof wanted === "string") {
    if (CASE_INSENSITIVE.test(path)) return current.toLowerCase() === wanted.toLowerCase();
    if (/WWPN|WWNN/.test(path)) return wwn(current) === wwn(wanted);
  }
  if (NUMERIC.test(path) && current !== null && wanted !== null && current !== undefined) return current === wanted || sameLun(current, wanted);
  if (typeof current === "object" || typeof wanted === "object") return JSON.stringify(current) === JSON.stringify(wanted);
  return current === wanted;
}

// ---- planning writes and undo ----

/** The paths of `wanted` that `current` does not already hold. */
export function differing(current: unknown, wanted: Record<string, JsonValue>): Record<string, JsonValue> {
  return Object.fromEntries(Object.entries(wanted).filter(([path, v]) => !sameValue(path, valueAt(current, path), v)));
}

/**
 * The claim for writing `changes` (readable paths) and `secrets` (write-only paths) on `view`
 * (the place as it will be once anything already staged applies). `identityOrder` names the
 * paths that make the place ours, most telling first; those actually written become the claim's
 * identity (all written paths when none of them is).
 */
export function claimFor(
  kind: ClaimKind,
  uri: string,
  view: unknown,
  changes: Record<string, JsonValue>,
  secrets: string[],
  identityOrder: readonly string[],
): Claim {
  const before: Record<string, JsonValue> = {};
  // An unset list is put back as an empty one (a BMC takes [] for "none"; a PATCH cannot make a property absent).
  for (const path of Object.keys(changes)) before[path] = valueAt(view, path) ?? (path.endsWith("BootTargets") ? [] : null);
  const written = Object.keys(changes);
  const identity = identityOrder.filter((p) => written.includes(p) && !isBlank(p, changes[p]));
  return { kind, uri, wrote: { ...changes }, before, secrets: [...secrets], identity: identity.length > 0 ? identity : written };
}

/** Is the place (as `current` shows it) still what the claim wrote? */
export function stillOurs(current: unknown, claim: Claim): boolean {
  if (claim.identity.length === 0) return false;
  return claim.identity.every((p) => sameValue(p, valueAt(current, p), claim.wrote[p]));
}

/**
 * What undo writes on a place that is still ours: every written path back to `before` (those
 * already there left out), and every secret written blanked (`blank`: how the BMC takes an unset
 * value; null per the schema). Null when nothing is to change.
 */
export function restoreValues(current: unknown, claim: Claim, blank: (path: string) => JsonValue = () => null): Record<string, JsonValue> | null {
  const out: Record<string, JsonValue> = {};
  for (const [path, before] of Object.entries(claim.before)) {
    if (!sameValue(path, valueAt(current, path), before)) out[path] = before;
  }
  if (Object.keys(out).length === 0) return null;
  for (const s of claim.secrets) out[s] = blank(s);
  return out;
}
