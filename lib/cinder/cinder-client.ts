/**
 * The BlockStorage port over Cinder: the policy layer above cinder-transport.
 *
 * - Picks the attach flow from the negotiated microversion: the attachments API where Cinder
 *   offers 3.44 or later (attachments-flow.ts), the legacy volume actions below that
 *   (legacy-flow.ts). Both keep one attachment per boot request and leave nothing reserved.
 * - Time: an operation may carry a deadline (the workflow step's budget, lib/workflow/policy.ts)
 *   and every call of it ends by then. A call that cinder-api answers itself gets
 *   `timeoutMs`; one it hands to cinder-volume and waits for (CinderCall.volumeService: an export
 *   made or removed) gets `volumeServiceTimeoutMs`, longer than Cinder's own bound on it, so a
 *   slow create is not abandoned while Cinder still works on it. A volume-service call is not
 *   sent at all when what is left of the budget is less than it takes now (twice the typical
 *   answer): cut short, its outcome would be unknown while Cinder carries on.
 * - Volume-service calls are admitted by the endpoint's adaptive limit (export-limiter.ts): the
 *   rest wait here, in order, rather than in Cinder's queue.
 * - Retries only idempotent calls (GETs, re-exports, os-complete, deletes, unreserve) on
 *   CINDER_UNAVAILABLE (5xx, 429, timeouts, connection errors), with bounded exponential
 *   backoff and full jitter, within the deadline, never sooner than a Retry-After asks and not
 *   at all when it asks for longer than `maxRetryAfterMs` (a Lambda does not sleep: the workflow
 *   comes back). A call that must not repeat is sent again only when the error proves it had no
 *   effect (connection refused, 429); otherwise the flows recover it by lookup. Anything longer
 *   is the workflow's job.
 * - getVolume adds the storage protocol of the volume's backend pool (backend-pools.ts).
 */
import type { Attachment, AttachRequest, BlockStorage, CallOptions, Connector, VolumeInfo } from "./block-storage";
import { AttachmentsFlow, ATTACHMENTS_WITH_COMPLETE } from "./attachments-flow";
import type { Clock } from "../clock";
import { BackendPools, POOLS_TTL_MS } from "./backend-pools";
import { CinderHttpError, CinderTransport, type CinderCall, type CinderConfig, type CinderReply } from "./cinder-transport";
import { isUnavailable, readVolume, type CinderCalls } from "./cinder-wire";
import { limiterFor, type ExportLimiter, type LimiterSettings } from "./export-limiter";
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

/** One call Cinder answered or failed (after the limiter let it go), for latency metrics. */
export interface CallEvent {
  call: CinderCall;
  latencyMs: number;
  /** what it threw; undefined when Cinder answered it */
  error?: unknown;
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
  /** told of every call sent to Cinder, retries included (cheap; lib/metrics/cinder-calls.ts) */
  onCall?: (event: CallEvent) => void;
  /** for the pool cache, deadlines and latencies (default: the system clock) */
  clock?: Clock;
  /** how long the scheduler's pool list is trusted (default 60 s) */
  poolsTtlMs?: number;
  /** the volume-service limiter for an endpoint (default: this process's, limiterFor) */
  limiter?: (endpoint: string) => ExportLimiter;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2_000, maxRetryAfterMs: 5_000 };
export const DEFAULT_VOLUME_SERVICE_TIMEOUT_MS = 90_000;
/** a volume-service call needs at least this much budget left, however fast Cinder was lately */
const MIN_VOLUME_CALL_MS = 2_000;
/** a call cinder-api answers itself is not started with less than this left */
const MIN_API_CALL_MS = 500;
/** bounds of the wait before looking at a create of unknown outcome again */
const RECHECK_MS = { min: 5_000, max: 30_000 };

export class CinderClient implements BlockStorage {
  readonly transport: CinderTransport;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly retry: RetryPolicy;
  private readonly calls: CinderCalls;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private readonly onCall: ((event: CallEvent) => void) | undefined;
  private readonly pools: BackendPools;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly volumeTimeoutMs: number;
  private readonly limiterOf: (endpoint: string) => ExportLimiter;
  private limiter: { endpoint: string; limiter: ExportLimiter } | null = null;
  /** retries made by this client so far, every call counted */
  retries = 0;

  constructor(config: CinderConfig, options: CinderClientOptions = {}) {
    this.transport = options.transport ?? new CinderTransport(config, options.clock ? { clock: options.clock } : {});
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.onRetry = options.onRetry;
    this.onCall = options.onCall;
    const clock = options.clock;
    this.now = clock ? () => clock.now().getTime() : Date.now;
    this.timeoutMs = config.timeoutMs;
    this.volumeTimeoutMs = config.volumeServiceTimeoutMs ?? DEFAULT_VOLUME_SERVICE_TIMEOUT_MS;
    const settings: Partial<LimiterSettings> = config.maxInFlight ? { max: config.maxInFlight, initial: Math.min(2, config.maxInFlight) } : {};
    this.limiterOf = options.limiter ?? ((endpoint) => limiterFor(endpoint, settings));
    this.calls = this.callsUntil(undefined);
    this.pools = new BackendPools(this.calls, this.now, options.poolsTtlMs ?? POOLS_TTL_MS);
  }

  async getVolume(volumeId: string, options: CallOptions = {}): Promise<VolumeInfo> {
    const calls = this.callsUntil(options.deadline);
    const v = await readVolume(calls, volumeId);
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
    return (await this.flow(req.deadline)).attach(req);
  }

