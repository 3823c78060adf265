/**
 * Executes one command body against a BmcDriver and answers a CommandOutcome; it never throws.
 *
 * What belongs at the site lives here: credentials are resolved from the relay's own
 * configuration; the command's time budget (its deadline, less a margin to report, and the lease:
 * a lost lease aborts the work) is handed to every driver call; and the evidence of each write is
 * stored through `record` (the service's checkpoint) before the write goes out, so a command run
 * again (a lost result, a re-leased command, a later attempt) knows what is sanboot's.
 *
 * Nothing here retries after a failure: a retryable failure is reported as such and the workflow
 * decides when to try again (lib/workflow/policy.ts), one layer for every retry.
 */
import { mergeEvidence, type BmcEvidence, type Claim } from "../lib/bmc/claims";
import type { BmcDriver, BmcEndpoint, PendingSettings, SanChange, SanbootBmcDriver, SanIscsiSpec, WriteGuard } from "../lib/bmc/driver";
import { SanbootError, asSanbootError } from "../lib/errors";
import type { BmcTarget, CommandBody, CommandOutcome, SequenceProgress, SequenceStepBody } from "../lib/relay/protocol";
import type { CredentialStore } from "./config";
import { REDACTED, type Logger } from "./log";
import { systemClock, type Clock } from "./timing";

export interface ExecutorOptions {
  driver: RelayDriver;
  credentials: CredentialStore;
  clock?: Clock;
  /** Called with each password the executor resolves, so the logger can redact it. */
  onSecret?: (secret: string) => void;
  /** The budget of a command that carries no deadline (default 600 000 ms). */
  defaultBudgetMs?: number;
  /** Time kept back from a command's deadline to report its outcome (default 10 000 ms, at most a tenth of the budget). */
  reportMarginMs?: number;
}

/** What the agent knows about the run of a command beyond its body. */
export interface RunContext {
  log?: Logger;
  /** aborted when the lease went to another relay: the work stops */
  signal?: AbortSignal;
  /** what an earlier run of this very command recorded (the service hands it back with the lease) */
  checkpoint?: BmcEvidence;
  /** stores the command's evidence with the service; resolves once stored (a write waits for it) */
  record?: (evidence: BmcEvidence) => Promise<void>;
  /** told of every HTTP call to the BMC this run makes (bmc-calls.ts measures them for the result) */
  onBmcCall?: BmcEndpoint["onCall"];
  /** told when a step of a boot sequence finished (the heartbeats and the result carry the list) */
  onStepDone?: (done: SequenceProgress[number]) => void;
}

/** The secrets a command body carries: its CHAP secret, if any. Never log a body. */
export function bodySecrets(body: CommandBody | SequenceStepBody): string[] {
  if (body.type === "boot_sequence") return body.steps.flatMap((s) => bodySecrets(s.body));
  if (body.type !== "configure_san_boot") return [];
  const a = body.iscsi.auth;
  if (a.method === "CHAP") return [a.secret];
  if (a.method === "MutualCHAP") return [a.secret, a.mutual_secret];
  return [];
}

/** The optional ports: a driver without them cannot do Fibre Channel or report boot progress. */
export type RelayDriver = BmcDriver &
  Partial<Pick<SanbootBmcDriver, "readFcInventory" | "configureFcBoot" | "waitForBoot" | "getBootStatus" | "awaitSettingsApplied" | "waitForPowerOff">>;

function need<T>(fn: T | undefined, what: string): T {
  if (!fn) throw new SanbootError("BMC_CAPABILITY_MISSING", `this relay's BMC driver cannot ${what}`);
  return fn;
}

/**
 * Builds the endpoint from the command's target and the site's credential. TLS verification is
 * off only when someone said so explicitly: the node (`tls.verify: false`) or the site's
 * credential entry (`insecure: true`).
 */
export function resolveEndpoint(bmc: BmcTarget, credentials: CredentialStore): BmcEndpoint {
  const cred = credentials.get(bmc.credentials_ref);
  if (!cred) {
    throw new SanbootError(
      "BMC_CREDENTIALS_MISSING",
      `relay has no credentials for credentials_ref ${JSON.stringify(bmc.credentials_ref)}`,
    );
  }
  const tls: BmcEndpoint["tls"] = {};
  if (cred.ca !== undefined) tls.ca = cred.ca;
  if (cred.fingerprint_sha256 !== undefined) tls.fingerprint_sha256 = cred.fingerprint_sha256;
  if (cred.insecure === true || bmc.tls.verify === false) tls.insecure = true;
  return { address: bmc.address, system_id: bmc.system_id, username: cred.username, password: cred.password, tls, driver: bmc.driver };
}

