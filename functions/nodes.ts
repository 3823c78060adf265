/** Node enrollment: POST/GET /v1/nodes, GET/PATCH/DELETE /v1/nodes/{node_id}. */
import { enrollNode as enrollSchema, listQuery, updateNode as updateSchema, uuid } from "../lib/api/schemas";
import { SanbootError } from "../lib/errors";
import { belledStateTable, callerAuth, provideDeps } from "../lib/deps";
import { apiHandler, parseInput } from "../lib/http/api-handler";
import { deleteNode, enrollNode, listNodes, loadOwnNode, updateNode } from "../lib/service/nodes";
import { nodePage, nodeView } from "../lib/service/views";

provideDeps({ store: belledStateTable, callers: callerAuth });

export const handler = apiHandler(async (req, deps) => {
  const id = req.params.node_id;
  if (id === undefined) {
    if (req.method === "POST") {
      const node = await enrollNode(deps, req.caller, parseInput(enrollSchema, req.body ?? {}));
      return { status: 201, body: nodeView(node), headers: { location: `/v1/nodes/${node.node_id}` } };
    }
    if (req.method === "GET") {
      const q = parseInput(listQuery, req.query, "query");
      return { status: 200, body: nodePage(await listNodes(deps, req.caller, q.limit, q.cursor)) };
    }
  } else {
    const nodeId = parseInput(uuid, id, "node_id");
    if (req.method === "GET") return { status: 200, body: nodeView(await loadOwnNode(deps, req.caller, nodeId)) };
    if (req.method === "PATCH") return { status: 200, body: nodeView(await updateNode(deps, req.caller, nodeId, parseInput(updateSchema, req.body ?? {}))) };
    if (req.method === "DELETE") {
      await deleteNode(deps, req.caller, nodeId);
      return { status: 204 };
    }
  }
  throw new SanbootError("METHOD_NOT_ALLOWED", `${req.method} is not allowed here`);
});
