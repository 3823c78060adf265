/**
 * What the state table holds, as the rest of the service sees it. Keys and index attributes are
 * the adapter's business (state-table.ts) and never appear here.
 */
import type { ErrorRecord } from "../errors";
import type { Connector, VolumeInfo } from "../cinder/block-storage";
import type { BmcTarget, CommandBody, CommandOutcome, InitiatorNetwork, SequenceProgress } from "../relay/protocol";
import type { StepName, WorkflowState } from "../workflow";
import type { BmcEvidence } from "../bmc/claims";
import type { SanChange } from "../bmc/driver";

export interface NodeRecord {
  node_id: string;
  project_id: string;
  name: string | null;
  site: string;
  bmc: BmcTarget;
  boot_mode: "uefi" | "bios";
  /** how the SAN boot override is set: for the next boot only, or every boot until undeploy */
  boot_override: "once" | "continuous";
  /** the NIC port used for SAN boot (MAC); the first iSCSI-capable function when null */
  mac_address: string | null;
  network: InitiatorNetwork;
  /** generated at enrollment, stable for the node's life */
  initiator_iqn: string;
  /** the HBA port to boot from over Fibre Channel (its WWPN); the first FC port when null */
  fc_wwpn: string | null;
  /** whether sanboot may set BIOS settings a SAN boot needs (claimed, and put back on undo) */
  bios_changes?: "refuse" | "allow";
  /** the node's FC ports as its BMC reported them (a relay command at enrollment); null: not read yet */
  fc_ports: Array<{ wwpn: string; wwnn: string | null }> | null;
  /** why the last inventory read through the relay failed (null when it worked, or none ran yet) */
  inventory_error?: { code: string; message: string } | null;
  /** the request that holds this node, if any (one at a time, enforced by a conditional write) */
  active_request_id: string | null;
  /** when the active request took the node */
  locked_at?: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/** The Cinder target of an attachment; the CHAP password only ever sealed. */
export type TargetRecord = IscsiTargetRecord | FcTargetRecord;

export interface FcTargetRecord {
  driver_volume_type: "fibre_channel";
  /** the storage ports' WWPNs (16 lowercase hex digits); primary first */
  wwns: string[];
  lun: number;
}

export interface IscsiTargetRecord {
  driver_volume_type: "iscsi";
  /** primary first; with multipath, one entry per path */
  paths: Array<{ iqn: string; portal: string; lun: number }>;
  auth_method: "None" | "CHAP";
  auth_username: string | null;
  auth_password_sealed: string | null;
}

export interface BootRequestRecord extends WorkflowState {
  node_id: string;
  /**
   * The node as the request's lock answered it. While a request holds its node, the node does not
   * change (PATCH and DELETE are refused) but for its FC inventory, so the steps work from this
   * instead of reading the node each time. Absent on requests accepted before it was kept.
   */
  node_snapshot?: NodeRecord;
  project_id: string;
  site: string;
  volume_id: string;
  /** what the caller asked for */
  requested_protocol: "iscsi" | "fibre_channel" | "auto";
  /** what is used: `auto` is resolved from the volume's backend when the connector is made */
  protocol: "iscsi" | "fibre_channel";
  multipath: boolean;
  boot_method: "firmware";
  connector: Connector | null;
  /**
   * The volume as prepare_connector just read it, so the attach that follows need not read it
   * again: good for one run of attach_volume only (its claim spends it) and for a short while.
   */
  volume_seen?: (VolumeInfo & { seen_at: string }) | null;
  attachment_id: string | null;
  target: TargetRecord | null;
  /**
   * What sanboot wrote on the node's BMC and what each place held before (claims, power), as the
   * relay recorded it before each write: undo touches nothing else.
   */
  bmc_evidence: BmcEvidence | null;
  /** every change the relay reported making on the BMC, in order */
  bmc_changes: Array<SanChange & { step: StepName; at: string }>;
  /** active: whether the BMC showed that an OS booted (null until await_boot ran) */
  boot_confirmed: boolean | null;
  /** what the BMC showed at await_boot, or what it does not offer */
  boot_evidence: string | null;
  /** the relay command the current step waits on */
  command_id: string | null;
  /**
   * Whether the rest of the boot goes to the relay as one command (a boot sequence: configure,
   * power on, await), decided at intake from what the site's relays announced; absent or false,
   * one command per step as older relays run them.
   */
  boot_sequence?: boolean;
  /** an invocation claimed the current step until then; others leave it alone */
  running_until: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export type CommandStatus = "queued" | "leased" | "succeeded" | "failed" | "cancelled";

export interface CommandRecord {
  command_id: string;
  site: string;
  /** the request whose step waits on it; null for a node's own command (inventory at enrollment) */
  request_id: string | null;
  node_id: string | null;
  step: StepName | "node_inventory";
  attempt: number;
  /** the body with any secret sealed (see lib/relay/command-secrets.ts) */
  body: CommandBody;
  status: CommandStatus;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: string | null;
  /** how many times it was leased: more than one means a relay vanished or timed out */
  leases: number;
  outcome: CommandOutcome | null;
  /** the evidence the relay stored before writing (lib/bmc/claims.ts); handed back if leased again */
  checkpoint?: BmcEvidence | null;
  /** a boot sequence's steps the relay reported finished (heartbeats, then the result) */
  progress?: SequenceProgress | null;
  created_at: string;
  updated_at: string;
}

/** A relay token the site accepts, as its SHA-256 (the token itself is never stored). */
export interface RelayTokenEntry {
  sha256: string;
  added_at: string;
}

/**
 * A site the service knows from its table (sites from SANBOOT_RELAY_TOKENS / SANBOOT_SITE_KEYS
 * have no record): the relay tokens it accepts (two while one is rotated out) and the public key
 * target secrets are sealed to.
 */
export interface SiteRecord {
  site: string;
  description: string | null;
  relay_tokens: RelayTokenEntry[];
  /** X25519 public key (PEM); null: target secrets travel sealed by the service's own key only */
  sealing_public_key: string | null;
  /** nodes enrolled at the site; a site with nodes cannot be deleted */
  node_count: number;
  version: number;
  created_at: string;
  updated_at: string;
}

/** What the service last heard from one relay of a site (its lease and heartbeat calls). */
export interface RelaySeenRecord {
  site: string;
  relay_id: string;
  /** what the relay said it is and how many commands it holds at once (null: an older relay said nothing) */
  version: string | null;
  concurrency: number | null;
  /** what it announced it can run beyond the basic commands (null: an older relay announced nothing) */
  capabilities?: string[] | null;
  first_seen_at: string;
  last_seen_at: string;
}

export interface IdempotencyRecord {
  project_id: string;
  key: string;
  body_hash: string;
  status: "in_progress" | "completed";
  response: { statusCode: number; body: unknown; location?: string } | null;
  expires_at: string;
}

export type { ErrorRecord };

/** A command as it is first queued: nobody holds it yet. */
export function queuedCommand(
  c: Pick<CommandRecord, "command_id" | "site" | "request_id" | "node_id" | "step" | "attempt" | "body">,
  now: string,
): CommandRecord {
  return { ...c, status: "queued", lease_owner: null, lease_token: null, lease_expires_at: null, leases: 0, outcome: null, created_at: now, updated_at: now };
}