/** Every place a configure writes (NIC, HBA, vendor BIOS places): all but the boot override. */
const SAN_KINDS = new Set<Claim["kind"]>(["nic_iscsi", "nic_fc", "hpe_bios_iscsi", "dell_bios_iscsi", "bios_attributes"]);

/** One run's evidence: what the body and checkpoint brought, and what this run records. */
class Evidence implements WriteGuard {
  /** evidence that must be stored before the next write, and goes with the next record */
  private deferred: BmcEvidence | null = null;

  constructor(
    public current: BmcEvidence,
    private readonly store: ((e: BmcEvidence) => Promise<void>) | undefined,
  ) {}

  get prior(): BmcEvidence {
    return this.current;
  }

  async record(e: BmcEvidence): Promise<void> {
    const next = mergeEvidence(this.current, this.deferred, e);
    // Stored before the caller writes: if the service cannot take it, nothing is written.
    await this.store?.(next);
    this.current = next;
    this.deferred = null;
  }

  /**
   * Evidence for a write that comes later than the next one a driver records for: it rides with
   * that record (one checkpoint instead of two), or is stored by flush() before its own write.
   */
  defer(e: BmcEvidence): void {
    this.deferred = mergeEvidence(this.deferred, e);
  }

  async flush(): Promise<void> {
    if (this.deferred) await this.record({ claims: [] });
  }
}

export class CommandExecutor {
  private readonly driver: RelayDriver;
  private readonly credentials: CredentialStore;
  private readonly clock: Clock;
  private readonly onSecret: (secret: string) => void;
  private readonly defaultBudgetMs: number;
  private readonly reportMarginMs: number;

  constructor(options: ExecutorOptions) {
    this.driver = options.driver;
    this.credentials = options.credentials;
    this.clock = options.clock ?? systemClock;
    this.onSecret = options.onSecret ?? (() => {});
    this.defaultBudgetMs = options.defaultBudgetMs ?? 600_000;
    this.reportMarginMs = options.reportMarginMs ?? 10_000;
  }

  async execute(body: CommandBody, ctx: RunContext = {}): Promise<CommandOutcome> {
    const secrets = bodySecrets(body);
    try {
      const ep: BmcEndpoint = { ...resolveEndpoint(body.bmc, this.credentials), budget: this.budget(body, ctx.signal), ...(ctx.onBmcCall ? { onCall: ctx.onBmcCall } : {}) };
      if (ep.password) this.onSecret(ep.password);
      secrets.push(ep.password);
      const evidence = new Evidence(mergeEvidence("evidence" in body ? body.evidence : undefined, ctx.checkpoint), ctx.record);
      const result = await this.run(body, ep, evidence, ctx);
      return { ok: true, result };
    } catch (err) {
      const e = asSanbootError(err);
      if (!(err instanceof SanbootError)) {
        ctx.log?.error("command failed with an unexpected error", { error: err instanceof Error ? err.name : typeof err });
      }
      return { ok: false, error: { code: e.code, message: scrub(e.message, secrets), retryable: e.retryable } };
    }
  }

  /** The command's deadline less the margin to report; the lease's signal. */
  private budget(body: CommandBody, signal: AbortSignal | undefined): BmcEndpoint["budget"] {
    const now = this.clock.now();
    const given = body.deadline_at ? Date.parse(body.deadline_at) : NaN;
    const end = Number.isFinite(given) ? given : now + this.defaultBudgetMs;
    const margin = Math.min(this.reportMarginMs, Math.max(0, (end - now) / 10));
    return { deadline: end - margin, ...(signal ? { signal } : {}) };
  }

  private async run(
    body: CommandBody,
    ep: BmcEndpoint,
    evidence: Evidence,
    ctx: RunContext,
    /** a step of a sequence that is done before its last record (power_on: once the reset went out) */
    stepDone?: (result: Record<string, unknown>) => void,
  ): Promise<Record<string, unknown>> {
    const d = this.driver;
    const log = ctx.log;
    switch (body.type) {
      case "configure_san_boot": {
        const r = await d.configureIscsiBoot(ep, body.iscsi as SanIscsiSpec, evidence);
        return configured(r, evidence.current);
      }
      case "configure_fc_boot": {
        const configure = need(d.configureFcBoot?.bind(d), "program Fibre Channel boot targets");
        return configured(await configure(ep, body.fc, evidence), evidence.current);
      }
      case "read_fc_inventory": {
        const read = need(d.readFcInventory?.bind(d), "read Fibre Channel inventory");
        const r = await read(ep);
        return { ports: r.ports.map((p) => ({ wwpn: p.wwpn, wwnn: p.wwnn ?? null, id: p.id })) };
      }
      case "power_on":
        return this.powerOn(body, ep, evidence, stepDone);
      case "await_power_on": {
        const e = evidence.current;
        if (!d.waitForBoot) {
          const state = await d.waitForPowerOn(ep);
          return { power_state: state, boot_confirmed: false, boot_evidence: "this relay's driver reads no boot progress: PowerState On is all it saw" };
        }
        const seen = await d.waitForBoot(ep, {
          ...(e.power?.marks ? { before: e.power.marks } : {}),
          ...(e.power ? { powerBefore: e.power.before } : {}),
          claims: e.claims.filter((c) => SAN_KINDS.has(c.kind)),
        });
        return {
          power_state: seen.boot_progress ? `${seen.power_state}/${seen.boot_progress}` : seen.power_state,
          boot_confirmed: seen.confirmed,
          boot_evidence: seen.evidence,
        };
      }
      case "clear_san_boot":
        return this.clearSanBoot(ep, evidence.current, log);
      case "boot_sequence":
        return this.sequence(body, ep, evidence, ctx);
    }
  }

