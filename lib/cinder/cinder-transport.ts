/**
 * The thin layer between sanboot and a Cinder v3 API: HTTP (lib/http/http-call.ts), the identity of a
 * CinderAuth (noauth or Keystone), the microversion negotiated once per endpoint, a timeout on
 * every call, and Cinder's errors translated into SanbootError. No policy: no retries, no
 * "already done?" checks (cinder-client.ts holds those) — except authentication's own rule: a
 * 401 renews the token once and sends the call again.
 *
 * Error translation (Cinder answers `{"<kind>": {"code": N, "message": "..."}}`):
 * - 5xx, 429, timeouts, refused / reset connections → CINDER_UNAVAILABLE, retryable. For a call
 *   that changes state the outcome is then UNKNOWN: the caller must look before doing it again
 *   — except where the error proves the request was never acted on (`notActedOn`: the
 *   connection was refused, or a 429). A `Retry-After` (seconds or an HTTP date) is kept as
 *   `retryAfterMs` for the retry policy.
 * - 401 even with a renewed token → CINDER_REJECTED (Cinder does not accept our identity).
 * - 404 on a volume (`Volume <id> could not be found.`) → VOLUME_NOT_FOUND.
 * - any other 4xx → CINDER_REJECTED with Cinder's own message.
 */
import { systemClock, type Clock } from "../clock";
import { SanbootError, type ErrorCode } from "../errors";
import { NoAuth, type CinderAuth, type CinderSession, type NoauthSettings } from "./cinder-auth";
import { KeystoneAuth, type KeystoneSettings } from "./keystone-auth";
import { errnoOf, failureOf, httpCall } from "../http/http-call";

interface CommonSettings {
  /** per call, connecting to the end of the body (a call may ask for another: CinderCall.timeoutMs) */
  timeoutMs: number;
  /**
   * For the client's policy: per call that waits on Cinder's volume service (CinderCall.volumeService),
   * longer than Cinder's own bound on it (rpc_response_timeout, 60 s). Default 90 s.
   */
  volumeServiceTimeoutMs?: number;
  /** For the client's policy: the most volume-service calls in flight at this endpoint from this process (default 8) */
  maxInFlight?: number;
  /** never ask for more than this microversion (e.g. "3.43" forces the legacy attach path) */
  max_microversion?: string;
}

/** noauth (labs): the shape sanboot has always had, so `auth` may be left out */
export interface NoauthCinderConfig extends NoauthSettings, CommonSettings {
  auth?: "noauth";
}

export interface KeystoneCinderConfig extends CommonSettings {
  auth: "keystone";
  keystone: Omit<KeystoneSettings, "timeoutMs">;
}

export type CinderConfig = NoauthCinderConfig | KeystoneCinderConfig;

/** The newest microversion sanboot knows (Zed's). */
export const OUR_MAX_MICROVERSION = "3.70";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

export interface CinderCall {
  method: HttpMethod;
  /** below /v3/<project>, e.g. "/attachments" */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** a call Cinder only allows to services (deleting an attachment) */
  serviceRole?: boolean;
  /** statuses handed back to the caller instead of thrown (e.g. 404 on a delete) */
  accept?: number[];
  /**
   * cinder-api hands the call to cinder-volume and waits for it (an export made or removed): it
   * queues behind the others there. The client admits it through the endpoint's limiter and
   * gives it the volume-service timeout.
   */
  volumeService?: boolean;
  /** this call's timeout instead of the configured one */
  timeoutMs?: number;
}

export interface CinderReply {
  status: number;
  body: unknown;
  /** Retry-After in ms, when the answer carried one */
  retryAfterMs?: number | null;
}

export class Microversion {
  constructor(
    readonly major: number,
    readonly minor: number,
  ) {}

  static parse(text: string): Microversion | null {
    const m = /^(\d+)\.(\d+)$/.exec(text.trim());
    return m ? new Microversion(Number(m[1]), Number(m[2])) : null;
  }

  compare(other: Microversion): number {
    return this.major !== other.major ? this.major - other.major : this.minor - other.minor;
  }

  atLeast(text: string): boolean {
    return this.compare(Microversion.parse(text)!) >= 0;
  }

  toString(): string {
    return `${this.major}.${this.minor}`;
  }
}

