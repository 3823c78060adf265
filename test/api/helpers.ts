/** Shared pieces of the API contract suites: the error-shape check, state snapshots, callers. */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { LAB_CREDENTIALS_REF, LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { sha256Hex } from "../../lib/ids";
import { Api, type Reply } from "../support/api";

/** RFC 3720 §3.2.6.3.1 "iqn." form: iqn.<yyyy-mm>.<reversed domain>[:<unique name>], at most 223 bytes. */
export const RFC3720_IQN = /^(?=.{1,223}$)iqn\.\d{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]+)?$/;

/** A well-formed UUID that names nothing. */
export const UNKNOWN_ID = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";

/** Asserts the one error shape: {"error": {"code", "message", "details": [{field, message}]}}, naming `field` when given. */
export function expectError(reply: Reply, status: number, code: string, field?: string): void {
  expect(reply.status, reply.text).toBe(status);
  expect(String(reply.headers["content-type"])).toMatch(/^application\/json/);
  expect(Object.keys(reply.body)).toEqual(["error"]);
  expect(reply.body.error).toEqual({ code, message: expect.any(String), details: expect.any(Array) });
  expect(reply.body.error.message).not.toBe("");
  for (const d of reply.body.error.details) expect(d).toEqual({ field: expect.any(String), message: expect.any(String) });
  if (field !== undefined) expect(reply.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
}

/** Every item of a paginated list, following next_cursor. */
export async function listAll(api: Api, path: string, key: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const r = await api.get(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    expect(r.status, r.text).toBe(200);
    items.push(...r.body[key]);
    cursor = r.body.next_cursor;
    if (!cursor) return items;
  }
  throw new Error(`${path} kept answering a next_cursor`);
}

/** What a caller can see: its nodes and its boot requests, in full. */
export async function visibleState(api: Api): Promise<{ nodes: any[]; requests: any[] }> {
  return { nodes: await listAll(api, "/v1/nodes", "nodes"), requests: await listAll(api, "/v1/boot-requests", "boot_requests") };
}

/** SANBOOT_API_TOKENS for the given callers (the env override replaces local-stack's own token). */
export function apiTokensEnv(callers: Array<{ token: string; project_id: string; role?: "member" | "admin" }>): Record<string, string> {
  return {
    SANBOOT_API_TOKENS: JSON.stringify(Object.fromEntries(callers.map((c) => [sha256Hex(c.token), { project_id: c.project_id, role: c.role ?? "member" }]))),
  };
}

export const newToken = (label: string): string => `${label}-${randomBytes(12).toString("hex")}`;

/** A valid enrollment body for a system of the lab BMC (the system need not exist). */
export function enrollBody(stack: LocalStack, systemId = "sys-contract"): Record<string, any> {
  return {
    name: systemId,
    site: LAB_SITE,
    bmc: { driver: "redfish", address: stack.bmc.url, system_id: systemId, credentials_ref: LAB_CREDENTIALS_REF },
    boot_mode: "uefi",
    mac_address: "02:00:5e:00:aa:01",
  };
}

/** An Api that keeps the raw text of every answer it received. */
export class RecordingApi extends Api {
  readonly answers: string[] = [];
  override async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const r = await super.call(method, path, body, headers);
    this.answers.push(r.text);
    return r;
  }
}

const RESTING = ["active", "failed", "detached"];

/** Waits until every boot request the caller sees rests (active, failed or detached), so later snapshots compare only what a test did. */
export async function settle(api: Api, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const moving = (await listAll(api, "/v1/boot-requests", "boot_requests")).filter((r) => !RESTING.includes(r.state));
    if (moving.length === 0) return;
    if (Date.now() > until) throw new Error(`boot requests still moving: ${moving.map((r) => `${r.request_id}=${r.state}`).join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
