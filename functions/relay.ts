/** Relay endpoints: lease (long-poll), heartbeat, release (hand back), result, whoami. Authenticated per site. */
import { belledStateTable, eventPublisher, provideDeps, retryingDispatcher, secretBox } from "../lib/deps";
import { SanbootError } from "../lib/errors";
import { apiHandler, parseInput } from "../lib/http/api-handler";
import {
  commandId,
  heartbeatRequest,
  leaseRequest,
  releaseRequest,
  resultRequest,
  type HeartbeatResponse,
  type LeaseResponse,
  type ReleaseResponse,
  type ResultResponse,
  type WhoamiResponse,
} from "../lib/relay/protocol";
import { relayHeard } from "../lib/service/relay-health";
import { authenticateRelay, heartbeat, lease, release, report } from "../lib/service/relay-queue";

// a result runs its firmware step here (lib/service/relay-queue.ts): the step's commit publishes
// the request's state change and sends a retry to the firmware function's retry queue
provideDeps({ store: belledStateTable, dispatcher: retryingDispatcher, publisher: eventPublisher, secrets: secretBox });

export const handler = apiHandler(
  async (req, deps) => {
    const site = await authenticateRelay(deps, /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1]);
    if (req.method === "GET" && req.path.endsWith("/whoami")) return { status: 200, body: { site } satisfies WhoamiResponse };
    if (req.method !== "POST") throw new SanbootError("METHOD_NOT_ALLOWED", `${req.method} is not allowed here`);
    if (req.path.endsWith("/lease")) {
      const body = parseInput(leaseRequest, req.body ?? {});
      await relayHeard(deps, site, { relayId: body.relay_id, version: body.relay_version, concurrency: body.concurrency, capabilities: body.capabilities });
      const commands = await lease(deps, site, body);
      return { status: 200, body: { commands } satisfies LeaseResponse };
    }
    const id = parseInput(commandId, req.params.command_id, "command_id");
    if (req.path.endsWith("/heartbeat")) {
      const body = parseInput(heartbeatRequest, req.body ?? {});
      if (body.relay_id) await relayHeard(deps, site, { relayId: body.relay_id });
      return { status: 200, body: { lease_expires_at: await heartbeat(deps, site, id, body.lease_token, body.checkpoint, body.progress) } satisfies HeartbeatResponse };
    }
    if (req.path.endsWith("/release")) {
      const body = parseInput(releaseRequest, req.body ?? {});
      await release(deps, site, id, body.lease_token);
      return { status: 200, body: { released: true } satisfies ReleaseResponse };
    }
    if (req.path.endsWith("/result")) {
      const body = parseInput(resultRequest, req.body ?? {});
      await report(deps, site, id, body.lease_token, body.outcome, body.bmc_calls, body.progress);
      return { status: 200, body: { accepted: true } satisfies ResultResponse };
    }
    throw new SanbootError("NOT_FOUND", "no such relay endpoint");
  },
  { auth: "none" },
);
