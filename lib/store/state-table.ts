/**
 * The DynamoDB adapter for the state table: I/O only. Every write that changes state is one
 * conditional single-item write (dynalite has no transactions; notes/stack.md), and a failed
 * condition becomes a ConflictError here. Nodes, boot requests and idempotency keys live here;
 * the relay command queue in command-queue.ts, the plumbing in table-client.ts.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConflictError } from "../errors";
import type { BootRequestRecord, IdempotencyRecord, NodeRecord } from "./records";
import { DUE_SHARDS, INDEX } from "./table-definition";
import type { RequestState } from "../workflow";
import { CommandQueue } from "./command-queue";
import { KEY, dueShard, strip, type Page } from "./table-client";

export type { Page, StateTableOptions } from "./table-client";

export class StateTable extends CommandQueue {
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
          UpdateExpression: "SET active_request_id = :r, locked_at = :now, updated_at = :now, version = version + :one",
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
          UpdateExpression: "SET active_request_id = :none, locked_at = :none, updated_at = :now, version = version + :one",
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
}
