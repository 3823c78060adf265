/**
 * What the sites API shows: a site (its relay tokens as hashes only, its sealing key, its node
 * count) and, for one site, its relays' health and its command queue.
 */
import type { CommandRecord, RelaySeenRecord } from "../store/records";
import type { KnownSite } from "./sites";
import type { SiteDetail, SiteView } from "./view-schemas";

export type { SiteDetail, SiteView } from "./view-schemas";

export function siteView(s: KnownSite): SiteView {
  const r = s.record;
  return {
    site: s.site,
    source: s.source,
    description: r?.description ?? null,
    relay_tokens: r ? r.relay_tokens.map((t) => ({ sha256: t.sha256, added_at: t.added_at })) : s.tokenHashes.map((sha256) => ({ sha256, added_at: null })),
    sealing_public_key: s.sealingKeyPem,
    node_count: r ? r.node_count : null,
    version: r?.version ?? null,
    created_at: r?.created_at ?? null,
    updated_at: r?.updated_at ?? null,
  };
}

export const COMMANDS_COUNTED_UP_TO = 1000;

export function siteDetail(
  s: KnownSite,
  relays: RelaySeenRecord[],
  commands: CommandRecord[],
  now: Date,
  online: (r: RelaySeenRecord) => boolean,
): SiteDetail {
  // a lease that expired is a command waiting to be leased again
  const held = (c: CommandRecord) => c.status === "leased" && c.lease_expires_at !== null && Date.parse(c.lease_expires_at) > now.getTime();
  const queued = commands.filter((c) => c.status === "queued" || (c.status === "leased" && !held(c)));
  const oldest = queued.reduce<string | null>((m, c) => (m === null || c.created_at < m ? c.created_at : m), null);
  const views = relays
    .map((r) => ({ relay_id: r.relay_id, version: r.version, concurrency: r.concurrency, first_seen_at: r.first_seen_at, last_seen_at: r.last_seen_at, online: online(r) }))
    .sort((a, b) => a.relay_id.localeCompare(b.relay_id));
  return {
    ...siteView(s),
    relays: views,
    relay_status: views.length === 0 ? "never_seen" : views.some((r) => r.online) ? "online" : "offline",
    commands: {
      queued: queued.length,
      in_flight: commands.filter(held).length,
      oldest_queued_age_seconds: oldest === null ? null : Math.max(0, (now.getTime() - Date.parse(oldest)) / 1000),
      counted_up_to: COMMANDS_COUNTED_UP_TO,
    },
  };
}