  /**
   * A boot sequence: each step's body in order against the one evidence, each finished step
   * reported (onStepDone) as it ends. A step that fails ends the sequence with its error; the
   * steps before it stay reported, so the workflow records them and tries again from the failed
   * one. The result is the last step's, with every step's under `steps`.
   */
  private async sequence(body: Extract<CommandBody, { type: "boot_sequence" }>, ep: BmcEndpoint, evidence: Evidence, ctx: RunContext): Promise<Record<string, unknown>> {
    const steps: SequenceProgress = [];
    let last: Record<string, unknown> = {};
    for (const { step, body: stepBody } of body.steps) {
      if (stepBody.bmc.address !== body.bmc.address || stepBody.bmc.system_id !== body.bmc.system_id) {
        throw new SanbootError("VALIDATION_FAILED", `step ${step} of the boot sequence names another BMC than the sequence`);
      }
      let reported = false;
      const report = (result: Record<string, unknown>) => {
        const done = { step, at: new Date(this.clock.now()).toISOString(), result };
        steps.push(done);
        reported = true;
        ctx.onStepDone?.(done);
      };
      last = await this.run(stepBody as CommandBody, ep, evidence, ctx, report);
      if (!reported) report(last);
    }
    return { ...last, steps, evidence: evidence.current };
  }

  /**
   * Override to the SAN device, then the reset that boots it. The power state (and what the BMC
   * shows of the last boot) is recorded before the first write, the reset's time right after it
   * was accepted: a run that finds a reset recorded does not reset again.
   */
  private async powerOn(
    body: Extract<CommandBody, { type: "power_on" }>,
    ep: BmcEndpoint,
    evidence: Evidence,
    stepDone?: (result: Record<string, unknown>) => void,
  ): Promise<Record<string, unknown>> {
    const d = this.driver;
    const prior = evidence.current.power;
    if (prior?.reset_at) {
      return { changed: false, changes: [], reset_at: prior.reset_at, evidence: evidence.current, note: "already reset by an earlier run of this step" };
    }
    // A system that cannot boot the SAN device is refused before anything is recorded or written.
    await d.checkSanBootCapability(ep, body.boot_mode);
    const status = d.getBootStatus ? await d.getBootStatus(ep) : { power_state: await d.getPowerState(ep), marks: {} };
    // stored with the override's claim when the override is written, else on its own before the reset
    evidence.defer({ claims: [], power: { before: prior?.before ?? status.power_state, marks: status.marks } });
    const override = await d.setSanBootOverride(ep, { mode: body.boot_mode, persistence: body.boot_override, targets: body.san_targets }, evidence);
    await evidence.flush();
    await d.powerOn(ep);
    const resetAt = new Date(this.clock.now()).toISOString();
    const changes: SanChange[] = [
      ...(override.changed && override.claim ? [{ kind: "override" as const, uri: override.claim.uri, action: "set to the SAN device" }] : []),
      { kind: "power", uri: ep.system_id, action: status.power_state === "Off" ? "powered on" : "restarted" },
    ];
    // the step is done once the reset went out: in a sequence, the reset's record says so too
    const reset: BmcEvidence = { claims: [], power: { before: prior?.before ?? status.power_state, reset_at: resetAt } };
    // the step is done once the reset went out: in a sequence, the reset's record says so too (and
    // the step's result carries the reset, should that record not reach the service)
    stepDone?.({ changed: true, changes, reset_at: resetAt, evidence: mergeEvidence(evidence.current, reset) });
    await evidence.record(reset);
    return { changed: true, changes, reset_at: resetAt, evidence: evidence.current };
  }

