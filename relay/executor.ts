/**
 * Executes one command body against a BmcDriver and answers a CommandOutcome; it never throws.
 *
 * Policy that belongs at the site lives here: credentials are resolved from the relay's own
 * configuration, and retryable BMC faults (unreachable, 412 ETag mismatch, ...) are retried a
 * bounded number of times with backoff before the failure is reported. Each driver call is
 * retried on its own so a retry never repeats a step that already succeeded; the service's
 * workflow owns every retry beyond these.
 */
import type { BmcDriver, BmcEndpoint, ClearResult, ConfigureResult, PendingSettings, SanBootSnapshot, SanbootBmcDriver, SanIscsiSpec } from "../lib/bmc/driver";
import { SanbootError, asSanbootError } from "../lib/errors";
import type { BmcTarget, CommandBody, CommandOutcome } from "../lib/relay/protocol";
import type { CredentialStore } from "./config";
import { REDACTED, type Logger } from "./log";
import { backoffDelay, systemClock, type BackoffPolicy, type Clock } from "./timing";

export interface ExecutorOptions {
  driver: RelayDriver;
  credentials: CredentialStore;
  /** Tries per driver call for retryable BMC faults (default 3). */
  attempts?: number;
  backoff?: BackoffPolicy;
  clock?: Clock;
  /** Called with each password the executor resolves, so the logger can redact it. */
  onSecret?: (secret: string) => void;
  /**
   * How long clear_san_boot waits for a clear the BMC applies only at a reset (Dell NIC settings,
   * HPE BIOS iSCSI) to apply once it powered the system on (default 600 000 ms: a POST that runs
   * configuration jobs takes minutes).
   */
  settingsTimeoutMs?: number;
  /** How long clear_san_boot waits for the system to be Off after powering it off (default 300 000 ms). */
  powerOffTimeoutMs?: number;
}

export const DEFAULT_BMC_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 15_000 };

/** The secrets a command body carries: its CHAP secret, if any. Never log a body. */
export function bodySecrets(body: CommandBody): string[] {
  if (body.type !== "configure_san_boot") return [];
  const a = body.iscsi.auth;
  if (a.method === "CHAP") return [a.secret];
  if (a.method === "MutualCHAP") return [a.secret, a.mutual_secret];
  return [];
}

/** The optional ports: a driver without them cannot do Fibre Channel or report boot progress. */
export type RelayDriver = BmcDriver &
  Partial<Pick<SanbootBmcDriver, "readFcInventory" | "configureFcBoot" | "clearFcBoot" | "waitForBoot" | "awaitSettingsApplied" | "waitForPowerOff">>;

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

type Step<T> = () => Promise<T>;

export class CommandExecutor {
  private readonly driver: RelayDriver;
  private readonly credentials: CredentialStore;
  private readonly attempts: number;
  private readonly backoff: BackoffPolicy;
  private readonly clock: Clock;
  private readonly onSecret: (secret: string) => void;
  private readonly settingsTimeoutMs: number;
  private readonly powerOffTimeoutMs: number;

  constructor(options: ExecutorOptions) {
    this.driver = options.driver;
    this.credentials = options.credentials;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.backoff = options.backoff ?? DEFAULT_BMC_BACKOFF;
    this.clock = options.clock ?? systemClock;
    this.onSecret = options.onSecret ?? (() => {});
    this.settingsTimeoutMs = options.settingsTimeoutMs ?? 600_000;
    this.powerOffTimeoutMs = options.powerOffTimeoutMs ?? 300_000;
  }

  async execute(body: CommandBody, log?: Logger): Promise<CommandOutcome> {
    const secrets = bodySecrets(body);
    try {
      const ep = resolveEndpoint(body.bmc, this.credentials);
      if (ep.password) this.onSecret(ep.password);
      secrets.push(ep.password);
      const result = await this.run(body, ep, log);
      return { ok: true, result };
    } catch (err) {
      const e = asSanbootError(err);
      if (!(err instanceof SanbootError)) {
        log?.error("command failed with an unexpected error", { error: err instanceof Error ? err.name : typeof err });
      }
      return { ok: false, error: { code: e.code, message: scrub(e.message, secrets), retryable: e.retryable } };
    }
  }

