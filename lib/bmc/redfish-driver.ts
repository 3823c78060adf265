/**
 * The Redfish BmcDriver: standard ComputerSystem power, boot override and BootProgress; SAN boot
 * targets (iSCSI and Fibre Channel) on NetworkDeviceFunctions; FC inventory; and the vendor
 * quirks, chosen per endpoint (the node's `bmc.driver`, else detected from the ServiceRoot or the
 * Manager): Dell iDRAC's settings objects and jobs, HPE iLO's BIOS UEFI iSCSI initiator.
 *
 * Policy lives here and in the modules it calls (walk links, "already done?" before every write,
 * re-read and retry on 412, follow tasks and jobs); HTTP and error translation live in the
 * transport, which passes every request for one BMC through one gate (many BMCs allow a single
 * session). The links found by walking a BMC are reused for a while (redfish-discovery-cache.ts):
 * a boot's relay commands then read only the resources they decide on.
 */
import { SanbootError } from "../errors";
import type {
  BmcDriverSetting,
  BmcEndpoint,
  BootStatus,
  ClearResult,
  ConfigureResult,
  FcBootSpec,
  FcPortIdentity,
  PendingSettings,
  PowerState,
  SanBootSnapshot,
  SanbootBmcDriver,
  SanIscsiSpec,
} from "./driver";
import { chooseResetType, chooseSanOverride, clearOverridePatch, hasBooted, powerIntent, resetActionOf, type ResetAction } from "./redfish-boot-power";
import { findFunctionUris, findSystemUri, getResource, readFunctions, type Found } from "./redfish-discovery";
import { DiscoveryCache } from "./redfish-discovery-cache";
import { isFcCapable } from "./redfish-fc";
import { isIscsiCapable, macsOf } from "./redfish-san-boot";
import { clearFc, clearIscsi, configureFc, configureIscsi, fcInventory, mergeClears, readFunction, type SanContext } from "./redfish-san-targets";
import { settingsFailures, type MessageSummary } from "./redfish-settings";
import { RedfishAgentPool, RedfishTransport } from "./redfish-transport";
import { linkOf, type ActionInfo, type ComputerSystem, type Manager, type NetworkDeviceFunction, type ServiceRoot } from "./redfish-types";
import { contains, failed, RedfishWriter, SecretMemory } from "./redfish-writer";
import { selectVendor, vendorOfSetting, type VendorName } from "./vendor-select";
import { biosIscsiState, clearBiosIscsi, configureBiosIscsi, findBiosIscsi } from "./vendors/hpe-bios-iscsi";

export interface RedfishDriverOptions {
  /** per HTTP call (default 15 000 ms) */
  timeoutMs?: number;
  /** re-read and retry after a 412 this many times (default 2) */
  etagRetries?: number;
  /** polling interval of every wait: power, boot, tasks, jobs (default 2 000 ms) */
  pollIntervalMs?: number;
  /** follow a running task this long before answering pending on it (default 120 000 ms) */
  taskTimeoutMs?: number;
  /** setSanBootOverride's wait for pending settings to apply through POST (default 600 000 ms) */
  settingsApplyTimeoutMs?: number;
  /** for endpoints that name no driver (default auto: detect) */
  driver?: BmcDriverSetting;
  /** requests in flight per BMC (default 1) */
  perBmcConcurrency?: number;
  /**
   * how long the links found by walking a BMC (system, function, BIOS iSCSI URIs) are reused
   * before walking again (default 300 000 ms; a 404 re-walks at once; 0 turns the cache off)
   */
  discoveryTtlMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const POWER_STATES: readonly PowerState[] = ["On", "Off", "PoweringOn", "PoweringOff"];

/** What the system's SAN boot configuration says right now, across functions and vendor places. */
interface SanState {
  /** target IQNs, FC target WWPNs, UEFI device paths the override must name */
  hints: string[];
  /** some SAN settings wait for a reset */
  pending: boolean;
  failures: MessageSummary[];
}

export class RedfishDriver implements SanbootBmcDriver {
  private readonly pool: RedfishAgentPool;
  private readonly timeoutMs: number;
  private readonly etagRetries: number;
  private readonly pollIntervalMs: number;
  private readonly taskTimeoutMs: number;
  private readonly settingsApplyTimeoutMs: number;
  private readonly defaultSetting: BmcDriverSetting;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly discovery: DiscoveryCache;
  private readonly vendors = new Map<string, { vendor: VendorName; managerUri: string | undefined }>();
  private readonly secrets = new SecretMemory();

