/** Node enrollment and management. */
import type { EnrollNodeInput, UpdateNodeInput } from "../api/schemas";
import type { Deps } from "../deps";
import { ConflictError, SanbootError, ValidationError } from "../errors";
import type { Caller } from "../http/api-handler";
import { initiatorIqn, newId } from "../ids";
import { isTerminal } from "../workflow";
import type { Page } from "../store/state-store";
import { queuedCommand, type BootRequestRecord, type NodeRecord } from "../store/records";
import { findSite } from "./sites";

/** A node the caller may see; another project's node answers as if it did not exist. */
export async function loadOwnNode(deps: Deps, caller: Caller, nodeId: string): Promise<NodeRecord> {
  const node = await deps.store.getNode(nodeId);
  if (!node || (node.project_id !== caller.project_id && caller.role !== "admin")) {
    throw new SanbootError("NODE_NOT_FOUND", `node ${nodeId} not found`, { details: [{ field: "node_id", message: "not found" }] });
  }
  return node;
}

/** A lock younger than this may belong to an intake still between its two writes. */
const LOCK_GRACE_MS = 60_000;

/**
 * Frees a node lock that nothing holds any more, and answers the node as it is now. Two ways a
 * lock outlives its request: intake died between locking the node and writing the request, or a
 * request ended and releasing its node failed after the end was committed. Checked where a lock
 * matters (boot, change, delete, undeploy) rather than by a scan.
 */
export async function freeAbandonedLock(deps: Deps, node: NodeRecord): Promise<NodeRecord> {
  return (await checkLock(deps, node)).node;
}

/** freeAbandonedLock, also answering the request that holds the node (null when none, or the lock was freed). */
export async function checkLock(deps: Deps, node: NodeRecord): Promise<{ node: NodeRecord; holder: BootRequestRecord | null }> {
  const holderId = node.active_request_id;
  if (!holderId) return { node, holder: null };
  const holder = await deps.store.getRequest(holderId);
  const now = deps.clock.now();
  const abandoned = holder ? isTerminal(holder.state) : now.getTime() - Date.parse(node.locked_at ?? node.updated_at) > LOCK_GRACE_MS;
  if (!abandoned) return { node, holder };
  deps.log.warn("freeing a node lock nothing holds", { node_id: node.node_id, request_id: holderId, request_state: holder?.state ?? "missing" });
  const freed = (await deps.store.releaseNode(node.node_id, holderId, now.toISOString())) ?? (await deps.store.getNode(node.node_id));
  return { node: freed ?? node, holder: null };
}

/**
 * Takes the caller's node for a new request: the lock is the first and, normally, the only
 * request to the table, and answers the node as locked. Only a refused lock reads the node, to
 * say why: not there or not the caller's (NODE_NOT_FOUND), held by a live request (NODE_BUSY), or
 * held by one that ended or never got written (freed, and the lock tried again).
 */
export async function lockOwnNode(deps: Deps, caller: Caller, nodeId: string, requestId: string, now: string): Promise<NodeRecord> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.store.lockNode(nodeId, caller.role === "admin" ? null : caller.project_id, requestId, now);
    } catch (err) {
      if (!(err instanceof ConflictError && err.code === "NODE_BUSY")) throw err;
    }
    const node = await freeAbandonedLock(deps, await loadOwnNode(deps, caller, nodeId));
    if (node.active_request_id || attempt >= 3) {
      throw new ConflictError("NODE_BUSY", `node ${nodeId} already has an active boot request (${node.active_request_id ?? "just taken"})`);
    }
  }
}

export async function enrollNode(deps: Deps, caller: Caller, input: EnrollNodeInput): Promise<NodeRecord> {
  const project = input.project_id ?? caller.project_id;
  if (project !== caller.project_id && caller.role !== "admin") {
    throw new SanbootError("FORBIDDEN", "you can enroll nodes only in your own project", { details: [{ field: "project_id", message: "not your project" }] });
  }
  const now = deps.clock.now().toISOString();
  const nodeId = newId();
  const node: NodeRecord = {
    node_id: nodeId,
    project_id: project,
    name: input.name ?? null,
    site: input.site,
    bmc: input.bmc,
    boot_mode: input.boot_mode,
    boot_override: input.boot_override,
    mac_address: input.mac_address?.toLowerCase() ?? null,
    network: input.network,
    initiator_iqn: initiatorIqn(deps.config.SANBOOT_IQN_PREFIX, nodeId),
    fc_wwpn: input.fc_wwpn ?? null,
    bios_changes: input.bios_changes,
    fc_ports: null,
    active_request_id: null,
    version: 1,
    created_at: now,
    updated_at: now,
  };
  const counted = await countNodeAtSite(deps, node.site, now);
  try {
    await deps.store.createNode(node);
  } catch (err) {
    if (counted) await deps.store.removeSiteNode(node.site, now).catch(() => undefined);
    throw err;
  }
  await requestInventory(deps, node);
  return node;
}

/**
 * A node names a site the service knows: counted at a site of the table before the node is
 * written (so a site being deleted cannot lose it, lib/store/site-items.ts); a site of the
 * environment is not counted. Answers whether it counted; VALIDATION_FAILED naming `site` for a
 * site nobody knows.
 */
