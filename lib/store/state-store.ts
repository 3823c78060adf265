/**
 * The state store: the port through which the service keeps nodes, boot requests, relay commands
 * and idempotency keys. The service decides (the workflow, the retries, what a conflict means
 * for the caller); the store only reads and writes, and each state change is one conditional
 * write on a single item, so two concurrent writers never both win. state-table.ts is its
 * DynamoDB adapter.
 *
 * What every method may throw, besides what it names:
 * - DependencyError STORE_UNAVAILABLE: the table could not be reached or refused the request
 *   (retryable, except for a request the table calls invalid).
 * No SDK error leaves the adapter.
 */
import type { BmcEvidence } from "../bmc/claims";
import type { CommandOutcome, SequenceProgress } from "../relay/protocol";
import type { RequestState } from "../workflow";
import type { BootRequestRecord, CommandRecord, IdempotencyRecord, NodeRecord, RelaySeenRecord, SiteRecord } from "./records";

export interface Page<T> {
  items: T[];
  /** opaque; pass back to get the next page */
  cursor: string | null;
}

/** One page of a list: at most `limit` items, after the position `cursor` names. */
export interface PageOptions {
  limit: number;
  /** from a previous page; a cursor this store did not give out is VALIDATION_FAILED */
  cursor?: string;
}

export interface RequestFilter extends PageOptions {
  nodeId?: string;
  state?: RequestState;
}

export interface LeaseOptions {
  relayId: string;
  now: string;
  leaseSeconds: number;
  /** commands leased at most */
  max: number;
}

/** A lease a relay says it holds: each call on it is refused (LEASE_LOST) once it does not. */
export interface HeldLease {
  site: string;
  commandId: string;
  leaseToken: string;
}

export interface StateStore {
  // ------------------------------------------------------------ nodes

  /** ConflictError NODE_EXISTS when the id is taken. */
  createNode(node: NodeRecord): Promise<void>;
  getNode(nodeId: string): Promise<NodeRecord | null>;
  listNodes(projectId: string, page: PageOptions): Promise<Page<NodeRecord>>;
  /** Replaces the node if it is still at `expectedVersion`; ConflictError VERSION_CONFLICT otherwise. */
  saveNode(node: NodeRecord, expectedVersion: number): Promise<void>;
  /** Deletes a node no request holds; ConflictError NODE_BUSY when one does (or the node is not there). */
  deleteNode(nodeId: string): Promise<void>;
  /**
   * The node lock, one active request per node: takes the node for `requestId` if it exists, is
   * free, and (unless `projectId` is null: an admin) belongs to `projectId`; answers the node as
   * locked. ConflictError NODE_BUSY when any of that does not hold; the store does not say which.
   */
  lockNode(nodeId: string, projectId: string | null, requestId: string, now: string): Promise<NodeRecord>;
  /** Frees the node if `requestId` holds it and answers it freed; null (and nothing written) if it did not hold it. */
  releaseNode(nodeId: string, requestId: string, now: string): Promise<NodeRecord | null>;

  // ------------------------------------------------------------ boot requests

  /** ConflictError VERSION_CONFLICT when the id exists. */
  createRequest(r: BootRequestRecord): Promise<void>;
  getRequest(requestId: string): Promise<BootRequestRecord | null>;
  /** Writes `r`, whose version the caller incremented, if the stored one is `r.version - 1`; ConflictError VERSION_CONFLICT otherwise. */
  saveRequest(r: BootRequestRecord): Promise<void>;
  /** A project's requests, newest last, optionally of one node and in one state. */
  listRequests(projectId: string, filter: RequestFilter): Promise<Page<BootRequestRecord>>;
  /** At most `limit` requests whose next attempt is due at `now` (the sweeper's question). */
  dueRequests(now: string, limit: number): Promise<BootRequestRecord[]>;

  // ------------------------------------------------------------ relay commands

