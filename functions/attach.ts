/** Cinder attach: the connector, the attachment, and its removal on undeploy or rollback. Chained. */
import { CinderClient } from "../lib/cinder/cinder-client";
import { cinderWith, eventPublisher, getDeps, provideDeps, secretBox, belledStateTable, retryingDispatcher } from "../lib/deps";
import { stepInvocations } from "../lib/dispatch/step-events";
import { withMetrics } from "../lib/metrics/flush-middleware";
import { runStep, type RunResult } from "../lib/service/step-runner";

provideDeps({ store: belledStateTable, cinder: cinderWith(CinderClient), dispatcher: retryingDispatcher, publisher: eventPublisher, secrets: secretBox });

/** a direct invoke (the chain, the sweeper) or an SQS event of its retry queue (a delayed trigger) */
export const handler = withMetrics(async (event: unknown): Promise<RunResult> => {
  let result: RunResult = "skipped";
  for (const { request_id } of stepInvocations(event)) result = await runStep(getDeps(), "attach", request_id);
  return result;
});
