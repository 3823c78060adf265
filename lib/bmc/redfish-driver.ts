/**
 * The Redfish BmcDriver: standard ComputerSystem power, boot override and BootProgress; SAN boot
 * targets (iSCSI and Fibre Channel) on NetworkDeviceFunctions; FC inventory. What a vendor does
 * its own way is its quirks object's (vendors/), chosen once per endpoint from the node's
 * `bmc.driver` or the ServiceRoot / Manager: this file names no vendor.
 *
 * Policy lives here and in the modules it calls (walk links, "already done?" before every write,
 * evidence before every write, re-plan on 412, follow tasks and jobs); HTTP and error translation
 * live in the transport, which passes every request for one BMC through one gate (many BMCs allow
 * a single session). What walking a BMC found (where things are, what they allow) is reused for a
 * while by every command for that system (redfish-system-tree.ts, redfish-discovery-cache.ts): a
 * boot's relay commands then read only the resources they decide on, fresh.
 */
import { bootFailure, knownBootErrors, type BootLogs } from "./redfish-logs";
import { SanbootError } from "../errors";
import type { Claim } from "./claims";
import type {
  BmcDriverSetting,
  BmcEndpoint,
  BootOutcome,
  BootStatus,
  BootWait,
  ClearResult,
  ConfigureResult,
  FcBootSpec,
  FcPortIdentity,
  OverrideWant,
  PendingSettings,
  PowerState,
  SanbootBmcDriver,
  SanIscsiSpec,
  WriteGuard,
} from "./driver";
import {
  bootMarks,
  chooseResetType,
  judgeBoot,
  OS_STARTED,
  overrideDisable,
  overridePark,
  overrideRestore,
  powerIntent,
  resetActionOf,
  sanBootCapability,
} from "./redfish-boot-power";
import { getResource, type Found } from "./redfish-discovery";
import { DiscoveryCache, discoveryKey } from "./redfish-discovery-cache";
import { canNameSanDevice, learnBootOptions, writeOverride, writeParkedOverride, writeSanOverride } from "./redfish-override";
import { isStaged, mergeClears, readFunction, readSettled, undoPlace } from "./redfish-places";
import { configureFc, configureIscsi, fcInventory, iscsiRestore } from "./redfish-san-targets";
import { appliedSince, settingsFailures, type MessageSummary } from "./redfish-settings";
import { isNotFound, RedfishAgentPool, RedfishTransport } from "./redfish-transport";
import { SystemTree } from "./redfish-system-tree";
import type { ComputerSystem, NetworkDeviceFunction } from "./redfish-types";
import { failed, RedfishWriter } from "./redfish-writer";
import type { SanContext, VendorName, VendorQuirks } from "./vendors";
import { biosIscsiState } from "./vendors/hpe/bios-iscsi";

export interface RedfishDriverOptions {
  /** per HTTP call (default 15 000 ms) */
  timeoutMs?: number;
  /** re-read and retry after a 412 this many times (default 2) */
  etagRetries?: number;
  /** polling interval of every wait: power, boot, tasks, jobs (default 2 000 ms) */
  pollIntervalMs?: number;
  /** follow a running task this long before answering pending on it (default 120 000 ms; never past the endpoint's budget) */
  taskTimeoutMs?: number;
  /** the longest wait for settings to apply through POST, and of every other wait without a budget (default 1 800 000 ms: vendor jobs take 20-30 min) */
  settingsApplyTimeoutMs?: number;
  /** for endpoints that name no driver (default auto: detect) */
  driver?: BmcDriverSetting;
  /** requests in flight per BMC (default 1) */
  perBmcConcurrency?: number;
  /**
   * how long what walking a BMC found (URIs, links, allowed values, function identities, boot
   * options) is reused before walking again (default 300 000 ms; a 404 or a 412 drops it at once;
   * 0 turns the cache off)
   */
  discoveryTtlMs?: number;
  /**
   * once BootProgress says the OS loader started (OSBootStarted), how long to wait for OSRunning
   * before taking the loader as the boot (default 120 000 ms: not every BMC reports OSRunning)
   */
  osRunningGraceMs?: number;
  /** while waiting for a boot, how often to read the system's event logs for a boot error (default 10 000 ms) */
  bootLogIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const POWER_STATES: readonly PowerState[] = ["On", "Off", "PoweringOn", "PoweringOff"];

/** What our claimed SAN places say right now. */
interface SanState {
  /** UEFI device paths and target names (HPE attempts) the override may name */
  hints: string[];
  /** something we wrote waits for a reset */
  pending: boolean;
  failures: MessageSummary[];
}

/** Every place a configure writes (NIC, HBA, vendor BIOS places): all but the boot override. */
const SAN_KINDS = new Set(["nic_iscsi", "nic_fc", "hpe_bios_iscsi", "dell_bios_iscsi", "bios_attributes"]);

export class RedfishDriver implements SanbootBmcDriver {
  private readonly pool: RedfishAgentPool;
  private readonly timeoutMs: number;
  private readonly etagRetries: number;
  private readonly pollIntervalMs: number;
  private readonly taskTimeoutMs: number;
  private readonly settingsApplyTimeoutMs: number;
  private readonly osRunningGraceMs: number;
  private readonly bootLogIntervalMs: number;
  private readonly defaultSetting: BmcDriverSetting;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly discovery: DiscoveryCache;

