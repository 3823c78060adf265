/**
 * A caller of the sanboot API over HTTP, as an operator's script would be, and the lab setup
 * it needs (enrolling a node at a fresh lab system). Free of vitest, so the benchmark (run by
 * tsx, outside vitest) can use it; test/support/api.ts re-exports it for the tests.
 */
import type { SystemSnapshot } from "../../lab/redfish-emulator";
import { request } from "undici";
import { LAB_CREDENTIALS_REF, LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { CinderAdmin } from "../cinder/cinder-admin";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

export class Api {
  constructor(
    readonly url: string,
    readonly token: string | null,
  ) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const h: Record<string, string> = { ...headers };
    if (this.token) h.authorization ??= `Bearer ${this.token}`;
    let payload: string | undefined;
    if (typeof body === "string") payload = body;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) h["content-type"] ??= "application/json";
    const res = await request(`${this.url}${path}`, { method: method as "GET", headers: h, body: payload });
    const text = await res.body.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text };
  }

  get = (p: string) => this.call("GET", p);
  post = (p: string, b?: unknown, h?: Record<string, string>) => this.call("POST", p, b, h);
  patch = (p: string, b?: unknown) => this.call("PATCH", p, b);
  delete = (p: string) => this.call("DELETE", p);

  /** polls a boot request until it reaches one of `states` */
  async waitFor(requestId: string, states: string[], timeoutMs = 20_000): Promise<any> {
    const until = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < until) {
      last = (await this.get(`/v1/boot-requests/${requestId}`)).body;
      if (states.includes(last?.state)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`request ${requestId} did not reach ${states.join("/")}; last: ${JSON.stringify(last)}`);
  }
}

export function apiFor(stack: LocalStack): Api {
  return new Api(stack.service.url, stack.apiToken);
}

/** Waits until the service has heard from a relay of the site (a boot before that is refused SITE_RELAY_OFFLINE). */
export async function waitForRelay(stack: LocalStack, site: string, relayId?: string, timeoutMs = 30_000): Promise<void> {
  const admin = new Api(stack.service.url, stack.adminToken);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await admin.get(`/v1/sites/${site}`);
    if (r.status === 200 && r.body.relays.some((x: { relay_id: string; online: boolean }) => x.online && (relayId === undefined || x.relay_id === relayId))) return;
    if (Date.now() > until) throw new Error(`no relay ${relayId ?? ""} of site ${site} was heard from: ${r.status} ${r.text}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export function cinderAdmin(stack: LocalStack): CinderAdmin {
  return new CinderAdmin(stack.cinder.url, stack.project);
}

let mac = 0x10;
/** Enrolls a node at a fresh lab system; `found` is that system as it was before sanboot touched it. */
export async function enrollLabNode(
  stack: LocalStack,
  api: Api,
  extra: Record<string, unknown> = {},
): Promise<{ nodeId: string; systemId: string; mac: string; found: SystemSnapshot }> {
  const systemId = `sys-${Math.random().toString(36).slice(2, 10)}`;
  const m = `02:00:5e:00:${(mac >> 8).toString(16).padStart(2, "0")}:${(mac++ & 0xff).toString(16).padStart(2, "0")}`;
  const found = stack.bmc.addSystem({ id: systemId, mac: m, powerState: "Off" });
  const res = await api.post("/v1/nodes", {
    name: systemId,
    site: LAB_SITE,
    bmc: { driver: "redfish", address: stack.bmc.url, system_id: systemId, credentials_ref: LAB_CREDENTIALS_REF },
    boot_mode: "uefi",
    mac_address: m,
    ...extra,
  });
  if (res.status !== 201) throw new Error(`enroll failed: ${res.status} ${res.text}`);
  return { nodeId: res.body.node_id, systemId, mac: m, found };
}
