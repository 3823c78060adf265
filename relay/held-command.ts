/**
 * One command the relay holds, from its lease to its report:
 *
 *   wait for its BMC (one command per BMC at a time)
 *     → execute through the executor, each write's evidence stored with the service first
 *     → report the outcome
 *
 * with a heartbeat every N seconds from lease to report, so the lease never lapses while the
 * command waits or runs. A heartbeat answered LEASE_LOST means another relay owns the command
 * now: this one stops heartbeating it, drops it if it has not started, aborts the BMC work if it
 * has, and never reports it.
 *
 * All waiting is on the injected clock; `run()` never throws.
 */
import type { BmcEvidence } from "../lib/bmc/claims";
import { SanbootError } from "../lib/errors";
import type { BmcCalls, CommandOutcome, LeasedCommand, SequenceProgress } from "../lib/relay/protocol";
import { BmcCallTally } from "./bmc-calls";
import { bmcKey, type BmcLock } from "./bmc-lock";
import type { CommandExecutor } from "./executor";
import type { Logger } from "./log";
import { ServiceCallError, type ServiceClient } from "./service-client";
import { backoffDelay, type BackoffPolicy, type Clock } from "./timing";

/** What a held command needs from the relay that holds it. */
export interface CommandRuntime {
  client: ServiceClient;
  executor: CommandExecutor;
  locks: BmcLock;
  clock: Clock;
  heartbeatMs: number;
  /** backoff between tries to report while the service is unreachable */
  serviceBackoff: BackoffPolicy;
  /** aborted when the relay stops waiting for its commands: BMC work, heartbeats and report retries end */
  shutdown: AbortSignal;
}

/** The lease a relay holds on a command: renewed by heartbeats, replaced by a re-lease. */
export interface Lease {
  token: string;
  /** ms since the epoch; 0 when unknown (the report then tries its minimum and gives up) */
  expiresAt: number;
}

const MIN_REPORT_TRIES = 3;

export class HeldCommand {
  readonly id: string;
  readonly log: Logger;
  private readonly lease: Lease;
  private readonly bmc: string;
  /** aborted when the lease went to another relay */
  private readonly lost = new AbortController();
  /** aborted when this relay is done with the command (reported, dropped or abandoned) */
  private readonly ended = new AbortController();
  /** this run's Redfish calls, sent with the result */
  private readonly bmcCalls = new BmcCallTally();
  /** a boot sequence's steps finished so far: sent with every heartbeat after them and with the result */
  private readonly progress: SequenceProgress = [];

  constructor(
    private readonly rt: CommandRuntime,
    private readonly command: LeasedCommand,
    log: Logger,
  ) {
    this.id = command.command_id;
    this.log = log;
    this.lease = { token: command.lease_token, expiresAt: Date.parse(command.lease_expires_at) };
    this.bmc = bmcKey(command.body.bmc.address, command.body.bmc.system_id);
  }

  /** The BMC this command drives, as the per-BMC lock keys it. */
  get bmcKey(): string {
    return this.bmc;
  }

  /** Our lease lapsed and the service handed the command back to us: the new token rules. */
  renew(again: LeasedCommand): void {
    this.lease.token = again.lease_token;
    this.lease.expiresAt = Date.parse(again.lease_expires_at);
    this.log.info("command leased again while held; lease renewed", { attempt: again.attempt });
  }

  /** Waits for the BMC, executes, reports; heartbeats all along. Resolves when the relay is done with it. */
  async run(): Promise<void> {
    const beating = this.heartbeats();
    try {
      const outcome = await this.execute();
      if (outcome && !this.lost.signal.aborted) {
        await reportOutcome(this.rt, this.id, this.lease, outcome, this.log, this.bmcCalls.summary(), this.progress.length > 0 ? [...this.progress] : undefined);
      }
    } catch (err) {
      // Not expected (the executor and the report never throw); kept so the relay can never die.
      this.log.error("command handling failed", errorFields(err));
    } finally {
      this.ended.abort();
      await beating;
    }
  }

  /** The outcome, or undefined when the command was dropped (lease lost, relay shutting down). */
  private async execute(): Promise<CommandOutcome | undefined> {
    const { clock, executor, locks, shutdown } = this.rt;
    const release = await locks.acquire(this.bmc, AbortSignal.any([this.lost.signal, shutdown]));
    if (!release) {
      this.log.info("command dropped before it started");
      return undefined;
    }
    try {
      if (this.lost.signal.aborted) return undefined;
      this.log.info("executing command");
      const started = clock.now();
      const outcome = await executor.execute(this.command.body, {
        log: this.log,
        signal: AbortSignal.any([this.lost.signal, shutdown]),
        ...(this.command.checkpoint ? { checkpoint: this.command.checkpoint } : {}),
        record: (evidence) => this.record(evidence),
        onBmcCall: this.bmcCalls.add,
        onStepDone: (done) => {
          // each step's Redfish calls go with it; the result carries the calls after the last one
          this.progress.push({ ...done, bmc_calls: this.bmcCalls.take() });
          this.log.info("sequence step finished", { step: done.step });
        },
      });
      this.log.info("command finished", { ...outcomeFields(outcome), duration_ms: clock.now() - started });
      return outcome;
    } finally {
      release();
    }
  }

