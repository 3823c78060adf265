/**
 * Sites: where a relay serves BMCs. A site lives in the state table (the sites API, admin only)
 * or, for deployments from before the table held them, in SANBOOT_RELAY_TOKENS /
 * SANBOOT_SITE_KEYS. When both name a site, the table's record decides and the environment's
 * entries for it are ignored, so adopting a site (POST it) and then rotating its token really
 * retires the old one.
 *
 * Write order, since there are no transactions: a token's lookup item (hash → site) is written
 * before the site lists the token and deleted after the site stops listing it; a relay's token
 * counts only while both say so. What a function read of a site is trusted for
 * SANBOOT_SITE_CACHE_SECONDS.
 */
import { timingSafeEqual } from "node:crypto";
import type { CreateSiteInput, UpdateSiteInput } from "../api/schemas";
import type { Deps } from "../deps";
import { ConflictError, SanbootError, ValidationError } from "../errors";
import type { Caller } from "../http/api-handler";
import { sha256Hex } from "../ids";
import { parseSitePublicKey } from "../relay/site-seal";
import type { SiteRecord } from "../store/records";
import type { StateStore } from "../store/state-store";
import { isOnline, silentSites } from "./relay-health";
import { COMMANDS_COUNTED_UP_TO, siteDetail, type SiteDetail } from "./site-views";

export interface KnownSite {
  site: string;
  source: "table" | "environment";
  /** the table's record; null for a site from the environment */
  record: SiteRecord | null;
  /** SHA-256 of each relay token the site accepts */
  tokenHashes: string[];
  sealingKeyPem: string | null;
}

// ---------------------------------------------------------------- what a function trusts for a while

interface Cached {
  value: unknown;
  until: number;
}
const caches = new WeakMap<StateStore, Map<string, Cached>>();

/** `load`'s answer, kept for SANBOOT_SITE_CACHE_SECONDS when it is not null (an unknown site or token is asked again). */
async function cached<T>(deps: Deps, key: string, load: () => Promise<T | null>): Promise<T | null> {
  let cache = caches.get(deps.store);
  if (!cache) caches.set(deps.store, (cache = new Map()));
  const now = deps.clock.now().getTime();
  const hit = cache.get(key);
  if (hit && hit.until > now) return hit.value as T;
  const value = await load();
  if (value === null) cache.delete(key);
  else cache.set(key, { value, until: now + deps.config.SANBOOT_SITE_CACHE_SECONDS * 1000 });
  return value;
}

/** This function's own change is seen by it at once (others see it within the cache time). */
function forget(deps: Deps, ...keys: string[]): void {
  const cache = caches.get(deps.store);
  for (const k of keys) cache?.delete(k);
}

// ---------------------------------------------------------------- reading a site

function fromEnvironment(deps: Deps, site: string): KnownSite | null {
  const token = deps.config.SANBOOT_RELAY_TOKENS[site];
  const key = deps.config.SANBOOT_SITE_KEYS[site];
  if (token === undefined && key === undefined) return null;
  return { site, source: "environment", record: null, tokenHashes: token ? [token] : [], sealingKeyPem: key ?? null };
}

/** The sites SANBOOT_RELAY_TOKENS / SANBOOT_SITE_KEYS name, sorted. */
const environmentSiteNames = (deps: Deps): string[] =>
  [...new Set([...Object.keys(deps.config.SANBOOT_RELAY_TOKENS), ...Object.keys(deps.config.SANBOOT_SITE_KEYS)])].sort();

const fromRecord = (r: SiteRecord): KnownSite => ({
  site: r.site,
  source: "table",
  record: r,
  tokenHashes: r.relay_tokens.map((t) => t.sha256),
  sealingKeyPem: r.sealing_public_key,
});

/** The site as the table (first) or the environment knows it; null when neither does. */
export async function findSite(deps: Deps, site: string, opts: { fresh?: boolean } = {}): Promise<KnownSite | null> {
  const load = async () => {
    const rec = await deps.store.getSite(site);
    return rec ? fromRecord(rec) : fromEnvironment(deps, site);
  };
  if (opts.fresh) forget(deps, `site:${site}`);
  return cached(deps, `site:${site}`, load);
}

/** The site a relay token belongs to, or null. Hashes are compared in constant time where they are compared at all. */
export async function relaySiteOf(deps: Deps, token: string): Promise<string | null> {
  const hash = sha256Hex(token);
  const presented = Buffer.from(hash, "hex");
  let envSite: string | null = null;
  for (const [s, h] of Object.entries(deps.config.SANBOOT_RELAY_TOKENS)) {
    if (timingSafeEqual(presented, Buffer.from(h, "hex"))) envSite = s;
  }
  if (envSite !== null && (await findSite(deps, envSite))?.source === "environment") return envSite;
  // the lookup is keyed by the token's hash: reading it tells nothing about other tokens
  const ref = await cached(deps, `token:${hash}`, () => deps.store.getRelayToken(hash));
  if (!ref) return null;
  const known = await findSite(deps, ref.site);
  return known?.source === "table" && known.tokenHashes.includes(hash) ? ref.site : null;
}