  constructor(opts: RedfishDriverOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.etagRetries = opts.etagRetries ?? 2;
    this.pollIntervalMs = opts.pollIntervalMs ?? 2_000;
    this.taskTimeoutMs = opts.taskTimeoutMs ?? 120_000;
    this.settingsApplyTimeoutMs = opts.settingsApplyTimeoutMs ?? 1_800_000;
    this.osRunningGraceMs = opts.osRunningGraceMs ?? 120_000;
    this.bootLogIntervalMs = opts.bootLogIntervalMs ?? 10_000;
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
    return (await this.quirksOf(ep)).name;
  }

  /** The quirks chosen for this endpoint ("Dell iDRAC10", ...), for messages and tests. */
  async quirksOf(ep: BmcEndpoint): Promise<VendorQuirks> {
    return this.run(ep, async (tree) => (await this.sanContext(tree)).quirks);
  }

  // ---- power and boot progress ----

  async getPowerState(ep: BmcEndpoint): Promise<PowerState> {
    return this.run(ep, async (tree) => powerStateOf((await tree.system()).body));
  }

  async getBootStatus(ep: BmcEndpoint): Promise<BootStatus> {
    return this.run(ep, async (tree) => statusOf((await tree.system()).body));
  }

  async powerOn(ep: BmcEndpoint): Promise<void> {
    await this.run(ep, async (tree) => {
      const system = await tree.system();
      await this.reset(tree, system, powerIntent(system.body.PowerState));
    });
  }

  async powerOff(ep: BmcEndpoint): Promise<void> {
    await this.run(ep, async (tree) => {
      const system = await tree.system();
      if (system.body.PowerState === "Off" || system.body.PowerState === "PoweringOff") return;
      await this.reset(tree, system, "off");
    });
  }

  async waitForPowerOn(ep: BmcEndpoint, timeoutMs?: number): Promise<PowerState> {
    return this.run(ep, async (tree) => {
      const system = await this.poll(tree.w, timeoutMs, `system ${ep.system_id} not powered on`, async () => {
        const s = await tree.system();
        return s.body.PowerState === "On" ? s : undefined;
      });
      return powerStateOf(system.body);
    });
  }

  async waitForPowerOff(ep: BmcEndpoint, timeoutMs?: number): Promise<PowerState> {
    return this.run(ep, async (tree) => {
      const system = await this.poll(tree.w, timeoutMs, `system ${ep.system_id} not powered off`, async () => {
        const s = await tree.system();
        return s.body.PowerState === "Off" ? s : undefined;
      });
      return powerStateOf(system.body);
    });
  }

  async waitForBoot(ep: BmcEndpoint, wait: BootWait = {}): Promise<BootOutcome> {
    return this.run(ep, (tree) => this.watchBoot(tree, wait));
  }

  // ---- boot override ----

  async checkSanBootCapability(ep: BmcEndpoint, mode: "uefi" | "bios"): Promise<void> {
    await this.run(ep, async (tree) => this.assertCapable(tree, await tree.structure(), mode));
  }

