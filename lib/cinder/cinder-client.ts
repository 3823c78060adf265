/**
 * The BlockStorage port over Cinder's attachments API: the policy layer above cinder-transport.
 *
 * What it guarantees, whatever Cinder or the network does:
 * - One attachment per boot request. The request id is Cinder's `instance_uuid`; every attach
 *   first lists the volume's attachments and reuses ours. A create whose answer was lost
 *   (5xx, timeout, reset) is recovered by that lookup, never by creating again.
 * - No volume left `reserved`. When Cinder fails after reserving (a connector its backend
 *   cannot use answers 500 AND leaves a `reserved` attachment), we delete what it left before
 *   throwing, so neither the volume nor a later attempt is stuck on it.
 * - Only idempotent calls are retried here (GETs, the PUT of the same connector, os-complete,
 *   DELETE), with bounded exponential backoff and full jitter; the rest is the workflow's job.
 *
 * Needs microversion 3.44 (attachments API with os-complete; Cinder Queens or newer).
 */
import { z } from "zod";
import { SanbootError } from "../errors";
import type { Attachment, AttachRequest, BlockStorage, IscsiConnection, VolumeInfo } from "./block-storage";
import { CinderHttpError, CinderTransport, type CinderCall, type CinderConfig } from "./cinder-transport";

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
const ATTACHMENTS_WITH_COMPLETE = "3.44";
const ATTACH_MODE = "3.54";
const MISSING_CONNECTOR_INFO = "Connector doesn't have required information";

const wireAttachmentSummary = z.object({
  id: z.string(),
  status: z.string(),
  instance: z.string().nullable(),
  volume_id: z.string(),
});
const wireAttachment = wireAttachmentSummary.extend({
  connection_info: z.record(z.string(), z.unknown()).nullable().optional(),
});
type WireAttachment = z.infer<typeof wireAttachment>;
type WireAttachmentSummary = z.infer<typeof wireAttachmentSummary>;

const wireVolume = z.looseObject({
  id: z.string(),
  status: z.string(),
  size: z.number(),
  bootable: z.union([z.string(), z.boolean()]),
  multiattach: z.boolean().optional(),
  volume_type: z.string().nullable().optional(),
  "os-vol-tenant-attr:tenant_id": z.string().nullable().optional(),
  attachments: z.array(z.looseObject({ server_id: z.string().nullable().optional() })).optional(),
});

export class CinderClient implements BlockStorage {
  private readonly transport: CinderTransport;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly retry: RetryPolicy;