  /** Evidence goes to the service before the write it describes; a lost lease stops the work. */
  private async record(evidence: BmcEvidence): Promise<void> {
    try {
      await this.extend(evidence);
    } catch (err) {
      const leaseLost = err instanceof ServiceCallError && err.leaseLost;
      if (leaseLost) this.lost.abort();
      throw new SanbootError(
        leaseLost ? "LEASE_LOST" : "RELAY_TIMEOUT",
        `the service did not store the command's evidence, so nothing was written (${err instanceof Error ? err.message : "error"})`,
        { retryable: true },
      );
    }
  }

  /** One heartbeat (with a checkpoint, when given); the lease's new expiry is kept. */
  private async extend(checkpoint?: BmcEvidence): Promise<void> {
    const progress = this.progress.length > 0 ? { progress: [...this.progress] } : {};
    const r = await this.rt.client.heartbeat(this.id, { lease_token: this.lease.token, ...(checkpoint ? { checkpoint } : {}), ...progress });
    const t = Date.parse(r.lease_expires_at);
    if (Number.isFinite(t)) this.lease.expiresAt = t;
  }

  private async heartbeats(): Promise<void> {
    const { clock, heartbeatMs, shutdown } = this.rt;
    const stopBeating = AbortSignal.any([this.ended.signal, this.lost.signal, shutdown]);
    while (!stopBeating.aborted) {
      await clock.sleep(heartbeatInterval(heartbeatMs, this.lease.expiresAt - clock.now()), stopBeating);
      if (stopBeating.aborted) return;
      try {
        await this.extend();
      } catch (err) {
        if (err instanceof ServiceCallError && err.leaseLost) {
          this.log.warn("lease lost to another relay; the command will not be reported", { code: err.code });
          this.lost.abort();
          return;
        }
        this.log.warn("heartbeat failed", errorFields(err));
      }
    }
  }
}

/** The configured interval, but at least three beats per remaining lease when the lease is shorter. */
export function heartbeatInterval(heartbeatMs: number, untilExpiryMs: number): number {
  return Number.isFinite(untilExpiryMs) ? Math.min(heartbeatMs, Math.max(1_000, untilExpiryMs / 3)) : heartbeatMs;
}

/**
 * Posts an outcome, retrying while the service is unreachable. Gives up on LEASE_LOST, on an
 * answer that will not change (4xx), when the relay shuts down, and once the lease has expired
 * after a few tries: by then the service will lease the command again. Never throws.
 */
export async function reportOutcome(
  rt: Pick<CommandRuntime, "client" | "clock" | "serviceBackoff" | "shutdown">,
  commandId: string,
  lease: Readonly<Lease>,
  outcome: CommandOutcome,
  log: Logger,
  /** the run's BMC calls, for the service's metrics (none for a command that never ran) */
  bmcCalls?: BmcCalls,
  /** a boot sequence's finished steps */
  progress?: SequenceProgress,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rt.client.reportResult(commandId, { lease_token: lease.token, outcome, ...(bmcCalls ? { bmc_calls: bmcCalls } : {}), ...(progress ? { progress } : {}) });
      log.info("result reported", outcomeFields(outcome));
      return;
    } catch (err) {
      if (err instanceof ServiceCallError && err.leaseLost) {
        log.warn("lease lost to another relay; result not accepted", { code: err.code });
        return;
      }
      const retryable = !(err instanceof ServiceCallError) || err.retryable;
      const expired = rt.clock.now() >= lease.expiresAt;
      if (!retryable || rt.shutdown.aborted || (expired && attempt >= MIN_REPORT_TRIES)) {
        log.error("result could not be reported; the service will lease the command again", { ...errorFields(err), attempts: attempt });
        return;
      }
      const delay = backoffDelay(attempt, rt.serviceBackoff, rt.clock.random);
      log.warn("reporting the result failed, retrying", { ...errorFields(err), attempt, retry_in_ms: delay });
      await rt.clock.sleep(delay, rt.shutdown);
    }
  }
}

/** Log fields of a failure: its code and message, never the object (it may carry a request). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof ServiceCallError) {
    return { code: err.code, error: err.message, ...(err.status !== undefined ? { status: err.status } : {}) };
  }
  if (err instanceof Error) return { code: "INTERNAL", error: err.name };
  return { code: "INTERNAL" };
}

function outcomeFields(outcome: CommandOutcome): Record<string, unknown> {
  return outcome.ok
    ? { ok: true }
    : { ok: false, code: outcome.error.code, error: outcome.error.message, retryable: outcome.error.retryable };
}