// ---------------------------------------------------------------- the sites API

/** Every site: the table's, then the environment's the table does not hold. */
export async function allSites(deps: Deps): Promise<KnownSite[]> {
  const out: KnownSite[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.store.listSites({ limit: 100, ...(cursor ? { cursor } : {}) });
    out.push(...page.items.map(fromRecord));
    cursor = page.cursor ?? undefined;
  } while (cursor);
  const inTable = new Set(out.map((s) => s.site));
  for (const name of environmentSiteNames(deps)) if (!inTable.has(name)) out.push(fromEnvironment(deps, name)!);
  return out;
}

/** The sites whose relays fell silent, of every site known (lib/service/relay-health.ts says what silent means). */
export async function silentSitesNow(deps: Deps): Promise<string[]> {
  return silentSites(deps, (await allSites(deps)).map((s) => ({ site: s.site, node_count: s.record ? s.record.node_count : null })));
}

/** One page of the table's sites; the first page also holds the environment's. */
export async function listSites(deps: Deps, caller: Caller, limit: number, cursor?: string): Promise<{ items: KnownSite[]; cursor: string | null }> {
  requireAdmin(caller);
  const page = await deps.store.listSites({ limit, ...(cursor ? { cursor } : {}) });
  const items = page.items.map(fromRecord);
  if (!cursor) {
    for (const name of environmentSiteNames(deps)) {
      if ((await findSite(deps, name))?.source === "environment") items.push(fromEnvironment(deps, name)!);
    }
  }
  return { items, cursor: page.cursor };
}

/** A site with its relays' health and its command queue. */
export async function showSite(deps: Deps, caller: Caller, site: string): Promise<SiteDetail> {
  requireAdmin(caller);
  const known = await findSite(deps, site, { fresh: true });
  if (!known) throw new SanbootError("SITE_NOT_FOUND", `site ${site} not found`, { details: [{ field: "site", message: "not found" }] });
  const [relays, commands] = await Promise.all([deps.store.listRelays(site), deps.store.unfinishedCommands(site, COMMANDS_COUNTED_UP_TO)]);
  const now = deps.clock.now();
  return siteDetail(known, relays, commands, now, (r) => isOnline(deps, r, now));
}


function requireAdmin(caller: Caller): void {
  if (caller.role !== "admin") throw new SanbootError("FORBIDDEN", "sites are managed by an admin");
}

function checkSealingKey(pem: string | null | undefined): void {
  if (pem === undefined || pem === null) return;
  try {
    parseSitePublicKey(pem);
  } catch {
    throw new ValidationError("sealing_public_key: must be an X25519 public key in PEM form (sanboot-relay keygen prints it)", [
      { field: "sealing_public_key", message: "must be an X25519 public key in PEM form" },
    ]);
  }
}

/** A token serves one site: one another site accepts (in the table or the environment) is refused, naming the field. */
async function checkTokensFree(deps: Deps, site: string, hashes: string[]): Promise<void> {
  for (const [i, hash] of hashes.entries()) {
    const envOwner = Object.entries(deps.config.SANBOOT_RELAY_TOKENS).find(([s, h]) => h === hash && s !== site)?.[0];
    const ref = envOwner ? null : await deps.store.getRelayToken(hash);
    const tableOwner = ref && ref.site !== site && (await deps.store.getSite(ref.site))?.relay_tokens.some((t) => t.sha256 === hash) ? ref.site : null;
    const owner = envOwner ?? tableOwner;
    if (owner) {
      throw new ValidationError(`relay_token_sha256.${i}: already a relay token of site ${owner}`, [
        { field: `relay_token_sha256.${i}`, message: `already a relay token of site ${owner}; each site needs its own` },
      ]);
    }
  }
}

/** The token lookups a site's record needs, written before the record lists them; answers those that were not there. */
async function putTokenLookups(deps: Deps, site: string, hashes: string[], now: string): Promise<string[]> {
  const created: string[] = [];
  for (const hash of hashes) {
    if ((await deps.store.getRelayToken(hash))?.site !== site) created.push(hash);
    await deps.store.putRelayToken(hash, site, now);
  }
  return created;
}

async function dropTokenLookups(deps: Deps, hashes: string[]): Promise<void> {
  for (const hash of hashes) {
    await deps.store.deleteRelayToken(hash);
    forget(deps, `token:${hash}`);
  }
}

