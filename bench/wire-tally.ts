/**
 * Counts what crosses the wire inside the one process, by kind, without touching any part of
 * the stack: Node's `http.server.request.start` diagnostics channel reports every request each
 * server of the process receives. Table requests are told apart by their X-Amz-Target (GetItem,
 * UpdateItem, Query...), the others by method and path with ids folded to {id}. This is how the
 * report says where the table requests of a workflow come from (relay long-poll, heartbeats,
 * transitions) rather than only how many there are.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

export type System = "dynamodb" | "service" | "cinder" | "bmc";
export type Tally = Record<string, number>;

const CHANNEL = "http.server.request.start";
/** path segments that are followed by an id */
const COLLECTIONS = new Set(["v3", "Systems", "Chassis", "Managers", "NetworkAdapters", "NetworkDeviceFunctions", "Sessions", "volumes", "attachments", "nodes", "boot-requests", "commands", "types"]);
const ID_LIKE = /^([0-9a-f-]{16,}|[0-9a-f]{8}-[0-9a-f-]+(\.[a-z_]+\.\d+)?)$/i;

export function routeOf(method: string, url: string): string {
  const segments = (url.split("?")[0] ?? "").split("/");
  const folded = segments.map((s, i) => (i > 0 && COLLECTIONS.has(segments[i - 1]!) && s !== "" && s !== "detail") || ID_LIKE.test(s) ? "{id}" : s);
  return `${method} ${folded.join("/")}`;
}

export class WireTally {
  private readonly ports: Map<number, System>;
  private counts: Tally = {};
  private readonly onRequest = (message: unknown) => {
    const { request, server } = message as { request: IncomingMessage; server: Server };
    const port = (server.address() as AddressInfo | null)?.port;
    const system = port === undefined ? undefined : this.ports.get(port);
    if (!system) return;
    const target = request.headers["x-amz-target"];
    const kind = system === "dynamodb" && typeof target === "string" ? target.slice(target.indexOf(".") + 1) : routeOf(request.method ?? "GET", request.url ?? "/");
    const key = `${system} ${kind}`;
    this.counts[key] = (this.counts[key] ?? 0) + 1;
  };

  constructor(ports: Record<System, number>) {
    this.ports = new Map(Object.entries(ports).map(([s, p]) => [p, s as System]));
    subscribe(CHANNEL, this.onRequest);
  }

  /** the counts so far; the tally keeps counting */
  snapshot(): Tally {
    return { ...this.counts };
  }

  close(): void {
    unsubscribe(CHANNEL, this.onRequest);
  }
}

export function tallyDelta(before: Tally, after: Tally): Tally {
  const out: Tally = {};
  for (const [k, n] of Object.entries(after)) if (n - (before[k] ?? 0) > 0) out[k] = n - (before[k] ?? 0);
  return out;
}

/** the kinds of one system, most frequent first, each divided by `per` */
export function breakdown(t: Tally, system: System, per: number): Array<[string, number]> {
  return Object.entries(t)
    .filter(([k]) => k.startsWith(`${system} `))
    .map(([k, n]): [string, number] => [k.slice(system.length + 1), n / per])
    .sort((a, b) => b[1] - a[1]);
}
