/**
 * Thin Redfish transport: one undici Agent per BMC endpoint (TLS verified against the node's CA
 * unless the node says `insecure`), Basic auth, a timeout on every call, JSON in and out, ETag
 * capture, and the translation of everything that can go wrong into SanbootError. No policy:
 * retries, "already done?" checks and resource walking live in the driver above.
 *
 * The password goes into the Authorization header and nowhere else: no message, detail or log
 * line is built from it, and text a BMC echoes back is scrubbed of it.
 */
import { createHash } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { Agent, buildConnector, errors as undiciErrors, request, type Dispatcher } from "undici";
import { SanbootError, type ErrorCode, type ErrorDetail, type SanbootErrorOptions } from "../errors";
import type { BmcEndpoint } from "./driver";

export type RedfishBody = Record<string, unknown>;

/** A 4xx the BMC answered, with its status: the driver tells a vanished resource (404) apart. */
export class RedfishHttpError extends SanbootError {
  override readonly name = "RedfishHttpError";
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    options: SanbootErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/** The BMC answered 404: a cached link points at something that is gone. */
export function isNotFound(err: unknown): boolean {
  return err instanceof RedfishHttpError && err.status === 404;
}

export interface RedfishReply {
  status: number;
  body: RedfishBody;
  /** ETag header, else the body's @odata.etag */
  etag: string | undefined;
  location: string | undefined;
}

export interface RedfishTransportOptions {
  /** per HTTP call, connect to last byte (default 15 s) */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** TLS failures that retrying cannot fix (BMC_TLS_UNTRUSTED): the node's CA, pin or insecure flag must change. */
const TLS_VERIFY_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_FINGERPRINT_MISMATCH",
]);

/**
 * Requests in flight to one BMC, at most `limit` at a time, first come first served. Many BMCs
 * allow one session (or a handful) and answer the one beyond 503 or 401, so a driver never
 * competes with itself: concurrent calls for one BMC queue here.
 */
export class BmcGate {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Agents by endpoint origin and TLS settings. BMCs serve few concurrent connections, so each
 * agent keeps a small pool with short keep-alive; requests per origin pass one BmcGate.
 */
const normaliseFingerprint = (f: string): string => f.replace(/[:\s]/g, "").toLowerCase();

/**
 * A connector that accepts exactly one certificate, by its SHA-256 fingerprint: chain and name
 * are not checked (that is what pinning replaces), the certificate itself must match.
 */
function pinnedConnector(fingerprint: string, timeoutMs: number): buildConnector.connector {
  // no TLS session resumption: a resumed session shows no peer certificate to check
  const base = buildConnector({ timeout: timeoutMs, rejectUnauthorized: false, maxCachedSessions: 0 });
  return (opts, callback) =>
    base(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error("no socket"), null);
      const seen = normaliseFingerprint((socket as TLSSocket).getPeerCertificate?.()?.fingerprint256 ?? "");
      if (seen !== fingerprint) {
        socket.destroy();
        const mismatch = Object.assign(new Error(`certificate fingerprint ${seen || "(none)"} is not the pinned one`), { code: "CERT_FINGERPRINT_MISMATCH" });
        return callback(mismatch, null);
      }
      callback(null, socket);
    });
}

export class RedfishAgentPool {
  private readonly agents = new Map<string, Agent>();
  private readonly gates = new Map<string, BmcGate>();

  constructor(
    private readonly timeoutMs: number = DEFAULT_TIMEOUT_MS,
    /** concurrent requests per BMC origin (default 1: the safe value for session-limited BMCs) */
    private readonly perBmc: number = 1,
  ) {}

  gateFor(ep: BmcEndpoint): BmcGate {
    const origin = new URL(ep.address).origin;
    let gate = this.gates.get(origin);
    if (!gate) {
      gate = new BmcGate(this.perBmc);
      this.gates.set(origin, gate);
    }
    return gate;
  }