/** A SanbootError that still knows the HTTP status and Cinder's message, for the client's policy. */
export class CinderHttpError extends SanbootError {
  override readonly name = "CinderHttpError";
  /** how long the server asked us to wait (Retry-After), null when it did not say */
  readonly retryAfterMs: number | null;
  /** the request provably had no effect (connection refused, 429): safe to send again */
  readonly notActedOn: boolean;
  constructor(
    code: ErrorCode,
    message: string,
    readonly httpStatus: number | null,
    readonly cinderMessage: string,
    options: { retryable: boolean; cause?: unknown; retryAfterMs?: number | null; notActedOn?: boolean },
  ) {
    super(code, message, { retryable: options.retryable, cause: options.cause });
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.notActedOn = options.notActedOn ?? false;
  }
}

export interface TransportOptions {
  /** defaults to the one `config` describes */
  auth?: CinderAuth;
  /** for the token cache (Keystone) */
  clock?: Clock;
}

export class CinderTransport {
  readonly auth: CinderAuth;
  private readonly cap: Microversion | null;
  private readonly clock: Clock;
  private negotiated: { root: string; version: Promise<Microversion> } | null = null;

  constructor(
    private readonly config: CinderConfig,
    options: TransportOptions = {},
  ) {
    this.auth = options.auth ?? authFor(config, options.clock);
    this.clock = options.clock ?? systemClock;
    this.cap = config.max_microversion === undefined ? null : Microversion.parse(config.max_microversion);
    if (config.max_microversion !== undefined && !this.cap) throw new Error(`max_microversion must look like 3.44, got ${config.max_microversion}`);
  }

  /**
   * The microversion every call sends: the highest both sides know, min(ours, Cinder's, the
   * configured cap), read once per endpoint from `GET /` (which Cinder answers without a token).
   * A failed negotiation is not cached, so the next call tries again.
   */
  async microversion(): Promise<Microversion> {
    return this.versionAt((await this.auth.session()).root);
  }

  /** The Cinder endpoint calls go to (without /v3/<project>): the key of its limiter. */
  async endpoint(): Promise<string> {
    return (await this.auth.session()).root;
  }

  async call(c: CinderCall): Promise<CinderReply> {
    let reply = await this.attempt(c, await this.auth.session());
    if (reply.status === 401 && this.auth.renew(reply.sent)) {
      // a token revoked or expired early: authenticate again, once
      reply = await this.attempt(c, await this.auth.session());
    }
    if (reply.status < 400 || c.accept?.includes(reply.status)) return { status: reply.status, body: reply.body };
    if (reply.status === 401) {
      const msg = cinderMessage(reply.body);
      throw new CinderHttpError(
        "CINDER_REJECTED",
        `Cinder answered 401 to ${c.method} ${c.path} even with a fresh token${msg ? ` (${msg})` : ""}: check that sanboot's user has a role on its project and that this Cinder trusts the configured Keystone.`,
        401,
        msg,
        { retryable: false },
      );
    }
    throw translateStatus(c.method, c.path, reply);
  }

  async close(): Promise<void> {
    if (this.auth instanceof KeystoneAuth) await this.auth.close();
  }

  private async attempt(c: CinderCall, session: CinderSession): Promise<CinderReply & { sent: Record<string, string> }> {
    const version = await this.versionAt(session.root);
    const url = new URL(`${session.root}/v3/${session.projectId}${c.path}`);
    for (const [k, v] of Object.entries(c.query ?? {})) url.searchParams.set(k, v);
    const identity = { ...session.headers, ...(c.serviceRole ? await this.auth.serviceHeaders() : {}) };
    const headers: Record<string, string> = {
      ...identity,
      "OpenStack-API-Version": `volume ${version.toString()}`,
      Accept: "application/json",
    };
    if (c.body !== undefined) headers["Content-Type"] = "application/json";
    const reply = await this.send(c.method, url, headers, c.body === undefined ? undefined : JSON.stringify(c.body), c.timeoutMs);
    return { ...reply, sent: identity };
  }

  private versionAt(root: string): Promise<Microversion> {
    if (this.negotiated?.root !== root) {
      const version: Promise<Microversion> = this.negotiate(root).catch((err: unknown) => {
        if (this.negotiated?.version === version) this.negotiated = null;
        throw err;
      });
      this.negotiated = { root, version };
    }
    return this.negotiated.version;
  }