export async function createSite(deps: Deps, caller: Caller, input: CreateSiteInput): Promise<KnownSite> {
  requireAdmin(caller);
  checkSealingKey(input.sealing_public_key);
  await checkTokensFree(deps, input.site, input.relay_token_sha256);
  const now = deps.clock.now().toISOString();
  // a site adopted from the environment (or named again after a delete) may have nodes already
  const nodeCount = await deps.store.countSiteNodes(input.site, 100_000);
  const record: SiteRecord = {
    site: input.site,
    description: input.description ?? null,
    relay_tokens: input.relay_token_sha256.map((sha256) => ({ sha256, added_at: now })),
    sealing_public_key: input.sealing_public_key ?? null,
    node_count: nodeCount,
    version: 1,
    created_at: now,
    updated_at: now,
  };
  const created = await putTokenLookups(deps, input.site, input.relay_token_sha256, now);
  try {
    await deps.store.createSite(record);
  } catch (err) {
    // the lookups this call added point at a record that is not ours: take them back
    await dropTokenLookups(deps, created).catch(() => undefined);
    throw err;
  }
  forget(deps, `site:${input.site}`);
  return fromRecord(record);
}

/** The table's record of a site, or why there is none to change. */
async function recordOf(deps: Deps, site: string): Promise<SiteRecord> {
  const rec = await deps.store.getSite(site);
  if (rec) return rec;
  if (fromEnvironment(deps, site)) {
    throw new ConflictError("SITE_IN_ENVIRONMENT", `site ${site} is defined by SANBOOT_RELAY_TOKENS / SANBOOT_SITE_KEYS; POST /v1/sites with it to manage it here`);
  }
  throw new SanbootError("SITE_NOT_FOUND", `site ${site} not found`, { details: [{ field: "site", message: "not found" }] });
}

/**
 * Changes a site. `relay_token_sha256` replaces the list: rotating a token is a PATCH with the old
 * and the new (both valid meanwhile), then one with the new only. With `version` (the one the
 * caller read the list at), a change made meanwhile refuses it rather than being overwritten.
 */
export async function updateSite(deps: Deps, caller: Caller, site: string, patch: UpdateSiteInput): Promise<KnownSite> {
  requireAdmin(caller);
  checkSealingKey(patch.sealing_public_key);
  if (patch.relay_token_sha256) await checkTokensFree(deps, site, patch.relay_token_sha256);
  for (let attempt = 1; ; attempt++) {
    const rec = await recordOf(deps, site);
    if (patch.version !== undefined && patch.version !== rec.version) {
      throw new ConflictError("VERSION_CONFLICT", `site ${site} is at version ${rec.version}, not ${patch.version}: read it again and make the change from what it holds now`);
    }
    const now = deps.clock.now().toISOString();
    const kept = new Map(rec.relay_tokens.map((t) => [t.sha256, t]));
    const tokens = patch.relay_token_sha256 ? patch.relay_token_sha256.map((sha256) => kept.get(sha256) ?? { sha256, added_at: now }) : rec.relay_tokens;
    const added = tokens.filter((t) => !kept.has(t.sha256)).map((t) => t.sha256);
    const removed = rec.relay_tokens.filter((t) => !tokens.some((n) => n.sha256 === t.sha256)).map((t) => t.sha256);
    const next: SiteRecord = {
      ...rec,
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.sealing_public_key !== undefined ? { sealing_public_key: patch.sealing_public_key } : {}),
      relay_tokens: tokens,
      version: rec.version + 1,
      updated_at: now,
    };
    const created = await putTokenLookups(deps, site, added, now);
    try {
      await deps.store.saveSite(next, rec.version);
    } catch (err) {
      await dropTokenLookups(deps, created).catch(() => undefined);
      if (err instanceof ConflictError && err.code === "VERSION_CONFLICT" && attempt < 5) continue;
      throw err;
    }
    forget(deps, `site:${site}`);
    await dropTokenLookups(deps, removed);
    return fromRecord(next);
  }
}

/** Deletes a site without nodes, its token lookups and what was heard from its relays. */
export async function deleteSite(deps: Deps, caller: Caller, site: string): Promise<void> {
  requireAdmin(caller);
  let deleted: SiteRecord;
  for (let attempt = 1; ; attempt++) {
    const rec = await recordOf(deps, site);
    // the count decides; the index catches nodes the count missed (enrolled before sites had records)
    const nodes = rec.node_count > 0 ? rec.node_count : await deps.store.countSiteNodes(site, 1);
    if (nodes > 0) throw new ConflictError("SITE_HAS_NODES", `site ${site} has ${rec.node_count > 0 ? rec.node_count : "at least one"} node(s); delete them or move them to another site first`);
    try {
      await deps.store.deleteSite(site, rec.version);
      deleted = rec;
      break;
    } catch (err) {
      // refused: a node came, or the record changed; read it again to say which
      if (err instanceof ConflictError && err.code === "SITE_HAS_NODES" && attempt < 5) continue;
      throw err;
    }
  }
  forget(deps, `site:${site}`);
  await dropTokenLookups(deps, deleted.relay_tokens.map((t) => t.sha256));
  for (const r of await deps.store.listRelays(site)) await deps.store.forgetRelay(site, r.relay_id);
}
