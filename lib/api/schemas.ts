/**
 * What callers may send, parsed with zod. Objects are strict: an unknown field is an error that
 * names it, as is every wrong type.
 */
import { z } from "zod/mini";
import { bmcTarget, initiatorNetwork } from "../relay/common";
import { REQUEST_STATES } from "../workflow";

// zod/mini rather than zod: the same schemas, built 2-3x faster when the module loads (issue 11).
// It has no .describe() / .meta() (4.1): these do what zod's do, register a copy of the schema
// rather than the schema itself (the OpenAPI document then comes out the same, key for key).
const meta = <T extends z.ZodMiniType>(schema: T, metadata: z.core.GlobalMeta): T => {
  const described = schema.clone();
  z.globalRegistry.add(described, metadata);
  return described;
};
const describe = <T extends z.ZodMiniType>(schema: T, description: string): T => meta(schema, { description });

const slug = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and dashes (at most 63)"));
const mac = z.string().check(z.regex(/^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/, "must be a MAC address like 52:54:00:12:34:56"));
// the format as a check on a string, as zod's z.string().uuid() is: z.uuid("must be a UUID")
// alone would answer that message also to a value that is no string
export const uuid = z.string().check(z.uuid("must be a UUID"));
const wwn = z.pipe(
  z.string().check(z.regex(/^(([0-9A-Fa-f]{2}[:-]){7}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{16})$/, "must be a WWN like 10:00:00:00:c9:12:34:56")),
  z.transform((w: string) => w.replace(/[:-]/g, "").toLowerCase()),
);

const bmcInput = z.extend(bmcTarget, {
  // a pattern rather than a refine, so the OpenAPI document carries it (the pattern drops the
  // format, given back in meta; url first keeps "must be a URL" the first complaint)
  address: meta(z.string().check(z.url("must be a URL"), z.regex(/^https:\/\//, "must be an https:// URL (BMC traffic is always TLS)")), {
    format: "uri",
    description: "the BMC's base URL, always https://",
  }),
});

export const enrollNode = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  site: slug,
  project_id: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  bmc: bmcInput,
  boot_mode: z._default(z.enum(["uefi", "bios"]), "uefi"),
  boot_override: describe(z._default(z.enum(["once", "continuous"]), "once"), "once: the SAN boot override holds for the next boot only; continuous: until undeploy"),
  mac_address: describe(z.optional(mac), "the iSCSI boot port; the first iSCSI-capable port when absent"),
  fc_wwpn: describe(z.optional(wwn), "the HBA port to boot from over Fibre Channel; the first FC port when absent"),
  network: describe(z._default(initiatorNetwork, { mode: "dhcp" }), "the initiator's address: DHCP, or static"),
  bios_changes: describe(
    z._default(z.enum(["refuse", "allow"]), "refuse"),
    "BIOS settings a SAN boot needs (HPE iSCSIPolicy, the NIC's NicBootN): allow sanboot to set them (and put them back on undo), or refuse",
  ),
});
export type EnrollNodeInput = z.infer<typeof enrollNode>;

export const updateNode = meta(
  z
    .partial(
      z.strictObject({
        name: z.nullable(z.string().check(z.minLength(1), z.maxLength(128))),
        site: slug,
        bmc: bmcInput,
        boot_mode: z.enum(["uefi", "bios"]),
        boot_override: z.enum(["once", "continuous"]),
        mac_address: z.nullable(mac),
        fc_wwpn: z.nullable(wwn),
        network: initiatorNetwork,
        bios_changes: z.enum(["refuse", "allow"]),
      }),
    )
    .check(z.refine((o) => Object.keys(o).length > 0, "send at least one field to change")),
  { minProperties: 1, description: "the fields to change, at least one; null clears name, mac_address and fc_wwpn" },
);
export type UpdateNodeInput = z.infer<typeof updateNode>;

export const bootFromVolume = z.strictObject({
  volume_id: uuid,
  protocol: describe(z._default(z.enum(["iscsi", "fibre_channel", "auto"]), "auto"), "auto: from the volume's backend"),
  boot_method: z._default(z.enum(["firmware"]), "firmware"),
  multipath: describe(z._default(z.boolean(), false), "boot over every path the volume's target offers (iSCSI: the BMC's secondary target too)"),
});
export type BootFromVolumeInput = z.infer<typeof bootFromVolume>;

export const listQuery = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 50),
  cursor: z.optional(z.string().check(z.maxLength(2048))),
});

export const listRequestsQuery = z.extend(listQuery, {
  node_id: z.optional(uuid),
  state: z.optional(z.enum(REQUEST_STATES)),
});

const sha256 = z.string().check(z.regex(/^[0-9a-f]{64}$/, "must be the hex SHA-256 of a relay token (sha256sum of the token file)"));
const tokenHashes = describe(
  z.array(sha256).check(
    z.minLength(1, "name at least one relay token"),
    z.maxLength(4, "at most 4 relay tokens"),
    z.refine((a) => new Set(a).size === a.length, "each token once"),
  ),
  "SHA-256 (hex) of each relay token the site accepts; two while one is rotated out",
);
const sealingKey = describe(
  z.string().check(z.maxLength(1024), z.includes("BEGIN PUBLIC KEY", { message: "must be a PEM public key (sanboot-relay keygen prints it)" })),
  "the site's X25519 public key (PEM): target secrets are sealed so that only its relay reads them",
);

export const siteName = slug;

export const createSite = z.strictObject({
  site: slug,
  description: z.optional(z.nullable(z.string().check(z.maxLength(256)))),
  relay_token_sha256: tokenHashes,
  sealing_public_key: z.optional(z.nullable(sealingKey)),
});
export type CreateSiteInput = z.infer<typeof createSite>;

export const updateSite = meta(
  z
    .partial(
      z.strictObject({
        description: z.nullable(z.string().check(z.maxLength(256))),
        relay_token_sha256: tokenHashes,
        sealing_public_key: z.nullable(sealingKey),
        version: describe(
          z.int().check(z.minimum(1)),
          "the version the change was made from (as read): refused with 409 VERSION_CONFLICT when the site changed since",
        ),
      }),
    )
    .check(z.refine((o) => Object.keys(o).some((k) => k !== "version"), "send at least one field to change")),
  { minProperties: 1, description: "the fields to change, at least one; relay_token_sha256 replaces the list (rotation: old and new, then new)" },
);
export type UpdateSiteInput = z.infer<typeof updateSite>;

export const idempotencyKey = z.string().check(z.minLength(1), z.maxLength(255), z.regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"));

/** The EventBridge form of a boot request (detail-type "BootFromVolumeRequested"). */
export const bootFromVolumeEvent = z.strictObject({
  project_id: z.string().check(z.minLength(1)),
  node_id: uuid,
  idempotency_key: z.optional(idempotencyKey),
  request: bootFromVolume,
});
