/** Cinder attach: the connector, the attachment, and its removal on undeploy or rollback. Chained. */
import { getDeps } from "../lib/deps";
import type { StepInvocation } from "../lib/dispatch/dispatcher";
import { runStep } from "../lib/service/step-runner";

export const handler = async (payload: StepInvocation) => runStep(getDeps(), "attach", String(payload?.request_id ?? ""));
