/**
 * One HTTPS server emulating the BMCs of many servers: Redfish under /redfish/v1 (Basic auth,
 * per-system faults and latency), the test control API under /_lab.
 */
import type { MachineBackend } from "./machine";
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { control } from "./control-api";
import type { Faults, SystemSpec, SystemState } from "./model";
import { errorBody, msg } from "./redfish-errors";
import { SystemRegistry, type SystemSnapshot } from "./registry";
import { route, type RouteResponse } from "./redfish-routes";
import { DEFAULT_TLS_DIR, ensureLabTls } from "./tls";
import { listen, readBody } from "../http-server";

export interface RedfishEmulatorOptions {
  /** 0 (default) picks an ephemeral port */
  port?: number;
  host?: string;
  /** where the lab CA and server certificate live (created when absent) */
  tlsDir?: string;
  /** how long PoweringOn / PoweringOff last (default 200 ms) */
  powerDelayMs?: number;
  /** how long POST lasts after PowerState On, before settings apply and the OS boots (default powerDelayMs) */
  postDelayMs?: number;
  /** added to every Redfish answer */
  latencyMs?: number;
  /** how long a generic-settings task runs before it completes (default 30 ms) */
  taskDelayMs?: number;
  /** global credentials, used by systems that have none of their own (default admin / password) */
  username?: string;
  password?: string;
  systems?: SystemSpec[];
  /** what backs systems that ask for a real machine (`machine` in their spec): lab/machine's QEMU backend */
  machines?: MachineBackend;
}

