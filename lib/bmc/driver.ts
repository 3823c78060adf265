/**
 * BMC driver ports: one interface per hardware concern, as Ironic splits power, boot and storage.
 * The relay agent holds a driver; the cloud side never talks to a BMC.
 *
 * Every method throws SanbootError (lib/errors.ts):
 * - BMC_UNREACHABLE (retryable): connection refused / reset / timeout, 5xx (a BMC that allows
 *   one session at a time answers a second one 503 too).
 * - BMC_TLS_UNTRUSTED: the BMC's certificate failed verification (unknown CA, name mismatch,
 *   expired, not the pinned fingerprint); the site must give the relay the CA, pin the
 *   certificate, or mark the BMC insecure.
 * - BMC_AUTH_FAILED: 401/403 from the BMC.
 * - BMC_ETAG_MISMATCH (retryable): a 412 that survived the driver's own re-read and retry.
 * - BMC_CAPABILITY_MISSING: the system lacks what was asked (no iSCSI- or FC-capable function,
 *   no allowed override target, no reset type that powers on).
 * - BMC_REJECTED: any other 4xx; the message and details carry the Redfish
 *   `@Message.ExtendedInfo` MessageIds.
 * - BMC_SETTINGS_FAILED: a change the BMC accepted failed to apply: the task or job that carried
 *   it ended in failure, or the settings object reported it failed after a reset
 *   (`Base.1.x.SettingsFailed` in `@Redfish.Settings.Messages`); the message and details carry
 *   the MessageIds.
 * - BMC_POWER_TIMEOUT (retryable): a wait (power, boot, settings applied at reset) ran out.
 *
 * Ownership (claims.ts): every write is described by a Claim that the driver hands to the
 * caller's WriteGuard *before* sending it, so the evidence is stored before anything changes;
 * undo (`undoSanBoot`, `restoreBootOverride`) is given those claims and touches only a place that
 * still holds what sanboot wrote. Without a claim nothing is undone.
 *
 * "Pending": a write that goes to a settings object applied OnReset (Dell's NetworkDeviceFunction
 * `/Settings`, HPE's `Bios/iScsi/Settings`, any BMC publishing `@Redfish.Settings`) is accepted
 * but not in force until the next reset. Such writes answer `pending` (where, when, and the job or
 * task that tracks it); `awaitSettingsApplied` or `waitForBoot` after the reset say whether it
 * took. "Already done?" checks judge the pending values, so a retry sends nothing; an undo that
 * sends nothing still answers `pending` while the undo it finds staged is not yet in force, so a
 * retried undeploy still applies it.
 *
 * Time: an endpoint may carry a budget (the relay command's deadline and an abort signal, set
 * when the lease is lost); every wait and every HTTP call ends by then. Methods return once the
 * BMC accepted the change. Nothing here waits for power to settle except the `waitFor*` /
 * `await*` methods and `setSanBootOverride` on a BMC whose SAN boot device only appears once
 * pending settings applied (see BootOverridePort), which the relay (not a Lambda) may block on.
 * Nothing here retries after a failure: the workflow does (lib/workflow/policy.ts); inside a call
 * the only repetition is re-planning a write the BMC refused with 412, which changed nothing.
 */
import type { IscsiBootSpec } from "../relay/protocol";
import { mergeEvidence, type BmcEvidence, type BootMarks, type Claim, type SettingsMark } from "./claims";

/** Which driver a node asks for (`bmc.driver`): `redfish` is the generic one, `auto` detects. */
export type BmcDriverSetting = "redfish" | "idrac" | "ilo" | "xcc" | "auto";

export interface BmcEndpoint {
  /** base URL, https://host:port */
  address: string;
  system_id: string;
  username: string;
  password: string;
  tls: {
    /** PEM of the CA that signs the BMC's certificate; verification is on unless insecure */
    ca?: string;
    /**
     * SHA-256 fingerprint of the BMC's own certificate (hex, colons optional): the connection is
     * accepted only for exactly that certificate, whoever signed it (self-signed BMCs).
     */
    fingerprint_sha256?: string;
    insecure?: boolean;
  };
  /** the node's `bmc.driver`; the driver's default (auto) when absent */
  driver?: BmcDriverSetting;
  /** when the caller's time is up; every wait and call ends by then */
  budget?: CallBudget;
  /** told of every HTTP call made to the BMC for this caller (the relay measures them per command) */
  onCall?: (call: BmcCallEvent) => void;
}

