/**
 * What the routers share: the resource shape they resolve to, the context they run in, and the
 * small answers (a fixed resource, an error, the jobs a settings PATCH may create).
 */
import { createHash } from "node:crypto";
import { newJobId, type JobsApi } from "./dell-jobs";
import type { Job, SystemState } from "./model";
import { restartForApply } from "./power";
import { errorBody, type ExtendedInfo } from "./redfish-errors";
import type { SystemRegistry } from "./registry";
import type { Body } from "./resources";
import { settleTask } from "./settings";

export interface RouteResponse {
  status: number;
  body?: unknown;
  etag?: string;
  allow?: string;
  location?: string;
}

export interface RouteContext {
  registry: SystemRegistry;
  /** how long a generic-settings task runs before it completes */
  taskDelayMs: number;
}

type Applied = void | { status: number; location?: string; body?: unknown };
export type Patchable = { ok: true; apply: () => Applied } | { ok: false; status?: number; messages: ExtendedInfo[] };

export interface Resource {
  /** GET body; absent: the resource is not readable (an action target) */
  render?: () => Body;
  /** GET answered as is (iDRAC10 task monitors answer no body) */
  raw?: () => RouteResponse;
  version: () => number;
  weak: boolean;
  patch?: (body: Record<string, unknown>) => Patchable;
  post?: (body: unknown) => RouteResponse;
  del?: () => RouteResponse;
  bump?: () => void;
  system?: SystemState;
}

export const fixed = (render: () => Body, weak = false): Resource => ({ render, version: () => 0, weak });

export function jobsApi(ctx: RouteContext): JobsApi {
  return {
    taskDelayMs: ctx.taskDelayMs,
    restart: restartForApply,
    newJob: (sys, j) => {
      const job: Job = { ...j, id: newJobId(j.kind), systemId: sys.id };
      sys.jobs.push(job);
      if (job.doneAt !== undefined) {
        // The task ends on time even if nobody polls it (an Immediate apply resets the host then).
        const doneAt = job.doneAt;
        const t = setTimeout(() => {
          sys.timers.delete(t);
          // Its own timer settles it even when Node fires a millisecond early.
          settleTask(job, doneAt);
        }, Math.max(0, doneAt - Date.now()));
        t.unref();
        sys.timers.add(t);
      }
      return job;
    },
  };
}

export function etagOf(body: Body, version: number, weak: boolean): string {
  const h = createHash("sha256").update(JSON.stringify(body)).update(`#${version}`).digest("hex").slice(0, 16);
  return weak ? `W/"${h}"` : `"${h}"`;
}

export const fail = (status: number, ...messages: ExtendedInfo[]): RouteResponse => ({ status, body: errorBody(messages) });

