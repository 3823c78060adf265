/**
 * Runs the service's functions in this process behind a small HTTP server that speaks like API
 * Gateway's HTTP API (payload 2.0), with routes read from serverless.yml so they cannot drift.
 * Steps chain in-process (InlineDispatcher). Tests and the benchmark use it; `npm start` uses
 * serverless-offline instead, which runs the same handlers the same way.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Context } from "aws-lambda";
import { parse } from "yaml";
import { loadConfig, type Config } from "../lib/config";
import { createDeps, useDeps, type Deps } from "../lib/deps";
import { InlineDispatcher } from "../lib/dispatch/dispatcher";
import type { HttpApiEvent, HttpApiResult } from "../lib/http/api-event";
import { readBody } from "./http-server";

type Handler = (event: unknown, context: Context) => Promise<unknown>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  fn: string;
}

interface ServerlessYml {
  functions: Record<string, { handler: string; events?: Array<{ httpApi?: { method: string; path: string } }> }>;
}

const ROOT = join(__dirname, "..");

export async function loadFunctions(): Promise<{ routes: Route[]; handlers: Record<string, Handler> }> {
  const yml = parse(readFileSync(join(ROOT, "serverless.yml"), "utf8")) as ServerlessYml;
  const routes: Route[] = [];
  const handlers: Record<string, Handler> = {};
  for (const [name, def] of Object.entries(yml.functions)) {
    const [file, exported] = [def.handler.slice(0, def.handler.lastIndexOf(".")), def.handler.slice(def.handler.lastIndexOf(".") + 1)];
    const mod = (await import(join(ROOT, `${file}.ts`))) as Record<string, Handler>;
    const h = mod[exported];
    if (typeof h !== "function") throw new Error(`serverless.yml names ${def.handler}, which does not exist`);
    handlers[name] = h;
    for (const e of def.events ?? []) {
      if (!e.httpApi) continue;
      const names: string[] = [];
      const pattern = new RegExp(
        "^" + e.httpApi.path.replace(/\{(\w+)\}/g, (_m, n: string) => (names.push(n), "([^/]+)")) + "$",
      );
      routes.push({ method: e.httpApi.method.toUpperCase(), pattern, names, fn: name });
    }
  }
  return { routes, handlers };
}

const lambdaContext = (fn: string): Context =>
  ({ functionName: fn, awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => 30_000, callbackWaitsForEmptyEventLoop: false }) as unknown as Context;


export interface ServiceHost {
  url: string;
  deps: Deps;
  dispatcher: InlineDispatcher;
  /** invoke a function directly, as a schedule or an event would */
  invoke(fn: string, event: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export async function startServiceHost(opts: { config?: Config; env?: Record<string, string | undefined>; port?: number; overrides?: Partial<Deps> } = {}): Promise<ServiceHost> {
  const config = opts.config ?? loadConfig({ ...opts.env, SANBOOT_DISPATCH: "inline" });
  const dispatcher = new InlineDispatcher();
  const deps = createDeps(config, { dispatcher, ...opts.overrides });
  await deps.store.ensureTable();
  useDeps(deps);
  const { routes, handlers } = await loadFunctions();
  dispatcher.handlers = {
    attach: (p) => handlers.attach!(p, lambdaContext("attach")),
    firmware: (p) => handlers.firmware!(p, lambdaContext("firmware")),
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://host");
    const method = (req.method ?? "GET").toUpperCase();
    const matches = routes.filter((r) => r.pattern.test(url.pathname));
    const route = matches.find((r) => r.method === method);
    if (!route) {
      res.writeHead(matches.length ? 405 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: matches.length ? "METHOD_NOT_ALLOWED" : "NOT_FOUND", message: `no route for ${method} ${url.pathname}`, details: [] } }));
      return;
    }
    const m = route.pattern.exec(url.pathname)!;
    const body = await readBody(req);
    const event: HttpApiEvent = {
      version: "2.0",
      routeKey: `${method} ${url.pathname}`,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v])),
      queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : null,
      pathParameters: route.names.length ? Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])) : null,
      body: body.length ? body.toString("utf8") : null,
      isBase64Encoded: false,
      requestContext: { http: { method, path: url.pathname } },
    };
    try {
      const result = (await handlers[route.fn]!(event, lambdaContext(route.fn))) as HttpApiResult;
      res.writeHead(result.statusCode, result.headers ?? {});
      res.end(result.body ?? "");
    } catch (err) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "INTERNAL", message: "internal error", details: [] } }));
      deps.log.error("handler threw", { fn: route.fn, error: String(err) });
    }
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    deps,
    dispatcher,
    invoke: (fn, event) => handlers[fn]!(event, lambdaContext(fn)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await dispatcher.settle();
      deps.store.close();
      useDeps(null);
    },
  };
}