/** One HTTP call to a BMC: its time once the BMC's gate let it go, and whether it failed (no answer, or not a 2xx). */
export interface BmcCallEvent {
  latencyMs: number;
  failed: boolean;
}

export interface CallBudget {
  /** ms since the epoch */
  deadline: number;
  /** aborted when the work is no longer wanted (the relay lost its lease) */
  signal?: AbortSignal;
}

/**
 * Where a driver hands its evidence before it writes: `prior` is what is recorded so far (earlier
 * steps and runs of the request, the same command leased again, and what this run recorded);
 * `record` stores a claim (merged into what the caller keeps) and resolves once it is stored. A
 * write never goes out before its `record` resolved; when `record` throws, nothing is written.
 */
export interface WriteGuard {
  readonly prior: BmcEvidence;
  record(evidence: BmcEvidence): Promise<void>;
}

/** A guard that keeps claims in memory only (tests, and callers that store the result themselves). */
export function memoryGuard(start: BmcEvidence = { claims: [] }): WriteGuard & { evidence: BmcEvidence } {
  const g = {
    evidence: structuredClone(start),
    get prior() {
      return g.evidence;
    },
    async record(e: BmcEvidence) {
      g.evidence = mergeEvidence(g.evidence, e);
    },
  };
  return g;
}

/** One change a BMC operation made, for the operator: what, where, how. */
export interface SanChange {
  kind: "function" | "bios_iscsi" | "bios" | "override" | "power" | "settings";
  uri: string;
  /** e.g. "written", "restored", "On -> Off", "applied by a power cycle" */
  action: string;
}

export type PowerState = "On" | "Off" | "PoweringOn" | "PoweringOff";

/**
 * The iSCSI spec the driver accepts: the protocol's spec, with MutualCHAP as a third auth method
 * (the initiator authenticates the target too: `mutual_username` / `mutual_secret` are what the
 * target must present).
 */
export type MutualChapAuth = {
  method: "MutualCHAP";
  username: string;
  secret: string;
  mutual_username: string;
  mutual_secret: string;
};
export type SanIscsiSpec = Omit<IscsiBootSpec, "auth"> & { auth: IscsiBootSpec["auth"] | MutualChapAuth };

/** A Fibre Channel boot target: the storage port's WWPN, the LUN as Redfish's string LUNID. */
export interface FcBootTarget {
  /** 16 hex digits, with or without `:`/`-` separators */
  wwpn: string;
  lun: string | number;
  /** 0 is tried first; defaults to the target's position */
  priority?: number;
}

export interface FcBootSpec {
  /** which HBA port, by its WWPN (or PermanentWWPN); the first FC-typed function when absent */
  wwpn?: string;
  /** how the node boots (the override must be able to name the FC device in this mode) */
  boot_mode?: "uefi" | "bios";
  /** several with multipath: each storage port that exports the LUN */
  targets: FcBootTarget[];
}

/** A write accepted but applied later (see "Pending" above). */
export interface PendingSettings {
  /** the resource the settings apply to */
  resource_uri: string;
  /** the settings object written */
  settings_uri: string;
  /** the `@Redfish.SettingsApplyTime` asked for (OnReset, ...), or "OnReset" when the BMC implies it */
  apply_time: string;
  /** the job (Dell) or task monitor that tracks it, from the 202's `Location` */
  task_uri?: string;
  /** the resource's `@Redfish.Settings` Time / ETag when written: applied once they moved */
  since?: SettingsMark;
}