  async setSanBootOverride(ep: BmcEndpoint, want: OverrideWant, guard: WriteGuard): Promise<{ changed: boolean; claim?: Claim }> {
    return this.run(ep, async (tree) => {
      const ctx = await this.sanContext(tree);
      const system = await tree.structure();
      const uri = system.uri;
      await this.assertCapable(tree, system, want.mode);
      const claims = guard.prior.claims.filter((c) => SAN_KINDS.has(c.kind));
      let hints = [...want.targets];
      const needsPath = !(system.body.Boot?.["BootSourceOverrideTarget@Redfish.AllowableValues"] ?? ["RemoteDrive"]).includes("RemoteDrive");
      if (needsPath) {
        const state = await this.sanState(tree, claims);
        hints = [...state.hints, ...want.targets];
        if (state.pending && !(await canNameSanDevice(ctx, uri, want, hints))) {
          // The device appears once our staged settings applied, which takes a POST that boots nothing.
          await writeParkedOverride(ctx, uri, overridePark, guard);
          hints = [...(await this.applyThroughPost(tree, await getResource<ComputerSystem>(tree.w.t, uri), want, claims)), ...want.targets];
        }
      }
      const claim = await writeSanOverride(ctx, uri, want, hints, guard);
      return claim ? { changed: true, claim } : { changed: false };
    });
  }

  async restoreBootOverride(ep: BmcEndpoint, claim: Claim): Promise<ClearResult> {
    return this.run(ep, async (tree) => writeOverride(await this.sanContext(tree), claim, overrideRestore, "restored"));
  }

  async disableBootOverride(ep: BmcEndpoint, claim: Claim): Promise<ClearResult> {
    return this.run(ep, async (tree) => writeOverride(await this.sanContext(tree), claim, overrideDisable, "disabled"));
  }

  // ---- SAN boot targets ----

