/**
 * Attach and detach with Cinder's legacy volume actions, for a Cinder that offers less than
 * microversion 3.44 (no attachments API with os-complete):
 *
 *   attach: os-reserve → os-initialize_connection (connection_info nested under `data`)
 *           → os-attach {instance_uuid, mountpoint, mode}
 *   detach: os-begin_detaching → os-terminate_connection → os-detach {attachment_id}
 *
 * Same guarantees as the attachments flow, reached differently:
 * - "Already done?" is read from the volume's `attachments` (server_id = our instance uuid):
 *   attached for us means the export's details are asked for again (os-initialize_connection
 *   answers the same target), never a second os-attach.
 * - Any failure after a reserve terminates what was exported and calls os-unreserve, so no
 *   volume is left `attaching` (Ironic does not, and leaves volumes stuck).
 * - os-reserve and os-attach are not repeatable; when their answer is lost we read the volume
 *   to learn what happened.
 *
 * A legacy reservation has no owner: Cinder only sets the volume `attaching`. A volume found
 * `attaching` with nothing attached is taken to be our own reservation from an earlier run (the
 * pre-attach check let it through for this request), continued by attach and undone by detach.
 */
import { SanbootError } from "../errors";
import type { Attachment, AttachRequest, Connector } from "./block-storage";
import type { CinderCall } from "./cinder-transport";
import {
  attachRefused,
  connectionFrom,
  explainServiceRefusal,
  isUnavailable,
  quietly,
  readVolume,
  wireConnector,
  wrongProtocol,
  type CinderCalls,
  type WireVolume,
} from "./cinder-wire";

/** The actions cinder-api hands to cinder-volume and waits for (RPC calls): the rest it does itself. */
const VOLUME_SERVICE_ACTIONS = new Set(["os-initialize_connection", "os-attach", "os-terminate_connection", "os-detach"]);

/** Cinder stores it as the attachment's device; a bare-metal SAN boot has no guest device name. */
export const LEGACY_MOUNTPOINT = "sanboot";

export class LegacyFlow {
  constructor(private readonly calls: CinderCalls) {}

  async attach(req: AttachRequest): Promise<Attachment> {
    const volume = await readVolume(this.calls, req.volumeId);
    const existing = ourAttachmentIds(volume, req.instanceUuid)[0];
    if (existing) return { attachment_id: existing, connection: connectionFrom(await this.initialize(req), req) };

    if (volume.status !== "attaching") await this.reserve(req);
    let exported = false;
    try {
      const info = await this.initialize(req);
      exported = true;
      // an export over a protocol the request did not ask for is undone below, like any failure
      const connection = connectionFrom(info, req);
      return { attachment_id: await this.markAttached(req), connection };
    } catch (err) {
      if (exported) await quietly(() => this.terminate(req.volumeId, req.connector));
      await quietly(() => this.unreserve(req.volumeId));
      throw wrongProtocol(err, req) ?? err;
    }
  }

  async detach(volumeId: string, instanceUuid: string, connector?: Connector): Promise<void> {
    const volume = await readVolume(this.calls, volumeId);
    const ids = ourAttachmentIds(volume, instanceUuid);
    if (ids.length === 0) {
      // nothing attached for us; a reservation nobody attached is ours to undo (see the header)
      if (volume.status === "attaching" && (volume.attachments ?? []).length === 0) await this.unreserve(volumeId);
      return;
    }
    if (volume.status === "in-use") await this.beginDetaching(volumeId);
    try {
      await this.terminate(volumeId, connector);
      for (const id of ids) await this.detachOne(volumeId, id, instanceUuid);
    } catch (err) {
      // back to in-use, so the next detach starts from a state Cinder accepts
      await quietly(() => this.action(volumeId, "os-roll_detaching", null, "idempotent"));
      throw explainServiceRefusal(err);
    }
  }

  // ------------------------------------------------------------------ attach, step by step

