/**
 * The relay's lease loop, the worker of a site (the shape of a Temporal worker):
 *
 *   lease (long-poll, up to `concurrency - held` commands)
 *     └─ per command: wait for its BMC (one command per BMC at a time)
 *                     → execute through the executor → report the outcome
 *        with a heartbeat every N seconds from lease to report, so the lease never lapses while
 *        the command waits or runs. A heartbeat answered LEASE_LOST means another relay owns the
 *        command now: this one stops heartbeating it, drops it if it has not started, and never
 *        reports it.
 *
 * Nothing here throws out of the loop: an unreachable service means backoff with jitter
 * (bounded), then another try. `stop()` stops leasing, lets held commands end (bounded by
 * `stopTimeoutSeconds`) and resolves; commands abandoned at the bound are re-leased by the
 * service when their lease expires, which the protocol makes safe.
 */
import type { KeyObject } from "node:crypto";
import { SanbootError } from "../lib/errors";
import { openCommandAtSite } from "../lib/relay/command-secrets";
import type { Dispatcher } from "undici";
import type { BmcDriver } from "../lib/bmc/driver";
import type { CommandOutcome, LeasedCommand } from "../lib/relay/protocol";
import { BmcLock, bmcKey } from "./bmc-lock";
import type { BmcCredential, CredentialStore } from "./config";
import { bodySecrets, CommandExecutor } from "./executor";
import { createJsonLogger, loggableAddress, type Logger } from "./log";
import { ServiceCallError, ServiceClient, type UnparseableCommand } from "./service-client";
import { backoffDelay, systemClock, type BackoffPolicy, type Clock } from "./timing";

export interface RelayAgentOptions {
  serviceUrl: string;
  site: string;
  token: string;
  /** Default: relay-<pid>. */
  relayId?: string;
  /** credentials_ref → login; a Map or a plain object. */
  credentials: CredentialStore | Readonly<Record<string, BmcCredential>>;
  driver: BmcDriver;
  /** Commands held at once (waiting for their BMC or running). Default 8. */
  concurrency?: number;
  /** Long-poll wait per lease call, 0..25. Default 20. */
  waitSeconds?: number;
  /** Default 10. */
  heartbeatSeconds?: number;
  /** How long stop() lets held commands finish. Default 60. */
  stopTimeoutSeconds?: number;
  /** Backoff while the service is unreachable. Default 1 s doubling to 30 s. */
  serviceBackoff?: BackoffPolicy;
  /** Pause after a lease call that came back empty at once (a service not long-polling). */
  idlePollMs?: number;
  clock?: Clock;
  /** Receives each JSON log line; default stdout. */
  log?: (line: string) => void;
  /** The site's X25519 private key: opens target secrets the service sealed to this site. */
  siteKey?: KeyObject;
  /** undici dispatcher for the service calls (tests, proxies). */
  dispatcher?: Dispatcher;
}

export interface RelayAgent {
  /** Stop leasing, let held commands finish (bounded), then resolve. Idempotent. */
  stop(): Promise<void>;
  /** Commands held now (waiting for their BMC or running or reporting). */
  held(): number;
}

interface HeldCommand {
  command: LeasedCommand;
  leaseToken: string;
  expiresAt: number;
  key: string;
  log: Logger;
  /** Aborted when the lease went to another relay. */
  lost: AbortController;
  /** Aborted when this relay is done with the command (reported, dropped or abandoned). */
  ended: AbortController;
}

const DEFAULT_SERVICE_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000 };
const MAX_LEASE_BATCH = 32; // the protocol's cap on max_commands
const MIN_REPORT_TRIES = 3;

function toStore(c: RelayAgentOptions["credentials"]): CredentialStore {
  if (typeof (c as CredentialStore).get === "function") return c as CredentialStore;
  const record = c as Readonly<Record<string, BmcCredential>>;
  return { get: (ref) => (Object.hasOwn(record, ref) ? record[ref] : undefined) };
}

