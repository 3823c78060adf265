/**
 * JSON views of volumes and attachments, key for key as Cinder Zed shows them, including which
 * keys appear at which microversion and the fields a create answer still lacks.
 */
import { atLeast, FEATURE, type Version } from "./microversion";
import { timestamp, type AttachmentRecord, type BackendSpec, type VolumeRecord, type VolumeTypeRecord } from "./store";

const SERVICE_UUID = "0bcfff9f-0a42-44cd-8bf3-0b84890719aa";

/** Where the store put a volume: its pool's host ("host@backend#pool", null until placed) and its type's id. */
export interface Placement {
  host: string | null;
  type_id: string;
}

export interface ViewContext {
  baseUrl: string;
  version: Version;
}

export function volumeSummary(vol: VolumeRecord, ctx: ViewContext): unknown {
  return { id: vol.id, name: vol.name, links: volumeLinks(vol, ctx) };
}

/**
 * Until the scheduler placed the volume Cinder shows `service_uuid: null` and
 * `shared_targets: true`; the answer to the create call also lacks the host / tenant fields.
 */
export function volumeDetail(vol: VolumeRecord, attachments: AttachmentRecord[], where: Placement, ctx: ViewContext, createAnswer = false): unknown {
  const v = ctx.version;
  const out: Record<string, unknown> = {
    id: vol.id,
    status: vol.status,
    size: vol.size,
    availability_zone: "nova",
    created_at: vol.created_at,
    updated_at: vol.updated_at,
    name: vol.name,
    description: vol.description,
    volume_type: vol.volume_type,
    snapshot_id: null,
    source_volid: null,
    metadata: vol.metadata,
    links: volumeLinks(vol, ctx),
    user_id: vol.user_id,
    bootable: vol.bootable ? "true" : "false",
    encrypted: false,
    replication_status: null,
    consistencygroup_id: null,
    multiattach: vol.multiattach,
    attachments: attachments.filter((a) => a.status === "attached").map((a) => volumeAttachmentView(vol, a)),
    migration_status: null,
  };
  if (atLeast(v, FEATURE.groups)) out["group_id"] = null;
  if (atLeast(v, FEATURE.providerId)) out["provider_id"] = null;
  if (atLeast(v, FEATURE.sharedTargets)) {
    out["shared_targets"] = !vol.placed;
    out["service_uuid"] = vol.placed ? SERVICE_UUID : null;
  }
  if (atLeast(v, FEATURE.clusterName)) out["cluster_name"] = null;
  if (atLeast(v, FEATURE.volumeTypeId)) out["volume_type_id"] = where.type_id;
  if (atLeast(v, FEATURE.consumesQuota)) out["consumes_quota"] = true;
  if (!createAnswer) {
    out["os-vol-tenant-attr:tenant_id"] = vol.project_id;
    out["os-vol-mig-status-attr:migstat"] = null;
    out["os-vol-mig-status-attr:name_id"] = null;
    out["os-vol-host-attr:host"] = where.host;
  }
  return out;
}

/** An entry of a volume's `attachments`: note `id` is the VOLUME's id, as Cinder shows it. */
function volumeAttachmentView(vol: VolumeRecord, a: AttachmentRecord): unknown {
  return {
    id: vol.id,
    attachment_id: a.id,
    volume_id: vol.id,
    server_id: a.instance_uuid,
    host_name: a.host_name,
    device: a.mountpoint,
    attached_at: a.attached_at,
  };
}

function volumeLinks(vol: VolumeRecord, ctx: ViewContext): unknown[] {
  return [
    { rel: "self", href: `${ctx.baseUrl}/v3/${vol.project_id}/volumes/${vol.id}` },
    { rel: "bookmark", href: `${ctx.baseUrl}/${vol.project_id}/volumes/${vol.id}` },
  ];
}

export function attachmentSummary(a: AttachmentRecord): unknown {
  return { id: a.id, status: a.status, instance: a.instance_uuid, volume_id: a.volume_id };
}

export function attachmentDetail(a: AttachmentRecord): unknown {
  return {
    id: a.id,
    status: a.status,
    instance: a.instance_uuid,
    volume_id: a.volume_id,
    attached_at: a.attached_at ?? "",
    detached_at: "",
    attach_mode: a.attach_mode ?? "null",
    connection_info: a.connection_info,
  };
}

/** An entry of GET /types (an admin sees extra_specs; noauth callers are admins). */
export function volumeTypeView(t: VolumeTypeRecord, inList: boolean): unknown {
  return {
    id: t.id,
    name: t.name,
    is_public: true,
    description: t.description,
    extra_specs: t.extra_specs,
    qos_specs_id: null,
    // the list shows the access extension's key, the single type does not (seen on Zed)
    ...(inList ? { "os-volume-type-access:is_public": true } : {}),
  };
}

const TOTAL_GB = 10;

/** A pool of GET /scheduler-stats/get_pools?detail=true, key for key as the LVM driver reports it. */
export function poolView(p: { name: string; backend: BackendSpec; volumes: number; allocatedGb: number }, detail: boolean, host: string): unknown {
  if (!detail) return { name: p.name };
  const b = p.backend;
  const lvm = b.protocol === "iSCSI";
  return {
    name: p.name,
    capabilities: {
      pool_name: b.name,
      total_capacity_gb: TOTAL_GB,
      free_capacity_gb: Math.max(0, TOTAL_GB - p.allocatedGb),
      reserved_percentage: 0,
      location_info: lvm ? `LVMVolumeDriver:${host}:cinder-volumes:default:0` : `LabFCDriver:${host}:${b.name}`,
      QoS_support: false,
      provisioned_capacity_gb: p.allocatedGb,
      max_over_subscription_ratio: "20.0",
      thin_provisioning_support: false,
      thick_provisioning_support: true,
      total_volumes: p.volumes,
      filter_function: null,
      goodness_function: null,
      multiattach: true,
      backend_state: "up",
      allocated_capacity_gb: p.allocatedGb,
      cacheable: true,
      volume_backend_name: b.name,
      storage_protocol: b.protocol,
      vendor_name: lvm ? "Open Source" : "sanboot lab",
      driver_version: lvm ? "3.0.0" : "1.0.0",
      timestamp: timestamp(),
    },
  };
}
