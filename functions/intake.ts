/**
 * Request intake: POST and DELETE /v1/nodes/{node_id}/boot-from-volume over HTTP, and the same
 * boot request as an EventBridge event (detail-type "BootFromVolumeRequested").
 */
import type { Context, EventBridgeEvent } from "aws-lambda";
import type { HttpApiEvent } from "../lib/http/api-event";
import { bootFromVolume, bootFromVolumeEvent, idempotencyKey, uuid } from "../lib/api/schemas";
import { callerAuth, eventPublisher, getDeps, provideDeps, stateTable, stepDispatcher } from "../lib/deps";
import { SanbootError, toErrorRecord } from "../lib/errors";
import { apiHandler, parseInput, type ApiAnswer } from "../lib/http/api-handler";
import { requestBoot, requestUndeploy } from "../lib/service/boot-requests";
import { withMetrics } from "../lib/metrics/flush-middleware";
import { withIdempotency } from "../lib/service/idempotency";
import { requestView } from "../lib/service/views";

provideDeps({ store: stateTable, dispatcher: stepDispatcher, publisher: eventPublisher, callers: callerAuth });

const http = apiHandler(async (req, deps) => {
  const nodeId = parseInput(uuid, req.params.node_id, "node_id");
  if (req.method === "POST") {
    const input = parseInput(bootFromVolume, req.body ?? {});
    const key = req.headers["idempotency-key"] === undefined ? undefined : parseInput(idempotencyKey, req.headers["idempotency-key"], "Idempotency-Key");
    return withIdempotency(deps, req.caller, key, { nodeId, input }, async (): Promise<ApiAnswer> => {
      const r = await requestBoot(deps, req.caller, nodeId, input);
      return { status: 202, body: requestView(r), headers: { location: `/v1/boot-requests/${r.request_id}` } };
    });
  }
  if (req.method === "DELETE") {
    const r = await requestUndeploy(deps, req.caller, nodeId);
    return { status: 202, body: requestView(r), headers: { location: `/v1/boot-requests/${r.request_id}` } };
  }
  throw new SanbootError("METHOD_NOT_ALLOWED", `${req.method} is not allowed here`);
});

/**
 * EventBridge has no caller to answer: the outcome (the request, or why it was refused) is
 * logged and published, and the handler never throws (a throw would make EventBridge retry a
 * request that will never be valid).
 */
const event = withMetrics(async (e: EventBridgeEvent<string, unknown>): Promise<{ request_id: string } | { error: { code: string; message: string } }> => {
  const deps = getDeps();
  try {
    const input = parseInput(bootFromVolumeEvent, e.detail, "detail");
    const caller = { project_id: input.project_id, role: "member" as const };
    const answer = await withIdempotency(deps, caller, input.idempotency_key, { nodeId: input.node_id, input: input.request }, async () => {
      const r = await requestBoot(deps, caller, input.node_id, input.request);
      return { status: 202, body: requestView(r) };
    });
    const requestId = (answer.body as { request_id: string }).request_id;
    deps.log.info("boot request accepted from an event", { event_id: e.id, request_id: requestId });
    return { request_id: requestId };
  } catch (err) {
    const rec = toErrorRecord(err);
    deps.log.warn("boot request event refused", { event_id: e.id, code: rec.code, message: rec.message });
    return { error: { code: rec.code, message: rec.message } };
  }
});

/** One function, two triggers: API Gateway (HTTP API) events and EventBridge events. */
export const handler = async (e: HttpApiEvent | EventBridgeEvent<string, unknown>, context: Context) =>
  "detail-type" in e ? event(e) : http(e, context as Parameters<typeof http>[1]);
