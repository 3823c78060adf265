/**
 * BMC driver ports: one interface per hardware concern, as Ironic splits power, boot and storage.
 * The relay agent holds a driver; the cloud side never talks to a BMC.
 *
 * Every method throws SanbootError (lib/errors.ts):
 * - BMC_UNREACHABLE (retryable): connection refused / reset / timeout, 5xx.
 * - BMC_AUTH_FAILED: 401/403 from the BMC.
 * - BMC_ETAG_MISMATCH (retryable): a 412 that survived the driver's own re-read and retry.
 * - BMC_CAPABILITY_MISSING: the system lacks what was asked (no iSCSI-capable function, no
 *   allowed override target, no reset type that powers on).
 * - BMC_REJECTED: any other 4xx; the message carries Redfish @Message.ExtendedInfo.
 *
 * Methods return once the BMC accepted the change. Nothing here waits for power to settle except
 * `waitForPowerOn`, which the relay (not a Lambda) may block on.
 */
import type { IscsiBootSpec } from "../relay/protocol";

export interface BmcEndpoint {
  /** base URL, https://host:port */
  address: string;
  system_id: string;
  username: string;
  password: string;
  tls: {
    /** PEM of the CA that signs the BMC's certificate; verification is on unless insecure */
    ca?: string;
    insecure?: boolean;
  };
}

export type PowerState = "On" | "Off" | "PoweringOn" | "PoweringOff";

export interface PowerPort {
  getPowerState(ep: BmcEndpoint): Promise<PowerState>;
  /** On when off, a restart when already on; picks a ResetType the BMC allows. */
  powerOn(ep: BmcEndpoint): Promise<void>;
  /** ForceOff (or what the BMC allows); no-op when already off. */
  powerOff(ep: BmcEndpoint): Promise<void>;
  /** Polls PowerState until On; throws BMC_POWER_TIMEOUT (retryable) after timeoutMs. */
  waitForPowerOn(ep: BmcEndpoint, timeoutMs: number): Promise<PowerState>;
}

export interface BootOverridePort {
  /** One-time override to the SAN device (RemoteDrive / UefiTarget, from the allowed values). */
  setSanBootOverride(ep: BmcEndpoint, mode: "uefi" | "bios"): Promise<void>;
  clearBootOverride(ep: BmcEndpoint): Promise<void>;
}

export interface SanBootTargetPort {
  /** Writes iSCSIBoot on the chosen function; answers changed=false when it already held it. */
  configureIscsiBoot(ep: BmcEndpoint, spec: IscsiBootSpec): Promise<{ changed: boolean; function_uri: string }>;
  /** Clears the target on every function that holds one we could have written (idempotent). */
  clearIscsiBoot(ep: BmcEndpoint, macAddress?: string): Promise<{ changed: boolean }>;
}

export interface BmcDriver extends PowerPort, BootOverridePort, SanBootTargetPort {}
