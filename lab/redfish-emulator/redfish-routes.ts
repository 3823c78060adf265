/**
 * The Redfish API proper: GET of every resource with its ETag, PATCH honouring If-Match (system
 * Boot, NetworkDeviceFunctions in place, settings objects that stage changes behind a task or a
 * Dell job, HPE's BIOS iSCSI settings), POST of ComputerSystem.Reset and of Dell's Jobs
 * collection. No I/O here: the server hands in a parsed request and writes out what this answers.
 */
import { createHash } from "node:crypto";
import { findFunction, type Job, type SystemState } from "./model";
import { checkFunctionPatch, checkSystemPatch } from "./patch-rules";
import { reset } from "./power";
import { errorBody, msg, type ExtendedInfo } from "./redfish-errors";
import type { SystemRegistry } from "./registry";
import * as r from "./resources";
import { jobUri, newJobId, settleTask, stageFunction, stageHpe, type JobsApi } from "./settings";

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

export interface RouteResponse {
  status: number;
  body?: unknown;
  etag?: string;
  allow?: string;
  location?: string;
}

export interface RouteContext {
  registry: SystemRegistry;
  powerDelayMs: number;
  /** how long a generic-settings task runs before it completes */
  taskDelayMs: number;
}

type Applied = void | { status: number; location?: string; body?: unknown };
type Patchable = { ok: true; apply: () => Applied } | { ok: false; status?: number; messages: ExtendedInfo[] };

interface Resource {
  render: () => r.Body;
  version: () => number;
  weak: boolean;
  patch?: (body: Record<string, unknown>) => Patchable;
  bump?: () => void;
  system?: SystemState;
}

function jobsApi(ctx: RouteContext): JobsApi {
  return {
    taskDelayMs: ctx.taskDelayMs,
    newJob: (sys, j) => {
      const job: Job = { ...j, id: newJobId(j.kind), systemId: sys.id };
      sys.jobs.push(job);
      return job;
    },
  };
}

export function etagOf(body: r.Body, version: number, weak: boolean): string {
  const h = createHash("sha256").update(JSON.stringify(body)).update(`#${version}`).digest("hex").slice(0, 16);
  return weak ? `W/"${h}"` : `"${h}"`;
}

const fail = (status: number, ...messages: ExtendedInfo[]): RouteResponse => ({ status, body: errorBody(messages) });

