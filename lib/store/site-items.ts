/**
 * Sites in the state table: a site's record (its relay tokens' hashes, its sealing key, how many
 * nodes it has), the lookup from a relay token's hash to its site, and what was last heard from
 * each relay. Every change is one conditional single-item write (no transactions: dynalite has
 * none), so the order of writes carries the meaning; the service (lib/service/sites.ts) keeps it.
 */
import { ConflictError } from "../errors";
import type { CommandRecord, RelaySeenRecord, SiteRecord } from "./records";
import type { Page, PageOptions } from "./state-store";
import { INDEX } from "./table-definition";
import { CommandQueue } from "./command-queue";
import { ITEM_EXISTS, KEY, NO_ITEM_YET, all, atVersion, condition, strip } from "./table-client";

const SITES = "SITES";
const RELAYS = "RELAYS";
const NO_NODES = condition("node_count = :zero", { ":zero": 0 });

/** the partition of a site's nodes in the by_node index (requests of a node use NODE#<id>) */
export const siteNodesKey = (site: string): string => `SITE#${site}#NODE`;

export abstract class SiteItems extends CommandQueue {
  private siteItem(s: SiteRecord): Record<string, unknown> {
    return { ...KEY.site(s.site), gsi_project_pk: SITES, gsi_project_sk: s.site, ...s };
  }

  async createSite(s: SiteRecord): Promise<void> {
    await this.write({
      what: "create site",
      write: { put: this.siteItem(s) },
      when: NO_ITEM_YET,
      refused: () => new ConflictError("SITE_EXISTS", `site ${s.site} already exists`),
    });
  }

  async getSite(site: string): Promise<SiteRecord | null> {
    return strip<SiteRecord>(await this.get("get site", KEY.site(site)));
  }

  async listSites(page: PageOptions): Promise<Page<SiteRecord>> {
    return this.query<SiteRecord>({ what: "list sites", index: INDEX.byProject, key: condition("gsi_project_pk = :p", { ":p": SITES }), ...page });
  }

  async saveSite(s: SiteRecord, expectedVersion: number): Promise<void> {
    await this.write({
      what: "save site",
      write: { put: this.siteItem(s) },
      when: all(ITEM_EXISTS, atVersion(expectedVersion)),
      refused: () => new ConflictError("VERSION_CONFLICT", `site ${s.site} changed meanwhile; read it again`),
    });
  }

  /**
   * The count decides, not a look at the nodes: an enrollment counts its node before it writes it
   * (addSiteNode), so a delete and an enrollment racing cannot both win:
   *   E: node_count + 1 IF site exists → ok · D: delete IF node_count = 0 → refused (SITE_HAS_NODES)
   *   D: delete IF node_count = 0 → ok · E: node_count + 1 IF site exists → refused: `site` is unknown
   */
  async deleteSite(site: string, expectedVersion: number): Promise<void> {
    await this.write({
      what: "delete site",
      write: { delete: KEY.site(site) },
      when: all(ITEM_EXISTS, atVersion(expectedVersion), NO_NODES),
      refused: () => new ConflictError("SITE_HAS_NODES", `site ${site} has nodes, or changed meanwhile`),
    });
  }

  async addSiteNode(site: string, now: string): Promise<boolean> {
    const res = await this.write({
      what: "count site node",
      write: { update: KEY.site(site), expression: "SET node_count = node_count + :one, updated_at = :now" },
      when: ITEM_EXISTS,
      values: { ":one": 1, ":now": now },
    });
    return res.written;
  }

  async removeSiteNode(site: string, now: string): Promise<void> {
    await this.write({
      what: "uncount site node",
      write: { update: KEY.site(site), expression: "SET node_count = node_count - :one, updated_at = :now" },
      when: all(ITEM_EXISTS, condition("node_count > :zero", { ":zero": 0 })),
      values: { ":one": 1, ":now": now },
    });
  }

  async countSiteNodes(site: string, max: number): Promise<number> {
    const nodes = await this.queryAll({ what: "count site nodes", index: INDEX.byNode, key: condition("gsi_node_pk = :s", { ":s": siteNodesKey(site) }) }, max);
    return nodes.length;
  }

  async putRelayToken(sha256: string, site: string, now: string): Promise<void> {
    await this.write({ what: "put relay token", write: { put: { ...KEY.relayToken(sha256), site, added_at: now } } });
  }

  async getRelayToken(sha256: string): Promise<{ site: string } | null> {
    const item = strip<{ site: string }>(await this.get("get relay token", KEY.relayToken(sha256)));
    return item ? { site: item.site } : null;
  }

  async deleteRelayToken(sha256: string): Promise<void> {
    await this.write({ what: "delete relay token", write: { delete: KEY.relayToken(sha256) } });
  }

  async recordRelaySeen(r: RelaySeenRecord): Promise<void> {
    await this.write({
      what: "record relay seen",
      write: {
        update: KEY.relay(r.site, r.relay_id),
        expression:
          "SET site = :site, relay_id = :id, version = :v, concurrency = :c, capabilities = :caps, last_seen_at = :now, first_seen_at = if_not_exists(first_seen_at, :first), gsi_project_pk = :gp, gsi_project_sk = :gs",
      },
      values: { ":site": r.site, ":id": r.relay_id, ":v": r.version, ":c": r.concurrency, ":caps": r.capabilities ?? null, ":now": r.last_seen_at, ":first": r.first_seen_at, ":gp": RELAYS, ":gs": `${r.site}#${r.relay_id}` },
    });
  }

  async forgetRelay(site: string, relayId: string): Promise<void> {
    await this.write({ what: "forget relay", write: { delete: KEY.relay(site, relayId) } });
  }

  async listRelays(site: string | null): Promise<RelaySeenRecord[]> {
    const key =
      site === null
        ? condition("gsi_project_pk = :p", { ":p": RELAYS })
        : condition("gsi_project_pk = :p AND begins_with(gsi_project_sk, :s)", { ":p": RELAYS, ":s": `${site}#` });
    return this.queryAll<RelaySeenRecord>({ what: "list relays", index: INDEX.byProject, key }, 10_000);
  }

  async unfinishedCommands(site: string, max: number): Promise<CommandRecord[]> {
    return this.queryAll<CommandRecord>({ what: "list site commands", index: INDEX.siteQueue, key: condition("queue_pk = :q", { ":q": `SITE#${site}` }) }, max);
  }
}