export interface RedfishEmulator {
  /** https://127.0.0.1:<port> (no trailing slash) */
  url: string;
  port: number;
  /** PEM of the lab CA that signed the server certificate */
  caPem: string;
  tlsDir: string;
  addSystem(spec?: SystemSpec): SystemSnapshot;
  system(id: string): SystemSnapshot;
  systemIds(): string[];
  setFaults(id: string, faults: Partial<Faults>): Faults;
  clearFaults(id: string): void;
  /** every Redfish request answered, in order ("METHOD /path" and status), as a BMC's audit log shows them */
  requests(): Array<{ method: string; path: string; status: number }>;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

export async function startRedfishEmulator(opts: RedfishEmulatorOptions = {}): Promise<RedfishEmulator> {
  const tls = ensureLabTls(opts.tlsDir ?? DEFAULT_TLS_DIR);
  const powerDelayMs = opts.powerDelayMs ?? 200;
  const registry = new SystemRegistry({ powerDelayMs, postDelayMs: opts.postDelayMs ?? powerDelayMs }, opts.machines);
  for (const spec of opts.systems ?? []) registry.add(spec);
  const global = { username: opts.username ?? "admin", password: opts.password ?? "password" };
  const ctx = { registry, taskDelayMs: opts.taskDelayMs ?? 30 };

  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: errorBody([msg.internalError()]) });
      else res.destroy(err as Error);
    });
  });

  const log: Array<{ method: string; path: string; status: number }> = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://lab");
    if (!url.pathname.startsWith("/_lab")) res.once("finish", () => log.push({ method: req.method ?? "GET", path: url.pathname, status: res.statusCode }));
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? "GET";
    const raw = (await readBody(req, MAX_BODY)).toString("utf8");
    let body: unknown;
    let malformed = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        malformed = true;
      }
    }

    if (segments[0] === "_lab") {
      const out = control(registry, tls.caPem, method, segments.slice(1), malformed ? undefined : body);
      if (typeof out.body === "string") {
        res.writeHead(out.status, { "Content-Type": out.contentType ?? "text/plain" }).end(out.body);
      } else {
        res.writeHead(out.status, out.body === undefined ? {} : { "Content-Type": "application/json" });
        res.end(out.body === undefined ? undefined : JSON.stringify(out.body));
      }
      return;
    }
    if (segments[0] !== "redfish") return send(res, { status: 404, body: errorBody([msg.resourceMissingAtUri(url.pathname)]) });
    if (segments.length === 1) return send(res, { status: 200, body: { v1: "/redfish/v1/" } });
    if (segments[1] !== "v1") return send(res, { status: 404, body: errorBody([msg.resourceMissingAtUri(url.pathname)]) });

    const rest = segments.slice(2);
    const sys = systemOf(registry, rest);
    if (!sys) return answer(req, res, rest, url, method, body, malformed, undefined);
    // Every request is a session while it is answered: a BMC allowing one refuses the second.
    sys.inFlight += 1;
    try {
      if (sys.faults.maxSessions > 0 && sys.inFlight > sys.faults.maxSessions) {
        const status = sys.faults.sessionLimitStatus;
        if (status === 503) res.setHeader("Retry-After", "1");
        return send(res, { status, body: errorBody([status === 401 ? msg.noValidSession() : msg.sessionLimitExceeded()]) });
      }
      await answer(req, res, rest, url, method, body, malformed, sys);
    } finally {
      sys.inFlight -= 1;
    }
  }

  async function answer(
    req: IncomingMessage, res: ServerResponse, rest: string[], url: URL, method: string, body: unknown, malformed: boolean, sys: SystemState | undefined,
  ): Promise<void> {
    const latency = (opts.latencyMs ?? 0) + (sys?.faults.latencyMs ?? 0);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (sys) {
      sys.counters.requests += 1;
      if (sys.faults.dropNext > 0) {
        sys.faults.dropNext -= 1;
        req.socket.destroy();
        return;
      }
      if (sys.faults.failNext > 0) {
        sys.faults.failNext -= 1;
        return send(res, { status: sys.faults.failStatus, body: errorBody([msg.internalError()]) });
      }
    }

    // The service root is readable without credentials (Redfish spec); everything else is not.
    if (rest.length > 0) {
      const creds = parseBasic(req.headers.authorization);
      const accepted = sys?.username !== undefined
        ? [{ username: sys.username, password: sys.password ?? "" }]
        : sys
          ? [global]
          : [global, ...registry.all().filter((s) => s.username !== undefined).map((s) => ({ username: s.username!, password: s.password ?? "" }))];
      if (!creds || !accepted.some((a) => same(a.username, creds.username) && same(a.password, creds.password))) {
        res.setHeader("WWW-Authenticate", 'Basic realm="sanboot lab BMC"');
        return send(res, { status: 401, body: errorBody([msg.noValidSession()]) });
      }
    }

    const ifMatch = req.headers["if-match"];
    send(
      res,
      route(ctx, { method, segments: rest, path: url.pathname, ifMatch: Array.isArray(ifMatch) ? ifMatch.join(",") : ifMatch, body, malformed }),
      method === "HEAD",
    );
  }

  const { port, urlHost } = await listen(server, opts.port, opts.host);

  return {
    url: `https://${urlHost}:${port}`,
    port,
    caPem: tls.caPem,
    tlsDir: tls.dir,
    addSystem: (spec = {}) => registry.snapshot(registry.add(spec).id),
    system: (id) => registry.snapshot(id),
    systemIds: () => registry.all().map((s) => s.id),
    setFaults: (id, faults) => registry.setFaults(id, faults),
    clearFaults: (id) => registry.clearFaults(id),
    requests: () => log.map((r) => ({ ...r })),
    close: async () => {
      await registry.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The system a request concerns: by its Systems / Chassis id, or the one owning a job or task. */
function systemOf(registry: SystemRegistry, rest: string[]): SystemState | undefined {
  if ((rest[0] === "Systems" || rest[0] === "Chassis") && rest[1] !== undefined) return registry.get(rest[1]);
  // .../Jobs/{JID} (either iDRAC generation), TaskService/Tasks/{id}, TaskService/TaskMonitors/{id}
  const jobId = (rest[0] === "Managers" && rest.at(-2) === "Jobs") || (rest[0] === "TaskService" && rest.length === 3) ? rest.at(-1) : undefined;
  const job = jobId ? registry.findJob(jobId) : undefined;
  return job ? registry.get(job.systemId) : undefined;
}

function send(res: ServerResponse, out: RouteResponse, headOnly = false): void {
  const headers: Record<string, string> = { "OData-Version": "4.0", "Cache-Control": "no-cache" };
  if (out.etag) headers.ETag = out.etag;
  if (out.location) headers.Location = out.location;
  if (out.allow) headers.Allow = out.allow;
  if (out.body === undefined) {
    res.writeHead(out.status, headers).end();
    return;
  }
  const text = JSON.stringify(out.body);
  headers["Content-Type"] = "application/json; charset=utf-8";
  headers["Content-Length"] = String(Buffer.byteLength(text));
  res.writeHead(out.status, headers).end(headOnly ? undefined : text);
}


function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const i = decoded.indexOf(":");
  return i < 0 ? undefined : { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

function same(a: string, b: string): boolean {
  const h = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(h(a), h(b));
}