  async configureIscsiBoot(ep: BmcEndpoint, spec: SanIscsiSpec, guard: WriteGuard): Promise<ConfigureResult> {
    return this.run(ep, async (tree) => {
      const ctx = await this.sanContext(tree);
      const system = await tree.structure();
      const claimed = guard.prior.claims.find((c) => c.kind === "nic_iscsi")?.uri;
      const fns = await tree.iscsiCandidates(ctx, spec.mac_address, claimed, spec.initiator_name);
      // the most basic refusal first: a BMC with nowhere to put the target (nothing written either way)
      const refused = ctx.quirks.iscsiRefusal(fns);
      if (refused) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ep.system_id}: ${refused}`);
      await this.assertCapable(tree, system, spec.boot_mode);
      return (await ctx.quirks.iscsiPlace(ctx, system, fns, spec, guard)) ?? configureIscsi(ctx, fns, spec, guard);
    });
  }

  async configureFcBoot(ep: BmcEndpoint, spec: FcBootSpec, guard: WriteGuard): Promise<ConfigureResult> {
    return this.run(ep, async (tree) => {
      const ctx = await this.sanContext(tree);
      await this.assertCapable(tree, await tree.structure(), spec.boot_mode ?? "uefi");
      return configureFc(ctx, await tree.functions(), spec, guard);
    });
  }

  async undoSanBoot(ep: BmcEndpoint, claims: Claim[]): Promise<ClearResult> {
    return this.run(ep, async (tree) => {
      const ctx = await this.sanContext(tree);
      const parts: ClearResult[] = [];
      for (const claim of claims) {
        if (claim.kind === "nic_iscsi") parts.push(await undoPlace(ctx, claim, readFunction, iscsiRestore(ctx)));
        else if (claim.kind === "nic_fc") parts.push(await undoPlace(ctx, claim, readFunction));
        else if (claim.kind !== "boot_override") {
          const undone = await ctx.quirks.undoVendorPlace(ctx, claim);
          if (!undone) throw new SanbootError("BMC_REJECTED", `system ${ep.system_id}: ${ctx.quirks.label} has no ${claim.kind} place to undo at ${claim.uri}`);
          parts.push(undone);
        }
      }
      return mergeClears(parts);
    });
  }

  /**
   * The node's inventory (enrollment, a changed BMC): its FC ports, read now; and what the later
   * commands of a boot will look for, learnt once while the relay is at it (its boot options).
   */
  async readFcInventory(ep: BmcEndpoint): Promise<{ ports: FcPortIdentity[] }> {
    return this.run(ep, async (tree) => {
      const ports = fcInventory(await tree.functions());
      const system = await tree.structure();
      // best effort: a BMC that will not list them costs the inventory nothing
      await learnBootOptions(await this.sanContext(tree), system.body).catch(() => undefined);
      return { ports };
    });
  }

  async awaitSettingsApplied(ep: BmcEndpoint, pending: PendingSettings, timeoutMs?: number): Promise<void> {
    await this.writer(ep).awaitApplied(pending, timeoutMs);
  }

  // ---- internals ----

  private writer(ep: BmcEndpoint): RedfishWriter {
    const t = new RedfishTransport(ep, this.pool.agentFor(ep), { timeoutMs: this.timeoutMs }, this.pool.gateFor(ep));
    return new RedfishWriter(t, ep, {
      etagRetries: this.etagRetries,
      pollIntervalMs: this.pollIntervalMs,
      taskTimeoutMs: this.taskTimeoutMs,
      settingsApplyTimeoutMs: this.settingsApplyTimeoutMs,
      sleep: this.sleep,
      now: this.now,
      onPreconditionFailed: () => this.discovery.forget(discoveryKey(ep)),
    });
  }

  /**
   * Runs one call on the system's tree. A 404 says the tree changed: what the relay knew of it is
   * dropped, and a call that had used it and written nothing yet runs once more from a new walk
   * (every call plans from fresh reads, so running it again is safe).
   */
  private async run<R>(ep: BmcEndpoint, call: (tree: SystemTree) => Promise<R>): Promise<R> {
    const known = this.discovery.of(discoveryKey(ep));
    const usedKnown = known.holdsAny;
    const tree = new SystemTree(this.writer(ep), known);
    try {
      return await call(tree);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      known.forget();
      if (!usedKnown || tree.w.t.writesSent > 0) throw err;
      return call(new SystemTree(this.writer(ep), known));
    }
  }

  private sanContext(tree: SystemTree): Promise<SanContext> {
    return tree.context(tree.w.ep.driver ?? this.defaultSetting);
  }

  private async watchBoot(tree: SystemTree, wait: BootWait): Promise<BootOutcome> {
    const { w } = tree;
    const ep = w.ep;
    let sawPreOs = false;
    let loadingSince: number | undefined;
    let logs: BootLogs | undefined | null = null;
    let seen = new Set<string>();
    let logsReadAt = Number.NEGATIVE_INFINITY;
    return this.poll(w, wait.timeoutMs, `system ${ep.system_id} has not booted`, async () => {
      const s = await tree.system();
      const last = s.body.BootProgress?.LastState;
      if (typeof last === "string" && last && !OS_STARTED.has(last) && last !== "None") sawPreOs = true;
      if (s.body.PowerState !== "On") return undefined;
      // Settings that failed at this reset leave the old target in force: say so as soon as the
      // BMC says they were applied (their Time / ETag moved), not from messages of an earlier apply.
      const state = await this.sanState(tree, wait.claims ?? []);
      if (state.failures.length > 0) throw failed("SAN boot settings", state.failures);
      const graceOver = loadingSince !== undefined && this.now() - loadingSince >= this.osRunningGraceMs;
      const judged = judgeBoot(s.body, wait.before, sawPreOs, graceOver);
      const done = judged.state === "booted" || judged.state === "unconfirmed";
      // A firmware that could not boot the SAN device says so in the event log: fail now, not at
      // the deadline; and before taking an OS as booted (a firmware that fell back to another
      // device boots an OS that is not the volume's).
      if (done || this.now() - logsReadAt >= this.bootLogIntervalMs) {
        logsReadAt = this.now();
        if (logs === null) {
          logs = await tree.bootLogs();
          if (logs && typeof s.body.LastResetTime !== "string") seen = await knownBootErrors(w.t, logs);
        }
        const failure = logs ? await bootFailure(w.t, logs, s.body, seen) : undefined;
        if (failure) throw new SanbootError("BMC_BOOT_FAILED", `system ${ep.system_id} did not boot from the SAN target: ${failure}`);
      }
      if (done) {
        const evidence = graceOver ? `${judged.evidence}; the BMC reported no OSRunning within ${Math.round(this.osRunningGraceMs / 1000)} s of it` : judged.evidence;
        return { ...statusOf(s.body), confirmed: judged.state === "booted", evidence };
      }
      if (judged.state === "loading") loadingSince ??= this.now();
      return undefined;
    });
  }

  /** BMC_CAPABILITY_MISSING, before anything is written, when the system cannot SAN boot at all. */
  private async assertCapable(tree: SystemTree, system: Found<ComputerSystem>, mode: "uefi" | "bios"): Promise<void> {
    const id = tree.w.ep.system_id;
    const cap = sanBootCapability(system.body, mode);
    if (!cap.ok) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${id}: ${cap.reason}`);
    const action = resetActionOf(system.body);
    if (!action) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${id}: no ComputerSystem.Reset action to boot it with`);
    const allowed = await tree.allowedResetTypes(action);
    if (!chooseResetType(allowed, "on") && !chooseResetType(allowed, "restart")) {
      throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${id}: no reset type powers it on (allowed: ${(allowed ?? []).join(", ")})`);
    }
  }

  /**
   * Our claimed SAN places only: override hints, whether something we wrote waits for a reset, and
   * failures, counted only from an apply after our write (the settings' Time / ETag moved). A
   * function known to take writes in place has nothing waiting and nothing to fail: not read.
   */
  private async sanState(tree: SystemTree, claims: Claim[]): Promise<SanState> {
    const ctx = await this.sanContext(tree);
    const state: SanState = { hints: [], pending: false, failures: [] };
    for (const claim of claims) {
      if (claim.kind === "nic_iscsi" || claim.kind === "nic_fc") {
        if (tree.writesInPlace(ctx, claim.uri)) continue;
        const view = await readFunction(ctx, claim.uri);
        const applied = appliedSince(view.now, claim.since);
        if (applied !== false) state.failures.push(...settingsFailures((view.now as unknown as NetworkDeviceFunction)["@Redfish.Settings"], Object.keys(claim.wrote)));
        if (isStaged(view) || applied === false) state.pending = true;
      } else if (claim.kind === "hpe_bios_iscsi") {
        const hpe = await biosIscsiState(ctx, claim);
        state.hints.push(...hpe.hints);
        state.pending ||= hpe.pending;
        state.failures.push(...hpe.failures);
      } else if (claim.kind === "dell_bios_iscsi" || claim.kind === "bios_attributes") {
        const view = await readSettled(ctx, claim.uri, undefined);
        const applied = appliedSince(view.now, claim.since);
        if (applied !== false) state.failures.push(...settingsFailures(view.now["@Redfish.Settings"] as never, Object.keys(claim.wrote)));
        if (isStaged(view) || applied === false) state.pending = true;
      }
    }
    return state;
  }

  /**
   * The SAN device's UEFI path appears only once pending settings applied, which takes a POST:
   * power the system on (or restart it), then wait until the override can name the device, or the
   * settings report that they failed. Answers the hints to use. The power change is recorded first.
   */
  private async applyThroughPost(tree: SystemTree, system: Found<ComputerSystem>, want: OverrideWant, claims: Claim[]): Promise<string[]> {
    const ctx = await this.sanContext(tree);
    await this.reset(tree, system, powerIntent(system.body.PowerState));
    let hints: string[] = [];
    await this.poll(tree.w, this.settingsApplyTimeoutMs, `system ${tree.w.ep.system_id}: pending SAN settings not applied`, async () => {
      const s = await tree.system();
      if (s.body.PowerState !== "On") return undefined;
      const state = await this.sanState(tree, claims);
      if (state.failures.length > 0) throw failed("SAN boot settings", state.failures);
      hints = state.hints;
      return (await canNameSanDevice(ctx, s.uri, want, [...hints, ...want.targets])) ? s : undefined;
    });
    return hints;
  }

  /** Polls `probe` until it answers; a retryable BMC hiccup in between is not the end. */
  private async poll<T>(w: RedfishWriter, timeoutMs: number | undefined, what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = w.deadline(timeoutMs, this.settingsApplyTimeoutMs);
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
        throw new SanbootError("BMC_POWER_TIMEOUT", `${what} when the time ran out`, { retryable: true, cause: lastError });
      }
      await w.pause(deadline);
    }
  }

  /** The reset for `intent`, by the system's Reset action (its structure) and what it allows. */
  private async reset(tree: SystemTree, system: Found<ComputerSystem>, intent: "on" | "restart" | "off"): Promise<void> {
    const action = resetActionOf(system.body);
    if (!action) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${system.uri} offers no ComputerSystem.Reset action`);
    const allowed = await tree.allowedResetTypes(action);
    const resetType = chooseResetType(allowed, intent);
    if (!resetType) {
      throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${system.uri} allows no reset type to ${intent} (allowed: ${(allowed ?? []).join(", ")})`);
    }
    await tree.w.t.post(action.target, { ResetType: resetType });
  }
}

function powerStateOf(system: ComputerSystem): PowerState {
  const s = system.PowerState;
  if (POWER_STATES.includes(s as PowerState)) return s as PowerState;
  throw new SanbootError("BMC_REJECTED", `BMC reported an unknown PowerState "${String(s)}" for ${system["@odata.id"] ?? "the system"}`);
}

function statusOf(system: ComputerSystem): BootStatus {
  const marks = bootMarks(system);
  return { power_state: powerStateOf(system), ...(marks.boot_progress ? { boot_progress: marks.boot_progress } : {}), marks };
}
