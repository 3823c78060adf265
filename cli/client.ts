/**
 * The CLI's HTTP client for the public API: bearer token, JSON, and the API's error shape turned
 * into an ApiError carrying its stable code, message and field details.
 */
import { request } from "undici";
import type { Target } from "./config";

export interface ApiReply {
  status: number;
  body: any;
  headers: Record<string, string>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Array<{ field?: string; message: string }> = [],
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(private readonly target: Target) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiReply> {
    let res;
    try {
      res = await request(`${this.target.url}${path}`, {
        method: method as "GET",
        headers: { authorization: `Bearer ${this.target.token}`, accept: "application/json", ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
    } catch (err) {
      throw new ApiError(0, "UNREACHABLE", `cannot reach ${this.target.url}: ${(err as Error).message}`);
    }
    const text = await res.body.text();
    let parsed: any = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    const flat = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v ?? "")]));
    if (res.statusCode >= 400) {
      const e = parsed?.error;
      if (e && typeof e.code === "string") throw new ApiError(res.statusCode, e.code, String(e.message ?? ""), Array.isArray(e.details) ? e.details : []);
      throw new ApiError(res.statusCode, `HTTP_${res.statusCode}`, text.slice(0, 200) || `HTTP ${res.statusCode}`);
    }
    return { status: res.statusCode, body: parsed, headers: flat };
  }

  get = (path: string) => this.call("GET", path);
}

/** Every item of a listing, page after page; with `limit`, its first page of that many only. */
export async function allPages(client: ApiClient, path: string, key: string, limit: string | undefined): Promise<unknown[]> {
  const sep = path.includes("?") ? "&" : "?";
  if (limit) return (await client.get(`${path}${sep}limit=${encodeURIComponent(limit)}`)).body[key];
  const out: unknown[] = [];
  let cursor: string | undefined;
  do {
    const page = (await client.get(`${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)).body;
    out.push(...page[key]);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return out;
}
