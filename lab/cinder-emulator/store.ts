/**
 * The emulated Cinder's state: volumes and attachments in memory, and every transition a real
 * Cinder (Zed, LVM driver, tgt iSCSI target) makes to them. Handlers parse and validate the wire
 * format; this file decides what happens, and throws CinderFault with Cinder's own messages.
 *
 * Facts it follows (notes/cinder.md and its transcript):
 * - A volume is `creating` and becomes `available` after a delay.
 * - Reserving (attachment create) needs `available`/`downloading` (plus `in-use` when
 *   multiattach), except that the SAME instance may reserve again (Nova's live migration).
 * - A connector without `initiator` on this iSCSI backend fails with 500 AFTER the reservation:
 *   a `reserved` attachment is left behind and the volume stays `reserved`.
 * - Deleting an attachment that has been exported to an instance asks Nova first (CVE-2023-2088);
 *   without a service role that fails (500 here: no Nova in the catalog).
 *
 * Backends: the LVM/iSCSI one always (volume type `__DEFAULT__` unless another backend claims
 * it), and any number more, each serving the volume types it lists, e.g. a Fibre Channel array
 * with its target WWPNs. A volume lives on the backend of its type (`os-vol-host-attr:host`
 * "<host>@<backend>#<backend>"); the scheduler's pool list reports each backend's
 * `storage_protocol`. Each driver checks the connector as Cinder's do (validate_connector):
 * iSCSI needs `initiator`, Fibre Channel `wwpns` and `wwnns`.
 *
 * With a data plane (data-plane.ts) the LVM/iSCSI backend's volumes are real: a sparse file
 * each, exported by a real iSCSI target at the moments Cinder (LVM + tgt) creates and removes
 * its tgt target (seen in the transcript):
 * - create_export: an attachment gets a connector (POST with one, or PUT), or
 *   os-initialize_connection;
 * - remove_export: deleting an attachment that had a connector, when it is the volume's only
 *   attachment (the LVM driver's terminate_connection reports a shared connection whenever the
 *   volume has more than one, whatever their hosts; checked on the lab's real Cinder: deleting
 *   the second attachment of an instance keeps the target, deleting the last removes it);
 *   os-detach, always (the manager's detach_volume removes it unconditionally), but NOT
 *   os-terminate_connection (the target is still there after it, as the transcript shows); and
 *   deleting the volume.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { CinderFault, faults, MISSING_CONNECTOR_INFO, MISSING_INITIATOR } from "./cinder-fault";
import type { VolumeDataPlane } from "./data-plane";

export type VolumeStatus =
  | "creating"
  | "available"
  | "reserved"
  | "attaching"
  | "in-use"
  | "detaching"
  | "deleting"
  | "error";

export type AttachmentStatus = "reserved" | "attaching" | "attached";

export type Json = Record<string, unknown>;

export interface VolumeRecord {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  size: number;
  status: VolumeStatus;
  bootable: boolean;
  multiattach: boolean;
  volume_type: string;
  metadata: Record<string, string>;
  created_at: string;
  updated_at: string | null;
  /** CHAP credentials, made at the first export and kept for the volume's life (as LVM does). */
  chap: { username: string; password: string } | null;
  /** false until the "scheduler" placed it: the create answer lacks host and tenant fields. */
  placed: boolean;
  /** the backend (volume_backend_name) its type maps to */
  backend: string;
}

export interface BackendSpec {
  /** volume_backend_name; also the pool: the host is "<host>@<name>#<name>" */
  name: string;
  protocol: "iSCSI" | "FC";
  /** the volume types whose volumes it holds */
  volumeTypes: string[];
  /** iSCSI: portals "ip:port", the first is `target_portal` */
  portals?: string[];
  /** FC: the array's target port WWPNs, 16 hex digits */
  targetWwpns?: string[];
}

export interface VolumeTypeRecord {
  id: string;
  name: string;
  description: string | null;
  extra_specs: Record<string, string>;
  backend: string;
}

export interface AttachmentRecord {
  id: string;
  volume_id: string;
  project_id: string;
  instance_uuid: string | null;
  status: AttachmentStatus;
  attach_mode: string | null;
  connector: Json | null;
  /** Flat, as the attachments API returns it; empty until a connector with an initiator came. */
  connection_info: Json;
  attached_at: string | null;
  mountpoint: string | null;
  host_name: string | null;
}

