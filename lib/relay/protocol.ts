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
import { z } from "zod/mini";
import { bmcTarget, initiatorNetwork, SEQUENCE_STEPS } from "./common";

// the BMC a command is for, an initiator's network and the steps of a boot sequence live in
// ./common (the API's schemas and the status view use them without the rest of the protocol: each
// function builds only the schemas it reaches)
export { bmcTarget, initiatorNetwork, SEQUENCE_STEPS, type BmcTarget, type InitiatorNetwork, type SequenceStep } from "./common";
// the evidence of BMC writes lives in ./evidence: the step that reads a command's end parses it
// without the rest of the protocol
import { bmcEvidence, jsonValue } from "./evidence";
export { bmcEvidence, claim, jsonValue } from "./evidence";

// zod/mini rather than zod: the same schemas, built 2-3x faster when the module loads (issue 11)

export const iscsiTargetSpec = z.strictObject({
  name: z.string().check(z.minLength(1)),
  address: z.string().check(z.minLength(1)),
  port: z.int().check(z.minimum(1), z.maximum(65535)),
  lun: z.int().check(z.minimum(0)),
});
export type IscsiTargetSpec = z.infer<typeof iscsiTargetSpec>;

export const iscsiBootSpec = z.strictObject({
  /** which NIC function: by MAC address, or the first iSCSI-capable function when absent */
  mac_address: z.optional(z.string()),
  initiator_name: z.string().check(z.minLength(1)),
  network: initiatorNetwork,
  /** primary first; a second entry is the secondary path (multipath) */
  targets: z.array(iscsiTargetSpec).check(z.minLength(1), z.maxLength(2)),
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
  /**
   * BIOS settings the boot needs (HPE: iSCSIPolicy, the NIC's NicBootN): `allow` lets sanboot
   * set them (claimed, and put back on undo); `refuse` (default) fails naming what to set
   */
  bios_changes: z.optional(z.enum(["refuse", "allow"])),
});
export type IscsiBootSpec = z.infer<typeof iscsiBootSpec>;

export const fcBootSpec = z.strictObject({
  /** the HBA port to boot from (its WWPN); the first FC-typed function when absent */
  wwpn: z.optional(z.string()),
  /** the node's boot mode: the override must be able to name the FC device in it */
  boot_mode: z.optional(z.enum(["uefi", "bios"])),
  /** primary first; more with multipath */
  targets: z
    .array(z.strictObject({ wwpn: z.string(), lun: z.union([z.string(), z.number()]), priority: z.optional(z.int().check(z.minimum(0))) }))
    .check(z.minLength(1), z.maxLength(8)),
});
export type FcBootSpecWire = z.infer<typeof fcBootSpec>;

/**
 * When the command's time is up (the workflow step's deadline): every wait at the relay ends by
 * then, with a margin to report. Absent: the relay's default for commands no step waits on.
 */
const deadlineAt = z.optional(z.iso.datetime({ offset: true }));

/** read the FC HBA ports' WWPNs / WWNNs (at enrollment, and when a FC boot finds none cached) */
const readFcInventory = z.strictObject({ type: z.literal("read_fc_inventory"), bmc: bmcTarget, deadline_at: deadlineAt });
/** write the HBA function's FibreChannel.BootTargets (no PATCH when already set) */
const configureFcBoot = z.strictObject({ type: z.literal("configure_fc_boot"), bmc: bmcTarget, fc: fcBootSpec, evidence: z.optional(bmcEvidence), deadline_at: deadlineAt });
/** write the NIC function's iSCSIBoot settings (no PATCH when they already hold the target) */
const configureSanBoot = z.strictObject({ type: z.literal("configure_san_boot"), bmc: bmcTarget, iscsi: iscsiBootSpec, evidence: z.optional(bmcEvidence), deadline_at: deadlineAt });
/** set a boot override to the SAN target, then power on (or reset when already on) */
const powerOn = z.strictObject({
  type: z.literal("power_on"),
  bmc: bmcTarget,
  boot_mode: z.enum(["uefi", "bios"]),
  /** once: the next boot only; continuous: every boot until undeploy clears it */
  boot_override: z._default(z.enum(["once", "continuous"]), "once"),
  /** the SAN targets (iSCSI target IQNs, FC target WWPNs) a UEFI device path must name */
  san_targets: z._default(z.array(z.string()), []),
  evidence: z.optional(bmcEvidence),
  deadline_at: deadlineAt,
});
/** wait (at the site, not in the cloud) until the BMC reports the system booted, or on where it reports no boot progress */
const awaitPowerOn = z.strictObject({
  type: z.literal("await_power_on"),
  bmc: bmcTarget,
  evidence: z.optional(bmcEvidence),
  deadline_at: deadlineAt,
});

/**
 * The rest of a boot in one command (relays that announce the `boot_sequence` capability): the
 * steps from the request's current one through await_boot, each the body it would have as a
 * command of its own (same BMC), run in order against one evidence. The relay reports each step
 * it finished (`progress`, with the heartbeat that follows it and with the result), so the
 * service records each step's end even when a later one fails.
 */
const bootSequence = z.strictObject({
  type: z.literal("boot_sequence"),
  bmc: bmcTarget,
  steps: z
    .array(
      z.strictObject({
        step: z.enum(SEQUENCE_STEPS),
        body: z.discriminatedUnion("type", [
          z.omit(configureFcBoot, { evidence: true, deadline_at: true }),
          z.omit(configureSanBoot, { evidence: true, deadline_at: true }),
          z.omit(powerOn, { evidence: true, deadline_at: true }),
          z.omit(awaitPowerOn, { evidence: true, deadline_at: true }),
        ]),
      }),
    )
    .check(z.minLength(1), z.maxLength(SEQUENCE_STEPS.length)),
  evidence: z.optional(bmcEvidence),
  deadline_at: deadlineAt,
});