/** What an undo did: `pending` lists the settings that stay staged until a reset applies them. */
export interface ClearResult {
  /** false: nothing of ours was there (or our undo was already staged); nothing was sent */
  changed: boolean;
  /** every change made */
  changes: SanChange[];
  /**
   * Present when the clear is not yet in force: reset the system (or, for `Immediate`, only wait),
   * then `awaitSettingsApplied` each, or the old target is what the next boot tries.
   */
  pending?: PendingSettings[];
}

export interface ConfigureResult {
  /** false: the function already held (or had pending) exactly this target; nothing was sent */
  changed: boolean;
  /** the NetworkDeviceFunction (or HPE `Bios/iScsi` resource) that holds the target */
  function_uri: string;
  /** the claim recorded (through the guard) for the write, when one was sent */
  claim?: Claim;
  /** present when the write waits for the next reset */
  pending?: PendingSettings;
}

export interface PowerPort {
  getPowerState(ep: BmcEndpoint): Promise<PowerState>;
  /** On when off, a restart when already on; picks a ResetType the BMC allows. */
  powerOn(ep: BmcEndpoint): Promise<void>;
  /** ForceOff (or what the BMC allows); no-op when already off. */
  powerOff(ep: BmcEndpoint): Promise<void>;
  /** Polls PowerState until On; throws BMC_POWER_TIMEOUT (retryable) after timeoutMs (default: the budget). */
  waitForPowerOn(ep: BmcEndpoint, timeoutMs?: number): Promise<PowerState>;
}

/**
 * Power settling off: a ForceOff is answered at once and PowerState follows seconds later (a
 * graceful shutdown, minutes). Separate from PowerPort so a driver may lack it.
 */
export interface PowerSettlePort {
  /** Polls PowerState until Off; throws BMC_POWER_TIMEOUT (retryable) after timeoutMs (default: the budget). */
  waitForPowerOff(ep: BmcEndpoint, timeoutMs?: number): Promise<PowerState>;
}

export interface BootStatus {
  power_state: PowerState;
  /** `BootProgress.LastState` where the BMC offers it (ComputerSystem 1_13) */
  boot_progress?: string;
  /** what changes with each boot, where the BMC offers it (`LastResetTime`, `BootProgress.LastStateTime`) */
  marks: BootMarks;
}

export interface BootWait {
  /** the marks power_on saw before its reset: a boot is new only if they moved */
  before?: BootMarks;
  /** PowerState before power_on */
  powerBefore?: PowerState;
  /** the SAN places written: a failure reported at this reset fails the wait */
  claims?: Claim[];
  timeoutMs?: number;
}

/** What a wait for the boot saw: whether it is evidence that an OS started, and why. */
export interface BootOutcome extends BootStatus {
  confirmed: boolean;
  /** one sentence an operator reads: what the BMC showed, or what it does not offer */
  evidence: string;
}

export interface BootProgressPort {
  getBootStatus(ep: BmcEndpoint): Promise<BootStatus>;
  /**
   * Polls until the system is On and, where the BMC reports BootProgress, its LastState says a
   * new boot reached the OS (OSBootStarted / OSRunning, after the marks moved). A BMC without
   * BootProgress answers On as unconfirmed: power is no evidence that anything booted. Throws
   * BMC_SETTINGS_FAILED when a claimed settings object reports that it failed to apply at that
   * reset, BMC_POWER_TIMEOUT (retryable) when the time is up.
   */
  waitForBoot(ep: BmcEndpoint, wait?: BootWait): Promise<BootOutcome>;
}

/** What setSanBootOverride is asked for. */
export interface OverrideWant {
  mode: "uefi" | "bios";
  persistence: "once" | "continuous";
  /** the SAN targets (iSCSI target IQNs, FC target WWPNs) a UEFI device path must name */
  targets: string[];
}

