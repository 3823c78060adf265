/** Status query: GET /v1/boot-requests/{request_id} and GET /v1/boot-requests?node_id=&state=. */
import { listRequestsQuery, uuid } from "../lib/api/schemas";
import { SanbootError } from "../lib/errors";
import { callerAuth, provideDeps, stateTable } from "../lib/deps";
import { apiHandler, parseInput } from "../lib/http/api-handler";
import { getRequest, listRequests } from "../lib/service/boot-requests";
import { withSequenceProgress } from "../lib/service/steps/sequence-view";
import { requestPage, requestView } from "../lib/service/views";

provideDeps({ store: stateTable, callers: callerAuth });

export const handler = apiHandler(async (req, deps) => {
  if (req.method !== "GET") throw new SanbootError("METHOD_NOT_ALLOWED", `${req.method} is not allowed here`);
  if (req.params.request_id !== undefined) {
    const id = parseInput(uuid, req.params.request_id, "request_id");
    // while a boot sequence runs, the steps its relay reported done show as done
    return { status: 200, body: requestView(await withSequenceProgress(deps, await getRequest(deps, req.caller, id))) };
  }
  const q = parseInput(listRequestsQuery, req.query, "query");
  return { status: 200, body: requestPage(await listRequests(deps, req.caller, { nodeId: q.node_id, state: q.state }, q.limit, q.cursor)) };
});
