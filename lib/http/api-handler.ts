/**
 * HTTP handlers: middy with three small middlewares (body limit + JSON, bearer auth, the one
 * error shape), then one call into lib. A handler answers `{status, body, headers}`; every error
 * becomes {"error": {"code", "message", "details"}} with the status from error-map.ts, and
 * internals (5xx causes) never reach the caller.
 */
import middy from "@middy/core";
import type { Context as LambdaContext } from "aws-lambda";
import { z } from "zod/mini";
import { getDeps, type Deps } from "../deps";
import { SanbootError, ValidationError, asSanbootError, type ErrorDetail } from "../errors";
import type { HttpApiEvent, HttpApiResult } from "./api-event";
import type { ErrorBody } from "./error-body";
import { httpStatusOf } from "./error-map";
import { flushMetrics } from "../metrics/flush-middleware";

import type { Caller } from "./callers";
export type { Caller } from "./callers";

export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  /** parsed JSON, or undefined when there was no body */
  body: unknown;
  caller: Caller;
}

export interface ApiAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Route = (req: ApiRequest, deps: Deps) => Promise<ApiAnswer>;

interface Ctx {
  deps: Deps;
  body: unknown;
  caller: Caller | null;
}

/**
 * zod issues → ValidationError naming each field. `where` names the input when the issue is
 * about the value as a whole: "body", "query", or the path parameter / header it came from.
 */
export function parseInput<T extends z.core.$ZodType>(schema: T, value: unknown, where = "body"): z.infer<T> {
  // z.safeParse, not schema.safeParse: the schemas may be zod/mini's (lib/api/schemas.ts)
  const res = z.safeParse(schema, value);
  if (res.success) return res.data;
  const details: ErrorDetail[] = res.error.issues.map((i) => {
    const keys = i.code === "unrecognized_keys" ? (i as { keys: string[] }).keys : [];
    const path = [...i.path.map(String), ...(keys.length === 1 ? keys : [])].join(".");
    return { field: path || where, message: keys.length ? `unknown field${keys.length > 1 ? "s" : ""}: ${keys.join(", ")}` : i.message };
  });
  const first = details[0]!;
  throw new ValidationError(`${first.field}: ${first.message}`, details);
}

/** What a caller learns of a 5xx: which dependency, never its internals. */
const UNAVAILABLE: Partial<Record<string, string>> = {
  STORE_UNAVAILABLE: "the state store is unavailable; retry later",
  CINDER_UNAVAILABLE: "Cinder is unavailable; retry later",
  DISPATCH_FAILED: "the request could not be handed on; retry later",
};

export function errorAnswer(err: unknown): ApiAnswer {
  const e = asSanbootError(err);
  const status = httpStatusOf(e.code);
  const expose = status < 500;
  return {
    status,
    body: {
      error: {
        code: e.code,
        message: expose ? e.message : (UNAVAILABLE[e.code] ?? "internal error"),
        details: expose ? e.details : [],
      },
    } satisfies ErrorBody,
  };
}

function header(event: HttpApiEvent, name: string): string | undefined {
  const h = event.headers ?? {};
  return h[name] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];
}

function bodyJson(): middy.MiddlewareObj<HttpApiEvent, HttpApiResult, Error, Ctx & LambdaContext> {
  return {
    before: (request) => {
      const event = request.event;
      const maxBytes = request.context.deps.config.SANBOOT_MAX_BODY_BYTES;
      const raw = event.body ?? "";
      const buf = event.isBase64Encoded ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
      if (buf.length > maxBytes) throw new SanbootError("BODY_TOO_LARGE", `body is ${buf.length} bytes; at most ${maxBytes} are accepted`, { details: [{ field: "body", message: "too large" }] });
      if (buf.length === 0) {
        request.context.body = undefined;
        return;
      }
      const type = header(event, "content-type") ?? "";
      if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
        throw new SanbootError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json", { details: [{ field: "content-type", message: `got ${type || "none"}` }] });
      }
      try {
        request.context.body = JSON.parse(buf.toString("utf8"));
      } catch (cause) {
        throw new SanbootError("MALFORMED_JSON", `body is not valid JSON: ${(cause as Error).message}`, { details: [{ field: "body", message: "malformed JSON" }] });
      }
    },
  };
}

function bearerAuth(): middy.MiddlewareObj<HttpApiEvent, HttpApiResult, Error, Ctx & LambdaContext> {
  return {
    before: async (request) => {
      const auth = header(request.event, "authorization");
      const m = auth !== undefined ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
      // OpenStack clients send their Keystone token as X-Auth-Token
      const token = m?.[1] ?? header(request.event, "x-auth-token")?.trim();
      if (!token) throw new SanbootError("UNAUTHENTICATED", "send Authorization: Bearer <token> (or X-Auth-Token)");
      const caller = await request.context.deps.callers.caller(token);
      const method = request.event.requestContext.http.method.toUpperCase();
      if (caller.role === "reader" && method !== "GET" && method !== "HEAD") {
        throw new SanbootError("FORBIDDEN", "a reader may only read: this change needs the member or admin role");
      }
      request.context.caller = caller;
    },
  };
}

function errorShape(): middy.MiddlewareObj<HttpApiEvent, HttpApiResult, Error, Ctx & LambdaContext> {
  return {
    onError: (request) => {
      const e = asSanbootError(request.error);
      if (httpStatusOf(e.code) >= 500) request.context.deps?.log.error("request failed", { code: e.code, error: String(e.cause ?? e.message) });
      request.response = toResult(errorAnswer(e));
    },
  };
}

function toResult(a: ApiAnswer): HttpApiResult {
  return {
    statusCode: a.status,
    headers: { "content-type": "application/json", ...a.headers },
    body: a.body === undefined ? "" : JSON.stringify(a.body),
  };
}

export interface ApiHandlerOptions {
  /** relay endpoints authenticate with site tokens instead (lib/http/relay-auth.ts) */
  auth?: "caller" | "none";
}

/** Wraps a route into a Lambda handler for API Gateway HTTP API events. */
export function apiHandler(route: Route, opts: ApiHandlerOptions = {}) {
  const base = middy<HttpApiEvent, HttpApiResult, Error, Ctx & LambdaContext>()
    .before((request) => {
      request.context.deps = getDeps();
      request.context.caller = null;
    })
    // the invocation's metrics are written once, answered or failed
    .use(flushMetrics<HttpApiEvent, HttpApiResult, Ctx & LambdaContext>((request) => request.context.deps?.metrics))
    .use(errorShape());
  // authenticate before reading the body: a caller without a valid token learns nothing from it
  const h = (opts.auth === "none" ? base : base.use(bearerAuth())).use(bodyJson()).handler(async (event, context) => {
      const answer = await route(
        {
          method: event.requestContext.http.method.toUpperCase(),
          path: event.rawPath,
          params: event.pathParameters ?? {},
          query: event.queryStringParameters ?? {},
          headers: Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
          body: context.body,
          caller: context.caller ?? { project_id: "", role: "member" },
        },
        context.deps,
      );
      return toResult(answer);
    });
  return h;
}
