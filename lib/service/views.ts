/**
 * What the API shows of stored records. Secrets are never part of a view: the CHAP password is
 * reduced to whether one exists.
 *
 * Each view is typed by its zod schema (the schema the OpenAPI document is generated from), so a
 * field added to a view and not to its schema, or of another type, does not compile.
 */
import { z } from "zod";
import { bmcTarget, initiatorNetwork } from "../relay/protocol";
import type { BootRequestRecord, NodeRecord } from "../store/records";
import type { Page } from "../store/state-store";
import { REQUEST_STATES, STEP_POLICY, type StepName } from "../workflow";

const id = z.uuid();
const time = z.iso.datetime();
const hex16 = z.string().regex(/^[0-9a-f]{16}$/, "16 lowercase hex digits");
const stepName = z.enum(Object.keys(STEP_POLICY) as [StepName, ...StepName[]]);
// a string, not the ErrorCode enum: a step the relay failed carries the code the relay reported
const errorRecord = z.strictObject({ code: z.string(), message: z.string() }).describe("a stable error code (see ErrorCode) and what happened");

export const nodeViewSchema = z.strictObject({
  node_id: id,
  project_id: z.string(),
  name: z.string().nullable(),
  site: z.string(),
  bmc: bmcTarget,
  boot_mode: z.enum(["uefi", "bios"]),
  boot_override: z.enum(["once", "continuous"]),
  mac_address: z
    .string()
    .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
    .nullable()
    .describe("the iSCSI boot port, lowercase; null: the first iSCSI-capable port"),
  network: initiatorNetwork,
  initiator_iqn: z.string().startsWith("iqn."),
  fc_wwpn: hex16.nullable().describe("the FC boot port; null: the first FC port"),
  bios_changes: z.enum(["refuse", "allow"]),
  fc_ports: z
    .array(z.strictObject({ wwpn: hex16, wwnn: hex16.nullable() }))
    .nullable()
    .describe("the FC ports as the BMC reported them through the relay after enrollment; null: not read yet"),
  inventory_error: errorRecord.nullable().describe("why the BMC could not be read; null when it was, or no read ran yet"),
  active_request_id: id.nullable(),
  version: z.number().int().min(1),
  created_at: time,
  updated_at: time,
});
export type NodeView = z.infer<typeof nodeViewSchema>;

const iscsiTargetView = z.strictObject({
  driver_volume_type: z.literal("iscsi"),
  paths: z.array(z.strictObject({ iqn: z.string(), portal: z.string(), lun: z.number().int().min(0) })),
  auth_method: z.enum(["None", "CHAP"]),
  auth_username: z.string().nullable(),
  auth_password: z.literal("[redacted]").nullable().describe("whether a CHAP password exists; it is never shown"),
});
const fcTargetView = z.strictObject({
  driver_volume_type: z.literal("fibre_channel"),
  wwns: z.array(z.string()),
  lun: z.number().int().min(0),
});

export const requestViewSchema = z.strictObject({
  request_id: id,
  node_id: id,
  project_id: z.string(),
  volume_id: id,
  protocol: z.enum(["iscsi", "fibre_channel"]).describe("what is used: `auto` resolved from the volume's backend"),
  requested_protocol: z.enum(["iscsi", "fibre_channel", "auto"]).describe("what the caller asked for"),
  multipath: z.boolean(),
  boot_method: z.enum(["firmware"]),
  state: z.enum(REQUEST_STATES),
  step: stepName.nullable().describe("the step to run now; null when nothing is left to do"),
  attempts: z.number().int().min(0),
  next_attempt_at: time.nullable(),
  error: errorRecord.nullable(),
  history: z.array(
    z.strictObject({
      state: z.enum(REQUEST_STATES),
      at: time,
      step: stepName.nullable(),
      attempts: z.number().int().min(0),
      error: errorRecord.nullable(),
    }),
  ),
  attachment_id: z.string().nullable(),
  target: z.discriminatedUnion("driver_volume_type", [iscsiTargetView, fcTargetView]).nullable(),
  boot_confirmed: z
    .boolean()
    .nullable()
    .describe("true only when the BMC's BootProgress showed an OS starting after sanboot's reset; false when the BMC offers no such evidence; null until await_boot ran"),
  boot_evidence: z.string().nullable().describe("what the BMC showed, or what it does not offer"),
  bmc_changes: z
    .array(
      z.strictObject({
        step: stepName,
        at: time,
        kind: z.enum(["function", "bios_iscsi", "bios", "override", "power", "settings"]),
        uri: z.string(),
        action: z.string(),
      }),
    )
    .describe("what each relay step changed on the BMC, in order"),
  created_at: time,
  updated_at: time,
});
export type RequestView = z.infer<typeof requestViewSchema>;

const nextCursor = z.string().nullable().describe("opaque: pass it back as `cursor` for the next page; null on the last page");

export const nodePageSchema = z.strictObject({ nodes: z.array(nodeViewSchema), next_cursor: nextCursor });
export const requestPageSchema = z.strictObject({ boot_requests: z.array(requestViewSchema), next_cursor: nextCursor });

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

export const nodePage = (p: Page<NodeRecord>): z.infer<typeof nodePageSchema> => ({ nodes: p.items.map(nodeView), next_cursor: p.cursor });
export const requestPage = (p: Page<BootRequestRecord>): z.infer<typeof requestPageSchema> => ({ boot_requests: p.items.map(requestView), next_cursor: p.cursor });
