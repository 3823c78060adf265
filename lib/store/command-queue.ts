/**
 * The relay command queue in the state table: a site's commands, leased by its relays with expiry
 * (the site_queue index orders them by when they may next be leased), heartbeats, results, hand
 * backs and withdrawals. Every change is one conditional write on the lease it holds.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConflictError } from "../errors";
import { newId } from "../ids";
import type { CommandOutcome } from "../relay/protocol";
import type { BmcEvidence } from "../bmc/claims";
import type { CommandRecord } from "./records";
import { INDEX } from "./table-definition";
import { KEY, TableClient, strip } from "./table-client";

export abstract class CommandQueue extends TableClient {
  // ---------------------------------------------------------------- relay commands

  /** Enqueues a command; a second enqueue of the same id is a no-op (answers false). */
  async enqueueCommand(c: CommandRecord): Promise<boolean> {
    try {
      await this.put({ ...KEY.command(c.command_id), queue_pk: `SITE#${c.site}`, queue_at: c.created_at, ...c }, "attribute_not_exists(pk)", {}, () => new ConflictError("VERSION_CONFLICT", "exists"));
      return true;
    } catch (err) {
      if (err instanceof ConflictError) return false;
      throw err;
    }
  }

  async getCommand(commandId: string): Promise<CommandRecord | null> {
    return strip<CommandRecord>(await this.get(KEY.command(commandId)));
  }

  /**
   * Leases up to `max` of a site's commands that are queued, or whose lease expired (a relay that
   * vanished). Each lease is a conditional write on the queue position the query saw, so two
   * relays racing for one command cannot both win it.
   */
  async leaseCommands(site: string, relayId: string, now: string, leaseSeconds: number, max: number): Promise<CommandRecord[]> {
    const page = await this.query<CommandRecord & { queue_at?: string }>(
      INDEX.siteQueue,
      "queue_pk = :q AND queue_at <= :now",
      { ":q": `SITE#${site}`, ":now": now },
      max * 2,
      undefined,
      undefined,
      true,
      true,
    );
    const expires = new Date(Date.parse(now) + leaseSeconds * 1000).toISOString();
    const leased: CommandRecord[] = [];
    for (const c of page.items) {
      if (leased.length >= max) break;
      const token = newId();
      try {
        const res = await this.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: KEY.command(c.command_id),
            UpdateExpression: "SET #status = :leased, lease_owner = :r, lease_token = :t, lease_expires_at = :e, queue_at = :e, leases = leases + :one, updated_at = :now",
            ConditionExpression: "queue_at = :seen AND #status IN (:queued, :leased) AND site = :site",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: {
              ":leased": "leased",
              ":queued": "queued",
              ":r": relayId,
              ":t": token,
              ":e": expires,
              ":one": 1,
              ":now": now,
              ":seen": c.queue_at,
              ":site": site,
            },
            ReturnValues: "ALL_NEW",
          }),
        );
        const rec = strip<CommandRecord>(res.Attributes);
        if (rec) leased.push(rec);
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) continue; // another relay won it
        throw this.translate(err, "lease command");
      }
    }
    return leased;
  }

  /** Extends a lease the relay still holds; LEASE_LOST when it moved on. */
  /**
   * Extends a lease the relay still holds; with `checkpoint`, stores the command's evidence in the
   * same conditional write (the relay writes to the BMC only once this answered). LEASE_LOST when
   * the command moved on.
   */
  async heartbeat(site: string, commandId: string, leaseToken: string, now: string, leaseSeconds: number, checkpoint?: BmcEvidence): Promise<string> {
    const expires = new Date(Date.parse(now) + leaseSeconds * 1000).toISOString();
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.command(commandId),
          UpdateExpression: `SET lease_expires_at = :e, queue_at = :e, updated_at = :now${checkpoint ? ", checkpoint = :c" : ""}`,
          ConditionExpression: "lease_token = :t AND #status = :leased AND site = :site",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":e": expires, ":now": now, ":t": leaseToken, ":leased": "leased", ":site": site, ...(checkpoint ? { ":c": checkpoint } : {}) },
        }),
      );
      return expires;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new ConflictError("LEASE_LOST", `command ${commandId} is no longer leased to this relay`);
      throw this.translate(err, "heartbeat");
    }
  }

  /** Records a relay's outcome and takes the command off the queue. */
  async completeCommand(site: string, commandId: string, leaseToken: string, outcome: CommandOutcome, now: string): Promise<CommandRecord> {
    try {
      const res = await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.command(commandId),
          UpdateExpression: "SET #status = :st, outcome = :o, updated_at = :now REMOVE queue_pk, queue_at",
          ConditionExpression: "lease_token = :t AND #status = :leased AND site = :site",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":st": outcome.ok ? "succeeded" : "failed", ":o": outcome, ":now": now, ":t": leaseToken, ":leased": "leased", ":site": site },
          ReturnValues: "ALL_NEW",
        }),
      );
      return strip<CommandRecord>(res.Attributes)!;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new ConflictError("LEASE_LOST", `command ${commandId} is no longer leased to this relay`);
      throw this.translate(err, "complete command");
    }
  }

  /** A relay hands back a command it leased but did not start (it is stopping). */
  async releaseCommand(site: string, commandId: string, leaseToken: string, now: string): Promise<void> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.command(commandId),
          UpdateExpression: "SET #status = :queued, queue_at = :now, lease_owner = :none, lease_token = :none, lease_expires_at = :none, updated_at = :now",
          ConditionExpression: "lease_token = :t AND #status = :leased AND site = :site",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":queued": "queued", ":now": now, ":none": null, ":t": leaseToken, ":leased": "leased", ":site": site },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new ConflictError("LEASE_LOST", `command ${commandId} is no longer leased to this relay`);
      throw this.translate(err, "release command");
    }
  }

  /** Withdraws a command nobody finished (superseded by a retry, a rollback or an undeploy). */
  async cancelCommand(commandId: string, now: string): Promise<void> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.command(commandId),
          UpdateExpression: "SET #status = :c, updated_at = :now REMOVE queue_pk, queue_at",
          ConditionExpression: "#status IN (:queued, :leased)",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":c": "cancelled", ":now": now, ":queued": "queued", ":leased": "leased" },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return;
      throw this.translate(err, "cancel command");
    }
  }
}
