/**
 * Thin HTTP client for the service's relay endpoints (see lib/relay/protocol.ts): transport and
 * error translation only, no retry policy (the agent decides when to try again).
 *
 *   POST {service}/v1/relay/lease                        leaseRequest     → 200 leaseResponse | 204
 *   POST {service}/v1/relay/commands/{id}/heartbeat      heartbeatRequest → 200 {lease_expires_at} | 409 LEASE_LOST
 *   POST {service}/v1/relay/commands/{id}/result         resultRequest    → 200 | 409 LEASE_LOST
 *
 * Every call carries `Authorization: Bearer <site token>`. Failures become ServiceCallError with
 * the service's own error code when it sent one (`{"error":{"code","message"}}`).
 */
import { Agent, request, type Dispatcher } from "undici";
import { z } from "zod";
import {
  leasedCommand,
  whoamiResponse,
  type HeartbeatRequest,
  type LeaseRequest,
  type LeasedCommand,
  type ResultRequest,
} from "../lib/relay/protocol";

/**
 * Why a call to the service failed. Relay-internal (it never leaves the agent), so it carries the
 * service's code as a string rather than a lib/errors ErrorCode: the network failures below have
 * no code in that taxonomy.
 */
export class ServiceCallError extends Error {
  override readonly name = "ServiceCallError";
  constructor(
    /** the service's error code, or SERVICE_UNREACHABLE / SERVICE_BAD_RESPONSE */
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get leaseLost(): boolean {
    return this.code === "LEASE_LOST";
  }
}

/** A command the service leased that this relay cannot parse: reported back as a failure. */
export interface UnparseableCommand {
  command_id: string;
  lease_token: string;
  problem: string;
}

export interface LeaseResult {
  commands: LeasedCommand[];
  unparseable: UnparseableCommand[];
}

export interface ServiceClientOptions {
  serviceUrl: string;
  token: string;
  /** Timeout for heartbeat and result calls; a lease call gets its wait on top. */
  requestTimeoutMs?: number;
  dispatcher?: Dispatcher;
  /** sent with each heartbeat: a relay busy with held commands is still heard from */
  relayId?: string;
}

const serviceErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string().optional() }),
});

const heartbeatResponse = z.object({ lease_expires_at: z.string() });

// Parsed loosely first, then command by command, so one command of a type this relay does not
// know (a newer service) fails alone instead of the whole lease.
const leaseEnvelope = z.object({ commands: z.array(z.unknown()) });
const commandIdentity = z.object({ command_id: z.string(), lease_token: z.string() });

export class ServiceClient {
  private readonly base: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly relayId: string | undefined;

  constructor(options: ServiceClientOptions) {
    this.relayId = options.relayId;
    this.base = options.serviceUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.timeoutMs = options.requestTimeoutMs ?? 15_000;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  }

  /** Long-polls for commands; an empty list when there were none within the wait. */
  async lease(req: LeaseRequest, signal?: AbortSignal): Promise<LeaseResult> {
    const timeout = this.timeoutMs + req.wait_seconds * 1000;
    const { status, json } = await this.post("/v1/relay/lease", req, timeout, signal);
    if (status === 204 || json === undefined) return { commands: [], unparseable: [] };
    const envelope = leaseEnvelope.safeParse(json);
    if (!envelope.success) {
      throw new ServiceCallError("SERVICE_BAD_RESPONSE", "lease response does not match the protocol", true, status);
    }
    const out: LeaseResult = { commands: [], unparseable: [] };
    for (const item of envelope.data.commands) {
      const parsed = leasedCommand.safeParse(item);
      if (parsed.success) {
        out.commands.push(parsed.data);
        continue;
      }
      const id = commandIdentity.safeParse(item);
      if (id.success) {
        // Paths and issue codes only: a zod message could quote a value from the body.
        const problem = parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.map(String).join(".")}: ${i.code}`)
          .join("; ");
        out.unparseable.push({ ...id.data, problem });
      }
    }
    return out;
  }

  /** Extends the lease; throws ServiceCallError LEASE_LOST when another relay holds it now. */
  async heartbeat(commandId: string, req: HeartbeatRequest): Promise<{ lease_expires_at: string }> {
    const body = this.relayId && !req.relay_id ? { ...req, relay_id: this.relayId } : req;
    const { json, status } = await this.post(`/v1/relay/commands/${encodeURIComponent(commandId)}/heartbeat`, body, this.timeoutMs);
    const parsed = heartbeatResponse.safeParse(json);
    if (!parsed.success) {
      throw new ServiceCallError("SERVICE_BAD_RESPONSE", "heartbeat response has no lease_expires_at", true, status);
    }
    return parsed.data;
  }

  /** Reports the outcome; throws ServiceCallError LEASE_LOST when another relay holds it now. */
  async reportResult(commandId: string, req: ResultRequest): Promise<void> {
    await this.post(`/v1/relay/commands/${encodeURIComponent(commandId)}/result`, req, this.timeoutMs);
  }

  /** Hands a leased command back unstarted, so another relay can take it at once. */
  async release(commandId: string, req: HeartbeatRequest): Promise<void> {
    await this.post(`/v1/relay/commands/${encodeURIComponent(commandId)}/release`, req, this.timeoutMs);
  }

  /** The site the service says this token belongs to. */
  async whoami(): Promise<string> {
    const { json, status } = await this.call("GET", "/v1/relay/whoami", undefined, this.timeoutMs);
    const parsed = whoamiResponse.safeParse(json);
    if (!parsed.success) throw new ServiceCallError("SERVICE_BAD_RESPONSE", "whoami response has no site", true, status);
    return parsed.data.site;
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private post(path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<{ status: number; json: unknown }> {
    return this.call("POST", path, body, timeoutMs, signal);
  }

  private async call(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ status: number; json: unknown }> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.base}${path}`, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          accept: "application/json",
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      const why = (err as { code?: string }).code ?? (err as Error).name;
      throw new ServiceCallError("SERVICE_UNREACHABLE", `service unreachable (${why})`, true, undefined, { cause: err });
    }

    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw new ServiceCallError("SERVICE_UNREACHABLE", "service connection broke while reading the answer", true, res.statusCode, {
        cause: err,
      });
    }
    let json: unknown;
    if (text.trim() !== "") {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
        if (res.statusCode < 300) {
          throw new ServiceCallError("SERVICE_BAD_RESPONSE", `service answered ${res.statusCode} with a body that is not JSON`, true, res.statusCode);
        }
      }
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, json };

    const err = serviceErrorBody.safeParse(json);
    const code = err.success ? err.data.error.code : `HTTP_${res.statusCode}`;
    const message = err.success ? (err.data.error.message ?? code) : `service answered ${res.statusCode}`;
    // 5xx, throttling and timeouts clear on their own; 4xx (bad token, LEASE_LOST, bad body) do not.
    const retryable = res.statusCode >= 500 || res.statusCode === 429 || res.statusCode === 408;
    throw new ServiceCallError(code, message, retryable, res.statusCode);
  }
}
