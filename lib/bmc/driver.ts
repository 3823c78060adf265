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
 * "Pending": a write that goes to a settings object applied OnReset (Dell's NetworkDeviceFunction
 * `/Settings`, HPE's `Bios/iScsi/Settings`, any BMC publishing `@Redfish.Settings`) is accepted
 * but not in force until the next reset. Such writes answer `pending` (where, when, and the job or
 * task that tracks it); `awaitSettingsApplied` or `waitForBoot` after the reset say whether it
 * took. "Already done?" checks judge the pending values, so a retry sends nothing; a clear that
 * sends nothing still answers `pending` while what it judged by is staged and not yet in force,
 * so a retried undeploy still applies it. Clears ask `Immediate` where the settings object offers
 * it (nothing then stays pending); Dell NIC settings and HPE BIOS iSCSI do not, and need a reset.
 *
 * Methods return once the BMC accepted the change. Nothing here waits for power to settle except
 * the `waitFor*` / `await*` methods and `setSanBootOverride` on a BMC whose SAN boot device only
 * appears once pending settings applied (see BootOverridePort), which the relay (not a Lambda)
 * may block on.
 */
import type { IscsiBootSpec } from "../relay/protocol";

/** Which driver a node asks for (`bmc.driver`): `redfish` is the generic one, `auto` detects. */
export type BmcDriverSetting = "redfish" | "idrac" | "ilo" | "auto";

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
  /** which HBA port, by its WWPN (or PermanentWWPN); the first FC-capable function when absent */
  wwpn?: string;
  /** several with multipath: each storage port that exports the LUN */
  targets: FcBootTarget[];
}

/**
 * What a function held before sanboot wrote to it, so rollback can put it back. JSON, safe to
 * store: it holds only readable values (BMCs never answer secrets, so a restored CHAP target
 * comes back without its secret, for its owner to re-enter).
 */
export type SanBootSnapshot =
  | {
      kind: "iscsi";
      /** the NetworkDeviceFunction */
      function_uri: string;
      boot_mode: string | null;
      iscsi_boot: Record<string, string | number | boolean | null>;
    }
  | {
      kind: "fibre_channel";
      function_uri: string;
      boot_mode: string | null;
      boot_targets: Array<{ WWPN: string; LUNID: string; BootPriority: number }>;
    }
  | {
      /** HPE iLO UEFI iSCSI initiator (`Bios/iScsi`): the initiator name and the attempts we used */
      kind: "hpe_bios_iscsi";
      resource_uri: string;
      initiator_name: string | null;
      /** by `iSCSIAttemptInstance`: what each attempt we overwrote held (readable values) */
      attempts: Array<{ instance: number; values: Record<string, string | number | boolean | null> }>;
    };

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
}

/** What a clear did: `pending` lists the settings that stay staged until a reset applies them. */
export interface ClearResult {
  /** false: nothing held (or had pending) a target to clear; nothing was sent */
  changed: boolean;
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
  /**
   * What was there before, only when this call changed the target (absent when `changed` is false
   * or only an unreadable secret was rewritten). Store the first one received: a retried
   * configure finds its own target in place and reports none.
   */
  previous?: SanBootSnapshot;
  /** present when the write waits for the next reset */
  pending?: PendingSettings;
}

export interface PowerPort {
  getPowerState(ep: BmcEndpoint): Promise<PowerState>;
  /** On when off, a restart when already on; picks a ResetType the BMC allows. */
  powerOn(ep: BmcEndpoint): Promise<void>;
  /** ForceOff (or what the BMC allows); no-op when already off. */
  powerOff(ep: BmcEndpoint): Promise<void>;
  /** Polls PowerState until On; throws BMC_POWER_TIMEOUT (retryable) after timeoutMs. */
  waitForPowerOn(ep: BmcEndpoint, timeoutMs: number): Promise<PowerState>;
}

/**
 * Power settling off: a ForceOff is answered at once and PowerState follows seconds later (a
 * graceful shutdown, minutes). Separate from PowerPort so a driver may lack it.
 */
export interface PowerSettlePort {
  /** Polls PowerState until Off; throws BMC_POWER_TIMEOUT (retryable) after timeoutMs. */
  waitForPowerOff(ep: BmcEndpoint, timeoutMs: number): Promise<PowerState>;
}