  private async reserve(req: AttachRequest): Promise<void> {
    try {
      await this.action(req.volumeId, "os-reserve", null, "once");
    } catch (err) {
      if (!isUnavailable(err)) throw attachRefused(err, req);
      // the answer was lost: reserved is what we wanted, anything else reports the failure
      if ((await readVolume(this.calls, req.volumeId)).status !== "attaching") throw err;
    }
  }

  /**
   * Exporting again for the same connector answers the same target: safe to repeat. Answers
   * connection_info flat (`data` merged with its type), as the attachments API has it.
   */
  private async initialize(req: AttachRequest): Promise<Record<string, unknown>> {
    const reply = await this.action(req.volumeId, "os-initialize_connection", { connector: wireConnector(req.connector) }, "idempotent");
    const info = (reply.body as { connection_info?: { driver_volume_type?: unknown; data?: unknown } } | null)?.connection_info;
    const data = info?.data && typeof info.data === "object" ? (info.data as Record<string, unknown>) : {};
    return { ...data, driver_volume_type: info?.driver_volume_type };
  }

  private async markAttached(req: AttachRequest): Promise<string> {
    let lost: unknown = null;
    try {
      await this.action(req.volumeId, "os-attach", { instance_uuid: req.instanceUuid, mountpoint: LEGACY_MOUNTPOINT, mode: "rw" }, "once");
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      lost = err;
    }
    const id = ourAttachmentIds(await readVolume(this.calls, req.volumeId), req.instanceUuid)[0];
    if (id) return id;
    throw lost ?? new SanbootError("CINDER_UNAVAILABLE", `Cinder accepted os-attach for volume ${req.volumeId} but lists no attachment for it`, { retryable: true });
  }

  private async unreserve(volumeId: string): Promise<void> {
    // unreserving a volume that is not `attaching` changes nothing: safe to repeat
    await this.action(volumeId, "os-unreserve", null, "idempotent");
  }

  // ------------------------------------------------------------------ detach, step by step

  private async beginDetaching(volumeId: string): Promise<void> {
    try {
      await this.action(volumeId, "os-begin_detaching", null, "once");
    } catch (err) {
      // refused or lost: fine if the volume is detaching now (an earlier run began it)
      if ((await readVolume(this.calls, volumeId)).status !== "detaching") throw err;
    }
  }

  /** Needs the service role, like deleting an attachment (CVE-2023-2088). */
  private async terminate(volumeId: string, connector: Connector | undefined): Promise<void> {
    // without the node's connector, an empty one: drivers that export per volume (LVM) ignore it
    await this.action(volumeId, "os-terminate_connection", { connector: connector ? wireConnector(connector) : {} }, "idempotent", true);
  }

  private async detachOne(volumeId: string, attachmentId: string, instanceUuid: string): Promise<void> {
    try {
      await this.action(volumeId, "os-detach", { attachment_id: attachmentId }, "once", true);
    } catch (err) {
      // lost, or refused because it is already gone: the volume says which
      const still = ourAttachmentIds(await readVolume(this.calls, volumeId), instanceUuid);
      if (still.includes(attachmentId)) throw err;
    }
  }

  private action(volumeId: string, name: string, args: unknown, how: "once" | "idempotent", serviceRole = false) {
    const call: CinderCall = {
      method: "POST",
      path: `/volumes/${encodeURIComponent(volumeId)}/action`,
      body: { [name]: args },
      serviceRole,
      volumeService: VOLUME_SERVICE_ACTIONS.has(name),
    };
    return how === "once" ? this.calls.once(call) : this.calls.idempotent(call);
  }
}

function ourAttachmentIds(volume: WireVolume, instanceUuid: string): string[] {
  return (volume.attachments ?? []).flatMap((a) => (a.server_id === instanceUuid && typeof a.attachment_id === "string" ? [a.attachment_id] : []));
}
