/**
 * The relay's lease loop, the worker of a site (the shape of a Temporal worker):
 *
 *   lease (long-poll, up to `concurrency - held` commands)
 *     └─ each command becomes a HeldCommand that runs on its own (BMC lock, execute, report)
 *   wait for room while `concurrency` commands are held; back off while the service is unreachable
 *
 * Nothing here throws out of the loop: an unreachable service means backoff with jitter
 * (bounded), then another try. `stop()` stops leasing, lets held commands end (bounded by
 * `stopTimeoutMs`) and resolves; commands abandoned at the bound are re-leased by the service
 * when their lease expires, which the protocol makes safe.
 */
import type { KeyObject } from "node:crypto";
import { openCommandAtSite } from "../lib/relay/command-secrets";
import { RELAY_CAPABILITIES, type CommandOutcome, type LeasedCommand } from "../lib/relay/protocol";
import { bodySecrets } from "./executor";
import { errorFields, HeldCommand, reportOutcome, type CommandRuntime } from "./held-command";
import { loggableAddress, type Logger } from "./log";
import { ServiceCallError, type UnparseableCommand } from "./service-client";
import { backoffDelay } from "./timing";
import { RELAY_VERSION } from "./version";

export interface LeaseLoopSettings {
  relayId: string;
  /** commands held at once (waiting for their BMC, running or reporting) */
  concurrency: number;
  /** long-poll wait per lease call */
  waitSeconds: number;
  /** how long stop() lets held commands finish */
  stopTimeoutMs: number;
  /** pause after a lease call that came back empty at once (a service not long-polling) */
  idlePollMs: number;
  /** opens target secrets the service sealed to this site */
  siteKey?: KeyObject;
  /** what the relay announces it can run beyond the basic commands (default RELAY_CAPABILITIES) */
  capabilities?: readonly string[];
}

const MAX_LEASE_BATCH = 32; // the protocol's cap on max_commands
/** An empty answer sooner than this after asking means the service did not long-poll. */
const NOT_LONG_POLLED_MS = 250;