  private async run(body: CommandBody, ep: BmcEndpoint, log?: Logger): Promise<Record<string, unknown>> {
    const d = this.driver;
    switch (body.type) {
      case "configure_san_boot": {
        const r: ConfigureResult = await this.retry("configureIscsiBoot", () => d.configureIscsiBoot(ep, body.iscsi as SanIscsiSpec), log);
        return { changed: r.changed, function_uri: r.function_uri, ...(r.previous ? { previous: r.previous } : {}), ...(r.pending ? { pending: r.pending } : {}) };
      }
      case "configure_fc_boot": {
        const configure = need(d.configureFcBoot?.bind(d), "program Fibre Channel boot targets");
        const r = await this.retry("configureFcBoot", () => configure(ep, body.fc), log);
        return { changed: r.changed, function_uri: r.function_uri, ...(r.previous ? { previous: r.previous } : {}), ...(r.pending ? { pending: r.pending } : {}) };
      }
      case "read_fc_inventory": {
        const read = need(d.readFcInventory?.bind(d), "read Fibre Channel inventory");
        const r = await this.retry("readFcInventory", () => read(ep), log);
        return { ports: r.ports.map((p) => ({ wwpn: p.wwpn, wwnn: p.wwnn ?? null, id: p.id })) };
      }
      case "power_on": {
        await this.retry("setSanBootOverride", () => d.setSanBootOverride(ep, body.boot_mode, body.boot_override), log);
        await this.powerOnOnce(ep, log);
        return {};
      }
      case "await_power_on": {
        const deadline = this.clock.now() + body.timeout_seconds * 1000;
        // Where the driver can, wait for the OS to start (BootProgress), not only for power.
        const wait = d.waitForBoot
          ? async (ms: number) => {
              const s = await d.waitForBoot!(ep, ms);
              return s.boot_progress ? `${s.power_state}/${s.boot_progress}` : s.power_state;
            }
          : (ms: number) => d.waitForPowerOn(ep, ms);
        const state = await this.retry(
          "waitForBoot",
          () => wait(Math.max(1, deadline - this.clock.now())),
          log,
          // Waiting again after the BMC said "still off" only stretches the caller's timeout.
          (e) => e.code !== "BMC_POWER_TIMEOUT" && deadline - this.clock.now() > 0,
        );
        return { power_state: state };
      }
      case "clear_san_boot":
        return this.clearSanBoot(body, ep, log);
    }
  }

  /**
   * Undeploy and rollback: leaves the server off with no SAN boot target in force. The clear
   * disables a SAN override before it touches the target, and every override is gone before any
   * reset, so no reset (ours or anyone's) boots the SAN device. A clear the BMC only stages (a
   * settings object applied at the next POST) is applied here, by a power cycle that boots nothing
   * of ours, and checked; a clear in place, or Immediate, needs no reset. Run again, it finds
   * nothing to clear and cycles nothing.
   */
  private async clearSanBoot(body: Extract<CommandBody, { type: "clear_san_boot" }>, ep: BmcEndpoint, log?: Logger): Promise<Record<string, unknown>> {
    const d = this.driver;
    await this.retry("powerOff", () => d.powerOff(ep), log);
    const previous = body.previous as SanBootSnapshot | undefined;
    const [step, clear]: [string, () => Promise<ClearResult>] =
      body.protocol === "fibre_channel"
        ? ["clearFcBoot", () => need(d.clearFcBoot?.bind(d), "clear Fibre Channel boot targets")(ep, body.wwpn, previous)]
        : ["clearIscsiBoot", () => d.clearIscsiBoot(ep, body.mac_address, previous)];
    const r = await this.retry(step, clear, log);
    // Any override (a PXE one someone left too): the reset below must boot nothing it names.
    await this.retry("clearBootOverride", () => d.clearBootOverride(ep), log);
    const pending = r.pending ?? [];
    if (pending.length === 0) {
      await this.powerOffSettled(ep, log);
      return { changed: r.changed };
    }

    await this.applyPending(ep, pending, log);
    // What was staged is now in force: a clear finds nothing left to clear, or the BMC dropped it.
    const check = await this.retry(step, clear, log);
    if (check.changed || (check.pending ?? []).length > 0) {
      throw new SanbootError(
        "BMC_REJECTED",
        `system ${ep.system_id} still holds its SAN boot target after the cleared settings applied (${pending.map((p) => p.settings_uri).join(", ")})`,
      );
    }
    return { changed: true, applied: pending.map((p) => p.settings_uri) };
  }