export interface StoreOptions {
  createDelayMs: number;
  deleteDelayMs: number;
  /** the volume service's `host` (cinder.conf), e.g. "cinder-lab" */
  host: string;
  /** at least one; the first serves `__DEFAULT__` unless one lists it */
  backends: BackendSpec[];
  /** real volumes for the iSCSI backends; without it exports are only connection_info */
  dataPlane?: VolumeDataPlane;
}

/** The id a real deployment gives `__DEFAULT__` is random; ours is fixed, the rest derived. */
const DEFAULT_TYPE_ID = "2b190e67-ef8b-4994-8291-e16d8b28fe60";
export const DEFAULT_TYPE = "__DEFAULT__";

export interface Caller {
  project_id: string;
  user_id: string;
  /** `X-Service-Roles: service` (noauth) or a service token: lets detach skip the Nova check. */
  is_service: boolean;
  /** an admin sees the scheduler's pools; noauth callers always are */
  is_admin?: boolean;
}

export class CinderStore {
  private readonly volumes = new Map<string, VolumeRecord>();
  private readonly attachments = new Map<string, AttachmentRecord>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly backends = new Map<string, BackendSpec>();
  private readonly types: VolumeTypeRecord[] = [];

  constructor(private readonly opts: StoreOptions) {
    if (opts.backends.length === 0) throw new Error("the emulator needs at least one backend");
    for (const b of opts.backends) {
      if (this.backends.has(b.name)) throw new Error(`backend ${b.name} named twice`);
      if (b.protocol === "iSCSI" && !b.portals?.length) throw new Error(`iSCSI backend ${b.name} needs portals`);
      if (b.protocol === "FC" && !b.targetWwpns?.length) throw new Error(`FC backend ${b.name} needs target WWPNs`);
      this.backends.set(b.name, b);
    }
    const claimed = opts.backends.some((b) => b.volumeTypes.includes(DEFAULT_TYPE));
    const typeNames = opts.backends.flatMap((b, i) =>
      [...(i === 0 && !claimed ? [DEFAULT_TYPE] : []), ...b.volumeTypes].map((name) => ({ name, backend: b.name })),
    );
    for (const { name, backend } of typeNames) {
      if (this.types.some((t) => t.name === name)) throw new Error(`volume type ${name} served by two backends`);
      const isDefault = name === DEFAULT_TYPE;
      this.types.push({
        id: isDefault ? DEFAULT_TYPE_ID : derivedUuid(`type:${name}`),
        name,
        description: isDefault ? "Default Volume Type" : null,
        // the real __DEFAULT__ has no extra specs: with one backend the scheduler needs none
        extra_specs: isDefault ? {} : { volume_backend_name: backend },
        backend,
      });
    }
  }

  // ------------------------------------------------------------------ types and pools

  /** GET /types: public types, in the order they were made (__DEFAULT__ first). */
  listTypes(): VolumeTypeRecord[] {
    return [...this.types];
  }

  /** By id, or "default" (GET /types/default). */
  getType(idOrDefault: string): VolumeTypeRecord {
    const t = idOrDefault === "default" ? this.types.find((x) => x.name === DEFAULT_TYPE) : this.types.find((x) => x.id === idOrDefault);
    if (!t) throw faults.volumeTypeNotFound(idOrDefault);
    return t;
  }

  /** What the scheduler reports per pool: one pool per backend, named like its volumes' host. */
  pools(): Array<{ name: string; backend: BackendSpec; volumes: number; allocatedGb: number }> {
    return [...this.backends.values()].map((b) => {
      const vols = [...this.volumes.values()].filter((v) => v.backend === b.name && v.placed);
      return { name: this.hostOf(b.name), backend: b, volumes: vols.length, allocatedGb: vols.reduce((n, v) => n + v.size, 0) };
    });
  }

  /** "host@backend#pool" of a placed volume, null before. */
  volumeHost(vol: VolumeRecord): string | null {
    return vol.placed ? this.hostOf(vol.backend) : null;
  }

  typeOf(vol: VolumeRecord): VolumeTypeRecord {
    return this.types.find((t) => t.name === vol.volume_type)!;
  }

