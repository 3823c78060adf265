/**
 * The zod schemas of what the API shows (./views, ./site-views): the OpenAPI document is generated
 * from them (lib/api/openapi.ts, lib/api/operations.ts) and each view's type is inferred from its
 * schema. Only the openapi function and the tests build them; the functions that show views use
 * their types alone (issue 11, cold start: each zod schema is built when its module loads).
 */
import { z } from "zod";
import { bmcTarget, initiatorNetwork } from "../relay/common";
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
export type NodePage = z.infer<typeof nodePageSchema>;
export type RequestPage = z.infer<typeof requestPageSchema>;

export const siteViewSchema = z.strictObject({
  site: z.string(),
  source: z.enum(["table", "environment"]).describe("table: managed through this API; environment: from SANBOOT_RELAY_TOKENS / SANBOOT_SITE_KEYS"),
  description: z.string().nullable(),
  relay_tokens: z.array(z.strictObject({ sha256: z.string(), added_at: time.nullable() })).describe("the tokens the site's relays may use, as SHA-256; the tokens themselves are never stored"),
  sealing_public_key: z.string().nullable(),
  node_count: z.number().int().min(0).nullable().describe("nodes enrolled at the site; null for a site from the environment (not counted)"),
  version: z.number().int().min(1).nullable(),
  created_at: time.nullable(),
  updated_at: time.nullable(),
});
export type SiteView = z.infer<typeof siteViewSchema>;

export const relayViewSchema = z.strictObject({
  relay_id: z.string(),
  version: z.string().nullable(),
  concurrency: z.number().int().nullable(),
  first_seen_at: time,
  last_seen_at: time.describe("its last lease or heartbeat call, as recorded (at most ~30 s behind)"),
  online: z.boolean().describe("heard from within SANBOOT_RELAY_OFFLINE_SECONDS"),
});

export const siteDetailSchema = siteViewSchema.extend({
  relays: z.array(relayViewSchema),
  relay_status: z.enum(["online", "offline", "never_seen"]),
  commands: z.strictObject({
    queued: z.number().int().min(0),
    in_flight: z.number().int().min(0).describe("leased to a relay and not reported yet"),
    oldest_queued_age_seconds: z.number().min(0).nullable(),
    /** the counts stop at this many commands */
    counted_up_to: z.number().int(),
  }),
});
export type SiteDetail = z.infer<typeof siteDetailSchema>;

export const sitePageSchema = z.strictObject({ sites: z.array(siteViewSchema), next_cursor: z.string().nullable() });