export interface BootOverridePort {
  /**
   * Reads only: throws BMC_CAPABILITY_MISSING when the system offers no way to boot a SAN device
   * in `mode` (no RemoteDrive; in UEFI, no UefiTarget or no source of device paths to name one),
   * or no reset that powers it on. Configure asks this before it writes anything.
   */
  checkSanBootCapability(ep: BmcEndpoint, mode: "uefi" | "bios"): Promise<void>;
  /**
   * Override to the SAN device the guard's claims name: RemoteDrive where allowed, else UefiTarget
   * with the allowed UEFI device path that names the claimed target (iSCSI target IQN, FC WWPN,
   * HPE's iSCSI attempt). Where that device path only appears once pending settings applied (Dell
   * NIC settings, HPE BIOS iSCSI), the driver first resets the system through POST so they apply,
   * waits for the path, then sets the override: it may take minutes and leaves the system on.
   * The claim (what Boot held before) is recorded before the PATCH.
   */
  setSanBootOverride(ep: BmcEndpoint, want: OverrideWant, guard: WriteGuard): Promise<{ changed: boolean; claim?: Claim }>;
  /** Puts Boot back as the claim found it, only while the override is still the one sanboot set. */
  restoreBootOverride(ep: BmcEndpoint, claim: Claim): Promise<ClearResult>;
  /** Disables the override, only while it is still the one sanboot set (before a power cycle). */
  disableBootOverride(ep: BmcEndpoint, claim: Claim): Promise<ClearResult>;
}

export interface SanBootTargetPort {
  /**
   * Writes iSCSIBoot on the chosen function (or the vendor's equivalent); answers changed=false
   * when it already held it. Checks first that the system can boot the SAN device at all
   * (checkSanBootCapability): a missing capability writes nothing.
   */
  configureIscsiBoot(ep: BmcEndpoint, spec: SanIscsiSpec, guard: WriteGuard): Promise<ConfigureResult>;
  /**
   * Puts back what the claims (NIC, HBA, BIOS iSCSI; override claims are ignored here) say
   * sanboot wrote, on each place still ours. Answers `pending` where the undo waits for a reset;
   * never resets itself. Nothing of ours there: nothing sent.
   */
  undoSanBoot(ep: BmcEndpoint, claims: Claim[]): Promise<ClearResult>;
}

export interface FcPortIdentity {
  function_uri: string;
  /** the function's Id */
  id: string;
  /** in force: `WWPN`, else `PermanentWWPN`; 16 lowercase hex digits, as Cinder's FC connector wants */
  wwpn: string;
  wwnn: string | undefined;
  permanent_wwpn: string | undefined;
  permanent_wwnn: string | undefined;
  /** ConfiguredLocally / ProvidedByFabric */
  wwn_source: string | undefined;
  boot_mode: string | undefined;
}

export interface InventoryPort {
  /**
   * The system's Fibre Channel ports (its functions whose personality is FibreChannel, found by
   * walking links). An empty list means the system has no FC HBA; never throws for that.
   */
  readFcInventory(ep: BmcEndpoint): Promise<{ ports: FcPortIdentity[] }>;
}

export interface FcBootTargetPort {
  /** Writes `FibreChannel.BootTargets` and `BootMode: FibreChannel`; no PATCH when already set. Undo: undoSanBoot. */
  configureFcBoot(ep: BmcEndpoint, spec: FcBootSpec, guard: WriteGuard): Promise<ConfigureResult>;
}

export interface SettingsPort {
  /**
   * Polls a pending write's job / task (or, without one, its settings object) until it applied.
   * Throws BMC_SETTINGS_FAILED when it failed (a failed job / task, or `SettingsFailed` in the resource's
   * `@Redfish.Settings.Messages`), BMC_POWER_TIMEOUT (retryable) when still pending after
   * timeoutMs (an `OnReset` write waits for a reset: power the system on first; an `Immediate`
   * one only for its task).
   */
  awaitSettingsApplied(ep: BmcEndpoint, pending: PendingSettings, timeoutMs?: number): Promise<void>;
}

/** The ports the relay's executor needs at least. */
export interface BmcDriver extends PowerPort, BootOverridePort, SanBootTargetPort {}

/** Every port: what the Redfish drivers (generic, iDRAC, iLO) implement. */
export interface SanbootBmcDriver extends BmcDriver, PowerSettlePort, BootProgressPort, InventoryPort, FcBootTargetPort, SettingsPort {
  close(): Promise<void>;
}
