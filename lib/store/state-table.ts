/**
 * The DynamoDB adapter for the state table: I/O only. Every write that changes state is one
 * conditional single-item write (dynalite has no transactions; notes/stack.md), and a failed
 * condition becomes a ConflictError here, so no SDK exception leaves this file.
 */
import { ConditionalCheckFailedException, CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConflictError, DependencyError, SanbootError } from "../errors";
import { newId } from "../ids";
import type { CommandOutcome } from "../relay/protocol";
import type { BootRequestRecord, CommandRecord, IdempotencyRecord, NodeRecord } from "./records";
import { DUE_SHARDS, INDEX, tableDefinition } from "./table-definition";
import type { RequestState } from "../workflow";

export interface StateTableOptions {
  tableName: string;
  region: string;
  /** a DynamoDB-compatible endpoint (dynalite); unset on AWS */
  endpoint?: string;
}

export interface Page<T> {
  items: T[];
  /** opaque; pass back to get the next page */
  cursor: string | null;
}

const KEY = {
  node: (id: string) => ({ pk: `NODE#${id}`, sk: "NODE" }),
  request: (id: string) => ({ pk: `REQ#${id}`, sk: "REQ" }),
  command: (id: string) => ({ pk: `CMD#${id}`, sk: "CMD" }),
  idem: (project: string, key: string) => ({ pk: `IDEM#${project}#${key}`, sk: "IDEM" }),
};

const INTERNAL_ATTRS = ["pk", "sk", "gsi_project_pk", "gsi_project_sk", "gsi_node_pk", "gsi_node_sk", "due_pk", "due_at", "queue_pk", "queue_at"];

function strip<T>(item: Record<string, unknown> | undefined): T | null {
  if (!item) return null;
  const out: Record<string, unknown> = { ...item };
  for (const k of INTERNAL_ATTRS) delete out[k];
  return out as T;
}

function dueShard(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return `DUE#${h % DUE_SHARDS}`;
}

const encodeCursor = (key: Record<string, unknown> | undefined): string | null =>
  key ? Buffer.from(JSON.stringify(key)).toString("base64url") : null;

const invalidCursor = (cause?: unknown) =>
  new SanbootError("VALIDATION_FAILED", "cursor is not one this service gave out", { details: [{ field: "cursor", message: "invalid cursor" }], cause });

function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch (cause) {
    throw invalidCursor(cause);
  }
  if (key === null || typeof key !== "object" || Array.isArray(key)) throw invalidCursor();
  return key as Record<string, unknown>;
}

/** DynamoDB refuses an ExclusiveStartKey that is not a key of the query ("The provided starting key is ..."). */
const isBadStartKey = (err: unknown): boolean =>
  (err as { name?: string })?.name === "ValidationException" && /start(ing)?\s*key/i.test((err as { message?: string }).message ?? "");

export class StateTable {
  readonly tableName: string;
  private readonly raw: DynamoDBClient;
  private readonly doc: DynamoDBDocumentClient;
  /** counts every request sent to the table (the bench reports it per workflow) */
  requestCount = 0;

  constructor(opts: StateTableOptions) {
    this.tableName = opts.tableName;
    this.raw = new DynamoDBClient({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
      maxAttempts: 3,
    });
    this.raw.middlewareStack.add(
      (next) => async (args) => {
        this.requestCount++;
        return next(args);
      },
      { step: "initialize", name: "sanbootRequestCounter" },
    );
    this.doc = DynamoDBDocumentClient.from(this.raw, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** Local mode: create the table (and its indexes) if it is not there yet. */
  async ensureTable(): Promise<void> {
    try {
      await this.raw.send(new CreateTableCommand(tableDefinition(this.tableName)));
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw this.translate(err, "create table");
    }
    for (let i = 0; i < 100; i++) {
      const d = await this.raw.send(new DescribeTableCommand({ TableName: this.tableName }));
      if (d.Table?.TableStatus === "ACTIVE") return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new DependencyError("STORE_UNAVAILABLE", `table ${this.tableName} did not become active`, { retryable: true });
  }

  close(): void {
    this.raw.destroy();
  }

  // ---------------------------------------------------------------- nodes

  async createNode(node: NodeRecord): Promise<void> {
    await this.put(
      { ...KEY.node(node.node_id), gsi_project_pk: `PROJ#${node.project_id}#NODE`, gsi_project_sk: node.node_id, ...node },
      "attribute_not_exists(pk)",
      {},
      () => new ConflictError("NODE_EXISTS", `node ${node.node_id} already exists`),
    );
  }

  async getNode(nodeId: string): Promise<NodeRecord | null> {
    return strip<NodeRecord>(await this.get(KEY.node(nodeId)));
  }

  async listNodes(projectId: string, limit: number, cursor?: string): Promise<Page<NodeRecord>> {
    return this.query<NodeRecord>(INDEX.byProject, "gsi_project_pk = :p", { ":p": `PROJ#${projectId}#NODE` }, limit, cursor);
  }

  /** Replaces a node if nobody changed it since `expectedVersion`. */
  async saveNode(node: NodeRecord, expectedVersion: number): Promise<void> {
    await this.put(
      { ...KEY.node(node.node_id), gsi_project_pk: `PROJ#${node.project_id}#NODE`, gsi_project_sk: node.node_id, ...node },
      "version = :v",
      { ":v": expectedVersion },
      () => new ConflictError("VERSION_CONFLICT", `node ${node.node_id} changed meanwhile; read it again`),
    );
  }

  /** Deletes a node that holds no request. */
  async deleteNode(nodeId: string): Promise<void> {
    try {
      await this.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: KEY.node(nodeId),
          ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(active_request_id) OR active_request_id = :none)",
          ExpressionAttributeValues: { ":none": null },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new ConflictError("NODE_BUSY", `node ${nodeId} has an active boot request; undeploy it first`);
      throw this.translate(err, "delete node");
    }
  }

  /**
   * The node lock: one active request per node. Timeline of two concurrent requests A and B:
   *   A reads node (free) · B reads node (free) · A: SET active=A IF active is none → ok
   *   B: SET active=B IF active is none → ConditionalCheckFailed → NODE_BUSY (409)
   * The database decides; there is no read-then-write window.
   */
  async lockNode(nodeId: string, projectId: string, requestId: string, now: string): Promise<void> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.node(nodeId),
          UpdateExpression: "SET active_request_id = :r, updated_at = :now, version = version + :one",
          ConditionExpression: "attribute_exists(pk) AND project_id = :p AND (attribute_not_exists(active_request_id) OR active_request_id = :none)",
          ExpressionAttributeValues: { ":r": requestId, ":p": projectId, ":none": null, ":now": now, ":one": 1 },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new ConflictError("NODE_BUSY", `node ${nodeId} already has an active boot request`);
      throw this.translate(err, "lock node");
    }
  }

