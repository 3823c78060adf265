/**
 * What callers may send, parsed with zod. Objects are strict: an unknown field is an error that
 * names it, as is every wrong type.
 */
import { z } from "zod";
import { bmcTarget, initiatorNetwork } from "../relay/common";
import { REQUEST_STATES } from "../workflow";

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and dashes (at most 63)");
const mac = z.string().regex(/^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/, "must be a MAC address like 52:54:00:12:34:56");
export const uuid = z.string().uuid("must be a UUID");
const wwn = z
  .string()
  .regex(/^(([0-9A-Fa-f]{2}[:-]){7}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{16})$/, "must be a WWN like 10:00:00:00:c9:12:34:56")
  .transform((w) => w.replace(/[:-]/g, "").toLowerCase());

const bmcInput = bmcTarget.extend({
  // a pattern rather than a refine, so the OpenAPI document carries it (the pattern drops the
  // format, given back in meta; url first keeps "must be a URL" the first complaint)
  address: z
    .string()
    .url("must be a URL")
    .regex(/^https:\/\//, "must be an https:// URL (BMC traffic is always TLS)")
    .meta({ format: "uri", description: "the BMC's base URL, always https://" }),
});

export const enrollNode = z.strictObject({
  name: z.string().min(1).max(128).optional(),
  site: slug,
  project_id: z.string().min(1).max(64).optional(),
  bmc: bmcInput,
  boot_mode: z.enum(["uefi", "bios"]).default("uefi"),
  boot_override: z.enum(["once", "continuous"]).default("once").describe("once: the SAN boot override holds for the next boot only; continuous: until undeploy"),
  mac_address: mac.optional().describe("the iSCSI boot port; the first iSCSI-capable port when absent"),
  fc_wwpn: wwn.optional().describe("the HBA port to boot from over Fibre Channel; the first FC port when absent"),
  network: initiatorNetwork.default({ mode: "dhcp" }).describe("the initiator's address: DHCP, or static"),
  bios_changes: z
    .enum(["refuse", "allow"])
    .default("refuse")
    .describe("BIOS settings a SAN boot needs (HPE iSCSIPolicy, the NIC's NicBootN): allow sanboot to set them (and put them back on undo), or refuse"),
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
  .refine((o) => Object.keys(o).length > 0, "send at least one field to change")
  .meta({ minProperties: 1, description: "the fields to change, at least one; null clears name, mac_address and fc_wwpn" });
export type UpdateNodeInput = z.infer<typeof updateNode>;

export const bootFromVolume = z.strictObject({
  volume_id: uuid,
  protocol: z.enum(["iscsi", "fibre_channel", "auto"]).default("auto").describe("auto: from the volume's backend"),
  boot_method: z.enum(["firmware"]).default("firmware"),
  multipath: z.boolean().default(false).describe("boot over every path the volume's target offers (iSCSI: the BMC's secondary target too)"),
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

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be the hex SHA-256 of a relay token (sha256sum of the token file)");
const tokenHashes = z
  .array(sha256)
  .min(1, "name at least one relay token")
  .max(4, "at most 4 relay tokens")
  .refine((a) => new Set(a).size === a.length, "each token once")
  .describe("SHA-256 (hex) of each relay token the site accepts; two while one is rotated out");
const sealingKey = z
  .string()
  .max(1024)
  .includes("BEGIN PUBLIC KEY", { message: "must be a PEM public key (sanboot-relay keygen prints it)" })
  .describe("the site's X25519 public key (PEM): target secrets are sealed so that only its relay reads them");

export const siteName = slug;

export const createSite = z.strictObject({
  site: slug,
  description: z.string().max(256).nullable().optional(),
  relay_token_sha256: tokenHashes,
  sealing_public_key: sealingKey.nullable().optional(),
});
export type CreateSiteInput = z.infer<typeof createSite>;

export const updateSite = z
  .strictObject({
    description: z.string().max(256).nullable(),
    relay_token_sha256: tokenHashes,
    sealing_public_key: sealingKey.nullable(),
    version: z.number().int().min(1).describe("the version the change was made from (as read): refused with 409 VERSION_CONFLICT when the site changed since"),
  })
  .partial()
  .refine((o) => Object.keys(o).some((k) => k !== "version"), "send at least one field to change")
  .meta({ minProperties: 1, description: "the fields to change, at least one; relay_token_sha256 replaces the list (rotation: old and new, then new)" });
export type UpdateSiteInput = z.infer<typeof updateSite>;

export const idempotencyKey = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

/** The EventBridge form of a boot request (detail-type "BootFromVolumeRequested"). */
export const bootFromVolumeEvent = z.strictObject({
  project_id: z.string().min(1),
  node_id: uuid,
  idempotency_key: idempotencyKey.optional(),
  request: bootFromVolume,
});
