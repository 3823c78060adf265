/**
 * The checks before sanboot attaches a volume, with messages that tell the operator what to do.
 * Pure: they read a VolumeInfo (from BlockStorage.getVolume) and throw SanbootError.
 * assertProtocol / protocolFor read `backend_protocol`, which getVolume fills from the pool the
 * volume lives on (admin-visible only; null otherwise).
 */
import { SanbootError } from "../errors";
import type { SanProtocol, VolumeInfo } from "./block-storage";

/** Statuses a volume leaves by itself (Cinder is working on it): worth asking again later. */
const PASSING_STATUSES = new Set([
  "creating",
  "downloading",
  "reserved",
  "attaching",
  "detaching",
  "extending",
  "backing-up",
  "restoring-backup",
  "uploading",
  "retyping",
]);

export interface BootableCheckOptions {
  /**
   * The boot request's instance uuid. A volume in use by it passes (a step run twice), and so
   * does one Cinder is still reserving / attaching: that may be our own attach whose answer was
   * lost, and BlockStorage.attach finds it by this uuid, while Cinder refuses anyone else's.
   */
  allowAttachedTo?: string;
}

/**
 * Throws unless `volume` can be attached for `projectId` to boot from:
 * - VOLUME_WRONG_PROJECT: it belongs to another project. When Cinder hides the owner
 *   (`project_id` null: credentials without admin rights), visibility already proves ownership.
 * - VOLUME_NOT_BOOTABLE: Cinder does not mark it bootable.
 * - VOLUME_NOT_AVAILABLE: not `available`; retryable while Cinder is still working on it
 *   (creating, attaching, ...), permanent when in use by someone else or in error.
 */
export function assertBootableAvailable(volume: VolumeInfo, projectId: string, options: BootableCheckOptions = {}): void {
  if (volume.project_id !== null && volume.project_id !== projectId) {
    throw new SanbootError(
      "VOLUME_WRONG_PROJECT",
      `Volume ${volume.id} belongs to project ${volume.project_id}, not to project ${projectId}: boot from a volume of your own project, or transfer this one to it (openstack volume transfer request create ${volume.id}).`,
    );
  }
  if (!volume.bootable) {
    throw new SanbootError(
      "VOLUME_NOT_BOOTABLE",
      `Volume ${volume.id} is not bootable: create it from an image (openstack volume create --image <image> ...), or if it already holds an operating system mark it bootable (openstack volume set --bootable ${volume.id}).`,
    );
  }
  if (volume.status === "available") return;
  const ours = options.allowAttachedTo;
  if (ours && volume.status === "in-use" && volume.attached_to?.includes(ours)) return;
  if (ours && (volume.status === "reserved" || volume.status === "attaching")) return;
  if (PASSING_STATUSES.has(volume.status)) {
    throw new SanbootError(
      "VOLUME_NOT_AVAILABLE",
      `Volume ${volume.id} is '${volume.status}'; sanboot will try again once Cinder has finished with it. If it stays '${volume.status}', ask your Cinder administrator to reset its state.`,
      { retryable: true },
    );
  }
  if (volume.status === "in-use") {
    throw new SanbootError(
      "VOLUME_NOT_AVAILABLE",
      `Volume ${volume.id} is in use by ${volume.attached_to?.length ? `instance ${volume.attached_to.join(", ")}` : "another attachment"}: detach it there first, or boot from another volume${volume.multiattach ? "" : " (it is not multiattach)"}.`,
    );
  }
  throw new SanbootError(
    "VOLUME_NOT_AVAILABLE",
    `Volume ${volume.id} is '${volume.status}', and only an 'available' volume can be attached: repair or replace it (openstack volume show ${volume.id}).`,
  );
}

export type RequestedProtocol = SanProtocol | "auto";

const NAMES: Record<SanProtocol, string> = { iscsi: "iSCSI", fibre_channel: "Fibre Channel" };
const WITH_ARTICLE: Record<SanProtocol, string> = { iscsi: "an iSCSI", fibre_channel: "a Fibre Channel" };

/**
 * The SAN protocols a backend serves, from its pool's `storage_protocol` as drivers spell it
 * (Cinder's own variants: "iSCSI"/"iscsi", "FC"/"fibre_channel"; a multi-protocol pool lists
 * several). Empty when unknown or when it serves none sanboot boots from (NVMe-oF, NFS, ceph).
 */
export function servedProtocols(backendProtocol: string | null | undefined): Set<SanProtocol> {
  const out = new Set<SanProtocol>();
  for (const word of (backendProtocol ?? "").split(/[,/_\s]+/)) {
    const w = word.trim().toLowerCase();
    if (w === "iscsi" || w === "iser") out.add("iscsi");
    if (w === "fc" || w === "fibre" || w === "fibre_channel" || w === "fibrechannel") out.add("fibre_channel");
  }
  return out;
}

/**
 * Throws VOLUME_WRONG_PROTOCOL unless the volume's backend serves `wanted`. Passes when the
 * backend's protocol is unknown (credentials that cannot see pools): the attach itself then
 * finds out, and cleans up (BlockStorage.attach).
 */
export function assertProtocol(volume: VolumeInfo, wanted: SanProtocol): void {
  const raw = volume.backend_protocol;
  if (raw === null || raw === undefined || raw === "") return;
  const served = servedProtocols(raw);
  if (served.has(wanted)) return;
  const type = volume.volume_type ? `volume type ${volume.volume_type}` : `volume ${volume.id}`;
  const retype = `openstack volume set --type <type on ${WITH_ARTICLE[wanted]} backend> --retype-policy on-demand ${volume.id}`;
  if (served.size === 0) {
    throw new SanbootError(
      "VOLUME_WRONG_PROTOCOL",
      `Volume ${volume.id}: ${type} is on a ${raw} backend, and sanboot boots over iSCSI or Fibre Channel only: retype the volume (${retype}).`,
    );
  }
  const other = [...served][0]!;
  throw new SanbootError(
    "VOLUME_WRONG_PROTOCOL",
    `Volume ${volume.id}: ${type} is on ${other === "fibre_channel" ? "an FC" : "an iSCSI"} backend (${raw}), not ${NAMES[wanted]}: ask for protocol ${other} (or auto), or retype the volume (${retype}).`,
  );
}

/**
 * The protocol to attach with: the requested one, or for `auto` the one the volume's backend
 * serves (iscsi when it serves both, when it is unknown, or when it serves neither — then
 * assertProtocol explains).
 */
export function protocolFor(volume: VolumeInfo, requested: RequestedProtocol): SanProtocol {
  if (requested !== "auto") return requested;
  const served = servedProtocols(volume.backend_protocol);
  return served.has("fibre_channel") && !served.has("iscsi") ? "fibre_channel" : "iscsi";
}