  constructor(opts: RedfishDriverOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.etagRetries = opts.etagRetries ?? 2;
    this.pollIntervalMs = opts.pollIntervalMs ?? 2_000;
    this.taskTimeoutMs = opts.taskTimeoutMs ?? 120_000;
    this.settingsApplyTimeoutMs = opts.settingsApplyTimeoutMs ?? 600_000;
    this.defaultSetting = opts.driver ?? "auto";
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = opts.now ?? Date.now;
    this.pool = new RedfishAgentPool(this.timeoutMs, opts.perBmcConcurrency ?? 1);
    this.discovery = new DiscoveryCache(opts.discoveryTtlMs ?? 300_000, this.now);
  }

  /** Closes the per-endpoint connection pools. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** Which vendor's quirks this endpoint gets (the node's setting, else detected once). */
  async vendorOf(ep: BmcEndpoint): Promise<VendorName> {
    return (await this.sanContext(this.writer(ep))).vendor;
  }

  // ---- power and boot progress ----

  async getPowerState(ep: BmcEndpoint): Promise<PowerState> {
    return powerStateOf((await this.system(this.writer(ep))).body);
  }

  async getBootStatus(ep: BmcEndpoint): Promise<BootStatus> {
    const system = (await this.system(this.writer(ep))).body;
    const last = system.BootProgress?.LastState;
    return { power_state: powerStateOf(system), ...(typeof last === "string" ? { boot_progress: last } : {}) };
  }

  async powerOn(ep: BmcEndpoint): Promise<void> {
    const w = this.writer(ep);
    const system = await this.system(w);
    await this.reset(w, system, powerIntent(system.body.PowerState));
  }

  async powerOff(ep: BmcEndpoint): Promise<void> {
    const w = this.writer(ep);
    const system = await this.system(w);
    if (system.body.PowerState === "Off" || system.body.PowerState === "PoweringOff") return;
    await this.reset(w, system, "off");
  }

  async waitForPowerOn(ep: BmcEndpoint, timeoutMs: number): Promise<PowerState> {
    const w = this.writer(ep);
    const system = await this.poll(timeoutMs, `system ${ep.system_id} not powered on`, async () => {
      const s = await this.system(w);
      return s.body.PowerState === "On" ? s : undefined;
    });
    return powerStateOf(system.body);
  }

  async waitForPowerOff(ep: BmcEndpoint, timeoutMs: number): Promise<PowerState> {
    const w = this.writer(ep);
    const system = await this.poll(timeoutMs, `system ${ep.system_id} not powered off`, async () => {
      const s = await this.system(w);
      return s.body.PowerState === "Off" ? s : undefined;
    });
    return powerStateOf(system.body);
  }

  async waitForBoot(ep: BmcEndpoint, timeoutMs: number): Promise<BootStatus> {
    const w = this.writer(ep);
    let checked = false;
    const system = await this.poll(timeoutMs, `system ${ep.system_id} has not booted`, async () => {
      const s = await this.system(w);
      if (s.body.PowerState !== "On") return undefined;
      if (!checked) {
        // Settings that failed at this reset leave the old target in force: say so now, not at timeout.
        const state = await this.sanState(w, s);
        if (state.failures.length > 0) throw failed("SAN boot settings", state.failures);
        checked = true;
      }
      return hasBooted(s.body) ? s : undefined;
    });
    const last = system.body.BootProgress?.LastState;
    return { power_state: powerStateOf(system.body), ...(typeof last === "string" ? { boot_progress: last } : {}) };
  }

  // ---- boot override ----

