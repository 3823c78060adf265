/**
 * The Redfish API proper: GET of every resource with its ETag, PATCH of ComputerSystem.Boot and of
 * NetworkDeviceFunction honouring If-Match, POST of ComputerSystem.Reset. No I/O here: the server
 * hands in a parsed request and writes out what this answers.
 */
import { createHash } from "node:crypto";
import { findFunction, type SystemState } from "./model";
import { checkFunctionPatch, checkSystemPatch, type PatchOutcome } from "./patch-rules";
import { reset } from "./power";
import { errorBody, msg, type ExtendedInfo } from "./redfish-errors";
import type { SystemRegistry } from "./registry";
import * as r from "./resources";

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
}

export interface RouteContext {
  registry: SystemRegistry;
  powerDelayMs: number;
}

interface Resource {
  render: () => r.Body;
  version: () => number;
  weak: boolean;
  patch?: (body: Record<string, unknown>) => PatchOutcome;
  bump?: () => void;
  system?: SystemState;
}

export function etagOf(body: r.Body, version: number, weak: boolean): string {
  const h = createHash("sha256").update(JSON.stringify(body)).update(`#${version}`).digest("hex").slice(0, 16);
  return weak ? `W/"${h}"` : `"${h}"`;
}

const fail = (status: number, ...messages: ExtendedInfo[]): RouteResponse => ({ status, body: errorBody(messages) });

export function route(ctx: RouteContext, req: RouteRequest): RouteResponse {
  const { segments: s } = req;
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
    return { status: 200, body: { ...body, "@odata.etag": etag }, etag };
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
    record(400);
    return fail(400, ...outcome.messages);
  }
  outcome.apply();
  record(200);
  const body = res.render();
  const etag = etagOf(body, res.version(), res.weak);
  return { status: 200, body: { ...body, "@odata.etag": etag }, etag };
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
  if (s.length === 0) return fixed(r.serviceRoot);
  const [kind, id, sub, adapterId, sub2, functionId, ...rest] = s;
  if (s.length === 1 && kind === "Systems")
    return fixed(() => r.collection("/redfish/v1/Systems", "ComputerSystem", "Computer System Collection", all.map(r.uris.system)));
  if (s.length === 1 && kind === "Chassis")
    return fixed(() => r.collection("/redfish/v1/Chassis", "Chassis", "Chassis Collection", all.map(r.uris.chassis)));
  const sys = id === undefined ? undefined : ctx.registry.get(id);
  if (!sys || rest.length > 0) return undefined;
  const own = (render: () => r.Body): Resource => ({ render, version: () => 0, weak: sys.weakEtags, system: sys });

  if (kind === "Systems" && s.length === 2) {
    return {
      ...own(() => r.computerSystem(sys)),
      version: () => sys.version,
      patch: (b) => checkSystemPatch(sys, b),
      bump: () => void (sys.version += 1),
    };
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
  return {
    ...own(() => r.networkDeviceFunction(sys, fn)),
    version: () => fn.version,
    patch: (b) => checkFunctionPatch(fn, b),
    bump: () => void (fn.version += 1),
  };
}
