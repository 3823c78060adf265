/** Boot-from-volume requests: accept, undeploy, show, list. */
import type { BootFromVolumeInput } from "../api/schemas";
import { mergeEvidence } from "../bmc/claims";
import type { Deps } from "../deps";
import { ConflictError, SanbootError } from "../errors";
import type { Caller } from "../http/api-handler";
import { newId } from "../ids";
import type { BootRequestRecord } from "../store/records";
import type { Page } from "../store/state-store";
import { TransitionRejected, start, transition, type RequestState } from "../workflow";
import { carryOut, commitTransition, stateChange } from "./apply-transition";
import { checkLock, loadOwnNode, lockOwnNode } from "./nodes";
import { requireRelayContact } from "./relay-health";

/**
 * Accepts a boot request. The node lock comes first (the one conditional write that decides
 * between concurrent requests, and it answers the node); the request record follows, and if it
 * cannot be written the lock is given back, so a refused request leaves nothing behind.
 */
export async function requestBoot(deps: Deps, caller: Caller, nodeId: string, input: BootFromVolumeInput): Promise<BootRequestRecord> {
  const now = deps.clock.now();
  const requestId = newId();
  const node = await lockOwnNode(deps, caller, nodeId, requestId, now.toISOString());
  let relays;
  try {
    relays = await requireRelayContact(deps, node.site);
  } catch (err) {
    // refused before anything started: the node is as it was, but for its version
    await deps.store.releaseNode(node.node_id, requestId, now.toISOString());
    throw err;
  }
  const begun = start(requestId, now);
  const record: BootRequestRecord = {
    ...begun.state,
    node_id: node.node_id,
    node_snapshot: node,
    project_id: node.project_id,
    site: node.site,
    volume_id: input.volume_id,
    requested_protocol: input.protocol,
    protocol: input.protocol === "fibre_channel" ? "fibre_channel" : "iscsi",
    multipath: input.multipath,
    boot_method: input.boot_method,
    connector: null,
    attachment_id: null,
    target: null,
    bmc_evidence: null,
    bmc_changes: [],
    boot_confirmed: null,
    boot_evidence: null,
    command_id: null,
    boot_sequence: relays.sequences,
    running_until: null,
    version: 1,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
  };
  try {
    await deps.store.createRequest(record);
  } catch (err) {
    await deps.store.releaseNode(node.node_id, requestId, now.toISOString());
    throw err;
  }
  deps.metrics.count("BootStarted", 1);
  await deps.publisher.publish(stateChange(record, null, "accepted", record.created_at)).catch((err: Error) =>
    deps.log.warn("publish failed", { request_id: requestId, error: err.message }),
  );
  await carryOut(deps, record, begun.commands);
  return record;
}

/** Undeploy: power off, clear the boot target, detach; the request ends `detached`. */
export async function requestUndeploy(deps: Deps, caller: Caller, nodeId: string): Promise<BootRequestRecord> {
  const { node, holder } = await checkLock(deps, await loadOwnNode(deps, caller, nodeId));
  if (!node.active_request_id) throw new SanbootError("NO_ACTIVE_DEPLOYMENT", `node ${nodeId} has no boot request to undeploy`);
  for (let tries = 0; tries < 5; tries++) {
    // the lock check read the holder already; a conflict below reads it again
    const req = tries === 0 && holder ? holder : await deps.store.getRequest(node.active_request_id);
    if (!req) throw new SanbootError("NO_ACTIVE_DEPLOYMENT", `node ${nodeId} has no boot request to undeploy`);
    if (req.state === "detaching") return req; // already under way: DELETE is idempotent
    let result;
    try {
      result = transition(req, { type: "undeploy_requested" }, deps.clock.now());
    } catch (err) {
      if (err instanceof TransitionRejected) throw new ConflictError("NODE_BUSY", `the request is ${req.state}; wait for it to end`);
      throw err;
    }
    // The command the request waits on is withdrawn first, then read: what it stored before each
    // of its writes (a relay writes nothing past a checkpoint the service refused) is the undo's
    // to know, or a configure the relay is running leaves its settings behind.
    let evidence = req.bmc_evidence;
    if (req.command_id) {
      await deps.store.cancelCommand(req.command_id, deps.clock.now().toISOString());
      evidence = mergeEvidence(evidence, (await deps.store.getCommand(req.command_id))?.checkpoint);
    }
    try {
      const patch = { command_id: null, ...(evidence !== req.bmc_evidence ? { bmc_evidence: evidence } : {}) };
      const undeploying = await commitTransition(deps, req, result, patch, req.command_id ? { finishedCommand: req.command_id } : {});
      deps.metrics.count("UndeployStarted", 1);
      return undeploying;
    } catch (err) {
      if (err instanceof ConflictError && err.code === "VERSION_CONFLICT") continue; // a step moved it meanwhile: read again
      throw err;
    }
  }
  throw new ConflictError("VERSION_CONFLICT", "the request kept changing; try again");
}

export async function getRequest(deps: Deps, caller: Caller, requestId: string): Promise<BootRequestRecord> {
  const req = await deps.store.getRequest(requestId);
  if (!req || (req.project_id !== caller.project_id && caller.role !== "admin")) {
    throw new SanbootError("REQUEST_NOT_FOUND", `boot request ${requestId} not found`, { details: [{ field: "request_id", message: "not found" }] });
  }
  return req;
}

export async function listRequests(
  deps: Deps,
  caller: Caller,
  filter: { nodeId?: string; state?: RequestState },
  limit: number,
  cursor?: string,
): Promise<Page<BootRequestRecord>> {
  return deps.store.listRequests(caller.project_id, { ...filter, limit, cursor });
}