export class LeaseLoop {
  private readonly held = new Map<string, HeldCommand>();
  /** everything started and not finished: held commands, reports of refused commands, hand-backs */
  private readonly tasks = new Set<Promise<void>>();
  /** aborted by stop(): ends the wait for room and any backoff sleep of the loop */
  private readonly leasing = new AbortController();
  /** aborted when stop() gives up waiting: the long-poll, BMC work, heartbeats and report retries end */
  private readonly shutdown = new AbortController();
  private readonly rt: CommandRuntime;
  private wakeLoop: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly settings: LeaseLoopSettings,
    runtime: Omit<CommandRuntime, "shutdown">,
    private readonly log: Logger,
  ) {
    this.rt = { ...runtime, shutdown: this.shutdown.signal };
  }

  start(): this {
    this.loopDone ??= this.loop().catch((err) => this.log.error("lease loop failed", errorFields(err)));
    return this;
  }

  /** Commands held now (waiting for their BMC, running or reporting). */
  heldCount(): number {
    return this.held.size;
  }

  /** Stop leasing, let held commands finish (bounded), then resolve. Idempotent. */
  stop(): Promise<void> {
    return (this.stopping ??= this.stopOnce());
  }

  private async loop(): Promise<void> {
    const { clock, client, serviceBackoff } = this.rt;
    const { concurrency, relayId, waitSeconds, idlePollMs } = this.settings;
    let failures = 0;
    while (!this.leasing.signal.aborted) {
      const free = concurrency - this.held.size;
      if (free <= 0) {
        await this.roomToLease();
        continue;
      }
      const asked = clock.now();
      try {
        // The long-poll is not cut short by stop(): the service may already have leased us
        // commands, and only its answer says which. What arrives after stop() is handed back.
        const res = await client.lease(
          { relay_id: relayId, max_commands: Math.min(free, MAX_LEASE_BATCH), wait_seconds: waitSeconds, relay_version: RELAY_VERSION, concurrency, capabilities: [...(this.settings.capabilities ?? RELAY_CAPABILITIES)] },
          this.shutdown.signal,
        );
        if (failures > 0) this.log.info("service reachable again", { failures });
        failures = 0;
        if (this.leasing.signal.aborted) {
          for (const c of res.commands) this.track(this.handBack(c));
          break;
        }
        for (const c of res.commands) this.accept(c);
        for (const u of res.unparseable) this.refuse(u);
        if (res.commands.length === 0 && res.unparseable.length === 0 && clock.now() - asked < NOT_LONG_POLLED_MS) {
          await clock.sleep(idlePollMs, this.leasing.signal);
        }
      } catch (err) {
        if (this.leasing.signal.aborted) break;
        failures++;
        const delay = backoffDelay(failures, serviceBackoff, clock.random);
        const fields = { ...errorFields(err), failures, retry_in_ms: delay };
        // A refused token will not fix itself: louder, but the loop still keeps trying.
        if (err instanceof ServiceCallError && !err.retryable) this.log.error("lease refused by the service", fields);
        else this.log.warn("lease failed; backing off", fields);
        await clock.sleep(delay, this.leasing.signal);
      }
    }
  }

  /** Resolves when a held command ended or stop() was called. */
  private async roomToLease(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wakeLoop = resolve;
      if (this.leasing.signal.aborted || this.held.size < this.settings.concurrency) resolve();
    });
    this.wakeLoop = undefined;
  }

  private accept(leased: LeasedCommand): void {
    let c: LeasedCommand;
    try {
      c = { ...leased, body: openCommandAtSite(leased.body, leased.command_id, this.settings.siteKey) };
    } catch (err) {
      const problem = (err as Error).message;
      const l = this.log.child({ command_id: leased.command_id });
      l.error("cannot open the command's secret", { problem });
      this.reportUnrun(leased, l, { ok: false, error: { code: "SECRET_UNREADABLE", message: problem, retryable: false } });
      return;
    }
    const existing = this.held.get(c.command_id);
    if (existing) {
      existing.renew(c);
      return;
    }
    const body = c.body;
    const log = this.log.child(
      { command_id: c.command_id, type: body.type, bmc: loggableAddress(body.bmc.address), system_id: body.bmc.system_id, attempt: c.attempt },
      bodySecrets(body),
    );
    const h = new HeldCommand(this.rt, c, log);
    this.held.set(h.id, h);
    if (this.rt.locks.busy(h.bmcKey)) log.info("BMC busy with another command; waiting");
    else log.debug("command leased");
    this.track(
      h.run().finally(() => {
        this.held.delete(h.id);
        this.wakeLoop?.();
      }),
    );
  }

  /** A command this relay cannot parse is reported failed, so the workflow does not wait on it. */
  private refuse(u: UnparseableCommand): void {
    const l = this.log.child({ command_id: u.command_id });
    l.error("leased command does not match the protocol this relay speaks", { problem: u.problem });
    this.reportUnrun({ command_id: u.command_id, lease_token: u.lease_token }, l, {
      ok: false,
      error: { code: "VALIDATION_FAILED", message: `relay cannot execute this command: ${u.problem}`, retryable: false },
    });
  }

  private reportUnrun(c: Pick<LeasedCommand, "command_id" | "lease_token">, l: Logger, outcome: CommandOutcome): void {
    this.track(reportOutcome(this.rt, c.command_id, { token: c.lease_token, expiresAt: 0 }, outcome, l));
  }

  private async handBack(c: LeasedCommand): Promise<void> {
    const l = this.log.child({ command_id: c.command_id });
    try {
      await this.rt.client.release(c.command_id, { lease_token: c.lease_token });
      l.info("handed back unstarted while stopping");
    } catch (err) {
      l.warn("could not hand the command back; its lease will expire", errorFields(err));
    }
  }

  private track(p: Promise<void>): void {
    this.tasks.add(p);
    void p.finally(() => this.tasks.delete(p));
  }

  private async stopOnce(): Promise<void> {
    const { clock, client } = this.rt;
    this.log.info("relay stopping: no new leases; waiting for held commands", { held: this.held.size });
    this.leasing.abort();
    this.wakeLoop?.();
    await this.loopDone;
    const timer = new AbortController();
    const allDone = (async () => {
      while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    })();
    const finished = await Promise.race([allDone.then(() => true), clock.sleep(this.settings.stopTimeoutMs, timer.signal).then(() => false)]);
    timer.abort();
    if (!finished) {
      this.log.warn("stop timeout: abandoning held commands; their leases will expire and be re-leased", {
        held: this.held.size,
        commands: [...this.held.keys()],
      });
      this.shutdown.abort();
    }
    await Promise.race([client.close().catch(() => {}), clock.sleep(1_000)]);
    this.log.info("relay stopped");
  }
}
