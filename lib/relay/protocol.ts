/**
 * The wire protocol between the service and a site's relay agent, shared by both sides.
 *
 * The relay long-polls `POST /v1/relay/lease`, executes each leased command against a BMC, sends
 * `POST /v1/relay/commands/{command_id}/heartbeat` while it works (extending its lease) and
 * `POST /v1/relay/commands/{command_id}/result` when done. A command whose lease expires is
 * handed to the next lease call, so every command must be safe to execute twice.
 *
 * BMC credentials never travel: a command names `credentials_ref`, which the relay resolves in
 * its own configuration.
 */
import { z } from "zod";

export const bmcTarget = z.strictObject({
  /** auto: chosen from the BMC's ServiceRoot / Manager (generic Redfish, Dell iDRAC, HPE iLO) */
  driver: z.enum(["auto", "redfish", "idrac", "ilo"]).default("auto"),
  /** base URL of the BMC, e.g. https://10.0.0.5:443 */
  address: z.string().url(),
  /** ComputerSystem id under /redfish/v1/Systems */
  system_id: z.string().min(1),
  credentials_ref: z.string().min(1),
  tls: z
    .strictObject({
      verify: z.boolean().default(true),
    })
    .default({ verify: true }),
});
export type BmcTarget = z.infer<typeof bmcTarget>;

export const iscsiTargetSpec = z.strictObject({
  name: z.string().min(1),
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  lun: z.number().int().min(0),
});
export type IscsiTargetSpec = z.infer<typeof iscsiTargetSpec>;

export const initiatorNetwork = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("dhcp") }),
  z.strictObject({
    mode: z.literal("static"),
    address: z.string().min(1),
    netmask: z.string().min(1),
    gateway: z.string().min(1).optional(),
    vlan_id: z.number().int().min(0).max(4094).optional(),
  }),
]);
export type InitiatorNetwork = z.infer<typeof initiatorNetwork>;

export const iscsiBootSpec = z.strictObject({
  /** which NIC function: by MAC address, or the first iSCSI-capable function when absent */
  mac_address: z.string().optional(),
  initiator_name: z.string().min(1),
  network: initiatorNetwork,
  /** primary first; a second entry is the secondary path (multipath) */
  targets: z.array(iscsiTargetSpec).min(1).max(2),
  auth: z.discriminatedUnion("method", [
    z.strictObject({ method: z.literal("None") }),
    z.strictObject({ method: z.literal("CHAP"), username: z.string(), secret: z.string() }),
    z.strictObject({
      method: z.literal("MutualCHAP"),
      username: z.string(),
      secret: z.string(),
      mutual_username: z.string(),
      mutual_secret: z.string(),
    }),
  ]),
  boot_mode: z.enum(["uefi", "bios"]),
});
export type IscsiBootSpec = z.infer<typeof iscsiBootSpec>;

export const fcBootSpec = z.strictObject({
  /** the HBA port to boot from (its WWPN); the first FC-capable function when absent */
  wwpn: z.string().optional(),
  /** primary first; more with multipath */
  targets: z.array(z.strictObject({ wwpn: z.string(), lun: z.union([z.string(), z.number()]), priority: z.number().int().min(0).optional() })).min(1).max(8),
});
export type FcBootSpecWire = z.infer<typeof fcBootSpec>;

/** What a function held before sanboot wrote to it (lib/bmc SanBootSnapshot), kept for undo. */
export const sanBootSnapshot = z.record(z.string(), z.unknown());

export const commandBody = z.discriminatedUnion("type", [
  /** read the FC HBA ports' WWPNs / WWNNs (at enrollment, and when a FC boot finds none cached) */
  z.strictObject({ type: z.literal("read_fc_inventory"), bmc: bmcTarget }),
  /** write the HBA function's FibreChannel.BootTargets (no PATCH when already set) */
  z.strictObject({ type: z.literal("configure_fc_boot"), bmc: bmcTarget, fc: fcBootSpec }),
  /** write the NIC function's iSCSIBoot settings (no PATCH when they already hold the target) */
  z.strictObject({ type: z.literal("configure_san_boot"), bmc: bmcTarget, iscsi: iscsiBootSpec }),
  /** set a boot override to the SAN target, then power on (or reset when already on) */
  z.strictObject({
    type: z.literal("power_on"),
    bmc: bmcTarget,
    boot_mode: z.enum(["uefi", "bios"]),
    /** once: the next boot only; continuous: every boot until undeploy clears it */
    boot_override: z.enum(["once", "continuous"]).default("once"),
  }),
  /** wait (at the site, not in the cloud) until the BMC reports the system on */
  z.strictObject({ type: z.literal("await_power_on"), bmc: bmcTarget, timeout_seconds: z.number().int().positive() }),
  /** power off, clear the SAN boot target and the boot override */
  z.strictObject({
    type: z.literal("clear_san_boot"),
    bmc: bmcTarget,
    protocol: z.enum(["iscsi", "fibre_channel"]).default("iscsi"),
    mac_address: z.string().optional(),
    wwpn: z.string().optional(),
    /** what configure found there: restored instead of blanked */
    previous: sanBootSnapshot.optional(),
  }),
]);
export type CommandBody = z.infer<typeof commandBody>;
export type CommandType = CommandBody["type"];

/** A command as a relay receives it from a lease. */
export const leasedCommand = z.strictObject({
  command_id: z.string(),
  lease_token: z.string(),
  lease_expires_at: z.string(),
  attempt: z.number().int().min(1),
  body: commandBody,
});
export type LeasedCommand = z.infer<typeof leasedCommand>;

export const leaseRequest = z.strictObject({
  relay_id: z.string().min(1).max(128),
  max_commands: z.number().int().min(1).max(32).default(4),
  wait_seconds: z.number().min(0).max(25).default(20),
});
export type LeaseRequest = z.infer<typeof leaseRequest>;

export const leaseResponse = z.strictObject({ commands: z.array(leasedCommand) });
export type LeaseResponse = z.infer<typeof leaseResponse>;

export const heartbeatRequest = z.strictObject({ lease_token: z.string().min(1) });
export type HeartbeatRequest = z.infer<typeof heartbeatRequest>;

export const commandOutcome = z.discriminatedUnion("ok", [
  z.strictObject({
    ok: z.literal(true),
    result: z.record(z.string(), z.unknown()).default({}),
  }),
  z.strictObject({
    ok: z.literal(false),
    error: z.strictObject({
      code: z.string(),
      message: z.string(),
      retryable: z.boolean(),
    }),
  }),
]);
export type CommandOutcome = z.infer<typeof commandOutcome>;

export const resultRequest = z.strictObject({
  lease_token: z.string().min(1),
  outcome: commandOutcome,
});
export type ResultRequest = z.infer<typeof resultRequest>;