export function startRelayAgent(options: RelayAgentOptions): RelayAgent {
  const clock = options.clock ?? systemClock;
  const relayId = options.relayId ?? `relay-${process.pid}`;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const waitSeconds = Math.min(25, Math.max(0, options.waitSeconds ?? 20));
  const heartbeatMs = Math.max(10, (options.heartbeatSeconds ?? 10) * 1000);
  const stopTimeoutMs = Math.max(0, (options.stopTimeoutSeconds ?? 60) * 1000);
  const serviceBackoff = options.serviceBackoff ?? DEFAULT_SERVICE_BACKOFF;
  const idlePollMs = options.idlePollMs ?? 1_000;

  const secrets = new Set<string>([options.token]);
  const log = createJsonLogger({
    secrets,
    now: () => clock.now(),
    fields: { site: options.site, relay_id: relayId },
    ...(options.log ? { write: options.log } : {}),
  });
  const client = new ServiceClient({
    serviceUrl: options.serviceUrl,
    token: options.token,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  const executor = new CommandExecutor({
    driver: options.driver,
    credentials: toStore(options.credentials),
    clock,
    onSecret: (s) => secrets.add(s),
  });

  const locks = new BmcLock();
  const held = new Map<string, HeldCommand>();
  const tasks = new Set<Promise<void>>();
  /** Aborted by stop(): ends the current long-poll and any backoff sleep of the loop. */
  const leasing = new AbortController();
  /** Aborted when stop() gives up waiting: heartbeats and report retries end. */
  const shutdown = new AbortController();
  let wakeLoop: (() => void) | undefined;

  const track = (p: Promise<void>) => {
    tasks.add(p);
    void p.finally(() => tasks.delete(p));
  };

  // ---- heartbeats -------------------------------------------------------------------------

  async function heartbeatLoop(h: HeldCommand): Promise<void> {
    const stopBeating = AbortSignal.any([h.ended.signal, h.lost.signal, shutdown.signal]);
    while (!stopBeating.aborted) {
      // Beat at least three times per remaining lease when the lease is shorter than configured.
      const untilExpiry = h.expiresAt - clock.now();
      const interval = Number.isFinite(untilExpiry) ? Math.min(heartbeatMs, Math.max(1_000, untilExpiry / 3)) : heartbeatMs;
      await clock.sleep(interval, stopBeating);
      if (stopBeating.aborted) return;
      try {
        const r = await client.heartbeat(h.command.command_id, { lease_token: h.leaseToken });
        const t = Date.parse(r.lease_expires_at);
        if (Number.isFinite(t)) h.expiresAt = t;
      } catch (err) {
        if (err instanceof ServiceCallError && err.leaseLost) {
          h.log.warn("lease lost to another relay; the command will not be reported", { code: err.code });
          h.lost.abort();
          return;
        }
        h.log.warn("heartbeat failed", errorFields(err));
      }
    }
  }

  // ---- reporting --------------------------------------------------------------------------

  /**
   * Posts the outcome, retrying while the service is unreachable. Gives up on LEASE_LOST, on an
   * answer that will not change (4xx), and once the lease has expired after a few tries: by then
   * the service will lease the command again.
   */
  async function report(
    commandId: string,
    lease: () => { token: string; expiresAt: number },
    outcome: CommandOutcome,
    l: Logger,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.reportResult(commandId, { lease_token: lease().token, outcome });
        l.info("result reported", outcomeFields(outcome));
        return;
      } catch (err) {
        if (err instanceof ServiceCallError && err.leaseLost) {
          l.warn("lease lost to another relay; result not accepted", { code: err.code });
          return;
        }
        const retryable = !(err instanceof ServiceCallError) || err.retryable;
        const expired = clock.now() >= lease().expiresAt;
        if (!retryable || shutdown.signal.aborted || (expired && attempt >= MIN_REPORT_TRIES)) {
          l.error("result could not be reported; the service will lease the command again", {
            ...errorFields(err),
            attempts: attempt,
          });
          return;
        }
        const delay = backoffDelay(attempt, serviceBackoff, clock.random);
        l.warn("reporting the result failed, retrying", { ...errorFields(err), attempt, retry_in_ms: delay });
        await clock.sleep(delay, shutdown.signal);
      }
    }
  }

  // ---- one command ------------------------------------------------------------------------

  async function runCommand(h: HeldCommand): Promise<void> {
    const beating = heartbeatLoop(h);
    try {
      const release = await locks.acquire(h.key, AbortSignal.any([h.lost.signal, shutdown.signal]));
      if (!release) {
        h.log.info("command dropped before it started");
        return;
      }
      let outcome: CommandOutcome;
      try {
        if (h.lost.signal.aborted) return;
        h.log.info("executing command");
        const started = clock.now();
        outcome = await executor.execute(h.command.body, {
          log: h.log,
          signal: AbortSignal.any([h.lost.signal, shutdown.signal]),
          ...(h.command.checkpoint ? { checkpoint: h.command.checkpoint } : {}),
          // Evidence goes to the service before the write it describes; a lost lease stops the work.
          record: async (evidence) => {
            try {
              const r = await client.heartbeat(h.command.command_id, { lease_token: h.leaseToken, checkpoint: evidence });
              const t = Date.parse(r.lease_expires_at);
              if (Number.isFinite(t)) h.expiresAt = t;
            } catch (err) {
              if (err instanceof ServiceCallError && err.leaseLost) h.lost.abort();
              throw new SanbootError(err instanceof ServiceCallError && err.leaseLost ? "LEASE_LOST" : "RELAY_TIMEOUT",
                `the service did not store the command's evidence, so nothing was written (${err instanceof Error ? err.message : "error"})`, { retryable: true });
            }
          },
        });
        h.log.info("command finished", { ...outcomeFields(outcome), duration_ms: clock.now() - started });
      } finally {
        release();
      }
      if (h.lost.signal.aborted) return;
      await report(h.command.command_id, () => ({ token: h.leaseToken, expiresAt: h.expiresAt }), outcome, h.log);
    } catch (err) {
      // Not expected (the executor and report never throw); kept so the loop can never die.
      h.log.error("command handling failed", errorFields(err));
    } finally {
      h.ended.abort();
      await beating;
      held.delete(h.command.command_id);
      wakeLoop?.();
    }
  }

  function accept(leased: LeasedCommand): void {
    let c: LeasedCommand;
    try {
      c = { ...leased, body: openCommandAtSite(leased.body, leased.command_id, options.siteKey) };
    } catch (err) {
      const l = log.child({ command_id: leased.command_id });
      l.error("cannot open the command's secret", { problem: (err as Error).message });
      const outcome: CommandOutcome = { ok: false, error: { code: "SECRET_UNREADABLE", message: (err as Error).message, retryable: false } };
      track(report(leased.command_id, () => ({ token: leased.lease_token, expiresAt: 0 }), outcome, l));
      return;
    }
    const existing = held.get(c.command_id);
    if (existing) {
      // Our lease lapsed and the service handed the command back to us: the new token rules.
      existing.leaseToken = c.lease_token;
      existing.expiresAt = Date.parse(c.lease_expires_at);
      existing.log.info("command leased again while held; lease renewed", { attempt: c.attempt });
      return;
    }
    const body = c.body;
    const h: HeldCommand = {
      command: c,
      leaseToken: c.lease_token,
      expiresAt: Date.parse(c.lease_expires_at),
      key: bmcKey(body.bmc.address, body.bmc.system_id),
      log: log.child(
        {
          command_id: c.command_id,
          type: body.type,
          bmc: loggableAddress(body.bmc.address),
          system_id: body.bmc.system_id,
          attempt: c.attempt,
        },
        bodySecrets(body),
      ),
      lost: new AbortController(),
      ended: new AbortController(),
    };
    held.set(c.command_id, h);
    if (locks.busy(h.key)) h.log.info("BMC busy with another command; waiting");
    else h.log.debug("command leased");
    track(runCommand(h));
  }

  function rejectUnparseable(u: UnparseableCommand): void {
    const l = log.child({ command_id: u.command_id });
    l.error("leased command does not match the protocol this relay speaks", { problem: u.problem });
    const outcome: CommandOutcome = {
      ok: false,
      error: { code: "VALIDATION_FAILED", message: `relay cannot execute this command: ${u.problem}`, retryable: false },
    };
    track(report(u.command_id, () => ({ token: u.lease_token, expiresAt: 0 }), outcome, l));
  }

  async function handBack(c: LeasedCommand): Promise<void> {
    const l = log.child({ command_id: c.command_id });
    try {
      await client.release(c.command_id, { lease_token: c.lease_token });
      l.info("handed back unstarted while stopping");
    } catch (err) {
      l.warn("could not hand the command back; its lease will expire", errorFields(err));
    }
  }

  // ---- the loop ---------------------------------------------------------------------------

  async function leaseLoop(): Promise<void> {
    let failures = 0;
    while (!leasing.signal.aborted) {
      const free = concurrency - held.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          wakeLoop = resolve;
          if (leasing.signal.aborted || held.size < concurrency) resolve();
        });
        wakeLoop = undefined;
        continue;
      }
      const asked = clock.now();
      try {
        // The long-poll is not cut short by stop(): the service may already have leased us
        // commands, and only its answer says which. What arrives after stop() is handed back.
        const res = await client.lease(
          { relay_id: relayId, max_commands: Math.min(free, MAX_LEASE_BATCH), wait_seconds: waitSeconds },
          shutdown.signal,
        );
        if (failures > 0) log.info("service reachable again", { failures });
        failures = 0;
        if (leasing.signal.aborted) {
          for (const c of res.commands) track(handBack(c));
          break;
        }
        for (const c of res.commands) accept(c);
        for (const u of res.unparseable) rejectUnparseable(u);
        if (res.commands.length === 0 && res.unparseable.length === 0 && clock.now() - asked < 250) {
          await clock.sleep(idlePollMs, leasing.signal);
        }
      } catch (err) {
        if (leasing.signal.aborted) break;
        failures++;
        const delay = backoffDelay(failures, serviceBackoff, clock.random);
        const fields = { ...errorFields(err), failures, retry_in_ms: delay };
        // A refused token will not fix itself: louder, but the loop still keeps trying.
        if (err instanceof ServiceCallError && !err.retryable) log.error("lease refused by the service", fields);
        else log.warn("lease failed; backing off", fields);
        await clock.sleep(delay, leasing.signal);
      }
    }
  }

  log.info("relay started", { concurrency, wait_seconds: waitSeconds, heartbeat_ms: heartbeatMs });
  const loopDone = leaseLoop().catch((err) => log.error("lease loop failed", errorFields(err)));

  let stopping: Promise<void> | undefined;
  async function stopOnce(): Promise<void> {
    log.info("relay stopping: no new leases; waiting for held commands", { held: held.size });
    leasing.abort();
    wakeLoop?.();
    await loopDone;
    const timer = new AbortController();
    const allDone = (async () => {
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
    })();
    const finished = await Promise.race([
      allDone.then(() => true),
      clock.sleep(stopTimeoutMs, timer.signal).then(() => false),
    ]);
    timer.abort();
    if (!finished) {
      log.warn("stop timeout: abandoning held commands; their leases will expire and be re-leased", {
        held: held.size,
        commands: [...held.keys()],
      });
      shutdown.abort();
    }
    await Promise.race([client.close().catch(() => {}), clock.sleep(1_000)]);
    log.info("relay stopped");
  }

  return {
    stop: () => (stopping ??= stopOnce()),
    held: () => held.size,
  };
}

function errorFields(err: unknown): Record<string, unknown> {
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
