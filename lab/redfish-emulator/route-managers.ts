/**
 * Managers and TaskService: each system's Manager; for Dell the iDRAC's job collection (iDRAC9
 * Managers/iDRAC.Embedded.1/Jobs, iDRAC10 .../Oem/Dell/Jobs: the other generation's URI is 404),
 * job DELETE, and the Lifecycle Controller service; TaskService tasks and task monitors
 * (generic-settings: 202 with the task while it runs; iDRAC10: 202 / 204 without a body).
 */
import { deleteJob, lcStatus, settingsObjects } from "./dell-jobs";
import { traits } from "./flavours";
import type { Job, SystemState } from "./model";
import { msg } from "./redfish-errors";
import { etagOf, fail, fixed, jobsApi, type Resource, type RouteContext, type RouteResponse } from "./route-common";
import * as r from "./resources";
import { uris } from "./uris";
import * as v from "./vendor-resources";

const idracOf = (s: SystemState) => traits(s.flavour).idrac;

/** Managers/... (s: the segments after Managers). */
export function resolveManagers(ctx: RouteContext, s: string[]): Resource | undefined {
  const all = ctx.registry.all();
  const managers = new Map(all.map((x) => [uris.manager(x), x]));
  if (s.length === 0) return fixed(() => r.collection("/redfish/v1/Managers", "Manager", "Manager Collection", [...managers.keys()]));
  const owner = managers.get(`/redfish/v1/Managers/${s[0]}`);
  if (!owner) return undefined;
  if (s.length === 1) return fixed(() => r.manager(owner));
  if (idracOf(owner) === null) return undefined;
  const rest = s.slice(1);
  const dells = all.filter((x) => idracOf(x) !== null);
  if (rest[0] === "Jobs") return resolveJobs(ctx, 9, rest.slice(1));
  if (rest[0] !== "Oem" || rest[1] !== "Dell") return undefined;
  if (rest[2] === "Jobs") return resolveJobs(ctx, 10, rest.slice(3));
  if (rest[2] !== "DellLCService") return undefined;
  if (rest.length === 3) return fixed(() => v.lcService());
  if (rest.length === 5 && rest[3] === "Actions" && rest[4] === "DellLCService.GetRemoteServicesAPIStatus") {
    return { version: () => 0, weak: false, post: () => ({ status: 200, body: lcStatus(dells) }) };
  }
  return undefined;
}

function dellJobs(ctx: RouteContext, idrac: 9 | 10): Job[] {
  return ctx.registry.all().flatMap((x) => x.jobs).filter((j) => j.kind === "dell-job" && j.idrac === idrac);
}

/** A generation's job collection (GET, POST {TargetSettingsURI}) and its members (GET, DELETE). */
function resolveJobs(ctx: RouteContext, idrac: 9 | 10, s: string[]): Resource | undefined {
  const systems = ctx.registry.all().filter((x) => idracOf(x) === idrac);
  if (systems.length === 0) return undefined;
  if (s.length === 0) {
    return {
      ...fixed(() => r.collection(uris.dellJobs(idrac), "DellJob", "Job Collection", dellJobs(ctx, idrac).map(uris.job))),
      post: (body) => createJob(ctx, systems, body),
    };
  }
  const job = s.length === 1 ? dellJobs(ctx, idrac).find((j) => j.id === s[0]) : undefined;
  if (!job) return undefined;
  const sys = ctx.registry.get(job.systemId)!;
  return {
    ...fixed(() => v.dellJob(job)),
    del: () => {
      deleteJob(sys, job);
      return { status: 200, body: { "@Message.ExtendedInfo": [{ ...msg.success(), Severity: "OK" }] } };
    },
  };
}

/** POST of a job collection: a configuration job for values staged without an apply time. */
function createJob(ctx: RouteContext, systems: SystemState[], body: unknown): RouteResponse {
  const target = (body as { TargetSettingsURI?: unknown } | undefined)?.TargetSettingsURI;
  if (typeof target !== "string") return fail(400, msg.actionParameterMissing("Jobs", "TargetSettingsURI"));
  for (const sys of systems) {
    const object = settingsObjects(sys).find((o) => o.uri === target);
    if (!object) continue;
    const job = jobsApi(ctx).newJob(sys, {
      target, state: "Scheduled", message: "Task successfully scheduled.", messageId: "JCP001", kind: "dell-job", jobType: object.jobType, idrac: idracOf(sys) ?? 9,
    });
    return { status: 200, location: uris.jobLocation(job), body: v.dellJob(job) };
  }
  return fail(400, msg.propertyValueNotInList("TargetSettingsURI", target));
}

/** TaskService[/Tasks[/{id}]] and TaskService/TaskMonitors/{id}. */
export function resolveTasks(ctx: RouteContext, s: string[]): Resource | undefined {
  const tasks = () => ctx.registry.all().flatMap((x) => x.jobs).filter((j) => j.kind === "task" || j.idrac === 10);
  if (s.length === 0) return fixed(() => ({ "@odata.id": "/redfish/v1/TaskService", "@odata.type": "#TaskService.v1_2_0.TaskService", Id: "TaskService", Name: "Task Service", Tasks: { "@odata.id": uris.tasks() } }));
  if (s[0] === "Tasks" && s.length === 1) return fixed(() => r.collection(uris.tasks(), "Task", "Task Collection", tasks().map(uris.task)));
  const job = s.length === 2 ? tasks().find((j) => j.id === s[1]) : undefined;
  if (!job) return undefined;
  if (s[0] === "Tasks") return fixed(() => v.task(job));
  if (s[0] !== "TaskMonitors") return undefined;
  const finished = () => job.state === "Completed" || job.state === "Failed";
  if (job.kind === "dell-job") {
    // iDRAC10's monitor has no content: 202 while the job is not finished, 204 after.
    return { version: () => 0, weak: false, raw: () => ({ status: finished() ? 204 : 202 }) };
  }
  // A generic task monitor answers 202 while its task runs (DMTF), then the task as it ended.
  return {
    version: () => 0,
    weak: false,
    raw: () => {
      const body = v.task(job);
      const etag = etagOf(body, 0, false);
      return { status: job.state === "Running" ? 202 : 200, body: { ...body, "@odata.etag": etag }, etag };
    },
  };
}