  agentFor(ep: BmcEndpoint): Dispatcher {
    const insecure = ep.tls.insecure === true;
    const pinned = ep.tls.fingerprint_sha256 ? normaliseFingerprint(ep.tls.fingerprint_sha256) : undefined;
    const caHash = ep.tls.ca ? createHash("sha256").update(ep.tls.ca).digest("hex") : "system";
    const key = `${new URL(ep.address).origin}|${pinned ? `pin:${pinned}` : insecure ? "insecure" : caHash}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({
        connect: pinned
          ? pinnedConnector(pinned, this.timeoutMs)
          : {
              timeout: this.timeoutMs,
              ...(insecure ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ...(ep.tls.ca ? { ca: ep.tls.ca } : {}) }),
            },
        connections: 4,
        keepAliveTimeout: 4_000,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    const all = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(all.map((a) => a.close()));
  }
}

export class RedfishTransport {
  private readonly origin: string;
  private readonly timeoutMs: number;
  private sent = 0;

  constructor(
    private readonly ep: BmcEndpoint,
    private readonly dispatcher: Dispatcher,
    opts: RedfishTransportOptions = {},
    private readonly gate?: BmcGate,
  ) {
    this.origin = new URL(ep.address).origin;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get(path: string): Promise<RedfishReply> {
    return this.call("GET", path);
  }

  /** PATCH with If-Match when an ETag is known (BMCs without ETags get none). */
  patch(path: string, body: RedfishBody, ifMatch?: string): Promise<RedfishReply> {
    return this.call("PATCH", path, body, ifMatch);
  }

  post(path: string, body: RedfishBody): Promise<RedfishReply> {
    return this.call("POST", path, body);
  }

  delete(path: string): Promise<RedfishReply> {
    return this.call("DELETE", path);
  }

  /** PATCH, POST and DELETE requests sent so far (answered or not): whether anything may have changed. */
  get writesSent(): number {
    return this.sent;
  }

  private call(method: "GET" | "PATCH" | "POST" | "DELETE", path: string, body?: RedfishBody, ifMatch?: string): Promise<RedfishReply> {
    if (method !== "GET") this.sent++;
    const send = () => this.observed(() => this.send(method, path, body, ifMatch));
    return this.gate ? this.gate.run(send) : send();
  }

  /** The call's time at the BMC (the gate's queue left out) and outcome, for the endpoint's onCall. */
  private async observed(send: () => Promise<RedfishReply>): Promise<RedfishReply> {
    const tell = this.ep.onCall;
    if (!tell) return send();
    const started = Date.now();
    try {
      const reply = await send();
      tell({ latencyMs: Date.now() - started, failed: false });
      return reply;
    } catch (err) {
      // a call abandoned because the lease went elsewhere says nothing about the BMC
      if (!(err instanceof SanbootError && err.code === "LEASE_LOST")) tell({ latencyMs: Date.now() - started, failed: true });
      throw err;
    }
  }

  private async send(method: "GET" | "PATCH" | "POST" | "DELETE", path: string, body?: RedfishBody, ifMatch?: string): Promise<RedfishReply> {
    const url = this.resolve(path);
    const where = `${method} ${url.pathname}`;
    const headers: Record<string, string> = {
      accept: "application/json",
      authorization: `Basic ${Buffer.from(`${this.ep.username}:${this.ep.password}`).toString("base64")}`,
      "odata-version": "4.0",
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (ifMatch !== undefined) headers["if-match"] = ifMatch;

    // The caller's budget bounds every call: its deadline, and its signal (a lost lease).
    const budget = this.ep.budget;
    if (budget?.signal?.aborted) throw aborted(where);
    const left = budget ? budget.deadline - Date.now() : Infinity;
    if (left <= 0) throw new SanbootError("BMC_UNREACHABLE", `BMC ${this.origin}: no time left for ${where} (the command's deadline passed)`, { retryable: true });
    const timeoutMs = Math.max(1, Math.min(this.timeoutMs, left));
    const signal = budget?.signal ? AbortSignal.any([AbortSignal.timeout(timeoutMs), budget.signal]) : AbortSignal.timeout(timeoutMs);

    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await request(url, {
        method,
        headers,
        dispatcher: this.dispatcher,
        signal,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      text = await res.body.text();
    } catch (err) {
      if (budget?.signal?.aborted) throw aborted(where);
      throw this.connectionError(where, err, timeoutMs);
    }

    const parsed = parseJson(text);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (text.length > 0 && parsed === undefined) {
        throw new SanbootError("BMC_REJECTED", this.scrub(`BMC ${this.origin} answered ${where} with a body that is not JSON: ${excerpt(text)}`));
      }
      const json = (parsed ?? {}) as RedfishBody;
      const etagHeader = header(res.headers.etag);
      const odataEtag = typeof json["@odata.etag"] === "string" ? (json["@odata.etag"] as string) : undefined;
      return { status: res.statusCode, body: json, etag: etagHeader ?? odataEtag, location: header(res.headers.location) };
    }
    throw this.httpError(where, res.statusCode, parsed, parsed === undefined ? text : "");
  }

  /** Only paths on the node's own BMC: a link pointing elsewhere never receives the credentials. */
  private resolve(path: string): URL {
    const url = new URL(path, this.origin);
    if (url.origin !== this.origin) {
      throw new SanbootError("BMC_REJECTED", `BMC ${this.origin} linked to another host (${url.origin}); refusing to follow`);
    }
    return url;
  }

  private connectionError(where: string, err: unknown, timeoutMs: number): SanbootError {
    const code = errorCode(err);
    if (code !== undefined && TLS_VERIFY_CODES.has(code)) {
      return new SanbootError(
        "BMC_TLS_UNTRUSTED",
        `BMC ${this.origin} failed TLS verification (${code}) on ${where}: give the relay the CA that signs the BMC's certificate (ca_file), pin the certificate (fingerprint_sha256), or mark this BMC insecure explicitly (insecure: true, or the node's tls.verify: false)`,
        { retryable: false, cause: err },
      );
    }
    const timedOut =
      (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) ||
      err instanceof undiciErrors.ConnectTimeoutError ||
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError;
    const why = timedOut ? `timed out after ${timeoutMs} ms` : `connection failed (${code ?? (err as Error)?.name ?? "error"})`;
    return new SanbootError("BMC_UNREACHABLE", this.scrub(`BMC ${this.origin} ${why} on ${where}`), { retryable: true, cause: err });
  }

  private httpError(where: string, status: number, body: unknown, raw: string): SanbootError {
    const infos = extendedInfo(body);
    // A body that is not Redfish JSON (a proxy's HTML page, a plain-text fault) still says why.
    const summary = infos.length > 0 ? `: ${infos.map((i) => `${i.id}${i.message ? ` (${i.message})` : ""}`).join("; ")}` : raw.trim() ? `: ${excerpt(raw)}` : "";
    const details: ErrorDetail[] = infos.map((i) => ({
      ...(i.property ? { field: i.property } : {}),
      message: this.scrub(`${i.id}: ${i.message}`),
    }));
    const message = this.scrub(`BMC ${this.origin} answered ${status} to ${where}${summary}`);
    if (status === 401 || status === 403) {
      return new SanbootError("BMC_AUTH_FAILED", this.scrub(`BMC ${this.origin} refused the credentials of user "${this.ep.username}" (${status}) on ${where}`), { details });
    }
    if (status === 412) return new SanbootError("BMC_ETAG_MISMATCH", message, { retryable: true, details });
    if (status >= 500) return new SanbootError("BMC_UNREACHABLE", message, { retryable: true, details });
    // 409 (a job or power transition in progress) and 429 clear on their own; other 4xx do not.
    return new RedfishHttpError(status, "BMC_REJECTED", message, { retryable: status === 409 || status === 429, details });
  }

  private scrub(text: string): string {
    const pw = this.ep.password;
    return pw ? text.split(pw).join("***") : text;
  }
}

interface Info {
  id: string;
  message: string;
  property: string | undefined;
}

/** `error.@Message.ExtendedInfo[]` (and the top-level `error.code` when there is no list). */
export function extendedInfo(body: unknown): Info[] {
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (typeof error !== "object" || error === null) return [];
  const list = error["@Message.ExtendedInfo"];
  if (Array.isArray(list) && list.length > 0) {
    return list.map((i: Record<string, unknown>) => ({
      id: typeof i.MessageId === "string" ? i.MessageId : "unknown",
      message: typeof i.Message === "string" ? i.Message : "",
      property: Array.isArray(i.RelatedProperties) && typeof i.RelatedProperties[0] === "string" ? i.RelatedProperties[0] : undefined,
    }));
  }
  return typeof error.code === "string"
    ? [{ id: error.code, message: typeof error.message === "string" ? error.message : "", property: undefined }]
    : [];
}

/** At most 300 characters of a body, on one line. */
export function excerpt(text: string): string {
  const flat = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

function aborted(where: string): SanbootError {
  return new SanbootError("LEASE_LOST", `${where} abandoned: the command is no longer this relay's`);
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && !code.startsWith("UND_ERR")) return code;
  }
  return (err as { code?: string } | undefined)?.code;
}
