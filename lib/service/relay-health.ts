/**
 * Whether a site's relays are alive, from what they tell the service: each lease and heartbeat
 * call records (per relay id) when it was heard, its version and its concurrency. A function
 * writes that at most every 30 s per relay (a long-polling relay calls every few seconds), so the
 * record is at most that old plus one long-poll; SANBOOT_RELAY_OFFLINE_SECONDS must be longer.
 */
import type { Deps } from "../deps";
import { SanbootError } from "../errors";
import type { RelaySeenRecord } from "../store/records";
import type { StateStore } from "../store/state-store";

export interface RelayHello {
  relayId: string;
  version?: string | undefined;
  concurrency?: number | undefined;
  capabilities?: string[] | undefined;
}

const WRITE_EVERY_MS = 30_000;

interface Written {
  at: number;
  version: string | null;
  concurrency: number | null;
  capabilities: string[] | null;
}
const written = new WeakMap<StateStore, Map<string, Written>>();
/** per site: until when the answer below stands */
const online = new WeakMap<StateStore, Map<string, { until: number; sequences: boolean }>>();

const mapOf = <V>(m: WeakMap<StateStore, Map<string, V>>, store: StateStore): Map<string, V> => {
  let inner = m.get(store);
  if (!inner) m.set(store, (inner = new Map()));
  return inner;
};

/** How often a function records a relay: every 30 s, or a third of the offline window when that is shorter. */
function writeEveryMs(deps: Deps): number {
  const window = deps.config.SANBOOT_RELAY_OFFLINE_SECONDS * 1000;
  return window > 0 ? Math.min(WRITE_EVERY_MS, window / 3) : WRITE_EVERY_MS;
}

/**
 * Records that the relay called. Never fails the call it rides on: a relay whose contact could
 * not be recorded still gets its commands (and is recorded next time).
 */
export async function relayHeard(deps: Deps, site: string, hello: RelayHello): Promise<void> {
  const now = deps.clock.now();
  const key = `${site}/${hello.relayId}`;
  const seen = mapOf(written, deps.store);
  const last = seen.get(key);
  const version = hello.version ?? last?.version ?? null;
  const concurrency = hello.concurrency ?? last?.concurrency ?? null;
  const capabilities = hello.capabilities ? [...hello.capabilities].sort() : (last?.capabilities ?? null);
  const same = last && last.version === version && last.concurrency === concurrency && String(last.capabilities) === String(capabilities);
  if (last && same && now.getTime() - last.at < writeEveryMs(deps)) return;
  const at = now.toISOString();
  try {
    await deps.store.recordRelaySeen({ site, relay_id: hello.relayId, version, concurrency, capabilities, first_seen_at: at, last_seen_at: at });
    seen.set(key, { at: now.getTime(), version, concurrency, capabilities });
  } catch (err) {
    deps.log.warn("could not record a relay's contact", { site, relay_id: hello.relayId, error: (err as Error).message });
  }
}

/** A relay is online while it was heard from within the offline window (any time, when there is none). */
export function isOnline(deps: Deps, r: Pick<RelaySeenRecord, "last_seen_at">, now: Date): boolean {
  const window = deps.config.SANBOOT_RELAY_OFFLINE_SECONDS * 1000;
  return window === 0 || now.getTime() - Date.parse(r.last_seen_at) <= window;
}

const newest = (relays: RelaySeenRecord[]): string | null => relays.reduce<string | null>((m, r) => (m === null || r.last_seen_at > m ? r.last_seen_at : m), null);

export interface SiteRelays {
  /** every relay of the site that counts (online; all, with the check off) runs boot sequences */
  sequences: boolean;
}

/**
 * What a boot needs to know of its site's relays. Refuses a boot at a site none of whose relays
 * was heard from within the window: it would wait out its deadlines with the volume attached.
 * Answers whether the rest of the boot may go to the relay as one command: only when every relay
 * that may lease it announced `boot_sequence` (a site half-way through a relay upgrade gets one
 * command per step, which every relay runs). The answer is kept for a quarter of the window (at
 * most SANBOOT_SITE_CACHE_SECONDS).
 */
export async function requireRelayContact(deps: Deps, site: string): Promise<SiteRelays> {
  const windowMs = deps.config.SANBOOT_RELAY_OFFLINE_SECONDS * 1000;
  const now = deps.clock.now();
  const known = mapOf(online, deps.store);
  const cached = known.get(site);
  if (cached && cached.until > now.getTime()) return { sequences: cached.sequences };
  const relays = await deps.store.listRelays(site);
  const counted = relays.filter((r) => isOnline(deps, r, now));
  const keepMs = Math.min(windowMs > 0 ? windowMs / 4 : Infinity, deps.config.SANBOOT_SITE_CACHE_SECONDS * 1000);
  if (counted.length > 0 || windowMs === 0) {
    const sequences = counted.length > 0 && counted.every((r) => r.capabilities?.includes("boot_sequence") === true);
    known.set(site, { until: now.getTime() + keepMs, sequences });
    return { sequences };
  }
  const last = newest(relays);
  throw new SanbootError(
    "SITE_RELAY_OFFLINE",
    last === null
      ? `no relay of site ${site} has called the service yet; start its relay (sanboot-relay run) and check it (sanboot-relay check)`
      : `no relay of site ${site} called the service since ${last} (more than ${deps.config.SANBOOT_RELAY_OFFLINE_SECONDS} s); check its relay (sanboot-relay check)`,
    { details: [{ field: "site", message: "no relay of the node's site is online" }] },
  );
}

/**
 * Of the sites named, those whose relays fell silent: relays were heard from, none within the
 * window; or the site counts nodes and no relay of it ever called. A site without nodes whose
 * relay never called is not silent, only new; nor is one of the environment (null: its nodes are
 * not counted) that never saw a relay.
 */
export async function silentSites(deps: Deps, sites: Array<{ site: string; node_count: number | null }>): Promise<string[]> {
  const now = deps.clock.now();
  const bySite = new Map<string, RelaySeenRecord[]>();
  for (const r of await deps.store.listRelays(null)) bySite.set(r.site, [...(bySite.get(r.site) ?? []), r]);
  return sites
    .filter((s) => {
      const relays = bySite.get(s.site);
      return relays ? !relays.some((r) => isOnline(deps, r, now)) : s.node_count !== null && s.node_count > 0;
    })
    .map((s) => s.site)
    .sort();
}
