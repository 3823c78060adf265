/**
 * The I/O plumbing of the state table: one DynamoDB client, the document client over it, key and
 * cursor encoding, and the translation of SDK errors into ours, so that no SDK exception leaves
 * lib/store. The item-level operations live in command-queue.ts and state-table.ts.
 */
import { ConditionalCheckFailedException, CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { DependencyError, SanbootError } from "../errors";
import { DUE_SHARDS, tableDefinition } from "./table-definition";

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

export const KEY = {
  node: (id: string) => ({ pk: `NODE#${id}`, sk: "NODE" }),
  request: (id: string) => ({ pk: `REQ#${id}`, sk: "REQ" }),
  command: (id: string) => ({ pk: `CMD#${id}`, sk: "CMD" }),
  idem: (project: string, key: string) => ({ pk: `IDEM#${project}#${key}`, sk: "IDEM" }),
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

export abstract class TableClient {
  readonly tableName: string;
  protected readonly raw: DynamoDBClient;
  protected readonly doc: DynamoDBDocumentClient;
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

  // ---------------------------------------------------------------- plumbing

  protected async send<T>(command: { input: unknown } & object): Promise<T & { Item?: Record<string, unknown>; Items?: Record<string, unknown>[]; Attributes?: Record<string, unknown>; LastEvaluatedKey?: Record<string, unknown> }> {
    // The document client's send is generic over every command type; one cast keeps the callers typed.
    return (this.doc.send as (c: unknown) => Promise<never>)(command);
  }

  protected async get(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await this.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      return res.Item;
    } catch (err) {
      throw this.translate(err, "get");
    }
  }

  protected async put(item: Record<string, unknown>, condition: string, values: Record<string, unknown>, onConflict: () => SanbootError): Promise<void> {
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

  protected async query<T>(
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

  protected translate(err: unknown, what: string): SanbootError {
    if (err instanceof SanbootError) return err;
    const name = (err as { name?: string })?.name ?? "Error";
    const retryable = !["ValidationException", "ResourceNotFoundException", "SerializationException"].includes(name);
    const detail = (err as { message?: string })?.message ?? "";
    return new DependencyError("STORE_UNAVAILABLE", `state table ${what} failed (${name}${detail ? `: ${detail}` : ""})`, { retryable, cause: err });
  }
}