  async setSanBootOverride(ep: BmcEndpoint, mode: "uefi" | "bios", persistence: "once" | "continuous" = "once"): Promise<void> {
    const w = this.writer(ep);
    let system = await this.system(w);
    const uri = system.uri;
    const needsPath = !(system.body.Boot?.["BootSourceOverrideTarget@Redfish.AllowableValues"] ?? ["RemoteDrive"]).includes("RemoteDrive");
    let hints: string[] = [];
    if (needsPath) {
      const state = await this.sanState(w, system);
      hints = state.hints;
      if (chooseSanOverride(system.body.Boot, mode, hints).kind === "missing" && state.pending) {
        hints = await this.applyThroughPost(w, system, mode);
      }
    }
    await w.patchFresh(async () => {
      system = await getResource<ComputerSystem>(w.t, uri);
      const decision = chooseSanOverride(system.body.Boot, mode, hints, persistence);
      if (decision.kind === "missing") throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ep.system_id}: ${decision.reason}`);
      return decision.kind === "done" ? null : { uri, body: decision.body, etag: system.etag };
    });
  }

  async clearBootOverride(ep: BmcEndpoint): Promise<void> {
    const w = this.writer(ep);
    await this.withSystemUri(w, (uri) => this.clearOverride(w, uri, false));
  }

  // ---- SAN boot targets ----

  async configureIscsiBoot(ep: BmcEndpoint, spec: SanIscsiSpec): Promise<ConfigureResult> {
    const w = this.writer(ep);
    const ctx = await this.sanContext(w);
    const system = await this.system(w);
    return this.withFunctions(w, system, async (fns) => {
      const viaBios =
        ctx.vendor === "hpe"
          ? await this.withBiosIscsi(ctx, system, async (bios) => {
              if (!bios) return undefined;
              const macs = fns.filter((f) => isIscsiCapable(f.body)).map((f) => macsOf(f.body)[0] ?? "");
              return configureBiosIscsi(ctx, bios, spec, macs);
            })
          : undefined;
      return viaBios ?? configureIscsi(ctx, fns, spec);
    });
  }

  async clearIscsiBoot(ep: BmcEndpoint, macAddress?: string, previous?: SanBootSnapshot): Promise<ClearResult> {
    const w = this.writer(ep);
    const ctx = await this.sanContext(w);
    const system = await this.system(w);
    // The override first: from here on no reset (the one that applies this clear, or anyone's)
    // boots the SAN device, whose target is about to go.
    const parts: ClearResult[] = [{ changed: await this.clearOverride(w, system.uri, true) }];
    if (ctx.vendor === "hpe" || previous?.kind === "hpe_bios_iscsi") {
      parts.push(await this.withBiosIscsi(ctx, system, async (bios) => (bios ? clearBiosIscsi(ctx, bios, previous) : { changed: false })));
    }
    parts.push(await this.withFunctions(w, system, (fns) => clearIscsi(ctx, fns, macAddress, previous)));
    return mergeClears(parts);
  }

  async readFcInventory(ep: BmcEndpoint): Promise<{ ports: FcPortIdentity[] }> {
    const w = this.writer(ep);
    return { ports: fcInventory(await this.functions(w, await this.system(w))) };
  }

  async configureFcBoot(ep: BmcEndpoint, spec: FcBootSpec): Promise<ConfigureResult> {
    const w = this.writer(ep);
    const ctx = await this.sanContext(w);
    const system = await this.system(w);
    return this.withFunctions(w, system, (fns) => configureFc(ctx, fns, spec));
  }

  async clearFcBoot(ep: BmcEndpoint, wwpn?: string, previous?: SanBootSnapshot): Promise<ClearResult> {
    const w = this.writer(ep);
    const ctx = await this.sanContext(w);
    const system = await this.system(w);
    const override = { changed: await this.clearOverride(w, system.uri, true) };
    return mergeClears([override, await this.withFunctions(w, system, (fns) => clearFc(ctx, fns, wwpn, previous))]);
  }

  async awaitSettingsApplied(ep: BmcEndpoint, pending: PendingSettings, timeoutMs: number): Promise<void> {
    await this.writer(ep).awaitApplied(pending, timeoutMs);
  }

  // ---- internals ----

  private writer(ep: BmcEndpoint): RedfishWriter {
    const t = new RedfishTransport(ep, this.pool.agentFor(ep), { timeoutMs: this.timeoutMs }, this.pool.gateFor(ep));
    return new RedfishWriter(t, ep, {
      etagRetries: this.etagRetries,
      pollIntervalMs: this.pollIntervalMs,
      taskTimeoutMs: this.taskTimeoutMs,
      sleep: this.sleep,
      now: this.now,
    });
  }

  private key(ep: BmcEndpoint): string {
    return `${new URL(ep.address).origin}|${ep.system_id}`;
  }

  // Discovery: links found by walking are reused (DiscoveryCache); `use` runs again after a re-walk
  // when a reused link answered 404, so it must plan from fresh reads.

  private withSystemUri<R>(w: RedfishWriter, use: (uri: string) => Promise<R>): Promise<R> {
    return this.discovery.through(this.key(w.ep), "system", () => findSystemUri(w.t, w.ep.system_id), use);
  }

  private system(w: RedfishWriter): Promise<Found<ComputerSystem>> {
    return this.withSystemUri(w, (uri) => getResource<ComputerSystem>(w.t, uri));
  }

  /** The system's functions, read fresh, at the links found by walking. */
  private withFunctions<R>(w: RedfishWriter, system: Found<ComputerSystem>, use: (fns: Array<Found<NetworkDeviceFunction>>) => Promise<R>): Promise<R> {
    return this.discovery.through(this.key(w.ep), "functions", () => findFunctionUris(w.t, system), async (uris) => use(await readFunctions(w.t, uris)));
  }

  private functions(w: RedfishWriter, system: Found<ComputerSystem>): Promise<Array<Found<NetworkDeviceFunction>>> {
    return this.withFunctions(w, system, async (fns) => fns);
  }

  /** HPE's `Bios/iScsi` URI (undefined: the BIOS has no UEFI iSCSI initiator). */
  private withBiosIscsi<R>(ctx: SanContext, system: Found<ComputerSystem>, use: (uri: string | undefined) => Promise<R>): Promise<R> {
    return this.discovery.through(this.key(ctx.w.ep), "bios-iscsi", () => findBiosIscsi(ctx, system), use);
  }

  /** The vendor (setting, else ServiceRoot, else Manager) and the manager, once per endpoint. */
  private async sanContext(w: RedfishWriter): Promise<SanContext> {
    const setting = `${w.ep.driver ?? this.defaultSetting}`;
    const cacheKey = `${this.key(w.ep)}|${setting}`;
    let known = this.vendors.get(cacheKey);
    if (!known) {
      const system = await this.system(w);
      const managerUri = linkOf(system.body.Links?.ManagedBy?.[0]);
      const fixed = vendorOfSetting(w.ep.driver ?? this.defaultSetting);
      let vendor: VendorName;
      if (fixed !== "auto") vendor = fixed;
      else {
        const root = (await w.t.get("/redfish/v1/")).body as ServiceRoot;
        const fromRoot = selectVendor(root);
        const manager = fromRoot === undefined && managerUri ? ((await w.t.get(managerUri)).body as Manager) : {};
        vendor = fromRoot ?? selectVendor(root, manager) ?? "generic";
      }
      known = { vendor, managerUri };
      this.vendors.set(cacheKey, known);
    }
    return { w, secrets: this.secrets, vendor: known.vendor, managerUri: known.managerUri };
  }

  /** One walk over the SAN places (functions, HPE BIOS iSCSI): override hints, pending, failures. */
  private async sanState(w: RedfishWriter, system: Found<ComputerSystem>): Promise<SanState> {
    const ctx = await this.sanContext(w);
    const state: SanState = { hints: [], pending: false, failures: [] };
    for (const f of await this.functions(w, system)) {
      if (!isIscsiCapable(f.body) && !isFcCapable(f.body)) continue;
      const view = await readFunction(w, f.body["@odata.id"]);
      const fn = view.fn;
      if (fn.BootMode === "iSCSI") {
        for (const n of [fn.iSCSIBoot?.PrimaryTargetName, fn.iSCSIBoot?.SecondaryTargetName]) if (typeof n === "string" && n) state.hints.push(n);
      }
      if (fn.BootMode === "FibreChannel") {
        for (const t of fn.FibreChannel?.BootTargets ?? []) if (t.WWPN) state.hints.push(t.WWPN.replace(/[:-]/g, "").toLowerCase());
      }
      state.failures.push(...settingsFailures(view.resource["@Redfish.Settings"]));
      if (view.target.deferred && !contains(view.resource, (await w.t.get(view.target.uri)).body)) state.pending = true;
    }
    const hpe = ctx.vendor === "hpe" ? await this.withBiosIscsi(ctx, system, async (uri) => (uri ? biosIscsiState(ctx, uri) : undefined)) : undefined;
    if (hpe) {
      state.hints.unshift(...hpe.hints);
      state.pending ||= hpe.pending;
      state.failures.push(...hpe.failures);
    }
    return state;
  }

  /**
   * The SAN device's UEFI path appears only once pending settings applied, which takes a POST:
   * power the system on (or restart it), then wait until the override can name the device, or the
   * settings report that they failed. Answers the hints to use.
   */
  private async applyThroughPost(w: RedfishWriter, system: Found<ComputerSystem>, mode: "uefi" | "bios"): Promise<string[]> {
    await this.reset(w, system, powerIntent(system.body.PowerState));
    let hints: string[] = [];
    await this.poll(this.settingsApplyTimeoutMs, `system ${w.ep.system_id}: pending SAN settings not applied`, async () => {
      const s = await this.system(w);
      if (s.body.PowerState !== "On") return undefined;
      const state = await this.sanState(w, s);
      if (state.failures.length > 0) throw failed("SAN boot settings", state.failures);
      hints = state.hints;
      return chooseSanOverride(s.body.Boot, mode, hints).kind === "missing" ? undefined : s;
    });
    return hints;
  }

  /** Polls `probe` until it answers; a retryable BMC hiccup in between is not the end. */
  private async poll<T>(timeoutMs: number, what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = this.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const out = await probe();
        if (out !== undefined) return out;
      } catch (err) {
        if (!(err instanceof SanbootError) || !err.retryable) throw err;
        lastError = err;
      }
      if (this.now() >= deadline) {
        throw new SanbootError("BMC_POWER_TIMEOUT", `${what} after ${timeoutMs} ms`, { retryable: true, cause: lastError });
      }
      await this.sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - this.now())));
    }
  }

  private async clearOverride(w: RedfishWriter, uri: string, onlySan: boolean): Promise<boolean> {
    const reply = await w.patchFresh(async () => {
      const system = await getResource<ComputerSystem>(w.t, uri);
      const body = clearOverridePatch(system.body.Boot, onlySan);
      return body ? { uri, body, etag: system.etag } : null;
    });
    return reply !== null;
  }

  private async reset(w: RedfishWriter, system: Found<ComputerSystem>, intent: "on" | "restart" | "off"): Promise<void> {
    const action = resetActionOf(system.body);
    if (!action) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${system.uri} offers no ComputerSystem.Reset action`);
    const allowed = await this.allowedResetTypes(w, action);
    const resetType = chooseResetType(allowed, intent);
    if (!resetType) {
      throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${system.uri} allows no reset type to ${intent} (allowed: ${(allowed ?? []).join(", ")})`);
    }
    await w.t.post(action.target, { ResetType: resetType });
  }

  private async allowedResetTypes(w: RedfishWriter, action: ResetAction): Promise<string[] | undefined> {
    if (action.allowed || !action.actionInfo) return action.allowed;
    const info = (await w.t.get(action.actionInfo)).body as ActionInfo;
    return info.Parameters?.find((p) => p.Name === "ResetType")?.AllowableValues;
  }
}

function powerStateOf(system: ComputerSystem): PowerState {
  const s = system.PowerState;
  if (POWER_STATES.includes(s as PowerState)) return s as PowerState;
  throw new SanbootError("BMC_REJECTED", `BMC reported an unknown PowerState "${String(s)}" for ${system["@odata.id"] ?? "the system"}`);
}
