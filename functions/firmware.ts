/** BIOS / firmware configuration through the site's relay: SAN boot target, boot, undo. Chained. */
import { getDeps } from "../lib/deps";
import type { StepInvocation } from "../lib/dispatch/dispatcher";
import { runStep } from "../lib/service/step-runner";

export const handler = async (payload: StepInvocation) => runStep(getDeps(), "firmware", String(payload?.request_id ?? ""));
