/** Scheduled sweep: re-dispatches due steps (lost chains, retries, waits to look at again). */
import { getDeps } from "../lib/deps";
import { sweep } from "../lib/service/sweeper";

export const handler = async () => sweep(getDeps());