export const commandBody = z.discriminatedUnion("type", [
  readFcInventory,
  configureFcBoot,
  configureSanBoot,
  powerOn,
  awaitPowerOn,
  bootSequence,
  /** undo: power off what sanboot powered on, put back what it wrote (by evidence only) */
  z.strictObject({ type: z.literal("clear_san_boot"), bmc: bmcTarget, evidence: z._default(bmcEvidence, { claims: [] }), deadline_at: deadlineAt }),
]);
export type CommandBody = z.infer<typeof commandBody>;
export type CommandType = CommandBody["type"];
export type SequenceBody = Extract<CommandBody, { type: "boot_sequence" }>;
/** One body of a boot sequence: a command body of its own, without the evidence and deadline the sequence carries. */
export type SequenceStepBody = SequenceBody["steps"][number]["body"];

/** What a relay can do beyond the commands every relay runs; announced with each lease call. */
export const RELAY_CAPABILITIES = ["boot_sequence"] as const;

/**
 * The relay's Redfish calls for one run of a command, measured at the site (the service cannot
 * see them): how many, how many failed (no answer, or not a 2xx), and up to 100 of their
 * latencies. The service publishes them as BmcLatency / BmcErrors. Optional: a relay that
 * predates it sends none.
 */
export const bmcCalls = z.strictObject({
  count: z.int().check(z.minimum(0)),
  failures: z.int().check(z.minimum(0)),
  latencies_ms: z.array(z.number().check(z.minimum(0))).check(z.maxLength(100)),
});
export type BmcCalls = z.infer<typeof bmcCalls>;

/** The steps of a boot sequence the relay finished, in order: each with its result, when it ended and its Redfish calls. */
export const sequenceProgress = z
  .array(
    z.strictObject({
      step: z.enum(SEQUENCE_STEPS),
      at: z.iso.datetime(),
      result: z._default(z.record(z.string(), z.unknown()), {}),
      bmc_calls: z.optional(bmcCalls),
    }),
  )
  .check(z.maxLength(SEQUENCE_STEPS.length));
export type SequenceProgress = z.infer<typeof sequenceProgress>;

/** A command as a relay receives it from a lease. */
export const leasedCommand = z.strictObject({
  command_id: z.string(),
  lease_token: z.string(),
  lease_expires_at: z.string(),
  attempt: z.int().check(z.minimum(1)),
  body: commandBody,
  /** what an earlier run of this very command recorded before it wrote (it was leased again) */
  checkpoint: z.optional(bmcEvidence),
});
export type LeasedCommand = z.infer<typeof leasedCommand>;

export const leaseRequest = z.strictObject({
  relay_id: z.string().check(z.minLength(1), z.maxLength(128)),
  max_commands: z._default(z.int().check(z.minimum(1), z.maximum(32)), 4),
  wait_seconds: z._default(z.number().check(z.minimum(0), z.maximum(25)), 20),
  /** what the relay is (sanboot-relay --version) and how many commands it holds at once: shown in the site's relay health */
  relay_version: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  concurrency: z.optional(z.int().check(z.minimum(1), z.maximum(1024))),
  /** what it can run beyond the basic commands (RELAY_CAPABILITIES); an older relay sends none */
  capabilities: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.maxLength(32))),
});
export type LeaseRequest = z.infer<typeof leaseRequest>;

export const leaseResponse = z.strictObject({ commands: z.array(leasedCommand) });
export type LeaseResponse = z.infer<typeof leaseResponse>;

export const heartbeatRequest = z.strictObject({
  lease_token: z.string().check(z.minLength(1)),
  /** the relay's id: a relay busy with held commands is heard from through its heartbeats */
  relay_id: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  /** the command's evidence so far, stored before the write it describes (replaces the last one) */
  checkpoint: z.optional(bmcEvidence),
  /** a boot sequence's steps finished so far (replaces the last list) */
  progress: z.optional(sequenceProgress),
});
export const releaseRequest = z.strictObject({ lease_token: z.string().check(z.minLength(1)) });
export type HeartbeatRequest = z.infer<typeof heartbeatRequest>;

/** `{request_id}.{step}.{attempt}`, or `{node_id}.node_inventory.{version}` (the path's command_id) */
export const commandId = z.string().check(z.regex(/^[0-9a-f-]{36}\.[a-z_]+\.\d+$/, "must be a command id"));

export const heartbeatResponse = z.strictObject({ lease_expires_at: z.iso.datetime() });
/** `GET /v1/relay/whoami`: the site the relay's token belongs to (sanboot-relay check compares it with its configuration). */
export const whoamiResponse = z.strictObject({ site: z.string() });
export type WhoamiResponse = z.infer<typeof whoamiResponse>;
export const releaseResponse = z.strictObject({ released: z.literal(true) });
export const resultResponse = z.strictObject({ accepted: z.literal(true) });
export type HeartbeatResponse = z.infer<typeof heartbeatResponse>;
export type ReleaseResponse = z.infer<typeof releaseResponse>;
export type ResultResponse = z.infer<typeof resultResponse>;

export const commandOutcome = z.discriminatedUnion("ok", [
  z.strictObject({
    ok: z.literal(true),
    result: z._default(z.record(z.string(), z.unknown()), {}),
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
  lease_token: z.string().check(z.minLength(1)),
  outcome: commandOutcome,
  bmc_calls: z.optional(bmcCalls),
  /** a boot sequence's steps that finished, also when a later one failed */
  progress: z.optional(sequenceProgress),
});
export type ResultRequest = z.infer<typeof resultRequest>;
