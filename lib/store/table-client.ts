/**
 * The I/O of the state table: one DynamoDB client, the document client over it, key and cursor
 * encoding, the three ways in (get, one conditional write, query) and the translation of SDK
 * errors into ours, so that no SDK exception leaves lib/store. Conditions are built from named
 * pieces (`Condition`, `all`); the item-level operations live in command-queue.ts and
 * state-table.ts.
 */
import { ConditionalCheckFailedException, CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DependencyError, SanbootError } from "../errors";
import type { Page } from "./state-store";
import { DUE_SHARDS, tableDefinition } from "./table-definition";

export interface StateTableOptions {
  tableName: string;
  region: string;
  /** a DynamoDB-compatible endpoint (dynalite); unset on AWS */
  endpoint?: string;
}

export type TableKey = { pk: string; sk: string };

export const KEY = {
  node: (id: string): TableKey => ({ pk: `NODE#${id}`, sk: "NODE" }),
  request: (id: string): TableKey => ({ pk: `REQ#${id}`, sk: "REQ" }),
  command: (id: string): TableKey => ({ pk: `CMD#${id}`, sk: "CMD" }),
  idem: (project: string, key: string): TableKey => ({ pk: `IDEM#${project}#${key}`, sk: "IDEM" }),
  site: (site: string): TableKey => ({ pk: `SITE#${site}`, sk: "SITE" }),
  relay: (site: string, relayId: string): TableKey => ({ pk: `SITE#${site}`, sk: `RELAY#${relayId}` }),
  relayToken: (sha256: string): TableKey => ({ pk: `RTOK#${sha256}`, sk: "RTOK" }),
};

const INTERNAL_ATTRS = ["pk", "sk", "gsi_project_pk", "gsi_project_sk", "gsi_node_pk", "gsi_node_sk", "due_pk", "due_at", "queue_pk", "queue_at"];

export function strip<T>(item: Record<string, unknown> | undefined): T | null {
  if (!item) return null;
  const out: Record<string, unknown> = { ...item };
  for (const k of INTERNAL_ATTRS) delete out[k];
  return out as T;
}

export function dueShard(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return `DUE#${h % DUE_SHARDS}`;
}

// ---------------------------------------------------------------- conditions

/** A named piece of a condition (or of a key condition): its expression and the names and values it uses. */
export interface Condition {
  expression: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
}

export const condition = (expression: string, values?: Record<string, unknown>, names?: Record<string, string>): Condition => ({ expression, values, names });

function merged<T>(into: Record<string, T>, add: Record<string, T> | undefined, what: string): Record<string, T> {
  for (const [k, v] of Object.entries(add ?? {})) {
    if (k in into && into[k] !== v) throw new Error(`condition pieces disagree on ${what} ${k}`);
    into[k] = v;
  }
  return into;
}

/** Every piece must hold. A placeholder two pieces share must mean the same to both. */
export function all(...pieces: Condition[]): Condition {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const p of pieces) {
    merged(names, p.names, "name");
    merged(values, p.values, "value");
  }
  return { expression: pieces.map((p) => (pieces.length > 1 ? `(${p.expression})` : p.expression)).join(" AND "), names, values };
}

/** The pieces every item kind uses. */
export const NO_ITEM_YET = condition("attribute_not_exists(pk)");
export const ITEM_EXISTS = condition("attribute_exists(pk)");
/** optimistic locking: the item is still the version the writer read */
export const atVersion = (version: number): Condition => condition("version = :expected_version", { ":expected_version": version });

// ---------------------------------------------------------------- writes and queries

export type Write =
  | { put: Record<string, unknown> }
  /** an UpdateExpression ("SET a = :a REMOVE b") on the item at the key */
  | { update: TableKey; expression: string }
  | { delete: TableKey };

export interface WriteRequest {
  /** names the operation in errors and in the request counts ("lock node") */
  what: string;
  write: Write;
  /** when the write may happen; without it, always */
  when?: Condition;
  /** names and values of the update expression (the condition brings its own) */
  names?: Record<string, string>;
  values?: Record<string, unknown>;
  /** answer the item as the write left it (updates only) */
  returnItem?: boolean;
  /** what a refused condition means to the caller, thrown; without it, refusal is answered as `written: false` */
  refused?: () => SanbootError;
}

export type WriteOutcome = { written: true; item: Record<string, unknown> | undefined } | { written: false };

