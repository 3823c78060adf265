/**
 * The DynamoDB adapter of the state store (state-store.ts): I/O only. Every write that changes
 * state is one conditional single-item write (dynalite has no transactions; notes/stack.md), and
 * a refused condition becomes the ConflictError the port names. Nodes, boot requests and
 * idempotency keys live here; sites in site-items.ts, the relay command queue in command-queue.ts, the I/O in
 * table-client.ts.
 */
import { ConflictError } from "../errors";
import type { BootRequestRecord, IdempotencyRecord, NodeRecord } from "./records";
import type { Page, PageOptions, RequestFilter, StateStore } from "./state-store";
import { DUE_SHARDS, INDEX } from "./table-definition";
import { SiteItems, siteNodesKey } from "./site-items";
import { ITEM_EXISTS, KEY, NO_ITEM_YET, all, atVersion, condition, dueShard, strip, type Condition } from "./table-client";

export type { Page } from "./state-store";
export type { StateTableOptions } from "./table-client";

/** no request holds the node */
const UNLOCKED = condition("attribute_not_exists(active_request_id) OR active_request_id = :none", { ":none": null });
const ofProject = (projectId: string): Condition => condition("project_id = :project", { ":project": projectId });
const heldBy = (requestId: string): Condition => condition("active_request_id = :holder", { ":holder": requestId });
/** an idempotency key nobody holds: never claimed, or its claim expired */
const claimable = (now: string): Condition => condition("attribute_not_exists(pk) OR expires_at < :now", { ":now": now });

export class StateTable extends SiteItems implements StateStore {
  // ---------------------------------------------------------------- nodes

  private nodeItem(node: NodeRecord): Record<string, unknown> {
    return {
      ...KEY.node(node.node_id),
      gsi_project_pk: `PROJ#${node.project_id}#NODE`,
      gsi_project_sk: node.node_id,
      gsi_node_pk: siteNodesKey(node.site),
      gsi_node_sk: node.node_id,
      ...node,
    };
  }

  async createNode(node: NodeRecord): Promise<void> {
    await this.write({
      what: "create node",
      write: { put: this.nodeItem(node) },
      when: NO_ITEM_YET,
      refused: () => new ConflictError("NODE_EXISTS", `node ${node.node_id} already exists`),
    });
  }

  async getNode(nodeId: string): Promise<NodeRecord | null> {
    return strip<NodeRecord>(await this.get("get node", KEY.node(nodeId)));
  }

  async listNodes(projectId: string, page: PageOptions): Promise<Page<NodeRecord>> {
    return this.query<NodeRecord>({ what: "list nodes", index: INDEX.byProject, key: condition("gsi_project_pk = :p", { ":p": `PROJ#${projectId}#NODE` }), ...page });
  }

  /** Replaces a node if nobody changed it since `expectedVersion`. */
  async saveNode(node: NodeRecord, expectedVersion: number): Promise<void> {
    await this.write({
      what: "save node",
      write: { put: this.nodeItem(node) },
      when: atVersion(expectedVersion),
      refused: () => new ConflictError("VERSION_CONFLICT", `node ${node.node_id} changed meanwhile; read it again`),
    });
  }

  /** Deletes a node that holds no request. */
  async deleteNode(nodeId: string): Promise<void> {
    await this.write({
      what: "delete node",
      write: { delete: KEY.node(nodeId) },
      when: all(ITEM_EXISTS, UNLOCKED),
      refused: () => new ConflictError("NODE_BUSY", `node ${nodeId} has an active boot request; undeploy it first`),
    });
  }

  /**
   * The node lock: one active request per node. Timeline of two concurrent requests A and B:
   *   A: SET active=A IF exists AND active is none → ok, A has the node as it is now
   *   B: SET active=B IF exists AND active is none → ConditionalCheckFailed → NODE_BUSY (409)
   * The database decides; there is no read-then-write window, and no read before it either.
   */
  async lockNode(nodeId: string, projectId: string | null, requestId: string, now: string): Promise<NodeRecord> {
    const res = await this.write({
      what: "lock node",
      write: { update: KEY.node(nodeId), expression: "SET active_request_id = :r, locked_at = :now, updated_at = :now, version = version + :one" },
      when: all(ITEM_EXISTS, ...(projectId === null ? [] : [ofProject(projectId)]), UNLOCKED),
      values: { ":r": requestId, ":now": now, ":one": 1 },
      returnItem: true,
      refused: () => new ConflictError("NODE_BUSY", `node ${nodeId} already has an active boot request`),
    });
    return strip<NodeRecord>(res.written ? res.item : undefined)!;
  }

