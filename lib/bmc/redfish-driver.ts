/**
 * The generic Redfish BmcDriver: standard ComputerSystem power and boot override, and the iSCSI
 * boot target of a NetworkDeviceFunction. Policy lives here (walk links, "already done?" before
 * every write, re-read and retry on 412); HTTP and error translation live in the transport.
 *
 * CHAPSecret cannot be read back (BMCs answer null), so "already holds the target" cannot be
 * proven from a GET alone. The driver remembers, per function, a keyed digest of the secret it
 * wrote and the ETag the function had right after that write. When the function still has that
 * ETag (nobody wrote since) and the wanted secret has that digest, the secret is known to be in
 * place and no PATCH is sent. Otherwise (another process, a restart of the relay, a BMC without
 * ETags, a changed secret) the secret is written again: a spare write is harmless, a stale
 * secret fails the boot. The raw secret is never kept.
 */
import { createHmac, randomBytes } from "node:crypto";
import { SanbootError } from "../errors";
import type { IscsiBootSpec } from "../relay/protocol";
import type { BmcDriver, BmcEndpoint, PowerState } from "./driver";
import { chooseResetType, chooseSanOverride, clearOverridePatch, powerIntent, resetActionOf, type ResetAction } from "./redfish-boot-power";
import { findSystemUri, getResource, listFunctions, type Found } from "./redfish-discovery";
import {
  chooseIscsiFunction,
  clearPatch,
  desiredIscsiBoot,
  isIscsiCapable,
  macsOf,
  normaliseMac,
  patchTarget,
  pendingView,
  sanBootPatch,
} from "./redfish-san-boot";
import { RedfishAgentPool, RedfishTransport, type RedfishBody } from "./redfish-transport";
import type { ActionInfo, ComputerSystem, NetworkDeviceFunction } from "./redfish-types";

export interface RedfishDriverOptions {
  /** per HTTP call (default 15 000 ms) */
  timeoutMs?: number;
  /** re-read and retry after a 412 this many times (default 2) */
  etagRetries?: number;
  /** waitForPowerOn polling interval (default 2 000 ms) */
  pollIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const POWER_STATES: readonly PowerState[] = ["On", "Off", "PoweringOn", "PoweringOff"];

/** A write decided from a fresh read: where to PATCH, what, and which ETag guards it. */
interface PlannedPatch {
  uri: string;
  body: RedfishBody;
  etag: string | undefined;
}

export class RedfishDriver implements BmcDriver {
  private readonly pool: RedfishAgentPool;
  private readonly timeoutMs: number;
  private readonly etagRetries: number;
  private readonly pollIntervalMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly systemUris = new Map<string, string>();
  private readonly writtenSecrets = new Map<string, { etag: string; digest: string }>();
  private readonly digestKey = randomBytes(32);

  constructor(opts: RedfishDriverOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.etagRetries = opts.etagRetries ?? 2;
    this.pollIntervalMs = opts.pollIntervalMs ?? 2_000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = opts.now ?? Date.now;
    this.pool = new RedfishAgentPool(this.timeoutMs);
  }

  /** Closes the per-endpoint connection pools. */
  close(): Promise<void> {
    return this.pool.close();
  }

  // ---- power ----

  async getPowerState(ep: BmcEndpoint): Promise<PowerState> {
    return powerStateOf((await this.system(this.transport(ep), ep)).body);
  }

  async powerOn(ep: BmcEndpoint): Promise<void> {
    const t = this.transport(ep);
    const system = await this.system(t, ep);
    const intent = powerIntent(system.body.PowerState);
    await this.reset(t, system, intent);
  }

  async powerOff(ep: BmcEndpoint): Promise<void> {
    const t = this.transport(ep);
    const system = await this.system(t, ep);
    if (system.body.PowerState === "Off" || system.body.PowerState === "PoweringOff") return;
    await this.reset(t, system, "off");
  }

