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
}

const WRITE_EVERY_MS = 30_000;

interface Written {
  at: number;
  version: string | null;
  concurrency: number | null;
}
const written = new WeakMap<StateStore, Map<string, Written>>();
const online = new WeakMap<StateStore, Map<string, number>>();

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
  if (last && now.getTime() - last.at < writeEveryMs(deps) && last.version === version && last.concurrency === concurrency) return;
  const at = now.toISOString();
  try {
    await deps.store.recordRelaySeen({ site, relay_id: hello.relayId, version, concurrency, first_seen_at: at, last_seen_at: at });
    seen.set(key, { at: now.getTime(), version, concurrency });
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

/**
 * Refuses a boot at a site none of whose relays was heard from within the window: it would wait
 * out its deadlines with the volume attached. An answer that the site is online is kept for a
 * quarter of the window (at most SANBOOT_SITE_CACHE_SECONDS).
 */
export async function requireRelayContact(deps: Deps, site: string): Promise<void> {
  const windowMs = deps.config.SANBOOT_RELAY_OFFLINE_SECONDS * 1000;
  if (windowMs === 0) return;
  const now = deps.clock.now();
  const known = mapOf(online, deps.store);
  if ((known.get(site) ?? 0) > now.getTime()) return;
  const last = newest(await deps.store.listRelays(site));
  if (last !== null && isOnline(deps, { last_seen_at: last }, now)) {
    known.set(site, now.getTime() + Math.min(windowMs / 4, deps.config.SANBOOT_SITE_CACHE_SECONDS * 1000));
    return;
  }
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