  /** Frees the node if `requestId` still holds it; a no-op (null) otherwise (already released). */
  async releaseNode(nodeId: string, requestId: string, now: string): Promise<NodeRecord | null> {
    const res = await this.write({
      what: "release node",
      write: { update: KEY.node(nodeId), expression: "SET active_request_id = :none, locked_at = :none, updated_at = :now, version = version + :one" },
      when: heldBy(requestId),
      values: { ":none": null, ":now": now, ":one": 1 },
      returnItem: true,
    });
    return res.written ? strip<NodeRecord>(res.item) : null;
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
    await this.write({
      what: "create request",
      write: { put: this.requestItem(r) },
      when: NO_ITEM_YET,
      refused: () => new ConflictError("VERSION_CONFLICT", `request ${r.request_id} exists`),
    });
  }

  async getRequest(requestId: string): Promise<BootRequestRecord | null> {
    return strip<BootRequestRecord>(await this.get("get request", KEY.request(requestId)));
  }

  /** Writes `r` (whose version the caller already incremented) if the stored one is `r.version - 1`. */
  async saveRequest(r: BootRequestRecord): Promise<void> {
    await this.write({
      what: "save request",
      write: { put: this.requestItem(r) },
      when: atVersion(r.version - 1),
      refused: () => new ConflictError("VERSION_CONFLICT", `request ${r.request_id} changed meanwhile`),
    });
  }

  async listRequests(projectId: string, { nodeId, state, ...page }: RequestFilter): Promise<Page<BootRequestRecord>> {
    const inState = state ? [condition("#state = :s", { ":s": state }, { "#state": "state" })] : [];
    if (nodeId) {
      // the node's index knows no project: the filter keeps another project's requests out
      return this.query<BootRequestRecord>({
        what: "list requests",
        index: INDEX.byNode,
        key: condition("gsi_node_pk = :n", { ":n": `NODE#${nodeId}` }),
        filter: all(condition("project_id = :p", { ":p": projectId }), ...inState),
        ...page,
      });
    }
    return this.query<BootRequestRecord>({
      what: "list requests",
      index: INDEX.byProject,
      key: condition("gsi_project_pk = :p", { ":p": `PROJ#${projectId}#REQ` }),
      ...(inState.length ? { filter: all(...inState) } : {}),
      ...page,
    });
  }

  /** Requests whose next attempt is due at `now` (the sweeper's query; one per shard). */
  async dueRequests(now: string, limit: number): Promise<BootRequestRecord[]> {
    const out: BootRequestRecord[] = [];
    for (let shard = 0; shard < DUE_SHARDS && out.length < limit; shard++) {
      const page = await this.query<BootRequestRecord>({
        what: "query due requests",
        index: INDEX.due,
        key: condition("due_pk = :d AND due_at <= :now", { ":d": `DUE#${shard}`, ":now": now }),
        limit: limit - out.length,
      });
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
    const res = await this.write({ what: "claim idempotency key", write: { put: { ...key, ...rec } }, when: claimable(now) });
    if (res.written) return null;
    return strip<IdempotencyRecord>(await this.get("get idempotency key", key));
  }

  async completeIdempotencyKey(projectId: string, key: string, response: NonNullable<IdempotencyRecord["response"]>): Promise<void> {
    await this.write({
      what: "complete idempotency key",
      write: { update: KEY.idem(projectId, key), expression: "SET #status = :c, #response = :r" },
      names: { "#status": "status", "#response": "response" },
      values: { ":c": "completed", ":r": response },
    });
  }

  async releaseIdempotencyKey(projectId: string, key: string): Promise<void> {
    await this.write({ what: "release idempotency key", write: { delete: KEY.idem(projectId, key) } });
  }
}
