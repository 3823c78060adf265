/**
 * The Redfish API proper: GET of every resource with its ETag, PATCH honouring If-Match, POST of
 * actions and job collections, DELETE of jobs. Which resources exist is resolved in
 * route-systems.ts (Systems, Chassis) and route-managers.ts (Managers, jobs, tasks). No I/O here:
 * the server hands in a parsed request and writes out what this answers.
 */
import { msg } from "./redfish-errors";
import { collection, serviceRoot, uris } from "./resources";
import { etagOf, fail, fixed, type Resource, type RouteContext, type RouteResponse } from "./route-common";
import { resolveManagers, resolveTasks } from "./route-managers";
import { resolveChassis, resolveSystem } from "./route-systems";
import { settleTask } from "./settings";

export type { RouteContext, RouteResponse } from "./route-common";

export interface RouteRequest {
  method: string;
  /** path segments after /redfish/v1 */
  segments: string[];
  path: string;
  ifMatch: string | undefined;
  body: unknown;
  /** the body was present but not JSON */
  malformed: boolean;
}

function allowOf(res: Resource): string {
  return [res.render || res.raw ? "GET" : "", res.patch ? "PATCH" : "", res.post ? "POST" : "", res.del ? "DELETE" : ""].filter(Boolean).join(", ");
}

export function route(ctx: RouteContext, req: RouteRequest): RouteResponse {
  for (const sys of ctx.registry.all()) sys.jobs.forEach(settleTask);
  const res = resolve(ctx, req.segments);
  if (!res) return fail(404, msg.resourceMissingAtUri(req.path));
  const notAllowed = () => ({ ...fail(405, msg.operationNotAllowed(`${req.method} on ${req.path}`)), allow: allowOf(res) });

  if (req.method === "GET" || req.method === "HEAD") {
    if (res.raw) return res.raw();
    if (!res.render) return notAllowed();
    const body = res.render();
    const etag = etagOf(body, res.version(), res.weak);
    return { status: 200, body: { ...body, "@odata.etag": etag }, etag };
  }
  if (req.method === "POST" && res.post) return req.malformed ? fail(400, msg.malformedJson()) : res.post(req.body);
  if (req.method === "DELETE" && res.del) return res.del();
  if (req.method !== "PATCH" || !res.patch || !res.render) return notAllowed();

  const sys = res.system!;
  sys.counters.patches += 1;
  const record = (status: number) => sys.patches.push({ at: new Date().toISOString(), path: req.path, body: req.body, status });
  if (req.malformed || typeof req.body !== "object" || req.body === null || Array.isArray(req.body)) {
    record(400);
    return fail(400, msg.malformedJson());
  }
  if (sys.faults.etagMismatchOnce && req.ifMatch !== undefined) {
    // Another client wrote first: the resource really changed, so a re-read gets a new ETag.
    sys.faults.etagMismatchOnce = false;
    res.bump!();
    record(412);
    return fail(412, msg.preconditionFailed());
  }
  const current = etagOf(res.render(), res.version(), res.weak);
  if (req.ifMatch !== undefined && !ifMatchAccepts(req.ifMatch, current)) {
    record(412);
    return fail(412, msg.preconditionFailed());
  }
  const outcome = res.patch(req.body as Record<string, unknown>);
  if (!outcome.ok) {
    record(outcome.status ?? 400);
    return fail(outcome.status ?? 400, ...outcome.messages);
  }
  const applied = outcome.apply();
  const body = res.render();
  const etag = etagOf(body, res.version(), res.weak);
  if (applied && applied.status === 202) {
    record(202);
    return { status: 202, etag, ...(applied.location ? { location: applied.location } : {}), body: applied.body ?? { "@odata.id": applied.location } };
  }
  record(200);
  return { status: 200, body: applied?.body ?? { ...body, "@odata.etag": etag }, etag };
}

function ifMatchAccepts(header: string, current: string): boolean {
  return header
    .split(",")
    .map((t) => t.trim())
    .some((t) => t === "*" || t === current);
}

function resolve(ctx: RouteContext, s: string[]): Resource | undefined {
  const all = ctx.registry.all();
  if (s.length === 0) return fixed(() => serviceRoot(all));
  const [kind, id] = s;
  if (s.length === 1 && kind === "Systems") return fixed(() => collection("/redfish/v1/Systems", "ComputerSystem", "Computer System Collection", all.map(uris.system)));
  if (s.length === 1 && kind === "Chassis") return fixed(() => collection("/redfish/v1/Chassis", "Chassis", "Chassis Collection", all.map(uris.chassis)));
  if (kind === "Managers") return resolveManagers(ctx, s.slice(1));
  if (kind === "TaskService") return resolveTasks(ctx, s.slice(1));
  const sys = id === undefined ? undefined : ctx.registry.get(id);
  if (!sys) return undefined;
  if (kind === "Systems") return resolveSystem(ctx, sys, s.slice(2));
  if (kind === "Chassis") return resolveChassis(ctx, sys, s.slice(2));
  return undefined;
}
