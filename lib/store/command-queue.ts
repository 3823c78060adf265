/**
 * The relay command queue in the state table: a site's commands, leased by its relays with expiry
 * (the site_queue index orders them by when they may next be leased), heartbeats, results, hand
 * backs and withdrawals. Every change is one conditional write on the lease it holds.
 */
import { ConflictError } from "../errors";
import { newId } from "../ids";
import type { CommandOutcome, SequenceProgress } from "../relay/protocol";
import type { BmcEvidence } from "../bmc/claims";
import type { CommandRecord } from "./records";
import type { HeldLease, LeaseOptions } from "./state-store";
import { INDEX } from "./table-definition";
import { KEY, NO_ITEM_YET, TableClient, all, condition, strip, type Condition } from "./table-client";

const STATUS = { "#status": "status" };

/** the command is still held under this lease token, by a relay of its site */
const leaseHeld = (lease: HeldLease): Condition =>
  all(condition("lease_token = :token", { ":token": lease.leaseToken }), condition("#status = :leased", { ":leased": "leased" }, STATUS), ofSite(lease.site));
const ofSite = (site: string): Condition => condition("site = :site", { ":site": site });
/** nobody finished it yet: queued, or leased (perhaps to a relay that vanished) */
const UNFINISHED = condition("#status IN (:queued, :leased)", { ":queued": "queued", ":leased": "leased" }, STATUS);
/** still where the lease query saw it in the queue: nobody leased, handed back or finished it since */
const stillAt = (queueAt: string | undefined): Condition => condition("queue_at = :seen", { ":seen": queueAt });

const leaseLost = (commandId: string) => () => new ConflictError("LEASE_LOST", `command ${commandId} is no longer leased to this relay`);

const expiry = (now: string, leaseSeconds: number): string => new Date(Date.parse(now) + leaseSeconds * 1000).toISOString();

export abstract class CommandQueue extends TableClient {
  /** Enqueues a command; a second enqueue of the same id is a no-op (answers false). */
  async enqueueCommand(c: CommandRecord): Promise<boolean> {
    const res = await this.write({
      what: "enqueue command",
      write: { put: { ...KEY.command(c.command_id), queue_pk: `SITE#${c.site}`, queue_at: c.created_at, ...c } },
      when: NO_ITEM_YET,
    });
    return res.written;
  }

  async getCommand(commandId: string): Promise<CommandRecord | null> {
    return strip<CommandRecord>(await this.get("get command", KEY.command(commandId)));
  }

  /**
   * Leases up to `max` of a site's commands that are queued, or whose lease expired (a relay that
   * vanished). Each lease is a conditional write on the queue position the query saw, so two
   * relays racing for one command cannot both win it:
   *   A queries (c at t0) · B queries (c at t0) · A: lease c IF queue_at = t0 → ok, queue_at = expiry
   *   B: lease c IF queue_at = t0 → refused: B moves on to its next item
   */
  async leaseCommands(site: string, opts: LeaseOptions): Promise<CommandRecord[]> {
    const page = await this.query<CommandRecord & { queue_at?: string }>({
      what: "query site queue",
      index: INDEX.siteQueue,
      key: condition("queue_pk = :q AND queue_at <= :now", { ":q": `SITE#${site}`, ":now": opts.now }),
      limit: opts.max * 2,
      keepIndexAttributes: true,
    });
    const expires = expiry(opts.now, opts.leaseSeconds);
    const leased: CommandRecord[] = [];
    for (const c of page.items) {
      if (leased.length >= opts.max) break;
      const res = await this.write({
        what: "lease command",
        write: {
          update: KEY.command(c.command_id),
          expression: "SET #status = :leased, lease_owner = :r, lease_token = :t, lease_expires_at = :e, queue_at = :e, leases = leases + :one, updated_at = :now",
        },
        when: all(stillAt(c.queue_at), UNFINISHED, ofSite(site)),
        names: STATUS,
        values: { ":leased": "leased", ":r": opts.relayId, ":t": newId(), ":e": expires, ":one": 1, ":now": opts.now },
        returnItem: true,
      });
      const rec = res.written ? strip<CommandRecord>(res.item) : null; // not written: another relay won it
      if (rec) leased.push(rec);
    }
    return leased;
  }

  /**
   * Extends a lease the relay still holds; with `checkpoint`, stores the command's evidence in the
   * same conditional write (the relay writes to the BMC only once this answered). LEASE_LOST when
   * the command moved on.
   */
  async heartbeat(lease: HeldLease, now: string, leaseSeconds: number, checkpoint?: BmcEvidence, progress?: SequenceProgress): Promise<string> {
    const expires = expiry(now, leaseSeconds);
    await this.write({
      what: "heartbeat",
      write: {
        update: KEY.command(lease.commandId),
        expression: `SET lease_expires_at = :e, queue_at = :e, updated_at = :now${checkpoint ? ", checkpoint = :c" : ""}${progress ? ", progress = :p" : ""}`,
      },
      when: leaseHeld(lease),
      values: { ":e": expires, ":now": now, ...(checkpoint ? { ":c": checkpoint } : {}), ...(progress ? { ":p": progress } : {}) },
      refused: leaseLost(lease.commandId),
    });
    return expires;
  }

  /** Records a relay's outcome and takes the command off the queue. */
  async completeCommand(lease: HeldLease, outcome: CommandOutcome, now: string, progress?: SequenceProgress): Promise<CommandRecord> {
    const res = await this.write({
      what: "complete command",
      write: { update: KEY.command(lease.commandId), expression: `SET #status = :st, outcome = :o, updated_at = :now${progress ? ", progress = :p" : ""} REMOVE queue_pk, queue_at` },
      when: leaseHeld(lease),
      values: { ":st": outcome.ok ? "succeeded" : "failed", ":o": outcome, ":now": now, ...(progress ? { ":p": progress } : {}) },
      returnItem: true,
      refused: leaseLost(lease.commandId),
    });
    return strip<CommandRecord>(res.written ? res.item : undefined)!;
  }

  /** A relay hands back a command it leased but did not start (it is stopping). */
  async releaseCommand(lease: HeldLease, now: string): Promise<void> {
    await this.write({
      what: "release command",
      write: {
        update: KEY.command(lease.commandId),
        expression: "SET #status = :queued, queue_at = :now, lease_owner = :none, lease_token = :none, lease_expires_at = :none, updated_at = :now",
      },
      when: leaseHeld(lease),
      values: { ":queued": "queued", ":now": now, ":none": null },
      refused: leaseLost(lease.commandId),
    });
  }

  /** Withdraws a command nobody finished (superseded by a retry, a rollback or an undeploy); a no-op for one that ended. */
  async cancelCommand(commandId: string, now: string): Promise<void> {
    await this.write({
      what: "cancel command",
      write: { update: KEY.command(commandId), expression: "SET #status = :c, updated_at = :now REMOVE queue_pk, queue_at" },
      when: UNFINISHED,
      values: { ":c": "cancelled", ":now": now },
    });
  }
}
