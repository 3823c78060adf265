/** Scheduled sweep: re-dispatches due steps (lost chains, retries, waits to look at again). */
import { getDeps, provideDeps, stateTable, stepDispatcher } from "../lib/deps";
import { withMetrics } from "../lib/metrics/flush-middleware";
import { sweep } from "../lib/service/sweeper";

provideDeps({ store: stateTable, dispatcher: stepDispatcher });

export const handler = withMetrics(async () => sweep(getDeps()));