  /** Frees the node if `requestId` still holds it; a no-op otherwise (already released). */
  async releaseNode(nodeId: string, requestId: string, now: string): Promise<void> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.node(nodeId),
          UpdateExpression: "SET active_request_id = :none, updated_at = :now, version = version + :one",
          ConditionExpression: "active_request_id = :r",
          ExpressionAttributeValues: { ":r": requestId, ":none": null, ":now": now, ":one": 1 },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return;
      throw this.translate(err, "release node");
    }
  }

  // ---------------------------------------------------------------- boot requests

  private requestItem(r: BootRequestRecord): Record<string, unknown> {
    return {
      ...KEY.request(r.request_id),
      gsi_project_pk: `PROJ#${r.project_id}#REQ`,
      gsi_project_sk: `${r.created_at}#${r.request_id}`,
      gsi_node_pk: `NODE#${r.node_id}`,
      gsi_node_sk: `${r.created_at}#${r.request_id}`,
      ...(r.next_attempt_at ? { due_pk: dueShard(r.request_id), due_at: r.next_attempt_at } : {}),
      ...r,
    };
  }

  async createRequest(r: BootRequestRecord): Promise<void> {
    await this.put(this.requestItem(r), "attribute_not_exists(pk)", {}, () => new ConflictError("VERSION_CONFLICT", `request ${r.request_id} exists`));
  }

  async getRequest(requestId: string): Promise<BootRequestRecord | null> {
    return strip<BootRequestRecord>(await this.get(KEY.request(requestId)));
  }

  /** Writes `r` (whose version the caller already incremented) if the stored one is `r.version - 1`. */
  async saveRequest(r: BootRequestRecord): Promise<void> {
    await this.put(
      this.requestItem(r),
      "version = :v",
      { ":v": r.version - 1 },
      () => new ConflictError("VERSION_CONFLICT", `request ${r.request_id} changed meanwhile`),
    );
  }

  /** Removes a request that never started (its node lock was refused). */
  async deleteRequest(requestId: string, version: number): Promise<void> {
    try {
      await this.send(
        new DeleteCommand({ TableName: this.tableName, Key: KEY.request(requestId), ConditionExpression: "version = :v", ExpressionAttributeValues: { ":v": version } }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return;
      throw this.translate(err, "delete request");
    }
  }

  async listRequests(
    projectId: string,
    filter: { nodeId?: string; state?: RequestState },
    limit: number,
    cursor?: string,
  ): Promise<Page<BootRequestRecord>> {
    const stateFilter = filter.state ? { filter: "#state = :s", values: { ":s": filter.state }, names: { "#state": "state" } } : undefined;
    if (filter.nodeId) {
      return this.query<BootRequestRecord>(
        INDEX.byNode,
        "gsi_node_pk = :n",
        { ":n": `NODE#${filter.nodeId}`, ":p": projectId, ...stateFilter?.values },
        limit,
        cursor,
        { filter: ["project_id = :p", stateFilter?.filter].filter(Boolean).join(" AND "), names: stateFilter?.names },
      );
    }
    return this.query<BootRequestRecord>(
      INDEX.byProject,
      "gsi_project_pk = :p",
      { ":p": `PROJ#${projectId}#REQ`, ...stateFilter?.values },
      limit,
      cursor,
      stateFilter ? { filter: stateFilter.filter, names: stateFilter.names } : undefined,
    );
  }

  /** Requests whose next attempt is due at `now` (the sweeper's query; one per shard). */
  async dueRequests(now: string, limit: number): Promise<BootRequestRecord[]> {
    const out: BootRequestRecord[] = [];
    for (let shard = 0; shard < DUE_SHARDS && out.length < limit; shard++) {
      const page = await this.query<BootRequestRecord>(INDEX.due, "due_pk = :d AND due_at <= :now", { ":d": `DUE#${shard}`, ":now": now }, limit - out.length);
      out.push(...page.items);
    }
    return out;
  }

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
  async heartbeat(site: string, commandId: string, leaseToken: string, now: string, leaseSeconds: number): Promise<string> {
    const expires = new Date(Date.parse(now) + leaseSeconds * 1000).toISOString();
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.command(commandId),
          UpdateExpression: "SET lease_expires_at = :e, queue_at = :e, updated_at = :now",
          ConditionExpression: "lease_token = :t AND #status = :leased AND site = :site",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":e": expires, ":now": now, ":t": leaseToken, ":leased": "leased", ":site": site },
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

  // ---------------------------------------------------------------- idempotency keys

  /**
   * Claims an Idempotency-Key for a first request. Answers the stored record instead when the
   * key was seen before (the caller compares body hashes and replays or refuses).
   */
  async claimIdempotencyKey(rec: IdempotencyRecord, now: string): Promise<IdempotencyRecord | null> {
    const key = KEY.idem(rec.project_id, rec.key);
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, ...rec },
          ConditionExpression: "attribute_not_exists(pk) OR expires_at < :now",
          ExpressionAttributeValues: { ":now": now },
        }),
      );
      return null;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw this.translate(err, "claim idempotency key");
    }
    return strip<IdempotencyRecord>(await this.get(key));
  }

  async completeIdempotencyKey(projectId: string, key: string, response: NonNullable<IdempotencyRecord["response"]>): Promise<void> {
    await this.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: KEY.idem(projectId, key),
        UpdateExpression: "SET #status = :c, #response = :r",
        ExpressionAttributeNames: { "#status": "status", "#response": "response" },
        ExpressionAttributeValues: { ":c": "completed", ":r": response },
      }),
    ).catch((err) => {
      throw this.translate(err, "complete idempotency key");
    });
  }

  /** Forgets a claim whose request failed before it changed anything, so a retry runs afresh. */
  async releaseIdempotencyKey(projectId: string, key: string): Promise<void> {
    await this.send(new DeleteCommand({ TableName: this.tableName, Key: KEY.idem(projectId, key) })).catch((err) => {
      throw this.translate(err, "release idempotency key");
    });
  }

  // ---------------------------------------------------------------- plumbing

  private async send<T>(command: { input: unknown } & object): Promise<T & { Item?: Record<string, unknown>; Items?: Record<string, unknown>[]; Attributes?: Record<string, unknown>; LastEvaluatedKey?: Record<string, unknown> }> {
    // The document client's send is generic over every command type; one cast keeps the callers typed.
    return (this.doc.send as (c: unknown) => Promise<never>)(command);
  }

  private async get(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await this.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      return res.Item;
    } catch (err) {
      throw this.translate(err, "get");
    }
  }

  private async put(item: Record<string, unknown>, condition: string, values: Record<string, unknown>, onConflict: () => SanbootError): Promise<void> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: condition,
          ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw onConflict();
      throw this.translate(err, "put");
    }
  }

  private async query<T>(
    index: string,
    keyCondition: string,
    values: Record<string, unknown>,
    limit: number,
    cursor?: string,
    extra?: { filter?: string; names?: Record<string, string> },
    ascending = true,
    keepIndexAttrs = false,
  ): Promise<Page<T>> {
    try {
      const res = await this.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression: keyCondition,
          ExpressionAttributeValues: values,
          ...(extra?.filter ? { FilterExpression: extra.filter } : {}),
          ...(extra?.names && Object.keys(extra.names).length ? { ExpressionAttributeNames: extra.names } : {}),
          Limit: limit,
          ScanIndexForward: ascending,
          ExclusiveStartKey: decodeCursor(cursor),
        }),
      );
      return { items: (res.Items ?? []).map((i) => (keepIndexAttrs ? (i as T) : strip<T>(i)!)), cursor: encodeCursor(res.LastEvaluatedKey) };
    } catch (err) {
      if (err instanceof SanbootError) throw err;
      // a caller's cursor that names no position of this query (forged, or from another list) is bad input, not an outage
      if (cursor && isBadStartKey(err)) throw invalidCursor(err);
      throw this.translate(err, "query");
    }
  }

  private translate(err: unknown, what: string): SanbootError {
    if (err instanceof SanbootError) return err;
    const name = (err as { name?: string })?.name ?? "Error";
    const retryable = !["ValidationException", "ResourceNotFoundException", "SerializationException"].includes(name);
    const detail = (err as { message?: string })?.message ?? "";
    return new DependencyError("STORE_UNAVAILABLE", `state table ${what} failed (${name}${detail ? `: ${detail}` : ""})`, { retryable, cause: err });
  }
}