  constructor(config: CinderConfig, options: CinderClientOptions = {}) {
    this.transport = options.transport ?? new CinderTransport(config);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  async getVolume(volumeId: string): Promise<VolumeInfo> {
    const reply = await this.idempotent({ method: "GET", path: `/volumes/${encodeURIComponent(volumeId)}` });
    const v = parse(wireVolume, (reply.body as { volume?: unknown } | null)?.volume, "volume");
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
    await this.requireAttachmentsApi();
    const ours = await this.ourAttachments(req.volumeId, req.instanceUuid);
    if (ours.length === 1) return this.finish(await this.show(ours[0]!.id), req);
    // Two or more (an earlier race): keep none, so exactly one exists when we are done.
    if (ours.length > 1) await this.discard(ours.map((a) => a.id));
    return this.create(req);
  }

  async detach(volumeId: string, instanceUuid: string): Promise<void> {
    await this.requireAttachmentsApi();
    for (const a of await this.ourAttachments(volumeId, instanceUuid)) await this.deleteAttachment(a.id);
  }

  // ------------------------------------------------------------------ attach, step by step

  private async create(req: AttachRequest): Promise<Attachment> {
    const version = await this.transport.microversion();
    const attachment: Record<string, unknown> = {
      volume_uuid: req.volumeId,
      instance_uuid: req.instanceUuid,
      connector: wireConnector(req),
    };
    if (version.atLeast(ATTACH_MODE)) attachment["mode"] = "rw";
    let created: WireAttachment;
    try {
      const reply = await this.transport.call({ method: "POST", path: "/attachments", body: { attachment } });
      created = parse(wireAttachment, (reply.body as { attachment?: unknown } | null)?.attachment, "attachment");
    } catch (err) {
      if (!isUnavailable(err)) throw attachRefused(err, req);
      return this.recoverCreate(err, req);
    }
    return this.finish(created, req);
  }

  /**
   * The create failed with an unknown outcome. Cinder may have created and exported it (the
   * answer was lost), or only reserved it (it failed half way): look, keep an exported one,
   * remove a half-made one.
   */
  private async recoverCreate(createError: unknown, req: AttachRequest): Promise<Attachment> {
    const found = await this.ourAttachments(req.volumeId, req.instanceUuid);
    if (found.length === 1) {
      const att = await this.show(found[0]!.id);
      if (hasConnection(att)) return this.finish(att, req);
    }
    await this.discard(found.map((a) => a.id));
    throw wrongProtocol(createError, req) ?? createError;
  }

  /** Takes our attachment from wherever it stands to `attached`. */
  private async finish(att: WireAttachment, req: AttachRequest): Promise<Attachment> {
    let current = att;
    if (!hasConnection(current)) {
      // reserved without an export (Nova-style reserve, or a create that failed half way)
      try {
        const reply = await this.idempotent({
          method: "PUT",
          path: `/attachments/${encodeURIComponent(att.id)}`,
          body: { attachment: { connector: wireConnector(req) } },
        });
        current = parse(wireAttachment, (reply.body as { attachment?: unknown } | null)?.attachment, "attachment");
        if (!hasConnection(current)) throw new SanbootError("CINDER_REJECTED", `Cinder exported volume ${req.volumeId} without connection info`);
      } catch (err) {
        await this.discard([att.id]);
        throw wrongProtocol(err, req) ?? err;
      }
    }
    let connection: IscsiConnection;
    try {
      connection = iscsiConnection(current.connection_info ?? {}, req.volumeId);
    } catch (err) {
      await this.discard([att.id]);
      throw err;
    }
    if (att.status !== "attached") {
      // completing twice answers 204 again: safe to retry
      await this.idempotent({ method: "POST", path: `/attachments/${encodeURIComponent(att.id)}/action`, body: { "os-complete": null } });
    }
    return { attachment_id: att.id, connection };
  }

  // ------------------------------------------------------------------ small calls

  private async requireAttachmentsApi(): Promise<void> {
    const version = await this.transport.microversion();
    if (!version.atLeast(ATTACHMENTS_WITH_COMPLETE)) {
      throw new SanbootError(
        "CINDER_REJECTED",
        `Cinder offers microversions up to ${version.toString()}; sanboot needs ${ATTACHMENTS_WITH_COMPLETE} or later (the attachments API with os-complete, Cinder Queens or newer).`,
      );
    }
  }

  private async ourAttachments(volumeId: string, instanceUuid: string): Promise<WireAttachmentSummary[]> {
    const reply = await this.idempotent({ method: "GET", path: "/attachments", query: { volume_id: volumeId } });
    const list = parse(z.array(wireAttachmentSummary), (reply.body as { attachments?: unknown } | null)?.attachments, "attachments");
    return list.filter((a) => a.volume_id === volumeId && a.instance === instanceUuid);
  }

  private async show(attachmentId: string): Promise<WireAttachment> {
    const reply = await this.idempotent({ method: "GET", path: `/attachments/${encodeURIComponent(attachmentId)}` });
    return parse(wireAttachment, (reply.body as { attachment?: unknown } | null)?.attachment, "attachment");
  }

  /** Deleting needs the service role (Cinder asks Nova otherwise); one already gone is done. */
  private async deleteAttachment(attachmentId: string): Promise<void> {
    try {
      await this.idempotent({ method: "DELETE", path: `/attachments/${encodeURIComponent(attachmentId)}`, serviceRole: true, accept: [404] });
    } catch (err) {
      if (err instanceof CinderHttpError && (err.httpStatus === 500 || err.httpStatus === 409)) {
        throw new CinderHttpError(
          err.code,
          `${err.message} (Cinder refuses to delete an instance's attachment without a service role: check that sanboot sends a service token, or X-Service-Roles: service with noauth)`,
          err.httpStatus,
          err.cinderMessage,
          { retryable: err.retryable, cause: err },
        );
      }
      throw err;
    }
  }

  /**
   * Cleanup on the way out of a failed attach: best effort, because the error that brought us
   * here is the one to report; a detach (rollback) deletes whatever is left.
   */
  private async discard(attachmentIds: string[]): Promise<void> {
    for (const id of attachmentIds) {
      try {
        await this.deleteAttachment(id);
      } catch {
        // reported through the original error; rollback's detach tries again
      }
    }
  }

  /** An idempotent call, retried on CINDER_UNAVAILABLE with bounded backoff and full jitter. */
  private async idempotent(call: CinderCall) {
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

function wireConnector(req: AttachRequest): Record<string, unknown> {
  const c = req.connector;
  const out: Record<string, unknown> = { host: c.host, multipath: c.multipath, platform: c.platform, os_type: c.os_type };
  if (c.initiator !== undefined) out["initiator"] = c.initiator;
  if (c.wwpns !== undefined) out["wwpns"] = c.wwpns;
  if (c.wwnns !== undefined) out["wwnns"] = c.wwnns;
  return out;
}

function hasConnection(att: WireAttachment): boolean {
  return !!att.connection_info && Object.keys(att.connection_info).length > 0;
}

function isUnavailable(err: unknown): boolean {
  return err instanceof SanbootError && err.code === "CINDER_UNAVAILABLE";
}

/** A 4xx to the create: says why in the port's terms. */
function attachRefused(err: unknown, req: AttachRequest): unknown {
  if (err instanceof CinderHttpError && err.httpStatus === 400 && /^Invalid volume: .*status must be/.test(err.cinderMessage)) {
    return new SanbootError(
      "VOLUME_NOT_AVAILABLE",
      `Volume ${req.volumeId} cannot be attached now (Cinder: "${err.cinderMessage}"): detach it from where it is in use, or boot from another volume.`,
      { cause: err },
    );
  }
  return err;
}

/** Cinder's backend cannot export to this connector (the LVM/iSCSI backend and an FC-only node). */
function wrongProtocol(err: unknown, req: AttachRequest): SanbootError | null {
  if (!(err instanceof CinderHttpError) || !err.cinderMessage.includes(MISSING_CONNECTOR_INFO)) return null;
  const has = req.connector.initiator ? "an iSCSI initiator" : "Fibre Channel WWPNs only";
  return new SanbootError(
    "VOLUME_WRONG_PROTOCOL",
    `Cinder cannot export volume ${req.volumeId} to this node, which offers ${has} (Cinder: "${err.cinderMessage}"): boot it over the protocol the volume's backend serves, or use a volume on a backend for this node's protocol.`,
    { cause: err },
  );
}

/** connection_info (flat, as the attachments API answers) → the port's IscsiConnection. */
function iscsiConnection(ci: Record<string, unknown>, volumeId: string): IscsiConnection {
  const type = ci["driver_volume_type"];
  if (type !== "iscsi") {
    throw new SanbootError(
      "VOLUME_WRONG_PROTOCOL",
      `Cinder exports volume ${volumeId} over '${String(type)}', and sanboot boots from iSCSI exports only: use a volume on an iSCSI backend.`,
    );
  }
  const iqn = ci["target_iqn"];
  const portal = ci["target_portal"];
  const lun = ci["target_lun"];
  if (typeof iqn !== "string" || typeof portal !== "string" || typeof lun !== "number") {
    throw new SanbootError("CINDER_REJECTED", `Cinder's connection info for volume ${volumeId} lacks target_iqn, target_portal or target_lun`);
  }
  const out: IscsiConnection = { driver_volume_type: "iscsi", target_iqn: iqn, target_portal: portal, target_lun: lun };
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined);
  const numbers = (v: unknown): number[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === "number") ? v : undefined);
  const portals = strings(ci["target_portals"]);
  const iqns = strings(ci["target_iqns"]);
  const luns = numbers(ci["target_luns"]);
  if (portals) out.target_portals = portals;
  if (iqns) out.target_iqns = iqns;
  if (luns) out.target_luns = luns;
  for (const key of ["auth_method", "auth_username", "auth_password"] as const) {
    const v = ci[key];
    if (typeof v === "string") out[key] = v;
  }
  return out;
}

/** A Cinder answer we cannot read: retryable, it is most likely a proxy's page, not Cinder's. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new SanbootError("CINDER_UNAVAILABLE", `Cinder answered an unreadable ${what}: ${result.error.issues[0]?.message ?? "bad shape"}`, {
    retryable: true,
  });
}