  async waitForPowerOn(ep: BmcEndpoint, timeoutMs: number): Promise<PowerState> {
    const deadline = this.now() + timeoutMs;
    let last: PowerState | undefined;
    let lastError: unknown;
    for (;;) {
      try {
        last = await this.getPowerState(ep);
        if (last === "On") return last;
      } catch (err) {
        // A BMC may drop requests while the host powers up; only a lasting failure counts.
        if (!(err instanceof SanbootError) || !err.retryable) throw err;
        lastError = err;
      }
      if (this.now() >= deadline) {
        throw new SanbootError(
          "BMC_POWER_TIMEOUT",
          `system ${ep.system_id} not powered on after ${timeoutMs} ms (last state: ${last ?? "unknown"})`,
          { retryable: true, cause: lastError },
        );
      }
      await this.sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - this.now())));
    }
  }

  // ---- boot override ----

  async setSanBootOverride(ep: BmcEndpoint, mode: "uefi" | "bios"): Promise<void> {
    const t = this.transport(ep);
    const uri = await this.systemUri(t, ep);
    await this.patchFresh(t, async () => {
      const system = await getResource<ComputerSystem>(t, uri);
      const decision = chooseSanOverride(system.body.Boot, mode);
      if (decision.kind === "missing") throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ep.system_id}: ${decision.reason}`);
      return decision.kind === "done" ? null : { uri, body: decision.body, etag: system.etag };
    });
  }

  async clearBootOverride(ep: BmcEndpoint): Promise<void> {
    const t = this.transport(ep);
    await this.clearOverride(t, await this.systemUri(t, ep), false);
  }

  // ---- SAN boot target ----

  async configureIscsiBoot(ep: BmcEndpoint, spec: IscsiBootSpec): Promise<{ changed: boolean; function_uri: string }> {
    const t = this.transport(ep);
    const fns = await listFunctions(t, await this.system(t, ep));
    const choice = chooseIscsiFunction(fns.map((f) => f.body), spec.mac_address);
    if (!choice.ok) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ep.system_id}: ${choice.reason}`);
    const fnUri = choice.fn["@odata.id"];
    const memoryKey = `${new URL(ep.address).origin}|${fnUri}`;
    const secret = desiredIscsiBoot(spec).CHAPSecret;
    const digest = typeof secret === "string" ? this.digest(secret) : "";

    let wrote: { uri: string } | undefined;
    const changed = await this.patchFresh(t, async () => {
      const view = await this.pendingState(t, fnUri);
      const remembered = this.writtenSecrets.get(memoryKey);
      const secretKnown = remembered !== undefined && view.etag !== undefined && remembered.etag === view.etag && remembered.digest === digest;
      const plan = sanBootPatch(view.fn, spec, secretKnown);
      if (!plan.ok) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${ep.system_id}: ${plan.reason}`);
      if (!plan.body) return null;
      wrote = { uri: view.patchUri };
      return { uri: view.patchUri, body: withApplyTime(plan.body, view.applyTime), etag: view.etag };
    });

    if (changed && wrote) {
      // Re-read for the ETag our write produced: it vouches for the secret until someone else writes.
      const after = await t.get(wrote.uri);
      if (after.etag !== undefined && digest !== "") this.writtenSecrets.set(memoryKey, { etag: after.etag, digest });
      else this.writtenSecrets.delete(memoryKey);
    }
    return { changed, function_uri: fnUri };
  }

  async clearIscsiBoot(ep: BmcEndpoint, macAddress?: string): Promise<{ changed: boolean }> {
    const t = this.transport(ep);
    const system = await this.system(t, ep);
    const fns = await listFunctions(t, system);
    const wanted = normaliseMac(macAddress);
    const candidates = fns.filter((f) => isIscsiCapable(f.body) && (wanted === undefined || macsOf(f.body).includes(wanted)));
    let changed = false;
    for (const candidate of candidates) {
      const fnUri = candidate.body["@odata.id"];
      this.writtenSecrets.delete(`${new URL(ep.address).origin}|${fnUri}`);
      const did = await this.patchFresh(t, async () => {
        const view = await this.pendingState(t, fnUri);
        const body = clearPatch(view.fn);
        return body ? { uri: view.patchUri, body: withApplyTime(body, view.applyTime), etag: view.etag } : null;
      });
      changed ||= did;
    }
    // A Once/Continuous override still pointing at the SAN would boot into a target that is gone.
    changed = (await this.clearOverride(t, system.uri, true)) || changed;
    return { changed };
  }

  // ---- internals ----

  private transport(ep: BmcEndpoint): RedfishTransport {
    return new RedfishTransport(ep, this.pool.agentFor(ep), { timeoutMs: this.timeoutMs });
  }

  private async systemUri(t: RedfishTransport, ep: BmcEndpoint): Promise<string> {
    const key = `${new URL(ep.address).origin}|${ep.system_id}`;
    let uri = this.systemUris.get(key);
    if (!uri) {
      uri = await findSystemUri(t, ep.system_id);
      this.systemUris.set(key, uri);
    }
    return uri;
  }

  private async system(t: RedfishTransport, ep: BmcEndpoint): Promise<Found<ComputerSystem>> {
    const uri = await this.systemUri(t, ep);
    try {
      return await getResource<ComputerSystem>(t, uri);
    } catch (err) {
      if (err instanceof SanbootError && err.code === "BMC_REJECTED") this.systemUris.delete(`${new URL(ep.address).origin}|${ep.system_id}`);
      throw err;
    }
  }

  /**
   * Plans from a fresh read and PATCHes with that read's ETag; a 412 means someone wrote in
   * between, so read again and re-plan (the write may no longer be needed). Returns whether a
   * PATCH was accepted.
   */
  private async patchFresh(t: RedfishTransport, plan: () => Promise<PlannedPatch | null>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const p = await plan();
      if (!p) return false;
      try {
        await t.patch(p.uri, p.body, p.etag);
        return true;
      } catch (err) {
        if (err instanceof SanbootError && err.code === "BMC_ETAG_MISMATCH" && attempt < this.etagRetries) continue;
        throw err;
      }
    }
  }

  /** The function as it will be once pending settings apply, and where a change must go. */
  private async pendingState(t: RedfishTransport, fnUri: string) {
    const resource = await getResource<NetworkDeviceFunction>(t, fnUri);
    const fn = { ...resource.body, "@odata.id": fnUri };
    const target = patchTarget(fn);
    if (target.uri === fnUri) return { fn, etag: resource.etag, patchUri: fnUri, applyTime: undefined };
    const settings = await getResource<Partial<NetworkDeviceFunction>>(t, target.uri);
    return { fn: pendingView(fn, settings.body), etag: settings.etag, patchUri: target.uri, applyTime: target.applyTime };
  }

  private async clearOverride(t: RedfishTransport, uri: string, onlySan: boolean): Promise<boolean> {
    return this.patchFresh(t, async () => {
      const system = await getResource<ComputerSystem>(t, uri);
      const body = clearOverridePatch(system.body.Boot, onlySan);
      return body ? { uri, body, etag: system.etag } : null;
    });
  }

  private async reset(t: RedfishTransport, system: Found<ComputerSystem>, intent: "on" | "restart" | "off"): Promise<void> {
    const action = resetActionOf(system.body);
    if (!action) throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${system.uri} offers no ComputerSystem.Reset action`);
    const allowed = await this.allowedResetTypes(t, action);
    const resetType = chooseResetType(allowed, intent);
    if (!resetType) {
      throw new SanbootError("BMC_CAPABILITY_MISSING", `system ${system.uri} allows no reset type to ${intent} (allowed: ${(allowed ?? []).join(", ")})`);
    }
    await t.post(action.target, { ResetType: resetType });
  }

  private async allowedResetTypes(t: RedfishTransport, action: ResetAction): Promise<string[] | undefined> {
    if (action.allowed || !action.actionInfo) return action.allowed;
    const info = (await t.get(action.actionInfo)).body as ActionInfo;
    return info.Parameters?.find((p) => p.Name === "ResetType")?.AllowableValues;
  }

  private digest(secret: string): string {
    return createHmac("sha256", this.digestKey).update(secret).digest("hex");
  }
}

function powerStateOf(system: ComputerSystem): PowerState {
  const s = system.PowerState;
  if (POWER_STATES.includes(s as PowerState)) return s as PowerState;
  throw new SanbootError("BMC_REJECTED", `BMC reported an unknown PowerState "${String(s)}" for ${system["@odata.id"] ?? "the system"}`);
}

function withApplyTime(body: RedfishBody, applyTime: string | undefined): RedfishBody {
  return applyTime ? { ...body, "@Redfish.SettingsApplyTime": { ApplyTime: applyTime } } : body;
}
