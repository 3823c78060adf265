/**
 * One system's tree as one driver call sees it: the structure the relay already knows of it
 * (redfish-discovery-cache.ts: URIs, links, allowed values, actions, identities), walked only
 * when unknown, and the resources a decision rests on, always read fresh. Whatever it reads
 * fresh teaches it the structure again.
 *
 * Structure (`structure()`, a remembered function) may be used for where things are and what they
 * allow; never for a value a decision or an undo rests on (PowerState, Boot, BootProgress,
 * iSCSIBoot, FibreChannel): those come from `system()` and `readFunctions()`.
 */
import { findBootLogs, type BootLogs } from "./redfish-logs";
import type { ResetAction } from "./redfish-boot-power";
import { findFunctionUris, findSystemUri, getResource, readFunctions, type Found } from "./redfish-discovery";
import type { KnownSystem } from "./redfish-discovery-cache";
import { chooseIscsiFunction, macsOf, normaliseMac } from "./redfish-san-boot";
import { linkOf, type ActionInfo, type ComputerSystem, type Manager, type NetworkDeviceFunction, type ServiceRoot } from "./redfish-types";
import type { RedfishWriter } from "./redfish-writer";
import { quirksFor, quirksNeedManager, selectVendor, vendorOfSetting, type SanContext, type VendorName, type VendorQuirks } from "./vendors";
import type { BmcDriverSetting } from "./driver";

const SYSTEM_URI = "system";
const STRUCTURE = "structure";
const FUNCTION_URIS = "functions";
const BOOT_LOGS = "boot-logs";
const seenFunction = (uri: string) => `function ${uri}`;

export class SystemTree {
  constructor(
    readonly w: RedfishWriter,
    readonly known: KnownSystem,
  ) {}

  /** The system, read now (and its structure remembered). */
  async system(): Promise<Found<ComputerSystem>> {
    const uri = await this.known.get(SYSTEM_URI, () => findSystemUri(this.w.t, this.w.ep.system_id));
    return this.known.remember(STRUCTURE, await getResource<ComputerSystem>(this.w.t, uri));
  }

  /** The system as last read: for its links, allowed values and actions only. */
  structure(): Promise<Found<ComputerSystem>> {
    return this.known.get(STRUCTURE, () => this.system());
  }

  /** The vendor's quirks and the system's manager, detected once (the setting, else ServiceRoot, else Manager). */
  async context(setting: BmcDriverSetting): Promise<SanContext> {
    const found = await this.known.get(`vendor ${setting}`, async () => {
      const managerUri = linkOf((await this.structure()).body.Links?.ManagedBy?.[0]);
      let manager: Manager | undefined;
      const readManager = async () => (manager ??= managerUri ? ((await this.w.t.get(managerUri)).body as Manager) : {});
      const fixed = vendorOfSetting(setting);
      let vendor: VendorName;
      if (fixed !== "auto") vendor = fixed;
      else {
        const root = (await this.w.t.get("/redfish/v1/")).body as ServiceRoot;
        vendor = selectVendor(root) ?? selectVendor(root, await readManager()) ?? "generic";
      }
      const quirks: VendorQuirks = quirksFor(vendor, quirksNeedManager(vendor) && managerUri ? await readManager() : undefined);
      return { quirks, managerUri };
    });
    return { w: this.w, quirks: found.quirks, managerUri: found.managerUri, known: this.known };
  }

  /** The URIs of the system's NetworkDeviceFunctions, in link order. */
  functionUris(): Promise<string[]> {
    return this.known.get(FUNCTION_URIS, async () => findFunctionUris(this.w.t, await this.structure()));
  }

  /** The functions at `uris`, read now (their identities remembered). */
  async readFunctions(uris: string[]): Promise<Array<Found<NetworkDeviceFunction>>> {
    const fns = await readFunctions(this.w.t, uris);
    for (const fn of fns) this.known.remember(seenFunction(fn.uri), fn);
    return fns;
  }

  /** Every function of the system, read now. */
  async functions(): Promise<Array<Found<NetworkDeviceFunction>>> {
    return this.readFunctions(await this.functionUris());
  }

  /**
   * The functions an iSCSI configure chooses among, read now: only the one it will take where
   * that is known (an earlier run's claim, else the node's MAC as the functions last showed it)
   * and the vendor decides from that one alone; else all of them. The one read must still be the
   * one chosen (its MAC, its capability), or all are read.
   */
  async iscsiCandidates(ctx: SanContext, mac: string | undefined, claimed: string | undefined, initiator: string): Promise<Array<Found<NetworkDeviceFunction>>> {
    const uris = await this.functionUris();
    if (!ctx.quirks.readsEveryFunction) {
      const wanted = normaliseMac(mac);
      const one =
        claimed !== undefined && uris.includes(claimed)
          ? claimed
          : wanted
            ? uris.find((u) => {
                const seen = this.known.peek<Found<NetworkDeviceFunction>>(seenFunction(u));
                return seen !== undefined && macsOf(seen.body).includes(wanted);
              })
            : undefined;
      if (one) {
        const fns = await this.readFunctions([one]);
        const choice = chooseIscsiFunction(fns.map((f) => f.body), mac, claimed, initiator);
        if (choice.ok && choice.fn["@odata.id"] === one) return fns;
      }
    }
    return this.functions();
  }

  /**
   * A function whose writes go to the function itself (no settings object, none the vendor
   * names), as last seen: nothing of ours waits for a reset there, and nothing fails later.
   */
  writesInPlace(ctx: SanContext, uri: string): boolean {
    const seen = this.known.peek<Found<NetworkDeviceFunction>>(seenFunction(uri));
    return seen !== undefined && seen.body["@Redfish.Settings"] === undefined && ctx.quirks.functionTarget(uri, seen.body) === undefined;
  }

  /** The system's log services that can tell a boot failed (undefined: it has none). */
  bootLogs(): Promise<BootLogs | undefined> {
    return this.known.get(BOOT_LOGS, async () => findBootLogs(this.w.t, (await this.structure()).body));
  }

  /** The ResetTypes the action allows (inline, else from its ActionInfo); undefined when it publishes none. */
  async allowedResetTypes(action: ResetAction): Promise<string[] | undefined> {
    if (action.allowed || !action.actionInfo) return action.allowed;
    const uri = action.actionInfo;
    return this.known.get(`action-info ${uri}`, async () => {
      const info = (await this.w.t.get(uri)).body as ActionInfo;
      return info.Parameters?.find((p) => p.Name === "ResetType")?.AllowableValues;
    });
  }
}
