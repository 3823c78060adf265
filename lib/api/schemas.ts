/**
 * What callers may send, parsed with zod. Objects are strict: an unknown field is an error that
 * names it, as is every wrong type.
 */
import { z } from "zod";
import { bmcTarget, initiatorNetwork } from "../relay/protocol";
import { REQUEST_STATES } from "../workflow";

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and dashes (at most 63)");
const mac = z.string().regex(/^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/, "must be a MAC address like 52:54:00:12:34:56");
export const uuid = z.string().uuid("must be a UUID");
const wwn = z
  .string()
  .regex(/^(([0-9A-Fa-f]{2}[:-]){7}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{16})$/, "must be a WWN like 10:00:00:00:c9:12:34:56")
  .transform((w) => w.replace(/[:-]/g, "").toLowerCase());

const bmcInput = bmcTarget.extend({
  address: z
    .string()
    .url("must be a URL")
    .refine((u) => u.startsWith("https://"), "must be an https:// URL (BMC traffic is always TLS)"),
});

export const enrollNode = z.strictObject({
  name: z.string().min(1).max(128).optional(),
  site: slug,
  project_id: z.string().min(1).max(64).optional(),
  bmc: bmcInput,
  boot_mode: z.enum(["uefi", "bios"]).default("uefi"),
  /** once: the SAN override holds for the next boot only; continuous: until undeploy */
  boot_override: z.enum(["once", "continuous"]).default("once"),
  mac_address: mac.optional(),
  /** the HBA port to boot from over Fibre Channel; the first FC port when absent */
  fc_wwpn: wwn.optional(),
  network: initiatorNetwork.default({ mode: "dhcp" }),
  /** BIOS settings a SAN boot needs (HPE iSCSIPolicy, the NIC's NicBootN): allow sanboot to set them (and put them back), or refuse */
  bios_changes: z.enum(["refuse", "allow"]).default("refuse"),
});
export type EnrollNodeInput = z.infer<typeof enrollNode>;

export const updateNode = z
  .strictObject({
    name: z.string().min(1).max(128).nullable(),
    site: slug,
    bmc: bmcInput,
    boot_mode: z.enum(["uefi", "bios"]),
    boot_override: z.enum(["once", "continuous"]),
    mac_address: mac.nullable(),
    fc_wwpn: wwn.nullable(),
    network: initiatorNetwork,
    bios_changes: z.enum(["refuse", "allow"]),
  })
  .partial()
  .refine((o) => Object.keys(o).length > 0, "send at least one field to change");
export type UpdateNodeInput = z.infer<typeof updateNode>;

export const bootFromVolume = z.strictObject({
  volume_id: uuid,
  protocol: z.enum(["iscsi", "fibre_channel", "auto"]).default("auto"),
  boot_method: z.enum(["firmware"]).default("firmware"),
  multipath: z.boolean().default(false),
});
export type BootFromVolumeInput = z.infer<typeof bootFromVolume>;

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(2048).optional(),
});

export const listRequestsQuery = listQuery.extend({
  node_id: uuid.optional(),
  state: z.enum(REQUEST_STATES).optional(),
});

export const idempotencyKey = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

/** The EventBridge form of a boot request (detail-type "BootFromVolumeRequested"). */
export const bootFromVolumeEvent = z.strictObject({
  project_id: z.string().min(1),
  node_id: uuid,
  idempotency_key: idempotencyKey.optional(),
  request: bootFromVolume,
});
