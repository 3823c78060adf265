/** Node enrollment and management. */
import type { EnrollNodeInput, UpdateNodeInput } from "../api/schemas";
import type { Deps } from "../deps";
import { SanbootError } from "../errors";
import type { Caller } from "../http/api-handler";
import { initiatorIqn, newId } from "../ids";
import type { Page } from "../store/state-table";
import type { NodeRecord } from "../store/records";

/** A node the caller may see; another project's node answers as if it did not exist. */
export async function loadOwnNode(deps: Deps, caller: Caller, nodeId: string): Promise<NodeRecord> {
  const node = await deps.store.getNode(nodeId);
  if (!node || (node.project_id !== caller.project_id && caller.role !== "admin")) {
    throw new SanbootError("NODE_NOT_FOUND", `node ${nodeId} not found`, { details: [{ field: "node_id", message: "not found" }] });
  }
  return node;
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
    mac_address: input.mac_address?.toLowerCase() ?? null,
    network: input.network,
    initiator_iqn: initiatorIqn(deps.config.SANBOOT_IQN_PREFIX, nodeId),
    active_request_id: null,
    version: 1,
    created_at: now,
    updated_at: now,
  };
  await deps.store.createNode(node);
  return node;
}

export async function listNodes(deps: Deps, caller: Caller, limit: number, cursor?: string): Promise<Page<NodeRecord>> {
  return deps.store.listNodes(caller.project_id, limit, cursor);
}

export async function updateNode(deps: Deps, caller: Caller, nodeId: string, patch: UpdateNodeInput): Promise<NodeRecord> {
  const node = await loadOwnNode(deps, caller, nodeId);
  if (node.active_request_id) {
    throw new SanbootError("NODE_BUSY", `node ${nodeId} has an active boot request; undeploy it before changing the node`);
  }
  const next: NodeRecord = {
    ...node,
    ...patch,
    mac_address: patch.mac_address === undefined ? node.mac_address : (patch.mac_address?.toLowerCase() ?? null),
    version: node.version + 1,
    updated_at: deps.clock.now().toISOString(),
  };
  await deps.store.saveNode(next, node.version);
  return next;
}

export async function deleteNode(deps: Deps, caller: Caller, nodeId: string): Promise<void> {
  await loadOwnNode(deps, caller, nodeId);
  await deps.store.deleteNode(nodeId);
}