export interface BootStatus {
  power_state: PowerState;
  /** `BootProgress.LastState` where the BMC offers it (ComputerSystem 1_13) */
  boot_progress?: string;
}

export interface BootProgressPort {
  getBootStatus(ep: BmcEndpoint): Promise<BootStatus>;
  /**
   * Polls until the system is On and, where the BMC reports BootProgress, its LastState says the
   * OS started (OSBootStarted / OSRunning). Throws BMC_SETTINGS_FAILED when a SAN settings object
   * reports that it failed to apply at that reset, BMC_POWER_TIMEOUT (retryable) after timeoutMs.
   */
  waitForBoot(ep: BmcEndpoint, timeoutMs: number): Promise<BootStatus>;
}

export interface BootOverridePort {
  /**
   * One-time override to the SAN device: RemoteDrive where allowed, else UefiTarget with the
   * allowed UEFI device path that names the configured target (iSCSI target IQN, FC WWPN, HPE's
   * iSCSI attempt). Where that device path only appears once pending settings applied (Dell NIC
   * settings, HPE BIOS iSCSI), the driver first resets the system through POST so they apply,
   * waits for the path, then sets the override: it may take minutes and leaves the system on.
   */
  setSanBootOverride(ep: BmcEndpoint, mode: "uefi" | "bios", persistence?: "once" | "continuous"): Promise<void>;
  clearBootOverride(ep: BmcEndpoint): Promise<void>;
}

export interface SanBootTargetPort {
  /**
   * Writes iSCSIBoot on the chosen function (or the vendor's equivalent); answers changed=false
   * when it already held it. The result may also carry `previous` and `pending` (ConfigureResult).
   */
  configureIscsiBoot(ep: BmcEndpoint, spec: SanIscsiSpec): Promise<{ changed: boolean; function_uri: string } & Partial<ConfigureResult>>;
  /**
   * Clears the target on every function that holds one we could have written (idempotent), or
   * only the function with `macAddress`; with `previous` (from configure), restores what that
   * function held instead of blanking it. First disables a boot override that names a SAN device
   * (RemoteDrive, UefiTarget), so no reset boots the target being cleared. Answers `pending`
   * (ClearResult) where the clear waits for a reset; never resets itself.
   */
  clearIscsiBoot(ep: BmcEndpoint, macAddress?: string, previous?: SanBootSnapshot): Promise<ClearResult>;
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
   * The system's Fibre Channel ports (functions whose capabilities include FibreChannel, found by
   * walking links). An empty list means the system has no FC HBA; never throws for that.
   */
  readFcInventory(ep: BmcEndpoint): Promise<{ ports: FcPortIdentity[] }>;
}

export interface FcBootTargetPort {
  /** Writes `FibreChannel.BootTargets` and `BootMode: FibreChannel`; no PATCH when already set. */
  configureFcBoot(ep: BmcEndpoint, spec: FcBootSpec): Promise<ConfigureResult>;
  /**
   * Clears (or with `previous`, restores) the FC boot targets; only the port `wwpn` when given.
   * The SAN override first, and `pending`, as for clearIscsiBoot.
   */
  clearFcBoot(ep: BmcEndpoint, wwpn?: string, previous?: SanBootSnapshot): Promise<ClearResult>;
}

export interface SettingsPort {
  /**
   * Polls a pending write's job / task (or, without one, its settings object) until it applied.
   * Throws BMC_SETTINGS_FAILED when it failed (a failed job / task, or `SettingsFailed` in the resource's
   * `@Redfish.Settings.Messages`), BMC_POWER_TIMEOUT (retryable) when still pending after
   * timeoutMs (an `OnReset` write waits for a reset: power the system on first; an `Immediate`
   * one only for its task).
   */
  awaitSettingsApplied(ep: BmcEndpoint, pending: PendingSettings, timeoutMs: number): Promise<void>;
}

/** The ports the relay's executor uses today. */
export interface BmcDriver extends PowerPort, BootOverridePort, SanBootTargetPort {}

/** Every port: what the Redfish drivers (generic, iDRAC, iLO) implement. */
export interface SanbootBmcDriver extends BmcDriver, PowerSettlePort, BootProgressPort, InventoryPort, FcBootTargetPort, SettingsPort {
  close(): Promise<void>;
}