  /**
   * Applies staged settings: Immediate ones only need their task to end; any other needs a POST,
   * so the system is powered on (the override is already gone), watched until they applied or
   * failed, and powered off again, whatever happened.
   */
  private async applyPending(ep: BmcEndpoint, pending: PendingSettings[], log?: Logger): Promise<void> {
    const d = this.driver;
    const needsReset = pending.some((p) => p.apply_time !== "Immediate");
    const deadline = this.clock.now() + this.settingsTimeoutMs;
    const left = () => Math.max(1, deadline - this.clock.now());
    const wait = this.settingsWaiter(ep, left);
    if (needsReset) log?.info("applying a staged SAN boot clear through a power cycle", { settings: pending.map((p) => p.settings_uri) });
    try {
      if (needsReset) {
        await this.powerOffSettled(ep, log);
        await this.powerOnOnce(ep, log);
      }
      for (const p of pending) {
        await this.retry("awaitSettingsApplied", () => wait(p), log, (e) => e.code !== "BMC_POWER_TIMEOUT" && deadline - this.clock.now() > 0);
      }
    } catch (err) {
      if (needsReset) await this.retry("powerOff", () => d.powerOff(ep), log).catch(() => undefined);
      throw err;
    }
    if (needsReset) await this.retry("powerOff", () => d.powerOff(ep), log);
    await this.powerOffSettled(ep, log);
  }

  /** Waits until an earlier powerOff took effect, where the driver can tell. */
  private async powerOffSettled(ep: BmcEndpoint, log?: Logger): Promise<void> {
    const wait = this.driver.waitForPowerOff?.bind(this.driver);
    if (!wait) return;
    const deadline = this.clock.now() + this.powerOffTimeoutMs;
    await this.retry("waitForPowerOff", () => wait(ep, Math.max(1, deadline - this.clock.now())), log, (e) => e.code !== "BMC_POWER_TIMEOUT");
  }

  /** awaitSettingsApplied, else waitForBoot, which also reports settings that failed at the reset. */
  private settingsWaiter(ep: BmcEndpoint, left: () => number): (p: PendingSettings) => Promise<unknown> {
    const d = this.driver;
    if (d.awaitSettingsApplied) return (p) => d.awaitSettingsApplied!(ep, p, left());
    const waitForBoot = need(d.waitForBoot?.bind(d), "wait for staged BMC settings to apply");
    return () => waitForBoot(ep, left());
  }

  /**
   * powerOn restarts a server that is already on; a retry after an answer we never saw must not
   * restart it a second time, so it asks first.
   */
  private async powerOnOnce(ep: BmcEndpoint, log?: Logger): Promise<void> {
    const d = this.driver;
    let first = true;
    await this.retry(
      "powerOn",
      async () => {
        if (!first) {
          const state = await d.getPowerState(ep);
          if (state === "On" || state === "PoweringOn") return;
        }
        first = false;
        await d.powerOn(ep);
      },
      log,
    );
  }

  private async retry<T>(
    step: string,
    fn: Step<T>,
    log: Logger | undefined,
    mayRetry: (e: SanbootError) => boolean = () => true,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        // Only BMC faults the driver marked retryable; a bug (not a SanbootError) will not fix itself.
        if (!(err instanceof SanbootError) || !err.retryable || attempt >= this.attempts || !mayRetry(err)) throw err;
        const delay = backoffDelay(attempt, this.backoff, this.clock.random);
        log?.warn("BMC call failed, retrying", { step, code: err.code, attempt, retry_in_ms: delay });
        await this.clock.sleep(delay);
      }
    }
  }
}

function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join(REDACTED);
  return out;
}