export function route(ctx: RouteContext, req: RouteRequest): RouteResponse {
  const { segments: s } = req;
  for (const sys of ctx.registry.all()) sys.jobs.forEach(settleTask);
  // POST .../Managers/iDRAC.Embedded.1/Jobs {TargetSettingsURI}: a config job for staged settings
  if (s.length === 3 && s[0] === "Managers" && s[1] === "iDRAC.Embedded.1" && s[2] === "Jobs" && req.method === "POST") {
    return createDellJob(ctx, req);
  }
  // POST .../Systems/{id}/Actions/ComputerSystem.Reset
  if (s.length === 4 && s[0] === "Systems" && s[2] === "Actions" && s[3] === "ComputerSystem.Reset") {
    const sys = ctx.registry.get(s[1]!);
    if (!sys) return fail(404, msg.resourceMissingAtUri(req.path));
    if (req.method !== "POST") return { ...fail(405, msg.operationNotAllowed(`${req.method} on an action`)), allow: "POST" };
    if (req.malformed) return fail(400, msg.malformedJson());
    const params = typeof req.body === "object" && req.body !== null ? (req.body as Record<string, unknown>) : {};
    const outcome = reset(sys, params.ResetType, ctx.powerDelayMs);
    return outcome.ok ? { status: 204 } : fail(outcome.status, ...outcome.messages);
  }

  const res = resolve(ctx, s);
  if (!res) return fail(404, msg.resourceMissingAtUri(req.path));

  if (req.method === "GET" || req.method === "HEAD") {
    const body = res.render();
    const etag = etagOf(body, res.version(), res.weak);
    return { status: taskMonitorStatus(ctx, s) ?? 200, body: { ...body, "@odata.etag": etag }, etag };
  }
  if (req.method !== "PATCH" || !res.patch) {
    return { ...fail(405, msg.operationNotAllowed(`${req.method} on ${req.path}`)), allow: res.patch ? "GET, PATCH" : "GET" };
  }

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

function createDellJob(ctx: RouteContext, req: RouteRequest): RouteResponse {
  const target = (req.body as { TargetSettingsURI?: unknown } | undefined)?.TargetSettingsURI;
  const sys = typeof target === "string" ? ctx.registry.all().find((x) => x.flavour === "dell" && target.startsWith(r.uris.chassis(x) + "/")) : undefined;
  if (!sys || typeof target !== "string") return fail(400, msg.actionParameterMissing("Jobs", "TargetSettingsURI"));
  const job = jobsApi(ctx).newJob(sys, { target, state: "Scheduled", message: "Task successfully scheduled.", messageId: "JCP001", kind: "dell-job" });
  return { status: 200, location: jobUri(job), body: r.job(job) };
}

function ifMatchAccepts(header: string, current: string): boolean {
  return header
    .split(",")
    .map((t) => t.trim())
    .some((t) => t === "*" || t === current);
}

function resolve(ctx: RouteContext, s: string[]): Resource | undefined {
  const all = ctx.registry.all();
  const fixed = (render: () => r.Body): Resource => ({ render, version: () => 0, weak: false });
  if (s.length === 0) return fixed(() => r.serviceRoot(all));
  const [kind, id, sub, adapterId, sub2, functionId, ...rest] = s;
  if (s.length === 1 && kind === "Systems")
    return fixed(() => r.collection("/redfish/v1/Systems", "ComputerSystem", "Computer System Collection", all.map(r.uris.system)));
  if (s.length === 1 && kind === "Chassis")
    return fixed(() => r.collection("/redfish/v1/Chassis", "Chassis", "Chassis Collection", all.map(r.uris.chassis)));
  if (kind === "Managers") return resolveManager(ctx, s);
  if (kind === "TaskService") return resolveTask(ctx, s);
  const sys = id === undefined ? undefined : ctx.registry.get(id);
  if (!sys) return undefined;
  const own = (render: () => r.Body): Resource => ({ render, version: () => 0, weak: sys.weakEtags, system: sys });

  if (kind === "Systems") {
    if (s.length === 2) {
      return {
        ...own(() => r.computerSystem(sys)),
        version: () => sys.version,
        patch: (b) => checkSystemPatch(sys, b),
        bump: () => void (sys.version += 1),
      };
    }
    if (sub === "NetworkInterfaces" && sys.links !== "chassis") return resolveInterfaces(sys, s.slice(3), own);
    return sub === "Bios" && sys.hpe ? resolveHpe(ctx, sys, s.slice(3)) : undefined;
  }
  if (kind !== "Chassis") return undefined;
  if (s.length === 2) return own(() => r.chassis(sys));
  if (sub !== "NetworkAdapters") return undefined;
  if (s.length === 3)
    return own(() => r.collection(r.uris.adapters(sys), "NetworkAdapter", "Network Adapter Collection", sys.adapters.map((a) => r.uris.adapter(sys, a))));
  const adapter = sys.adapters.find((a) => a.id === adapterId);
  if (!adapter) return undefined;
  if (s.length === 4) return own(() => r.networkAdapter(sys, adapter));
  if (sub2 !== "NetworkDeviceFunctions") return undefined;
  if (s.length === 5)
    return own(() =>
      r.collection(r.uris.functions(sys, adapter), "NetworkDeviceFunction", "Network Device Function Collection",
        adapter.functions.map((f) => r.uris.fn(sys, adapter, f))),
    );
  const fn = findFunction(sys, adapter.id, functionId!);
  if (!fn) return undefined;
  if (rest.length === 1 && rest[0] === "Settings" && fn.settings) {
    const settings = fn.settings;
    return {
      ...own(() => r.functionSettings(sys, fn)),
      version: () => settings.version,
      patch: (b) => stageFunction(sys, fn, r.uris.fnSettings(sys, fn), b, jobsApi(ctx)),
      bump: () => void (settings.version += 1),
    };
  }
  if (rest.length > 0) return undefined;
  return {
    ...own(() => r.networkDeviceFunction(sys, fn)),
    version: () => fn.version,
    // A function with a settings object takes changes only there, as iDRAC does.
    patch: (b) => (fn.settings ? { ok: false, status: 405, messages: [msg.operationNotAllowed(`PATCH the settings object ${r.uris.fnSettings(sys, fn)}`)] } : checkFunctionPatch(fn, b)),
    bump: () => void (fn.version += 1),
  };
}

/** Systems/{id}/NetworkInterfaces[/{adapter}[/NetworkDeviceFunctions]]: the system's own adapters only. */
function resolveInterfaces(sys: SystemState, s: string[], own: (render: () => r.Body) => Resource): Resource | undefined {
  const mine = sys.adapters.filter((a) => !a.foreign);
  if (s.length === 0) return own(() => r.collection(r.uris.interfaces(sys), "NetworkInterface", "Network Interface Collection", mine.map((a) => r.uris.iface(sys, a))));
  const adapter = mine.find((a) => a.id === s[0]);
  if (!adapter) return undefined;
  if (s.length === 1) return own(() => r.networkInterface(sys, adapter));
  if (s.length === 2 && s[1] === "NetworkDeviceFunctions") {
    return own(() =>
      r.collection(r.uris.ifaceFunctions(sys, adapter), "NetworkDeviceFunction", "Network Device Function Collection", adapter.functions.map((f) => r.uris.fn(sys, adapter, f))),
    );
  }
  return undefined;
}

function resolveHpe(ctx: RouteContext, sys: SystemState, s: string[]): Resource | undefined {
  const h = sys.hpe!;
  const base = { weak: sys.weakEtags, system: sys };
  if (s.length === 0) return { ...base, render: () => r.bios(sys), version: () => 0 };
  if (s[0] !== "iScsi" || s.length > 2) return undefined;
  const settingsEtag = () => etagOf(r.hpeIscsiSettings(sys), h.settings.version, sys.weakEtags);
  if (s.length === 1) return { ...base, render: () => r.hpeIscsi(sys, settingsEtag()), version: () => h.version, bump: () => void (h.version += 1) };
  if (s[1] !== "Settings") return undefined;
  return {
    ...base,
    render: () => r.hpeIscsiSettings(sys),
    version: () => h.settings.version,
    patch: (b) => stageHpe(sys, b),
    bump: () => void (h.settings.version += 1),
  };
}

function resolveManager(ctx: RouteContext, s: string[]): Resource | undefined {
  const all = ctx.registry.all();
  const fixed = (render: () => r.Body): Resource => ({ render, version: () => 0, weak: false });
  const managers = new Map(all.map((x) => [r.uris.manager(x), x]));
  if (s.length === 1) return fixed(() => r.collection("/redfish/v1/Managers", "Manager", "Manager Collection", [...managers.keys()]));
  const owner = managers.get(`/redfish/v1/Managers/${s[1]}`);
  if (!owner) return undefined;
  if (s.length === 2) return fixed(() => r.manager(owner));
  if (s[2] !== "Jobs" || owner.flavour !== "dell") return undefined;
  const jobs = () => all.flatMap((x) => x.jobs).filter((j) => j.kind === "dell-job");
  if (s.length === 3) return fixed(() => r.collection("/redfish/v1/Managers/iDRAC.Embedded.1/Jobs", "DellJob", "Job Collection", jobs().map(jobUri)));
  const job = s.length === 4 ? jobs().find((j) => j.id === s[3]) : undefined;
  return job ? fixed(() => r.job(job)) : undefined;
}

function resolveTask(ctx: RouteContext, s: string[]): Resource | undefined {
  const job = s.length === 3 ? ctx.registry.findJob(s[2]!) : undefined;
  if (!job || job.kind !== "task" || (s[1] !== "Tasks" && s[1] !== "TaskMonitors")) return undefined;
  return { render: () => r.task(job), version: () => 0, weak: false };
}

/** A task monitor answers 202 while its task runs (DMTF), then the task as it ended. */
export function taskMonitorStatus(ctx: RouteContext, segments: string[]): number | undefined {
  if (segments[0] !== "TaskService" || segments[1] !== "TaskMonitors") return undefined;
  const job = ctx.registry.findJob(segments[2] ?? "");
  return job && job.state === "Running" ? 202 : undefined;
}