  private hostOf(backend: string): string {
    return `${this.opts.host}@${backend}#${backend}`;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ------------------------------------------------------------------ volumes

  createVolume(
    caller: Caller,
    spec: { size: number; name: string | null; description: string | null; volume_type: string | null; multiattach: boolean; metadata: Record<string, string> },
  ): VolumeRecord {
    // by name or by id, as Cinder accepts it; an unknown one fails before anything is made
    const wanted = spec.volume_type ?? DEFAULT_TYPE;
    const type = this.types.find((t) => t.name === wanted || t.id === wanted);
    if (!type) throw faults.volumeTypeNameNotFound(wanted);
    const vol: VolumeRecord = {
      id: randomUUID(),
      project_id: caller.project_id,
      user_id: caller.user_id,
      name: spec.name,
      description: spec.description,
      size: spec.size,
      status: "creating",
      bootable: false,
      multiattach: spec.multiattach,
      volume_type: type.name,
      metadata: spec.metadata,
      created_at: timestamp(),
      updated_at: null,
      chap: null,
      placed: false,
      backend: type.backend,
    };
    this.volumes.set(vol.id, vol);
    let created = true;
    if (this.hasDataPlane(vol)) {
      try {
        this.opts.dataPlane!.createVolume(vol.id, vol.size);
      } catch {
        created = false; // lvcreate failed (the volume group is full, say): the volume goes to error
      }
    }
    this.later(this.opts.createDelayMs, () => {
      if (vol.status !== "creating") return;
      vol.placed = true;
      this.setStatus(vol, created ? "available" : "error");
    });
    return { ...vol };
  }

  /** noauth contexts are admin: any project's volume is visible by id. */
  getVolume(id: string): VolumeRecord {
    const vol = this.volumes.get(id);
    if (!vol) throw faults.volumeNotFound(id);
    return vol;
  }

  /** Newest first, Cinder's default sort (created_at desc). */
  listVolumes(projectId: string | null): VolumeRecord[] {
    return [...this.volumes.values()].reverse().filter((v) => projectId === null || v.project_id === projectId);
  }

  deleteVolume(id: string): void {
    const vol = this.getVolume(id);
    const deletable = ["available", "error"].includes(vol.status) && this.attachmentsOf(id).length === 0;
    if (!deletable) {
      throw faults.invalidVolume(
        "Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.",
      );
    }
    this.setStatus(vol, "deleting");
    this.later(this.opts.deleteDelayMs, () => {
      this.volumes.delete(id);
      if (this.hasDataPlane(vol)) this.opts.dataPlane!.deleteVolume(id);
    });
  }

  setBootable(id: string, bootable: boolean): void {
    const vol = this.getVolume(id);
    vol.bootable = bootable;
    vol.updated_at = timestamp();
  }

  /** Every attachment of a volume, whatever its status, newest first. */
  attachmentsOf(volumeId: string): AttachmentRecord[] {
    return [...this.attachments.values()].reverse().filter((a) => a.volume_id === volumeId);
  }

  // ------------------------------------------------------------------ attachments API (3.27+)

  /**
   * POST /attachments. Returns the attachment and the status its answer shows: Cinder answers
   * with the record as it was reserved (`reserved`) even when it has already exported it.
   */
  createAttachment(caller: Caller, volumeId: string, instanceUuid: string | null, connector: Json | null, mode: string | null): AttachmentRecord {
    const att = this.reserveAttachment(caller, volumeId, instanceUuid, mode);
    const answer = { ...att };
    // An empty connector ({}) only reserves, like no connector at all.
    if (hasConnector(connector)) answer.connection_info = this.exportAttachment(att.id, connector, "create", true).connection_info;
    return answer;
  }

  /** cinder-api's half of a create: the reservation, before anything goes to cinder-volume. */
  reserveAttachment(caller: Caller, volumeId: string, instanceUuid: string | null, mode: string | null): AttachmentRecord {
    const vol = this.getVolume(volumeId);
    this.reserve(vol, instanceUuid);
    const att: AttachmentRecord = {
      id: randomUUID(),
      volume_id: vol.id,
      project_id: caller.project_id,
      instance_uuid: instanceUuid,
      status: "reserved",
      attach_mode: mode,
      connector: null,
      connection_info: {},
      attached_at: null,
      mountpoint: null,
      host_name: null,
    };
    this.attachments.set(att.id, att);
    return att;
  }

  /**
   * cinder-volume's half (attachment_update over RPC), for a create with a connector or an update:
   * the export, the connector and `attaching`. The connection_info is what cinder-api saves from
   * the RPC's answer: `save` false when cinder-api had given up waiting (it never saves it then).
   * A failing driver leaves the reservation, as a real Cinder does.
   */
  exportAttachment(id: string, connector: Json, asked: "create" | "update", save: boolean): AttachmentRecord {
    const att = this.getAttachment(id);
    const vol = this.getVolume(att.volume_id);
    const answer = { ...att };
    try {
      this.export(vol, att, connector);
    } catch (err) {
      const msg = (err as Error).message;
      throw new CinderFault(500, asked === "create" ? `Unable to create attachment for volume (${msg}).` : `Unable to update attachment.(${msg}).`);
    }
    answer.connection_info = att.connection_info;
    if (!save) att.connection_info = {};
    return answer;
  }

  /** PUT /attachments/{id} with a connector: exports the volume (Nova's second step). */
  updateAttachment(id: string, connector: Json): AttachmentRecord {
    return this.exportAttachment(id, connector, "update", true);
  }

  completeAttachment(id: string): void {
    const att = this.getAttachment(id);
    const vol = this.getVolume(att.volume_id);
    att.status = "attached";
    att.mountpoint = stringOr(att.connector?.["mountpoint"], "na");
    att.attached_at ??= timestamp();
    this.setStatus(vol, "in-use");
  }

  /** DELETE /attachments/{id}: answers the volume's remaining attachments. */
  deleteAttachment(caller: Caller, id: string): AttachmentRecord[] {
    const att = this.getAttachment(id);
    if (!this.deletionAllowed(caller, att)) throw faults.internal();
    // only an attachment that was exported (had a connector) terminates a connection; the
    // driver calls it shared while the volume has any other attachment
    if (att.connector && this.attachmentsOf(att.volume_id).length <= 1) this.removeExport(att.volume_id);
    this.removeAttachment(att);
    return this.attachmentsOf(att.volume_id);
  }

  getAttachment(id: string): AttachmentRecord {
    const att = this.attachments.get(id);
    if (!att) throw faults.attachmentNotFound(id);
    return att;
  }

  /** Newest first, as Cinder lists them. */
  listAttachments(filter: { projectId: string | null; volumeId?: string; instanceId?: string }): AttachmentRecord[] {
    return [...this.attachments.values()].reverse().filter(
      (a) =>
        (filter.projectId === null || a.project_id === filter.projectId) &&
        (filter.volumeId === undefined || a.volume_id === filter.volumeId) &&
        (filter.instanceId === undefined || a.instance_uuid === filter.instanceId),
    );
  }

  // ------------------------------------------------------------------ legacy volume actions

  /** os-reserve: `attaching` without an attachment record (the transcript's DB shows none). */
  legacyReserve(volumeId: string): void {
    const vol = this.getVolume(volumeId);
    const expected = vol.multiattach ? ["available", "in-use"] : ["available"];
    if (!expected.includes(vol.status)) {
      throw faults.invalidVolume(`Volume status must be ${orList(expected)} to reserve, but the status is ${vol.status}.`);
    }
    this.setStatus(vol, "attaching");
  }

  /** os-unreserve: only undoes `attaching`; on any other status it quietly does nothing. */
  legacyUnreserve(volumeId: string): void {
    const vol = this.getVolume(volumeId);
    if (vol.status !== "attaching") return;
    this.setStatus(vol, this.attachmentsOf(volumeId).some((a) => a.status === "attached") ? "in-use" : "available");
  }

  /** os-initialize_connection: the driver's type and `data`, without attachment bookkeeping. */
  legacyInitializeConnection(volumeId: string, connector: unknown): { driver_volume_type: string; data: Json } {
    const vol = this.getVolume(volumeId);
    if (!isObject(connector)) throw faults.invalidInput(MISSING_INITIATOR);
    let data: Json;
    try {
      data = this.connectionData(vol, connector);
    } catch (err) {
      throw faults.invalidInput((err as Error).message.replace(/^Invalid input received: /, ""));
    }
    this.createExport(vol);
    return { driver_volume_type: this.driverVolumeType(vol), data };
  }

  legacyAttach(caller: Caller, volumeId: string, instanceUuid: string | null, mountpoint: string | null, mode: string): void {
    const vol = this.getVolume(volumeId);
    const att: AttachmentRecord = {
      id: randomUUID(),
      volume_id: vol.id,
      project_id: caller.project_id,
      instance_uuid: instanceUuid,
      status: "attached",
      attach_mode: mode,
      connector: null,
      connection_info: {},
      attached_at: timestamp(),
      mountpoint,
      host_name: null,
    };
    this.attachments.set(att.id, att);
    vol.metadata = { ...vol.metadata, readonly: "False", attached_mode: mode };
    this.setStatus(vol, "in-use");
  }

  legacyBeginDetaching(volumeId: string): void {
    const vol = this.getVolume(volumeId);
    const attached = this.attachmentsOf(volumeId).some((a) => a.status === "attached");
    if (vol.status !== "in-use" || !attached) {
      throw faults.invalidVolume(
        "Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.",
      );
    }
    this.setStatus(vol, "detaching");
  }

  legacyRollDetaching(volumeId: string): void {
    const vol = this.getVolume(volumeId);
    if (vol.status === "detaching") this.setStatus(vol, "in-use");
  }

  /** os-terminate_connection: removes the export; the same Nova check as deleting an attachment. */
  legacyTerminateConnection(caller: Caller, volumeId: string): void {
    this.getVolume(volumeId);
    const atts = this.attachmentsOf(volumeId);
    if (atts.length === 1 && !this.deletionAllowed(caller, atts[0]!)) throw faults.internal();
  }

  legacyDetach(caller: Caller, volumeId: string, attachmentId: string | null): void {
    this.getVolume(volumeId);
    const att = attachmentId ? this.attachments.get(attachmentId) : this.attachmentsOf(volumeId)[0];
    if (!att || att.volume_id !== volumeId) {
      // what Zed answers for an attachment it cannot find, instance id left empty
      if (!caller.is_service) throw faults.novaUsingAttachment("");
      throw faults.attachmentNotFound(attachmentId ?? "");
    }
    if (!this.deletionAllowed(caller, att)) throw faults.novaUsingAttachment(att.instance_uuid ?? "");
    this.removeExport(volumeId);
    this.removeAttachment(att);
  }

  // ------------------------------------------------------------------ internals

  /**
   * Cinder's conditional update to `reserved`; when it fails, the same instance may still reserve
   * (the volume then keeps its status until a connector exports it).
   */
  private reserve(vol: VolumeRecord, instanceUuid: string | null): void {
    const expected = vol.multiattach ? ["available", "in-use", "downloading"] : ["available", "downloading"];
    if (expected.includes(vol.status)) {
      this.setStatus(vol, "reserved");
      return;
    }
    const sameInstance =
      instanceUuid !== null &&
      (vol.status === "in-use" || vol.status === "reserved") &&
      this.attachmentsOf(vol.id).some((a) => a.instance_uuid === instanceUuid);
    if (!sameInstance) {
      throw faults.invalidVolume(
        `Volume ${vol.id} status must be ${orList(expected)} to reserve, but the current status is ${vol.status}.`,
      );
    }
  }

  /** Exporting always moves the volume to `attaching`, even an in-use one (seen on Zed). */
  private export(vol: VolumeRecord, att: AttachmentRecord, connector: Json): void {
    const data = this.connectionData(vol, connector);
    this.createExport(vol);
    att.connector = connector;
    att.host_name = stringOr(connector["host"], null);
    att.connection_info = { ...data, driver_volume_type: this.driverVolumeType(vol), attachment_id: att.id };
    att.attached_at ??= timestamp();
    if (att.status === "reserved") att.status = "attaching";
    this.setStatus(vol, "attaching");
  }

  private driverVolumeType(vol: VolumeRecord): "iscsi" | "fibre_channel" {
    return this.backends.get(vol.backend)!.protocol === "FC" ? "fibre_channel" : "iscsi";
  }

  private connectionData(vol: VolumeRecord, connector: Json): Json {
    const backend = this.backends.get(vol.backend)!;
    return backend.protocol === "FC" ? fcData(vol, backend, connector) : this.iscsiData(vol, backend, connector);
  }

  /** What the LVM driver with the tgt helper answers to initialize_connection. */
  private iscsiData(vol: VolumeRecord, backend: BackendSpec, connector: Json): Json {
    if (typeof connector["initiator"] !== "string" || connector["initiator"] === "") {
      throw new Error(`Invalid input received: ${MISSING_INITIATOR}`);
    }
    vol.chap ??= { username: randomToken(20), password: randomToken(16) };
    const iqn = iqnOf(vol);
    // a data plane's target is where the volume really is
    const portals = this.hasDataPlane(vol) ? [this.opts.dataPlane!.portal] : backend.portals!;
    const data: Json = { target_discovered: false };
    // cinder/volume/targets/iscsi.py: the plural keys come whenever the connector asks for
    // multipath, one entry per portal (target_ip_address + target_secondary_ip_addresses);
    // Zed answers them even with a single portal.
    if (connector["multipath"] === true) {
      data["target_portals"] = [...portals];
      data["target_iqns"] = portals.map(() => iqn);
      data["target_luns"] = portals.map(() => 1);
    }
    Object.assign(data, {
      target_portal: portals[0],
      target_iqn: iqn,
      target_lun: 1,
      volume_id: vol.id,
      auth_method: "CHAP",
      auth_username: vol.chap.username,
      auth_password: vol.chap.password,
      encrypted: false,
      qos_specs: null,
      access_mode: "rw",
      cacheable: false,
    });
    return data;
  }

  private hasDataPlane(vol: VolumeRecord): boolean {
    return this.opts.dataPlane !== undefined && this.backends.get(vol.backend)!.protocol === "iSCSI";
  }

  /** create_export: the volume's tgt target, with the CHAP user connection_info names. */
  private createExport(vol: VolumeRecord): void {
    if (!this.hasDataPlane(vol) || !vol.chap) return;
    this.opts.dataPlane!.exportVolume(vol.id, iqnOf(vol), vol.chap);
  }

  /** remove_export: the volume's tgt target goes, and with it every session on it. */
  private removeExport(volumeId: string): void {
    const vol = this.volumes.get(volumeId);
    if (!vol || !this.hasDataPlane(vol)) return;
    this.opts.dataPlane!.removeExport(volumeId);
  }

  private deletionAllowed(caller: Caller, att: AttachmentRecord): boolean {
    if (caller.is_service) return true;
    // Nothing was exported to an instance: no need to ask Nova.
    if (!att.instance_uuid || Object.keys(att.connection_info).length === 0) return true;
    return false;
  }

  private removeAttachment(att: AttachmentRecord): void {
    this.attachments.delete(att.id);
    const vol = this.volumes.get(att.volume_id);
    if (!vol) return;
    const rest = this.attachmentsOf(vol.id);
    const next: VolumeStatus = rest.some((a) => a.status === "attached")
      ? "in-use"
      : rest.some((a) => a.status === "attaching")
        ? "attaching"
        : rest.length > 0
          ? "reserved"
          : "available";
    if (next === "available") {
      const { attached_mode: _m, readonly: _r, ...metadata } = vol.metadata;
      vol.metadata = metadata;
    }
    this.setStatus(vol, next);
  }

  private setStatus(vol: VolumeRecord, status: VolumeStatus): void {
    vol.status = status;
    vol.updated_at = timestamp();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}

/**
 * What an FC driver answers: FibreChannelDriver.validate_connector wants non-empty `wwpns`
 * and `wwnns`; the target WWPNs come as one string for one port, a list for more (drivers
 * differ; several send the bare string for a single port); every initiator is mapped to every
 * target port (no zone manager).
 */
function fcData(vol: VolumeRecord, backend: BackendSpec, connector: Json): Json {
  for (const setting of ["wwpns", "wwnns"]) {
    const v = connector[setting];
    if (!Array.isArray(v) || v.length === 0) throw new Error(`Invalid input received: ${MISSING_CONNECTOR_INFO}: ${setting}`);
  }
  const targets = backend.targetWwpns!;
  const initiators = (connector["wwpns"] as unknown[]).map((w) => String(w).toLowerCase());
  return {
    target_discovered: false,
    target_lun: 1,
    target_wwn: targets.length === 1 ? targets[0] : [...targets],
    initiator_target_map: Object.fromEntries(initiators.map((i) => [i, [...targets]])),
    volume_id: vol.id,
    encrypted: false,
    qos_specs: null,
    access_mode: "rw",
    cacheable: false,
  };
}

function iqnOf(vol: VolumeRecord): string {
  return `iqn.2010-10.org.openstack:volume-${vol.id}`;
}

/** A stable uuid-shaped id from a name (volume type ids must not change between runs). */
function derivedUuid(name: string): string {
  const h = createHash("sha256").update(name).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** oslo's build_or_str: "a", "a or b", "a, b or c". */
function orList(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

function stringOr<T>(v: unknown, fallback: T): string | T {
  return typeof v === "string" ? v : fallback;
}

const TOKEN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += TOKEN_ALPHABET[b % TOKEN_ALPHABET.length];
  return out;
}

/** Cinder's timestamps: ISO 8601, microseconds, no zone. */
export function timestamp(): string {
  return new Date().toISOString().replace("Z", "000");
}

/** A connector that asks for an export: an empty one ({}) only reserves. */
export function hasConnector(connector: Json | null): connector is Json {
  return connector !== null && Object.keys(connector).length > 0;
}