  /** Queues a command; false (and nothing written) when one with its id exists. */
  enqueueCommand(c: CommandRecord): Promise<boolean>;
  getCommand(commandId: string): Promise<CommandRecord | null>;
  /** Leases up to `max` of the site's commands that are queued or whose lease expired; none is leased twice at once. */
  leaseCommands(site: string, opts: LeaseOptions): Promise<CommandRecord[]>;
  /**
   * Extends the lease and answers its new expiry; with `checkpoint`, stores the relay's evidence
   * in the same write (the relay writes to the BMC only after this answered). ConflictError LEASE_LOST.
   */
  heartbeat(lease: HeldLease, now: string, leaseSeconds: number, checkpoint?: BmcEvidence, progress?: SequenceProgress): Promise<string>;
  /** Records the outcome (and a boot sequence's finished steps), takes the command off the queue and answers it as stored. ConflictError LEASE_LOST. */
  completeCommand(lease: HeldLease, outcome: CommandOutcome, now: string, progress?: SequenceProgress): Promise<CommandRecord>;
  /** The relay hands back a command it did not start: leasable again at once. ConflictError LEASE_LOST. */
  releaseCommand(lease: HeldLease, now: string): Promise<void>;
  /** Withdraws a command that is queued or leased; a no-op for one that already ended. */
  cancelCommand(commandId: string, now: string): Promise<void>;

  // ------------------------------------------------------------ sites and their relays

  /** ConflictError SITE_EXISTS when the site has a record. */
  createSite(site: SiteRecord): Promise<void>;
  getSite(site: string): Promise<SiteRecord | null>;
  listSites(page: PageOptions): Promise<Page<SiteRecord>>;
  /** Replaces the site if it is still at `expectedVersion`; ConflictError VERSION_CONFLICT otherwise (or when it is gone). */
  saveSite(site: SiteRecord, expectedVersion: number): Promise<void>;
  /** Deletes the site if it is at `expectedVersion` and counts no nodes; ConflictError SITE_HAS_NODES otherwise (the caller reads again to say which). */
  deleteSite(site: string, expectedVersion: number): Promise<void>;
  /** Counts one more node at a site that has a record; false (nothing written) when it has none. */
  addSiteNode(site: string, now: string): Promise<boolean>;
  /** Counts one node fewer; a no-op for a site without a record. */
  removeSiteNode(site: string, now: string): Promise<void>;
  /** Nodes whose site is `site`, counted through the index (at most `max`). */
  countSiteNodes(site: string, max: number): Promise<number>;
  /** The lookup from a relay token's SHA-256 to its site; the site's record decides whether it is still valid. */
  putRelayToken(sha256: string, site: string, now: string): Promise<void>;
  getRelayToken(sha256: string): Promise<{ site: string } | null>;
  deleteRelayToken(sha256: string): Promise<void>;
  /** Records that a relay was heard from (unconditional: the last word wins; first_seen_at kept). */
  recordRelaySeen(r: RelaySeenRecord): Promise<void>;
  forgetRelay(site: string, relayId: string): Promise<void>;
  /** The relays heard from, of one site or (null) of all sites. */
  listRelays(site: string | null): Promise<RelaySeenRecord[]>;
  /** The site's commands not finished yet (queued or leased), oldest in the queue first, at most `max`. */
  unfinishedCommands(site: string, max: number): Promise<CommandRecord[]>;

  // ------------------------------------------------------------ idempotency keys

  /** Claims the key for a first request (null); answers the stored record when it was claimed before and has not expired. */
  claimIdempotencyKey(rec: IdempotencyRecord, now: string): Promise<IdempotencyRecord | null>;
  completeIdempotencyKey(projectId: string, key: string, response: NonNullable<IdempotencyRecord["response"]>): Promise<void>;
  /** Forgets a claim whose request failed before it changed anything, so a retry runs afresh. */
  releaseIdempotencyKey(projectId: string, key: string): Promise<void>;

  // ------------------------------------------------------------ the table itself

  /** Local mode: create the table if it is not there. STORE_UNAVAILABLE if it does not become active. */
  ensureTable(): Promise<void>;
  close(): void;
  /** every request sent to the table so far (the bench and the request-count tests read it) */
  readonly requestCount: number;
  /** the same, by operation ("get request", "lock node", "query site queue", ...) */
  readonly requestCounts: Readonly<Record<string, number>>;
}
