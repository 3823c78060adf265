/**
 * The Redfish BmcDriver: standard ComputerSystem power, boot override and BootProgress; SAN boot
 * targets (iSCSI and Fibre Channel) on NetworkDeviceFunctions; FC inventory; and the vendor
 * quirks, chosen per endpoint (the node's `bmc.driver`, else detected from the ServiceRoot or the
 * Manager): Dell iDRAC's settings objects and jobs, HPE iLO's BIOS UEFI iSCSI initiator.
 *
 * Policy lives here and in the modules it calls (walk links, "already done?" before every write,
 * re-read and retry on 412, follow tasks and jobs); HTTP and error translation live in the
 * transport, which passes every request for one BMC through one gate (many BMCs allow a single
 * session).
 */
import { SanbootError } from "../errors";
import type {
  BmcDriverSetting,
  BmcEndpoint,
  BootStatus,
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
import { findSystemUri, getResource, listFunctions, type Found } from "./redfish-discovery";
import { isFcCapable } from "./redfish-fc";
import { isIscsiCapable, macsOf } from "./redfish-san-boot";
import { clearFc, clearIscsi, configureFc, configureIscsi, fcInventory, readFunction, type SanContext } from "./redfish-san-targets";
import { settingsFailures, type MessageSummary } from "./redfish-settings";
import { RedfishAgentPool, RedfishTransport } from "./redfish-transport";
import { linkOf, type ActionInfo, type ComputerSystem, type Manager, type ServiceRoot } from "./redfish-types";
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
  private readonly systemUris = new Map<string, string>();
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

  async setSanBootOverride(ep: BmcEndpoint, mode: "uefi" | "bios"): Promise<void> {
    const w = this.writer(ep);
    const uri = await this.systemUri(w);
    let system = await getResource<ComputerSystem>(w.t, uri);
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
      const decision = chooseSanOverride(system.body.Boot, mode, hints);
      if (decision.kind === "missing") throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ep.system_id}: ${decision.reason}`);
      return decision.kind === "done" ? null : { uri, body: decision.body, etag: system.etag };
    });
  }

  async clearBootOverride(ep: BmcEndpoint): Promise<void> {
    const w = this.writer(ep);
    await this.clearOverride(w, await this.systemUri(w), false);
  }

  // ---- SAN boot targets ----

  async configureIscsiBoot(ep: BmcEndpoint, spec: SanIscsiSpec): Promise<ConfigureResult> {
    const w = this.writer(ep);
    const ctx = await this.sanContext(w);
    const system = await this.system(w);
    const fns = await listFunctions(w.t, system);
    const bios = ctx.vendor === "hpe" ? await findBiosIscsi(ctx, system) : undefined;
    if (bios) {
      const macs = fns.filter((f) => isIscsiCapable(f.body)).map((f) => macsOf(f.body)[0] ?? "");
      return configureBiosIscsi(ctx, bios, spec, macs);
    }
    return configureIscsi(ctx, fns, spec);
  }

  async clearIscsiBoot(ep: BmcEndpoint, macAddress?: string, previous?: SanBootSnapshot): Promise<{ changed: boolean }> {
    const w = this.writer(ep);
    const ctx = await this.sanContext(w);
    const system = await this.system(w);
    let changed = false;
    const bios = ctx.vendor === "hpe" || previous?.kind === "hpe_bios_iscsi" ? await findBiosIscsi(ctx, system) : undefined;
    if (bios) changed = await clearBiosIscsi(ctx, bios, previous);
    changed = (await clearIscsi(ctx, await listFunctions(w.t, system), macAddress, previous)) || changed;
    // A Once/Continuous override still pointing at the SAN would boot into a target that is gone.
    changed = (await this.clearOverride(w, system.uri, true)) || changed;
    return { changed };
  }

  async readFcInventory(ep: BmcEndpoint): Promise<{ ports: FcPortIdentity[] }> {
    const w = this.writer(ep);
    return { ports: fcInventory(await listFunctions(w.t, await this.system(w))) };
  }

  async configureFcBoot(ep: BmcEndpoint, spec: FcBootSpec): Promise<ConfigureResult> {
    const w = this.writer(ep);
    const ctx = await this.sanContext(w);
    return configureFc(ctx, await listFunctions(w.t, await this.system(w)), spec);
  }

  async clearFcBoot(ep: BmcEndpoint, wwpn?: string, previous?: SanBootSnapshot): Promise<{ changed: boolean }> {
    const w = this.writer(ep);
    const ctx = await this.sanContext(w);
    const system = await this.system(w);
    let changed = await clearFc(ctx, await listFunctions(w.t, system), wwpn, previous);
    changed = (await this.clearOverride(w, system.uri, true)) || changed;
    return { changed };
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

  private async systemUri(w: RedfishWriter): Promise<string> {
    let uri = this.systemUris.get(this.key(w.ep));
    if (!uri) {
      uri = await findSystemUri(w.t, w.ep.system_id);
      this.systemUris.set(this.key(w.ep), uri);
    }
    return uri;
  }

  private async system(w: RedfishWriter): Promise<Found<ComputerSystem>> {
    const uri = await this.systemUri(w);
    try {
      return await getResource<ComputerSystem>(w.t, uri);
    } catch (err) {
      if (err instanceof SanbootError && err.code === "BMC_REJECTED") this.systemUris.delete(this.key(w.ep));
      throw err;
    }
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
    for (const f of await listFunctions(w.t, system)) {
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
    const bios = ctx.vendor === "hpe" ? await findBiosIscsi(ctx, system) : undefined;
    if (bios) {
      const hpe = await biosIscsiState(ctx, bios);
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