  async detach(volumeId: string, instanceUuid: string, connector?: Connector, options: CallOptions = {}): Promise<void> {
    return (await this.flow(options.deadline)).detach(volumeId, instanceUuid, connector);
  }

  /** "attachments" (3.44+) or "legacy": which flow this Cinder gets. */
  async mode(): Promise<"attachments" | "legacy"> {
    return (await this.transport.microversion()).atLeast(ATTACHMENTS_WITH_COMPLETE) ? "attachments" : "legacy";
  }

  /** The limiter of this client's endpoint (made on first use). */
  async exportLimiter(): Promise<ExportLimiter> {
    const endpoint = await this.transport.endpoint();
    if (this.limiter?.endpoint !== endpoint) this.limiter = { endpoint, limiter: this.limiterOf(endpoint) };
    return this.limiter.limiter;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private async flow(deadline: Date | undefined): Promise<AttachmentsFlow | LegacyFlow> {
    const version = await this.transport.microversion();
    const calls = this.callsUntil(deadline);
    return version.atLeast(ATTACHMENTS_WITH_COMPLETE) ? new AttachmentsFlow(calls, version) : new LegacyFlow(calls);
  }

  private callsUntil(deadline: Date | undefined): CinderCalls {
    const until = deadline?.getTime();
    return {
      once: (c) => this.withRetries(c, false, until),
      idempotent: (c) => this.withRetries(c, true, until),
      recheckAfterMs: () => {
        const typical = this.limiter?.limiter.typicalLatencyMs ?? 0;
        return Math.min(RECHECK_MS.max, Math.max(RECHECK_MS.min, 2 * typical));
      },
    };
  }

  /**
   * A call, retried on CINDER_UNAVAILABLE with bounded backoff and full jitter: every such
   * failure when `idempotent`, otherwise only one that provably had no effect; none past `until`.
   */
  private async withRetries(call: CinderCall, idempotent: boolean, until: number | undefined): Promise<CinderReply> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send(call, until);
      } catch (err) {
        if (!isUnavailable(err) || attempt >= this.retry.attempts) throw err;
        const http = err instanceof CinderHttpError ? err : null;
        if (!idempotent && !http?.notActedOn) throw err;
        const asked = http?.retryAfterMs ?? 0;
        if (asked > this.retry.maxRetryAfterMs) throw err;
        const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = Math.max(asked, Math.floor(this.random() * ceiling));
        if (until !== undefined && this.now() + delayMs + MIN_API_CALL_MS > until) throw err;
        this.retries += 1;
        this.onRetry?.({ method: call.method, path: call.path, attempt, delayMs, error: err });
        await this.sleep(delayMs);
      }
    }
  }

  /** One call within the budget: admitted by the limiter when it waits on the volume service. */
  private async send(call: CinderCall, until: number | undefined): Promise<CinderReply> {
    if (!call.volumeService) return this.observed(call, { ...call, timeoutMs: this.budgetFor(call, until, MIN_API_CALL_MS, this.timeoutMs) });
    const limiter = await this.exportLimiter();
    const need = Math.min(this.volumeTimeoutMs, Math.max(MIN_VOLUME_CALL_MS, 2 * (limiter.typicalLatencyMs ?? 0)));
    const permit = await limiter.acquire(until === undefined ? undefined : until - need - this.now());
    let timeoutMs: number;
    try {
      timeoutMs = this.budgetFor(call, until, need, this.volumeTimeoutMs);
    } catch (err) {
      permit.release(null);
      throw err;
    }
    const started = this.now();
    try {
      const reply = await this.observed(call, { ...call, timeoutMs });
      permit.release({ latencyMs: this.now() - started, failed: false });
      return reply;
    } catch (err) {
      permit.release(signalOf(err, this.now() - started));
      throw err;
    }
  }

  /** The transport's call, its time and outcome told to `onCall`: the time Cinder took, no queueing here. */
  private async observed(call: CinderCall, sent: CinderCall): Promise<CinderReply> {
    if (!this.onCall) return this.transport.call(sent);
    const started = this.now();
    try {
      const reply = await this.transport.call(sent);
      this.onCall({ call, latencyMs: this.now() - started });
      return reply;
    } catch (err) {
      this.onCall({ call, latencyMs: this.now() - started, error: err });
      throw err;
    }
  }

  /** This call's timeout: its own, cut to what is left of the budget; refused when that is under `need`. */
  private budgetFor(call: CinderCall, until: number | undefined, need: number, own: number): number {
    if (until === undefined) return own;
    const left = until - this.now();
    if (left < need) {
      throw new CinderHttpError(
        "CINDER_UNAVAILABLE",
        `${call.method} ${call.path} not sent: ${Math.max(0, left)} ms of the step's budget left, and it takes about ${need} ms now`,
        null,
        "",
        { retryable: true, notActedOn: true },
      );
    }
    return Math.min(own, left);
  }
}

/**
 * What a failed volume-service call tells the limiter: a refusal (4xx) is an answer like any
 * other; a timeout, a 5xx or a 429 is Cinder overloaded; a connection refused says nothing about
 * its queue (nothing ran).
 */
function signalOf(err: unknown, latencyMs: number): { latencyMs: number; failed: boolean } | null {
  if (!isUnavailable(err)) return { latencyMs, failed: false };
  const http = err instanceof CinderHttpError ? err : null;
  if (http?.notActedOn && http.httpStatus !== 429) return null;
  return { latencyMs, failed: true };
}
