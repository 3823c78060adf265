/**
 * JSON views of volumes and attachments, key for key as Cinder Zed shows them, including which
 * keys appear at which microversion and the fields a create answer still lacks.
 */
import { atLeast, FEATURE, type Version } from "./microversion";
import type { AttachmentRecord, VolumeRecord } from "./store";

const VOLUME_TYPE_ID = "2b190e67-ef8b-4994-8291-e16d8b28fe60";
const SERVICE_UUID = "0bcfff9f-0a42-44cd-8bf3-0b84890719aa";
const HOST = "cinder-emulator@lvm#lvm";

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
export function volumeDetail(vol: VolumeRecord, attachments: AttachmentRecord[], ctx: ViewContext, createAnswer = false): unknown {
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
  if (atLeast(v, FEATURE.volumeTypeId)) out["volume_type_id"] = VOLUME_TYPE_ID;
  if (atLeast(v, FEATURE.consumesQuota)) out["consumes_quota"] = true;
  if (!createAnswer) {
    out["os-vol-tenant-attr:tenant_id"] = vol.project_id;
    out["os-vol-mig-status-attr:migstat"] = null;
    out["os-vol-mig-status-attr:name_id"] = null;
    out["os-vol-host-attr:host"] = vol.placed ? HOST : null;
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
