/**
 * What is a vendor's, in one object chosen once per BMC (the way sushy keeps OEM code under its
 * own folder): the generic driver asks these questions and names no vendor. Each answer defaults
 * to the DMTF way (GENERIC); a vendor overrides only where its BMCs differ, and says why.
 *
 * Following one iSCSI configure: relay/executor.ts → redfish-driver.ts (configureIscsiBoot) →
 * this object's `iscsiPlace` (a vendor place) or redfish-san-targets.ts (the NIC function, with
 * `functionTarget` / `iscsiValues`) → redfish-writer.ts (the PATCH, the task or job, pending).
 */
import type { Claim, JsonValue } from "../claims";
import type { ConfigureResult, SanIscsiSpec, WriteGuard } from "../driver";
import type { Found } from "../redfish-discovery";
import type { KnownSystem } from "../redfish-discovery-cache";
import type { WriteTarget } from "../redfish-settings";
import type { RedfishReply } from "../redfish-transport";
import type { ComputerSystem, Manager, NetworkDeviceFunction } from "../redfish-types";
import type { RedfishWriter } from "../redfish-writer";

export type VendorName = "generic" | "dell" | "hpe" | "lenovo" | "supermicro";

/** What a command's BMC work carries: the writer (transport + write policy) and the BMC's quirks. */
export interface SanContext {
  w: RedfishWriter;
  quirks: VendorQuirks;
  /** the system's manager (Links.ManagedBy) */
  managerUri: string | undefined;
  /** what the relay knows of this system's tree (redfish-discovery-cache.ts): structure, never values */
  known?: KnownSystem;
}

export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface VendorQuirks {
  readonly name: VendorName;
  /** a name for messages, with the generation where it matters ("Dell iDRAC10") */
  readonly label: string;
  /** Before the first write of a command: wait until the BMC takes configuration. */
  ready(ctx: SanContext): Promise<void>;
  /**
   * Where this system's iSCSI boot is programmed when it is not the NIC function (HPE's BIOS
   * initiator, Dell's BIOS attributes): the configure result, or undefined for the NIC function.
   */
  iscsiPlace(ctx: SanContext, system: Found<ComputerSystem>, fns: Array<Found<NetworkDeviceFunction>>, spec: SanIscsiSpec, guard: WriteGuard): Promise<ConfigureResult | undefined>;
  /** Why this BMC has no place at all to program an iSCSI boot target, from what it serves; reads only. */
  iscsiRefusal(fns: Array<Found<NetworkDeviceFunction>>): string | undefined;
  /**
   * `iscsiPlace` or `iscsiRefusal` look at every function of the system, so a configure reads
   * them all. Otherwise a configure that knows its port (the node's MAC, an earlier run's claim)
   * and where it is reads only that function.
   */
  readonly readsEveryFunction: boolean;
  /** How to read (and undo) a claim of a kind only this vendor writes. */
  undoVendorPlace(ctx: SanContext, claim: Claim): Promise<import("../driver").ClearResult | undefined>;
  /** The write target of a NIC function, when not its `@Redfish.Settings` object or itself. */
  functionTarget(fnUri: string, fn: NetworkDeviceFunction): WriteTarget | undefined;
  /** The iSCSIBoot values (paths) the NIC function takes of what a spec wants; or what it cannot take. */
  iscsiValues(values: Record<string, JsonValue>): Verdict<Record<string, JsonValue>>;
  /** The FC values a function takes, with what the vendor needs besides; or what it cannot take. */
  fcValues(fn: NetworkDeviceFunction, values: Record<string, JsonValue>): Verdict<Record<string, JsonValue>>;
  /** After a write to a settings object the BMC answered without a task or job: make one where needed. */
  afterStagedWrite(ctx: SanContext, target: WriteTarget, reply: RedfishReply): Promise<RedfishReply>;
  /** The resource that tells a write's progress, from the 202's Location. */
  taskUri(location: string): string;
  /** Withdraws what the claim's writes staged and no reset applied yet (jobs not run): true when it did. */
  withdrawStaged(ctx: SanContext, claim: Claim): Promise<boolean>;
  /** How this BMC takes an unset string at `path` (the DMTF schema allows null; vendors want "0.0.0.0" or ""). */
  blank(path: string): JsonValue;
  /** CHAP credentials are read-only unless the auth method uses them (Dell, Lenovo): undo puts them back first. */
  readonly chapDependent: boolean;
}

const ADDRESS = /(IPAddress|IpAddress|Netmask|Gateway|DefaultGateway|DNS|TargetIp|Ip|Mask)$/;

/** The blank of the vendors that refuse null: "0.0.0.0" for addresses, "" for other strings. */
export const renderedBlank = (path: string): JsonValue => (ADDRESS.test(path) ? "0.0.0.0" : "");

export const GENERIC: VendorQuirks = {
  name: "generic",
  label: "Redfish",
  ready: async () => {},
  iscsiPlace: async () => undefined,
  iscsiRefusal: () => undefined,
  readsEveryFunction: false,
  undoVendorPlace: async () => undefined,
  functionTarget: () => undefined,
  iscsiValues: (values) => ({ ok: true, value: values }),
  fcValues: (_fn, values) => ({ ok: true, value: values }),
  afterStagedWrite: async (_ctx, _target, reply) => reply,
  taskUri: (location) => location,
  withdrawStaged: async () => false,
  blank: () => null,
  chapDependent: false,
};

/** A vendor's quirks: the generic answer wherever it says nothing. */
export function quirks(own: Partial<VendorQuirks> & Pick<VendorQuirks, "name" | "label">): VendorQuirks {
  return { ...GENERIC, ...own };
}

export type { Manager };
