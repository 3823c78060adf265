/**
 * The block-storage port: what the workflow needs from Cinder. The adapter (cinder-client.ts,
 * over cinder-transport.ts) implements it; the lab emulator and a real Cinder both sit behind it.
 *
 * Throws SanbootError (lib/errors.ts):
 * - VOLUME_NOT_FOUND, VOLUME_NOT_BOOTABLE, VOLUME_NOT_AVAILABLE, VOLUME_WRONG_PROJECT: permanent.
 * - CINDER_REJECTED: any other 4xx, with Cinder's own message.
 * - CINDER_AUTH_FAILED: Keystone refusing sanboot's (or the service user's) credentials, a
 *   token's catalog without a block-storage endpoint, no service credentials for detach.
 * - VOLUME_WRONG_PROTOCOL: the volume's backend cannot export to this connector (an FC-only
 *   node and an iSCSI backend, or the reverse), or it exported over a protocol the request did
 *   not ask for. Whatever Cinder reserved or exported on the way is removed first.
 * - CINDER_UNAVAILABLE (retryable): 5xx, 429, timeouts, connection errors (Cinder's or Keystone's),
 *   and the budget given (`deadline`) running out before a call could be sent.
 * - AttachInProgress (a CINDER_UNAVAILABLE, retryable): attach's "pending, check later". Cinder may
 *   still be carrying out a create whose answer did not come; look again after recheckAfterMs.
 */
import { SanbootError } from "../errors";

export interface Connector {
  initiator?: string;
  wwpns?: string[];
  wwnns?: string[];
  host: string;
  multipath: boolean;
  platform: "x86_64";
  os_type: "baremetal";
}

export interface VolumeInfo {
  id: string;
  status: string;
  bootable: boolean;
  /** os-vol-tenant-attr:tenant_id (visible to an admin / service account) */
  project_id: string | null;
  volume_type: string | null;
  size: number;
  multiattach: boolean;
  /**
   * instance uuids of the volume's completed attachments (Cinder's `attachments[].server_id`),
   * so a step run again can tell "in-use by us" from "in-use by someone else".
   */
  attached_to?: string[];
  /**
   * The storage protocol of the backend the volume lives on (`storage_protocol` of its pool, e.g.
   * "iSCSI", "FC"), when Cinder tells it; null when unknown.
   */
  backend_protocol?: string | null;
}

/** connection_info as the attachments API returns it (flat), reduced to what we use. */
export interface IscsiConnection {
  driver_volume_type: "iscsi";
  target_iqn: string;
  target_portal: string;
  target_lun: number;
  target_iqns?: string[];
  target_portals?: string[];
  target_luns?: number[];
  auth_method?: string;
  auth_username?: string;
  auth_password?: string;
}

/** Fibre Channel connection_info (flat): target WWPNs (Cinder sends a string or a list) and LUN. */
export interface FcConnection {
  driver_volume_type: "fibre_channel";
  /** always a list here, lowercase hex without separators, as Cinder sends it */
  target_wwn: string[];
  target_lun: number;
  initiator_target_map?: Record<string, string[]>;
}

export type Connection = IscsiConnection | FcConnection;

export type SanProtocol = Connection["driver_volume_type"];

export interface AttachRequest {
  volumeId: string;
  /** the boot request id: Cinder's instance_uuid, our handle to find the attachment again */
  instanceUuid: string;
  connector: Connector;
  /**
   * The connection type the caller can boot from. Cinder exporting the volume over anything
   * else is VOLUME_WRONG_PROTOCOL, after the attachment was removed again. When absent it is
   * read from the connector: an initiator only → iscsi, WWPNs only → fibre_channel, both → either.
   */
  protocol?: SanProtocol;
  /**
   * The volume as the caller read it just before (the pre-attach check). `available` means no
   * attachment of anyone's exists, so the "already done?" lookup is skipped.
   */
  volume?: Pick<VolumeInfo, "status">;
  /** every call ends by then (the step's budget); none is started that cannot finish before it */
  deadline?: Date;
}

export interface CallOptions {
  /** every call ends by then (the step's budget) */
  deadline?: Date;
}

/**
 * attach's "pending": Cinder may still be working on a create (or an export) whose answer did not
 * come, e.g. cut short by the deadline while queued behind other exports, or a 500 from cinder-api
 * giving up on cinder-volume, which carries on. Neither done nor failed: deleting what is there or
 * creating again now would race Cinder's own work. Look again after `recheckAfterMs`.
 */
export class AttachInProgress extends SanbootError {
  override readonly name = "AttachInProgress";
  constructor(
    message: string,
    readonly recheckAfterMs: number,
    cause?: unknown,
  ) {
    super("CINDER_UNAVAILABLE", message, { retryable: true, cause });
  }
}

export interface Attachment {
  attachment_id: string;
  connection: Connection;
}

export interface BlockStorage {
  getVolume(volumeId: string, options?: CallOptions): Promise<VolumeInfo>;
  /**
   * Creates and completes an attachment for instanceUuid, or returns the one that already exists
   * for it (a step run twice, or a lost answer): never two attachments for one request. Throws
   * AttachInProgress while Cinder may still be making one whose answer did not come.
   */
  attach(req: AttachRequest): Promise<Attachment>;
  /**
   * Deletes every attachment of the volume that belongs to instanceUuid (with the service
   * token Cinder requires for detach). Idempotent: no attachment left is success.
   * `connector`: the one attach sent. The legacy path (Cinder < 3.44) hands it to
   * os-terminate_connection, which drivers that map hosts need; without it an empty one is sent.
   */
  detach(volumeId: string, instanceUuid: string, connector?: Connector, options?: CallOptions): Promise<void>;
}