export interface QueryRequest {
  what: string;
  index: string;
  key: Condition;
  filter?: Condition;
  limit: number;
  cursor?: string;
  /** default oldest first */
  ascending?: boolean;
  /** keep the index attributes on the items (the lease reads queue_at) */
  keepIndexAttributes?: boolean;
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

const nonEmpty = <T>(o: Record<string, T>): Record<string, T> | undefined => (Object.keys(o).length ? o : undefined);

type SendResult = { Item?: Record<string, unknown>; Items?: Record<string, unknown>[]; Attributes?: Record<string, unknown>; LastEvaluatedKey?: Record<string, unknown> };

export abstract class TableClient {
  readonly tableName: string;
  private readonly raw: DynamoDBClient;
  private readonly doc: DynamoDBDocumentClient;
  /** counts every request sent to the table (the bench reports it per workflow) */
  requestCount = 0;
  private readonly counts: Record<string, number> = {};

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

  get requestCounts(): Readonly<Record<string, number>> {
    return { ...this.counts };
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

  // ---------------------------------------------------------------- the three ways in

  private send(what: string, command: object): Promise<SendResult> {
    this.counts[what] = (this.counts[what] ?? 0) + 1;
    // The document client's send is generic over every command type; one cast keeps the callers typed.
    return (this.doc.send as (c: unknown) => Promise<SendResult>)(command);
  }

  /** A strongly consistent read of one item. */
  protected async get(what: string, key: TableKey): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.send(what, new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item;
    } catch (err) {
      throw this.translate(err, what);
    }
  }

  /**
   * The one write: a put, update or delete of one item, conditional on `when`. A refused condition
   * is the caller's `refused` error, or `written: false`; any other failure is STORE_UNAVAILABLE.
   */
  protected async write(w: WriteRequest): Promise<WriteOutcome> {
    const names = merged(merged({}, w.names, "name"), w.when?.names, "name");
    const values = merged(merged({}, w.values, "value"), w.when?.values, "value");
    const common = {
      TableName: this.tableName,
      ...(w.when ? { ConditionExpression: w.when.expression } : {}),
      ExpressionAttributeNames: nonEmpty(names),
      ExpressionAttributeValues: nonEmpty(values),
    };
    const op = w.write;
    const command =
      "put" in op
        ? new PutCommand({ ...common, Item: op.put })
        : "update" in op
          ? new UpdateCommand({ ...common, Key: op.update, UpdateExpression: op.expression, ...(w.returnItem ? { ReturnValues: "ALL_NEW" as const } : {}) })
          : new DeleteCommand({ ...common, Key: op.delete });
    try {
      const res = await this.send(w.what, command);
      return { written: true, item: res.Attributes };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw this.translate(err, w.what);
      if (w.refused) throw w.refused();
      return { written: false };
    }
  }

  protected async query<T>(q: QueryRequest): Promise<Page<T>> {
    const names = merged(merged({}, q.key.names, "name"), q.filter?.names, "name");
    const values = merged(merged({}, q.key.values, "value"), q.filter?.values, "value");
    const startKey = decodeCursor(q.cursor);
    try {
      const res = await this.send(
        q.what,
        new QueryCommand({
          TableName: this.tableName,
          IndexName: q.index,
          KeyConditionExpression: q.key.expression,
          ...(q.filter ? { FilterExpression: q.filter.expression } : {}),
          ExpressionAttributeNames: nonEmpty(names),
          ExpressionAttributeValues: values,
          Limit: q.limit,
          ScanIndexForward: q.ascending ?? true,
          ExclusiveStartKey: startKey,
        }),
      );
      return { items: (res.Items ?? []).map((i) => (q.keepIndexAttributes ? (i as T) : strip<T>(i)!)), cursor: encodeCursor(res.LastEvaluatedKey) };
    } catch (err) {
      // a caller's cursor that names no position of this query (forged, or from another list) is bad input, not an outage
      if (q.cursor && isBadStartKey(err)) throw invalidCursor(err);
      throw this.translate(err, q.what);
    }
  }

  /** Every item of a query, page after page (100 a page), `max` at most. */
  protected async queryAll<T>(q: Omit<QueryRequest, "limit" | "cursor">, max: number): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.query<T>({ ...q, limit: Math.min(100, max - out.length), ...(cursor ? { cursor } : {}) });
      out.push(...page.items);
      cursor = page.cursor ?? undefined;
    } while (cursor && out.length < max);
    return out;
  }

  private translate(err: unknown, what: string): SanbootError {
    if (err instanceof SanbootError) return err;
    const name = (err as { name?: string })?.name ?? "Error";
    const retryable = !["ValidationException", "ResourceNotFoundException", "SerializationException"].includes(name);
    const detail = (err as { message?: string })?.message ?? "";
    return new DependencyError("STORE_UNAVAILABLE", `state table ${what} failed (${name}${detail ? `: ${detail}` : ""})`, { retryable, cause: err });
  }
}
