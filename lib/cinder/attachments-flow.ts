/**
 * Attach and detach over Cinder's attachments API (microversion 3.44+: create, update,
 * os-complete, delete). What it guarantees, whatever Cinder or the network does:
 * - One attachment per boot request. The request id is Cinder's `instance_uuid`; an attach first
 *   asks whether ours exists (the attachments list; not needed when the volume was just read
 *   `available`: then nobody's exists) and continues it. Duplicates left by an earlier race are
 *   cut down to one, the one furthest along.
 * - A create whose outcome is unknown (no answer within the budget, a 5xx, a reset) is never
 *   made again and never undone while Cinder may still be carrying it out: cinder-api answers
 *   500 when cinder-volume is slower than rpc_response_timeout, and cinder-volume exports it all
 *   the same; a request still queued at cinder-api reserves after the client gave up. One look:
 *   exported already is finished now; anything else (nothing yet, reserved, exported without
 *   the connection info saved) is AttachInProgress, and a later attempt continues from what it
 *   finds then (a reserved one by exporting it with an update, nothing by creating).
 * - No volume left `reserved` by a refusal. When Cinder refuses after reserving (a connector its
 *   backend cannot use answers 500 AND leaves a `reserved` attachment), we delete what it left
 *   before throwing; the same for an export over a protocol the request did not ask for. A
 *   transient failure leaves our attachment for the next attempt to finish, or for the
 *   workflow's rollback detach, which finds it by instance uuid.
 */
import { z } from "zod/mini";
import { SanbootError } from "../errors";
import { AttachInProgress, type Attachment, type AttachRequest, type Connection, type Connector } from "./block-storage";
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

// zod/mini rather than zod, as every schema a function loads: no function bundle then carries
// zod's classic API at all (issue 11, cold start)
const wireAttachmentSummary = z.object({
  id: z.string(),
  status: z.string(),
  instance: z.nullable(z.string()),
  volume_id: z.string(),
});
const wireAttachment = z.extend(wireAttachmentSummary, {
  connection_info: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
});
type WireAttachment = z.infer<typeof wireAttachment>;
type WireAttachmentSummary = z.infer<typeof wireAttachmentSummary>;

/** How far an attachment got: attached > attaching (exported) > reserved. */
const PROGRESS: Record<string, number> = { attached: 2, attaching: 1 };

export class AttachmentsFlow {
  constructor(
    private readonly calls: CinderCalls,
    private readonly version: Microversion,
  ) {}

  async attach(req: AttachRequest): Promise<Attachment> {
    if (req.volume?.status === "available") return this.create(req);
    const ours = await this.ourAttachments(req.volumeId, req.instanceUuid);
    if (ours.length === 0) return this.create(req);
    // Two or more (an earlier race): keep the one furthest along (the list is newest first).
    const keep = [...ours].sort((a, b) => (PROGRESS[b.status] ?? 0) - (PROGRESS[a.status] ?? 0))[0]!;
    await this.discard(ours.filter((a) => a !== keep).map((a) => a.id));
    return this.finish(await this.show(keep.id), req);
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
      const reply = await this.calls.once({ method: "POST", path: "/attachments", body: { attachment }, volumeService: true });
      created = parse(wireAttachment, (reply.body as { attachment?: unknown } | null)?.attachment, "attachment");
    } catch (err) {
      if (!isUnavailable(err)) throw attachRefused(err, req);
      return this.recoverCreate(err, req);
    }
    return this.finish(created, req);
  }

  /**
   * The create failed. When Cinder said why (its backend cannot use the connector), what it
   * reserved is removed. When it provably never ran (connection refused, 429, not sent), there
   * is nothing to look for. Otherwise its outcome is unknown and Cinder may still be working on
   * it: finish it if it is exported already, else leave it to Cinder for now (AttachInProgress).
   */
  private async recoverCreate(createError: unknown, req: AttachRequest): Promise<Attachment> {
    const refusal = wrongProtocol(createError, req);
    if (refusal) {
      await this.discard((await this.ourAttachments(req.volumeId, req.instanceUuid)).map((a) => a.id));
      throw refusal;
    }
    if ((createError as { notActedOn?: boolean }).notActedOn) throw createError;
    let found: WireAttachmentSummary[] = [];
    let exported: WireAttachment | null = null;
    try {
      found = await this.ourAttachments(req.volumeId, req.instanceUuid);
      if (found.length === 1) exported = await this.show(found[0]!.id);
    } catch {
      // cannot tell how far it got: look again later
    }
    if (exported && hasConnection(exported)) return this.finish(exported, req);
    throw this.inProgress(req, createError, found.length === 0 ? "no attachment of ours shows yet" : `ours is '${found[0]!.status}' without an export yet`);
  }

  private inProgress(req: AttachRequest, cause: unknown, what: string): AttachInProgress {
    const recheck = this.calls.recheckAfterMs();
    return new AttachInProgress(
      `Cinder did not answer the attachment of volume ${req.volumeId} (${(cause as Error)?.message ?? String(cause)}) and may still be making it: ${what}; looking again in ${Math.round(recheck / 1000)} s`,
      recheck,
      cause,
    );
  }

  /** Takes our attachment from wherever it stands to `attached`. */
  private async finish(att: WireAttachment, req: AttachRequest): Promise<Attachment> {
    let current = att;
    if (!hasConnection(current)) {
      // Reserved without an export (Nova-style reserve, a create that failed half way, or one
      // whose export cinder-api never saw back): exporting again through an update is safe, the
      // same connector gets the same target.
      try {
        const reply = await this.calls.idempotent({
          method: "PUT",
          path: `/attachments/${encodeURIComponent(att.id)}`,
          body: { attachment: { connector: wireConnector(req.connector) } },
          volumeService: true,
        });
        current = parse(wireAttachment, (reply.body as { attachment?: unknown } | null)?.attachment, "attachment");
        if (!hasConnection(current)) throw new SanbootError("CINDER_REJECTED", `Cinder exported volume ${req.volumeId} without connection info`);
      } catch (err) {
        const refusal = wrongProtocol(err, req);
        if (isUnavailable(err) && !refusal) {
          if ((err as { notActedOn?: boolean }).notActedOn) throw err;
          throw this.inProgress(req, err, `the export of our '${att.status}' attachment may be under way`);
        }
        await this.discard([att.id]);
        throw refusal ?? err;
      }
    }
    let connection: Connection;
    try {
      connection = connectionFrom(current.connection_info ?? {}, req);
    } catch (err) {
      // an export over a protocol the request did not ask for: undone at once
      await this.discard([att.id]);
      throw err;
    }
    if (att.status !== "attached") {
      // completing twice answers 204 again: safe to retry; a failure leaves it for the next attempt
      await this.calls.idempotent({ method: "POST", path: `/attachments/${encodeURIComponent(att.id)}/action`, body: { "os-complete": null } });
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
      await this.calls.idempotent({ method: "DELETE", path: `/attachments/${encodeURIComponent(attachmentId)}`, serviceRole: true, accept: [404], volumeService: true });
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
