/**
 * Which storage protocol serves a volume, read the way an operator would: the volume's
 * `os-vol-host-attr:host` ("cinder-lab@lvm#lvm") names its pool, and the scheduler's pool
 * list (`GET /scheduler-stats/get_pools?detail=true`) reports each pool's
 * `capabilities.storage_protocol` ("iSCSI", "FC", ...).
 *
 * Both are admin-only in Cinder's default policy: with plainer credentials the host is absent
 * or the pool list is refused (403), and the protocol is unknown (null), never an error. The
 * pool list changes rarely and is the same for every volume, so it is cached for `ttlMs`; a
 * failed read is not cached, and does not fail the caller either (unknown, try again next time).
 */
import type { CinderCalls } from "./cinder-wire";

export const POOLS_TTL_MS = 60_000;

interface Pool {
  name: string;
  protocol: string | null;
}

export class BackendPools {
  private cached: { at: number; pools: Pool[] | null } | null = null;
  private inflight: Promise<Pool[] | null> | null = null;

  constructor(
    private readonly calls: CinderCalls,
    private readonly now: () => number,
    private readonly ttlMs = POOLS_TTL_MS,
  ) {}

  /** The storage protocol of the pool `host` is on, as Cinder spells it; null when not visible. */
  async protocolOf(host: string | null | undefined): Promise<string | null> {
    if (!host) return null;
    const pools = await this.pools();
    if (!pools) return null;
    const exact = pools.find((p) => p.name === host);
    if (exact) return exact.protocol;
    // a host without "#pool" (drivers that report no pools): every pool of that backend
    const backend = host.split("#")[0]!;
    const protocols = new Set(pools.filter((p) => p.name.split("#")[0] === backend).map((p) => p.protocol));
    return protocols.size === 1 ? [...protocols][0]! : null;
  }

  private async pools(): Promise<Pool[] | null> {
    if (this.cached && this.now() - this.cached.at < this.ttlMs) return this.cached.pools;
    this.inflight ??= this.read().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async read(): Promise<Pool[] | null> {
    let body: unknown;
    try {
      // 403: not an admin; 404: a deployment without the scheduler-stats extension
      const reply = await this.calls.idempotent({ method: "GET", path: "/scheduler-stats/get_pools", query: { detail: "true" }, accept: [403, 404] });
      if (reply.status !== 200) {
        this.cached = { at: this.now(), pools: null };
        return null;
      }
      body = reply.body;
    } catch {
      return null;
    }
    const list = (body as { pools?: unknown } | null)?.pools;
    const pools: Pool[] = Array.isArray(list)
      ? list.flatMap((p: unknown) => {
          const name = (p as { name?: unknown } | null)?.name;
          if (typeof name !== "string") return [];
          return [{ name, protocol: protocolText((p as { capabilities?: { storage_protocol?: unknown } }).capabilities?.storage_protocol) }];
        })
      : [];
    this.cached = { at: this.now(), pools };
    return pools;
  }
}

/** Most drivers report one string; a multi-protocol pool may report a list ("iSCSI", "FC"). */
function protocolText(v: unknown): string | null {
  if (typeof v === "string" && v !== "") return v;
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string")) return v.join(",");
  return null;
}
