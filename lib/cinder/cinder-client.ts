/**
 * The BlockStorage port over Cinder: the policy layer above cinder-transport.
 *
 * - Picks the attach flow from the negotiated microversion: the attachments API where Cinder
 *   offers 3.44 or later (attachments-flow.ts), the legacy volume actions below that
 *   (legacy-flow.ts). Both keep one attachment per boot request and leave nothing reserved.
 * - Retries only idempotent calls (GETs, re-exports, os-complete, deletes, unreserve) on
 *   CINDER_UNAVAILABLE (5xx, 429, timeouts, connection errors), with bounded exponential
 *   backoff and full jitter, never sooner than a Retry-After asks and not at all when it asks
 *   for longer than `maxRetryAfterMs` (a Lambda does not sleep: the workflow comes back).
 *   A call that must not repeat is sent again only when the error proves it had no effect
 *   (connection refused, 429); otherwise the flows recover it by lookup. Anything longer is the
 *   workflow's job.
 * - getVolume adds the storage protocol of the volume's backend pool (backend-pools.ts).
 */
import type { Attachment, AttachRequest, BlockStorage, Connector, VolumeInfo } from "./block-storage";
import { AttachmentsFlow, ATTACHMENTS_WITH_COMPLETE } from "./attachments-flow";
import type { Clock } from "../clock";
import { BackendPools, POOLS_TTL_MS } from "./backend-pools";
import { CinderHttpError, CinderTransport, type CinderCall, type CinderConfig, type CinderReply } from "./cinder-transport";
import { isUnavailable, readVolume, type CinderCalls } from "./cinder-wire";
import { LegacyFlow } from "./legacy-flow";

export type { CinderConfig } from "./cinder-transport";

export interface RetryPolicy {
  /** calls in all, the first included */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** a Retry-After longer than this is not waited for in-process: the error goes up, retryable */
  maxRetryAfterMs: number;
}

/** One retry about to happen, for metrics and the step's history. */
export interface RetryEvent {
  method: string;
  path: string;
  /** the attempt that failed, 1-based */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface CinderClientOptions {
  /** defaults to a CinderTransport over `config` */
  transport?: CinderTransport;
  /** injected so tests run without waiting */
  sleep?: (ms: number) => Promise<void>;
  /** in [0, 1); injected so tests can fix the jitter */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** told before every retry (cheap; e.g. to count them per step) */
  onRetry?: (event: RetryEvent) => void;
  /** for the pool cache (default: the system clock) */
  clock?: Clock;
  /** how long the scheduler's pool list is trusted (default 60 s) */
  poolsTtlMs?: number;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2_000, maxRetryAfterMs: 5_000 };

export class CinderClient implements BlockStorage {
  readonly transport: CinderTransport;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly retry: RetryPolicy;
  private readonly calls: CinderCalls;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private readonly pools: BackendPools;
  /** retries made by this client so far, every call counted */
  retries = 0;

  constructor(config: CinderConfig, options: CinderClientOptions = {}) {
    this.transport = options.transport ?? new CinderTransport(config, options.clock ? { clock: options.clock } : {});
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.onRetry = options.onRetry;
    this.calls = { once: (c) => this.withRetries(c, false), idempotent: (c) => this.withRetries(c, true) };
    const clock = options.clock;
    this.pools = new BackendPools(this.calls, clock ? () => clock.now().getTime() : Date.now, options.poolsTtlMs ?? POOLS_TTL_MS);
  }

  async getVolume(volumeId: string): Promise<VolumeInfo> {
    const v = await readVolume(this.calls, volumeId);
    return {
      id: v.id,
      status: v.status,
      bootable: v.bootable === true || v.bootable === "true",
      project_id: v["os-vol-tenant-attr:tenant_id"] ?? null,
      volume_type: v.volume_type ?? null,
      size: v.size,
      multiattach: v.multiattach ?? false,
      attached_to: (v.attachments ?? []).flatMap((a) => (typeof a.server_id === "string" ? [a.server_id] : [])),
      backend_protocol: await this.pools.protocolOf(v["os-vol-host-attr:host"]),
    };
  }

  async attach(req: AttachRequest): Promise<Attachment> {
    return (await this.flow()).attach(req);
  }

  async detach(volumeId: string, instanceUuid: string, connector?: Connector): Promise<void> {
    return (await this.flow()).detach(volumeId, instanceUuid, connector);
  }

  /** "attachments" (3.44+) or "legacy": which flow this Cinder gets. */
  async mode(): Promise<"attachments" | "legacy"> {
    return (await this.transport.microversion()).atLeast(ATTACHMENTS_WITH_COMPLETE) ? "attachments" : "legacy";
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private async flow(): Promise<AttachmentsFlow | LegacyFlow> {
    const version = await this.transport.microversion();
    return version.atLeast(ATTACHMENTS_WITH_COMPLETE) ? new AttachmentsFlow(this.calls, version) : new LegacyFlow(this.calls);
  }

  /**
   * A call, retried on CINDER_UNAVAILABLE with bounded backoff and full jitter: every such
   * failure when `idempotent`, otherwise only one that provably had no effect.
   */
  private async withRetries(call: CinderCall, idempotent: boolean): Promise<CinderReply> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transport.call(call);
      } catch (err) {
        if (!isUnavailable(err) || attempt >= this.retry.attempts) throw err;
        const http = err instanceof CinderHttpError ? err : null;
        if (!idempotent && !http?.notActedOn) throw err;
        const asked = http?.retryAfterMs ?? 0;
        if (asked > this.retry.maxRetryAfterMs) throw err;
        const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = Math.max(asked, Math.floor(this.random() * ceiling));
        this.retries += 1;
        this.onRetry?.({ method: call.method, path: call.path, attempt, delayMs, error: err });
        await this.sleep(delayMs);
      }
    }
  }
}
