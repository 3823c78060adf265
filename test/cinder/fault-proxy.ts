/**
 * A fault-injecting HTTP proxy in front of a real Cinder, so the contract suite's failure cases
 * (a 500, a dropped connection, and above all a LOST ANSWER: Cinder did the work, the client
 * never heard) run against the real thing too, not only against the emulator. It answers the
 * emulator's `POST/GET/DELETE /_lab/faults` with the same rules (lab/cinder-emulator/fault-switch.ts)
 * and forwards everything else untouched.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { CinderFault, faults } from "../../lab/cinder-emulator/cinder-fault";
import { FaultSwitch, invalidRule, type FaultRule } from "../../lab/cinder-emulator/fault-switch";
import { readBody } from "../../lab/http-server";

export interface FaultProxy {
  url: string;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive"]);

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const faultSwitch = new FaultSwitch();
  const server = createServer((req, res) => {
    void serve(req, res).catch(() => res.destroy());
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readBody(req)).toString("utf8");
    const url = new URL(req.url ?? "/", "http://proxy");
    const method = req.method ?? "GET";
    if (url.pathname === "/_lab/faults") return lab(method, body, res);

    const rule = faultSwitch.take(method, url.pathname, body);
    const failing = rule !== null && (rule.drop === true || rule.status !== undefined || rule.delay_ms === undefined);
    if (rule?.delay_ms) await sleep(rule.delay_ms);
    if (failing && !rule.after_effect) return fail(req, res, rule);

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const answer = await request(`${upstream}${req.url ?? "/"}`, {
      method: method as "GET",
      headers,
      body: body === "" ? undefined : body,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const text = await answer.body.text();
    if (failing) return fail(req, res, rule); // Cinder did it; the answer is lost
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
    res.writeHead(answer.statusCode, { ...out, "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  function lab(method: string, body: string, res: ServerResponse): void {
    if (method === "DELETE") {
      faultSwitch.clear();
      return json(res, 204, undefined);
    }
    if (method === "GET") return json(res, 200, { faults: faultSwitch.list() });
    let raw: unknown;
    try {
      raw = (JSON.parse(body) as { fail_next?: unknown }).fail_next;
    } catch {
      return json(res, 400, { error: "body must be JSON" });
    }
    const rules = Array.isArray(raw) ? raw : [raw];
    const problem = rules.map(invalidRule).find((p) => p !== null);
    if (problem) return json(res, 400, { error: `fail_next: ${problem}` });
    for (const r of rules) faultSwitch.arm(r as FaultRule);
    json(res, 200, { armed: rules.length });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function fail(req: IncomingMessage, res: ServerResponse, rule: FaultRule): void {
  if (rule.drop) {
    req.socket.destroy();
    return;
  }
  const status = rule.status ?? 500;
  const fault = status >= 500 ? new CinderFault(status, faults.internal().message) : new CinderFault(status, "Fault injected by the proxy.");
  const headers: Record<string, string> = rule.retry_after !== undefined ? { "Retry-After": String(rule.retry_after) } : {};
  json(res, status, fault.body(), headers);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { ...headers, ...(text ? { "Content-Type": "application/json" } : {}), "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

