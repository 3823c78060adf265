/**
 * Attach and detach over Cinder's attachments API (microversion 3.44+: create, update,
 * os-complete, delete). What it guarantees, whatever Cinder or the network does:
 * - One attachment per boot request. The request id is Cinder's `instance_uuid`; every attach
 *   first lists the volume's attachments and reuses ours. A create whose answer was lost
 *   (5xx, timeout, reset) is recovered by that lookup, never by creating again.
 * - No volume left `reserved`. When Cinder fails after reserving (a connector its backend
 *   cannot use answers 500 AND leaves a `reserved` attachment), we delete what it left before
 *   throwing, so neither the volume nor a later attempt is stuck on it. The same for an export
 *   over a protocol the request did not ask for, and for an os-complete that failed for good:
 *   an attach that throws leaves no attachment of its own behind (best effort: when even the
 *   delete fails, the workflow's rollback detach finds it by instance uuid).
 */
import { z } from "zod";
import { SanbootError } from "../errors";
import type { Attachment, AttachRequest, Connection, Connector } from "./block-storage";
import type { Microversion } from "./cinder-transport";
import {
  attachRefused,
  connectionFrom,
  explainServiceRefusal,
  isUnavailable,
  parse,
  quietly,
  wireConnector,
  wrongProtocol,
  type CinderCalls,
} from "./cinder-wire";

export const ATTACHMENTS_WITH_COMPLETE = "3.44";
const ATTACH_MODE = "3.54";

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

export class AttachmentsFlow {
  constructor(
    private readonly calls: CinderCalls,
    private readonly version: Microversion,
  ) {}

  async attach(req: AttachRequest): Promise<Attachment> {
    const ours = await this.ourAttachments(req.volumeId, req.instanceUuid);
    if (ours.length === 1) return this.finish(await this.show(ours[0]!.id), req);
    // Two or more (an earlier race): keep none, so exactly one exists when we are done.
    if (ours.length > 1) await this.discard(ours.map((a) => a.id));
    return this.create(req);
  }

  /** The connector is not needed: deleting the attachment terminates the connection Cinder made. */
  async detach(volumeId: string, instanceUuid: string, _connector?: Connector): Promise<void> {
    for (const a of await this.ourAttachments(volumeId, instanceUuid)) await this.deleteAttachment(a.id);
  }

  private async create(req: AttachRequest): Promise<Attachment> {
    const attachment: Record<string, unknown> = {
      volume_uuid: req.volumeId,
      instance_uuid: req.instanceUuid,
      connector: wireConnector(req.connector),
    };
    if (this.version.atLeast(ATTACH_MODE)) attachment["mode"] = "rw";
    let created: WireAttachment;
    try {
      const reply = await this.calls.once({ method: "POST", path: "/attachments", body: { attachment } });
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
    // when even the lookup fails, the workflow's rollback detach finds what is left by instance uuid
    const found = await this.ourAttachments(req.volumeId, req.instanceUuid);
    if (found.length === 1) {
      let att: WireAttachment | null = null;
      try {
        att = await this.show(found[0]!.id);
      } catch {
        // cannot tell how far it got: remove it rather than leave it behind
      }
      if (att && hasConnection(att)) return this.finish(att, req);
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
        const reply = await this.calls.idempotent({
          method: "PUT",
          path: `/attachments/${encodeURIComponent(att.id)}`,
          body: { attachment: { connector: wireConnector(req.connector) } },
        });
        current = parse(wireAttachment, (reply.body as { attachment?: unknown } | null)?.attachment, "attachment");
        if (!hasConnection(current)) throw new SanbootError("CINDER_REJECTED", `Cinder exported volume ${req.volumeId} without connection info`);
      } catch (err) {
        await this.discard([att.id]);
        throw wrongProtocol(err, req) ?? err;
      }
    }
    let connection: Connection;
    try {
      connection = connectionFrom(current.connection_info ?? {}, req);
      if (att.status !== "attached") {
        // completing twice answers 204 again: safe to retry
        await this.calls.idempotent({ method: "POST", path: `/attachments/${encodeURIComponent(att.id)}/action`, body: { "os-complete": null } });
      }
    } catch (err) {
      await this.discard([att.id]);
      throw err;
    }
    return { attachment_id: att.id, connection };
  }

  private async ourAttachments(volumeId: string, instanceUuid: string): Promise<WireAttachmentSummary[]> {
    const reply = await this.calls.idempotent({ method: "GET", path: "/attachments", query: { volume_id: volumeId } });
    const list = parse(z.array(wireAttachmentSummary), (reply.body as { attachments?: unknown } | null)?.attachments, "attachments");
    return list.filter((a) => a.volume_id === volumeId && a.instance === instanceUuid);
  }

  private async show(attachmentId: string): Promise<WireAttachment> {
    const reply = await this.calls.idempotent({ method: "GET", path: `/attachments/${encodeURIComponent(attachmentId)}` });
    return parse(wireAttachment, (reply.body as { attachment?: unknown } | null)?.attachment, "attachment");
  }

  /** Deleting needs the service role (Cinder asks Nova otherwise); one already gone is done. */
  private async deleteAttachment(attachmentId: string): Promise<void> {
    try {
      await this.calls.idempotent({ method: "DELETE", path: `/attachments/${encodeURIComponent(attachmentId)}`, serviceRole: true, accept: [404] });
    } catch (err) {
      throw explainServiceRefusal(err);
    }
  }

  private async discard(attachmentIds: string[]): Promise<void> {
    for (const id of attachmentIds) await quietly(() => this.deleteAttachment(id));
  }
}

function hasConnection(att: WireAttachment): boolean {
  return !!att.connection_info && Object.keys(att.connection_info).length > 0;
}
