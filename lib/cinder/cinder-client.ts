/**
 * The BlockStorage port over Cinder: the policy layer above cinder-transport.
 *
 * - Picks the attach flow from the negotiated microversion: the attachments API where Cinder
 *   offers 3.44 or later (attachments-flow.ts), the legacy volume actions below that
 *   (legacy-flow.ts). Both keep one attachment per boot request and leave nothing reserved.
 * - Retries only idempotent calls (GETs, re-exports, os-complete, deletes, unreserve), with
 *   bounded exponential backoff and full jitter; the rest is recovered by lookup in the flows,
 *   and anything longer is the workflow's job.
 */
import type { Attachment, AttachRequest, BlockStorage, Connector, VolumeInfo } from "./block-storage";
import { AttachmentsFlow, ATTACHMENTS_WITH_COMPLETE } from "./attachments-flow";
import { CinderTransport, type CinderCall, type CinderConfig, type CinderReply } from "./cinder-transport";
import { isUnavailable, readVolume, type CinderCalls } from "./cinder-wire";
import { LegacyFlow } from "./legacy-flow";

export type { CinderConfig } from "./cinder-transport";

export interface RetryPolicy {
  /** calls in all, the first included */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface CinderClientOptions {
  /** defaults to a CinderTransport over `config` */
  transport?: CinderTransport;
  /** injected so tests run without waiting */
  sleep?: (ms: number) => Promise<void>;
  /** in [0, 1); injected so tests can fix the jitter */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2_000 };

export class CinderClient implements BlockStorage {
  readonly transport: CinderTransport;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly retry: RetryPolicy;
  private readonly calls: CinderCalls;

  constructor(config: CinderConfig, options: CinderClientOptions = {}) {
    this.transport = options.transport ?? new CinderTransport(config);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.calls = { once: (c) => this.transport.call(c), idempotent: (c) => this.idempotent(c) };
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

  /** An idempotent call, retried on CINDER_UNAVAILABLE with bounded backoff and full jitter. */
  private async idempotent(call: CinderCall): Promise<CinderReply> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transport.call(call);
      } catch (err) {
        if (!isUnavailable(err) || attempt >= this.retry.attempts) throw err;
        const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        await this.sleep(Math.floor(this.random() * ceiling));
      }
    }
  }
}