async function countNodeAtSite(deps: Deps, site: string, now: string): Promise<boolean> {
  if (await deps.store.addSiteNode(site, now)) return true;
  if ((await findSite(deps, site, { fresh: true }))?.source === "environment") return false;
  throw new ValidationError(`site: no site ${site} is known to the service`, [
    { field: "site", message: `no site ${site}: an admin creates it with POST /v1/sites (or it is named in SANBOOT_RELAY_TOKENS)` },
  ]);
}

export async function listNodes(deps: Deps, caller: Caller, limit: number, cursor?: string): Promise<Page<NodeRecord>> {
  return deps.store.listNodes(caller.project_id, { limit, cursor });
}

/**
 * A PATCH carries no version of the caller's: when the node changed between our read and our
 * write (the relay's inventory read landing, usually), the patch is laid over the new version,
 * a few times, rather than refused for a change the caller never saw.
 */
export async function updateNode(deps: Deps, caller: Caller, nodeId: string, patch: UpdateNodeInput): Promise<NodeRecord> {
  for (let attempt = 1; ; attempt++) {
    const node = await freeAbandonedLock(deps, await loadOwnNode(deps, caller, nodeId));
    if (node.active_request_id) {
      throw new SanbootError("NODE_BUSY", `node ${nodeId} has an active boot request; undeploy it before changing the node`);
    }
    const next: NodeRecord = {
      ...node,
      ...patch,
      mac_address: patch.mac_address === undefined ? node.mac_address : (patch.mac_address?.toLowerCase() ?? null),
      fc_wwpn: patch.fc_wwpn === undefined ? (node.fc_wwpn ?? null) : patch.fc_wwpn,
      // another BMC (or system) has other ports: read them again
      fc_ports: patch.bmc ? null : (node.fc_ports ?? null),
      version: node.version + 1,
      updated_at: deps.clock.now().toISOString(),
    };
    const moved = next.site !== node.site;
    const counted = moved && (await countNodeAtSite(deps, next.site, next.updated_at));
    try {
      await deps.store.saveNode(next, node.version);
    } catch (err) {
      if (counted) await deps.store.removeSiteNode(next.site, next.updated_at).catch(() => undefined);
      if (err instanceof SanbootError && err.code === "VERSION_CONFLICT" && attempt < 5) continue;
      throw err;
    }
    if (moved) await uncountNode(deps, node.site, next.updated_at);
    if (patch.bmc) await requestInventory(deps, next);
    return next;
  }
}

export async function deleteNode(deps: Deps, caller: Caller, nodeId: string): Promise<void> {
  const node = await freeAbandonedLock(deps, await loadOwnNode(deps, caller, nodeId));
  await deps.store.deleteNode(nodeId);
  await uncountNode(deps, node.site, deps.clock.now().toISOString());
}

/** A node gone from a site: counted one fewer. A failure only leaves the count high (the site refuses deletion until a node is deleted). */
async function uncountNode(deps: Deps, site: string, now: string): Promise<void> {
  await deps.store.removeSiteNode(site, now).catch((err: Error) => deps.log.warn("could not count a node off its site", { site, error: err.message }));
}

/**
 * Asks the node's relay to read its FC ports (WWPNs / WWNNs) now, so a Fibre Channel boot finds
 * them cached; a boot that finds none asks again. Best effort: enrollment does not wait for it.
 */
export async function requestInventory(deps: Deps, node: NodeRecord): Promise<void> {
  const now = deps.clock.now().toISOString();
  try {
    const queued = await deps.store.enqueueCommand(
      queuedCommand(
        {
          command_id: `${node.node_id}.node_inventory.${node.version}`,
          site: node.site,
          request_id: null,
          node_id: node.node_id,
          step: "node_inventory",
          attempt: 1,
          body: { type: "read_fc_inventory", bmc: node.bmc },
        },
        now,
      ),
    );
    if (queued) deps.metrics.count("RelayCommandQueued", 1, { Site: node.site });
  } catch (err) {
    deps.log.warn("could not queue the inventory read", { node_id: node.node_id, error: (err as Error).message });
  }
}

/**
 * Records what the relay's inventory read found: the FC ports, or why the BMC could not be read
 * (wrong credentials, no route, an untrusted certificate), so an operator sees at enrollment what
 * a boot would run into. A newer read simply wins.
 */
export async function storeInventory(
  deps: Deps,
  nodeId: string,
  found: { ports: Array<{ wwpn: string; wwnn: string | null }> } | { error: { code: string; message: string } },
): Promise<NodeRecord | null> {
  for (let i = 0; i < 5; i++) {
    const node = await deps.store.getNode(nodeId);
    if (!node) return null;
    const next: NodeRecord = {
      ...node,
      ...("ports" in found ? { fc_ports: found.ports, inventory_error: null } : { inventory_error: found.error }),
      version: node.version + 1,
      updated_at: deps.clock.now().toISOString(),
    };
    try {
      await deps.store.saveNode(next, node.version);
      return next;
    } catch (err) {
      if (!(err instanceof SanbootError && err.code === "VERSION_CONFLICT")) throw err;
    }
  }
  return null;
}
