/**
 * What the API shows of stored records. Secrets are never part of a view: the CHAP password is
 * reduced to whether one exists.
 *
 * Each view is typed by its zod schema (./view-schemas, the schemas the OpenAPI document is
 * generated from), so a field added to a view and not to its schema, or of another type, does not
 * compile. The schemas are imported as types only: a function that shows views does not build
 * them (issue 11, cold start).
 */
import type { BootRequestRecord, NodeRecord } from "../store/records";
import type { Page } from "../store/state-store";
import type { NodePage, NodeView, RequestPage, RequestView } from "./view-schemas";

export type { NodeView, RequestView } from "./view-schemas";

export function nodeView(n: NodeRecord): NodeView {
  return {
    node_id: n.node_id,
    project_id: n.project_id,
    name: n.name,
    site: n.site,
    bmc: n.bmc,
    boot_mode: n.boot_mode,
    boot_override: n.boot_override ?? "once",
    mac_address: n.mac_address,
    network: n.network,
    initiator_iqn: n.initiator_iqn,
    fc_wwpn: n.fc_wwpn ?? null,
    bios_changes: n.bios_changes ?? "refuse",
    fc_ports: n.fc_ports ?? null,
    inventory_error: n.inventory_error ?? null,
    active_request_id: n.active_request_id,
    version: n.version,
    created_at: n.created_at,
    updated_at: n.updated_at,
  };
}

export function requestView(r: BootRequestRecord): RequestView {
  return {
    request_id: r.request_id,
    node_id: r.node_id,
    project_id: r.project_id,
    volume_id: r.volume_id,
    protocol: r.protocol,
    requested_protocol: r.requested_protocol ?? r.protocol,
    multipath: r.multipath,
    boot_method: r.boot_method,
    state: r.state,
    step: r.step,
    attempts: r.attempts,
    next_attempt_at: r.next_attempt_at,
    error: r.error ? { code: r.error.code, message: r.error.message } : null,
    history: r.history.map((h) => ({
      state: h.state,
      at: h.at,
      step: h.step,
      attempts: h.attempts,
      error: h.error ? { code: h.error.code, message: h.error.message } : null,
    })),
    attachment_id: r.attachment_id,
    target: targetView(r.target),
    // active means PowerState On; this says whether the BMC showed an OS boot, and how it knows
    boot_confirmed: r.boot_confirmed ?? null,
    boot_evidence: r.boot_evidence ?? null,
    bmc_changes: (r.bmc_changes ?? []).map((c) => ({ step: c.step, at: c.at, kind: c.kind, uri: c.uri, action: c.action })),
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

function targetView(t: BootRequestRecord["target"]): RequestView["target"] {
  if (!t) return null;
  if (t.driver_volume_type === "fibre_channel") return { driver_volume_type: t.driver_volume_type, wwns: t.wwns, lun: t.lun };
  return {
    driver_volume_type: t.driver_volume_type,
    paths: t.paths,
    auth_method: t.auth_method,
    auth_username: t.auth_username,
    auth_password: t.auth_password_sealed ? "[redacted]" : null,
  };
}

export const nodePage = (p: Page<NodeRecord>): NodePage => ({ nodes: p.items.map(nodeView), next_cursor: p.cursor });
export const requestPage = (p: Page<BootRequestRecord>): RequestPage => ({ boot_requests: p.items.map(requestView), next_cursor: p.cursor });