  /**
   * Undeploy and rollback: undoes exactly what the evidence says sanboot did, and nothing else.
   * The server is powered off only if sanboot powered it on; each SAN place is put back only while
   * it still holds what sanboot wrote; the override is put back as power_on found it, only while it
   * is still sanboot's. An undo the BMC only stages (applied at the next POST) is applied by a power
   * cycle with sanboot's override disabled (so it boots nothing of ours) and checked. No evidence:
   * nothing is written and power is left as it is. Run again, it finds nothing to do.
   */
  private async clearSanBoot(ep: BmcEndpoint, e: BmcEvidence, log?: Logger): Promise<Record<string, unknown>> {
    const d = this.driver;
    const changes: SanChange[] = [];
    const override = e.claims.find((c) => c.kind === "boot_override");
    const san = e.claims.filter((c) => SAN_KINDS.has(c.kind));

    if (e.power && (e.power.reset_at !== undefined || e.power.before === "Off")) {
      const state = await d.getPowerState(ep);
      if (state !== "Off") {
        await d.powerOff(ep);
        changes.push({ kind: "power", uri: ep.system_id, action: `${state} -> Off` });
      }
      await this.powerOffSettled(ep);
    }

    const undone = san.length > 0 ? await d.undoSanBoot(ep, san) : { changed: false, changes: [] };
    changes.push(...undone.changes);
    const pending = undone.pending ?? [];
    if (pending.length > 0) {
      if (override) changes.push(...(await d.disableBootOverride(ep, override)).changes);
      changes.push(...(await this.applyPending(ep, pending, log)));
      // What was staged is now in force: a second undo finds nothing left of ours.
      const check = await d.undoSanBoot(ep, san);
      if (check.changed || (check.pending ?? []).length > 0) {
        throw new SanbootError(
          "BMC_SETTINGS_FAILED",
          `system ${ep.system_id} still holds sanboot's SAN boot settings after the undo applied (${pending.map((p) => p.settings_uri).join(", ")})`,
        );
      }
    }
    if (override) changes.push(...(await d.restoreBootOverride(ep, override)).changes);
    return { changed: changes.length > 0, changes };
  }

  /**
   * Applies staged settings: Immediate ones only need their task to end; any other needs a POST,
   * so the system is powered on (sanboot's override is already off) and watched until they applied
   * or failed; then power goes back to what it was, whatever happened.
   */
  private async applyPending(ep: BmcEndpoint, pending: PendingSettings[], log?: Logger): Promise<SanChange[]> {
    const d = this.driver;
    const needsReset = pending.some((p) => p.apply_time !== "Immediate");
    const wait = this.settingsWaiter(ep);
    const changes: SanChange[] = pending.map((p) => ({ kind: "settings", uri: p.settings_uri, action: needsReset ? "applied by a power cycle" : "applied" }));
    if (!needsReset) {
      for (const p of pending) await wait(p);
      return changes;
    }
    log?.info("applying a staged SAN boot undo through a power cycle", { settings: pending.map((p) => p.settings_uri) });
    const was = await d.getPowerState(ep);
    try {
      if (was !== "Off") {
        await d.powerOff(ep);
        await this.powerOffSettled(ep);
      }
      await d.powerOn(ep);
      for (const p of pending) await wait(p);
    } finally {
      if (was === "Off" || was === "PoweringOff") {
        await d.powerOff(ep).catch(() => undefined);
        await this.powerOffSettled(ep).catch(() => undefined);
      }
    }
    changes.push({ kind: "power", uri: ep.system_id, action: was === "Off" || was === "PoweringOff" ? "cycled On -> Off" : "restarted" });
    return changes;
  }

  /** Waits until an earlier powerOff took effect, where the driver can tell. */
  private async powerOffSettled(ep: BmcEndpoint): Promise<void> {
    await this.driver.waitForPowerOff?.(ep);
  }

  /** awaitSettingsApplied, else waitForBoot, which also reports settings that failed at the reset. */
  private settingsWaiter(ep: BmcEndpoint): (p: PendingSettings) => Promise<unknown> {
    const d = this.driver;
    if (d.awaitSettingsApplied) return (p) => d.awaitSettingsApplied!(ep, p);
    const waitForBoot = need(d.waitForBoot?.bind(d), "wait for staged BMC settings to apply");
    return () => waitForBoot(ep);
  }
}

function configured(r: { changed: boolean; function_uri: string; pending?: PendingSettings }, evidence: BmcEvidence): Record<string, unknown> {
  return {
    changed: r.changed,
    changes: r.changed ? [{ kind: "function", uri: r.function_uri, action: "written" }] : [],
    function_uri: r.function_uri,
    ...(r.pending ? { pending: r.pending } : {}),
    evidence,
  };
}

function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join(REDACTED);
  return out;
}