  private async negotiate(root: string): Promise<Microversion> {
    const reply = await this.send("GET", new URL(`${root}/`), { Accept: "application/json" }, undefined);
    // GET / answers 300 Multiple Choices with the version list
    if (reply.status !== 300 && reply.status !== 200) throw translateStatus("GET", "/", reply);
    const theirs = v3Version(reply.body);
    if (!theirs) {
      throw new CinderHttpError("CINDER_REJECTED", `Cinder at ${root} offers no v3 API`, reply.status, "", { retryable: false });
    }
    let best = Microversion.parse(OUR_MAX_MICROVERSION)!;
    if (theirs.compare(best) < 0) best = theirs;
    if (this.cap && this.cap.compare(best) < 0) best = this.cap;
    return best;
  }

  private async send(method: HttpMethod, url: URL, headers: Record<string, string>, body: string | undefined, timeoutMs?: number): Promise<CinderReply> {
    const t = Math.max(1, Math.round(timeoutMs ?? this.config.timeoutMs));
    try {
      const res = await httpCall(url, { method, headers, body, timeoutMs: t });
      return { status: res.status, body: parseJson(res.text), retryAfterMs: retryAfter(res.header("retry-after"), this.clock.now()) };
    } catch (err) {
      throw unreachable(method, url.pathname, err, t);
    }
  }
}

function authFor(config: CinderConfig, clock: Clock | undefined): CinderAuth {
  if (config.auth === "keystone") {
    return new KeystoneAuth({ ...config.keystone, timeoutMs: config.timeoutMs }, clock ? { clock } : {});
  }
  return new NoAuth(config);
}

function v3Version(body: unknown): Microversion | null {
  const versions = (body as { versions?: unknown } | null)?.versions;
  if (!Array.isArray(versions)) return null;
  for (const v of versions as Array<Record<string, unknown>>) {
    if (typeof v["id"] !== "string" || !v["id"].startsWith("v3")) continue;
    // an empty "version" means a v3 without microversions: 3.0
    return typeof v["version"] === "string" && v["version"] !== "" ? Microversion.parse(v["version"]) : new Microversion(3, 0);
  }
  return null;
}

/** Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now; null if absent or unreadable. */
export function retryAfter(header: string | string[] | undefined, now: Date): number | null {
  const text = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}

function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Cinder's message out of `{"<kind>": {"message": ...}}`, or the text it sent. */
export function cinderMessage(body: unknown): string {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    for (const inner of Object.values(body as Record<string, unknown>)) {
      const msg = (inner as { message?: unknown } | null)?.message;
      if (typeof msg === "string") return msg;
    }
  }
  if (typeof body === "string") return body.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300);
  return "";
}

const VOLUME_NOT_FOUND = /^Volume (\S+) could not be found\.$/;

function translateStatus(method: HttpMethod, path: string, reply: CinderReply): CinderHttpError {
  const msg = cinderMessage(reply.body);
  const what = `Cinder answered ${reply.status} to ${method} ${path}`;
  if (reply.status >= 500 || reply.status === 429) {
    return new CinderHttpError("CINDER_UNAVAILABLE", `${what}: ${msg || "no message"}`, reply.status, msg, {
      retryable: true,
      retryAfterMs: reply.retryAfterMs ?? null,
      // a rate limiter refuses before anything runs
      notActedOn: reply.status === 429,
    });
  }
  const missing = VOLUME_NOT_FOUND.exec(msg);
  if (reply.status === 404 && missing) {
    return new CinderHttpError(
      "VOLUME_NOT_FOUND",
      `Volume ${missing[1]} does not exist in Cinder: check the volume id (openstack volume show ${missing[1]}).`,
      404,
      msg,
      { retryable: false },
    );
  }
  return new CinderHttpError("CINDER_REJECTED", `${what}: ${msg || "no message"}`, reply.status, msg, { retryable: false });
}

function unreachable(method: HttpMethod, path: string, err: unknown, timeoutMs: number): CinderHttpError {
  return new CinderHttpError("CINDER_UNAVAILABLE", `Cinder did not answer ${method} ${path}: ${failureOf(err, timeoutMs)}`, null, "", {
    retryable: true,
    cause: err,
    notActedOn: errnoOf(err) === "ECONNREFUSED",
  });
}
