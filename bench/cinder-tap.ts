/**
 * A recording proxy in front of a real Cinder, so the benchmark sees what Cinder sees: every
 * request the service sends, by kind and answer, and, per volume, the requests that arrived
 * while an attachment create for that volume was still running in Cinder (a "race": the
 * lookup or second create of a client that gave up on the first one, which Cinder has not
 * finished). The proxy keeps waiting for Cinder when the client hangs up, so a create that
 * the client abandoned still counts as running until Cinder answers it; those abandoned calls
 * are counted too. Bodies are small JSON and are buffered whole. Nothing here changes a
 * request or an answer.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { routeOf, type Tally } from "./wire-tally";

export interface TapCounts {
  requests: number;
  /** by kind ("POST /v3/{id}/attachments"), and by answer class ("5xx", "no answer") */
  kinds: Tally;
  answers: Tally;
  /** requests about a volume that arrived while a create for it was still running in Cinder, by kind */
  races: Tally;
  /** calls whose client hung up before Cinder answered (its timeout), by kind */
  abandoned: Tally;
  /** per volume: attachment creates, and lookups (GET attachments?volume_id=) */
  creates: number;
  lookups: number;
  volumesWithSeveralCreates: number;
}

const ATTACHMENTS = /^\/v3\/[^/]+\/attachments(\/detail)?$/;
const ATTACHMENT = /^\/v3\/[^/]+\/attachments\/([^/?]+)/;
const VOLUME = /^\/v3\/[^/]+\/volumes\/([0-9a-f-]{36})/i;

export class CinderTap {
  private server: Server | null = null;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly upstream: URL;
  /** attachment creates Cinder is working on, by volume */
  private readonly running = new Map<string, number>();
  /** attachment id → volume, learnt from Cinder's answers */
  private readonly attachmentVolume = new Map<string, string>();
  private counts = emptyCounts();
  private total = 0;
  private createsPerVolume = new Map<string, number>();
  private lookupsPerVolume = new Map<string, number>();

  constructor(upstreamUrl: string) {
    this.upstream = new URL(upstreamUrl);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    return `http://127.0.0.1:${this.port}${this.upstream.pathname.replace(/\/+$/, "")}`;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  /** the counts since the last take; counting goes on */
  take(): TapCounts {
    const c = this.counts;
    c.creates = sum(this.createsPerVolume);
    c.lookups = sum(this.lookupsPerVolume);
    c.volumesWithSeveralCreates = [...this.createsPerVolume.values()].filter((n) => n > 1).length;
    this.counts = emptyCounts();
    this.createsPerVolume = new Map();
    this.lookupsPerVolume = new Map();
    return c;
  }

  /** every request since the start, for the phase's counters */
  get requestsTotal(): number {
    return this.total;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.agent.destroy();
  }

  private async forward(req: IncomingMessage, res: import("node:http").ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const body = await readAll(req);
    const kind = routeOf(method, url);
    const c = this.counts;
    c.requests++;
    this.total++;
    bump(c.kinds, kind);

    const path = url.split("?")[0]!;
    const isCreate = method === "POST" && ATTACHMENTS.test(path);
    const volumeId = this.volumeOf(method, url, body);
    if (volumeId && (this.running.get(volumeId) ?? 0) > 0) bump(c.races, kind);
    if (volumeId && isCreate) bump(this.createsPerVolume, volumeId);
    if (volumeId && method === "GET" && ATTACHMENTS.test(path)) bump(this.lookupsPerVolume, volumeId);
    const runningFor = isCreate ? volumeId : null;
    if (runningFor) bump(this.running, runningFor);

    let clientGone = false;
    res.on("close", () => {
      if (!res.writableFinished) clientGone = true;
    });
    try {
      const answer = await this.send(method, url, req.headers, body);
      this.learn(answer.body);
      bump(c.answers, `${Math.floor(answer.status / 100)}xx`);
      if (clientGone) bump(c.abandoned, kind);
      else {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      }
    } catch (err) {
      bump(c.answers, "no answer");
      if (!clientGone) res.destroy(err as Error);
    } finally {
      if (runningFor) this.running.set(runningFor, this.running.get(runningFor)! - 1);
    }
  }

  private send(method: string, url: string, headers: IncomingMessage["headers"], body: Buffer) {
    const { host: _host, connection: _connection, ...rest } = headers;
    return new Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer }>((resolve, reject) => {
      const up = httpRequest(
        {
          host: this.upstream.hostname,
          port: this.upstream.port || 80,
          method,
          path: url,
          headers: { ...rest, host: this.upstream.host, "content-length": String(body.length) },
          agent: this.agent,
        },
        (r) => {
          readAll(r).then((b) => {
            const { connection: _c, "transfer-encoding": _t, ...h } = r.headers;
            resolve({ status: r.statusCode ?? 502, headers: { ...h, "content-length": String(b.length) }, body: b });
          }, reject);
        },
      );
      up.on("error", reject);
      up.end(body);
    });
  }

  private volumeOf(method: string, url: string, body: Buffer): string | null {
    const [path, query] = url.split("?") as [string, string | undefined];
    const v = VOLUME.exec(path);
    if (v) return v[1]!;
    if (ATTACHMENTS.test(path)) {
      if (method === "POST") return (json(body) as { attachment?: { volume_uuid?: string } } | null)?.attachment?.volume_uuid ?? null;
      return new URLSearchParams(query ?? "").get("volume_id");
    }
    const a = ATTACHMENT.exec(path);
    return a ? (this.attachmentVolume.get(a[1]!) ?? null) : null;
  }

  /** remembers which volume each attachment in an answer belongs to */
  private learn(body: Buffer): void {
    const b = json(body) as { attachment?: Att; attachments?: Att[] } | null;
    for (const a of [b?.attachment, ...(b?.attachments ?? [])]) if (a?.id && a.volume_id) this.attachmentVolume.set(a.id, a.volume_id);
  }
}

type Att = { id?: string; volume_id?: string };

function emptyCounts(): TapCounts {
  return { requests: 0, kinds: {}, answers: {}, races: {}, abandoned: {}, creates: 0, lookups: 0, volumesWithSeveralCreates: 0 };
}

function bump<K>(m: Map<K, number> | Record<string, number>, k: K & string): void {
  if (m instanceof Map) m.set(k, (m.get(k) ?? 0) + 1);
  else m[k] = (m[k] ?? 0) + 1;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

function json(b: Buffer): unknown {
  try {
    return b.length ? JSON.parse(b.toString("utf8")) : null;
  } catch {
    return null;
  }
}

function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => resolve(Buffer.concat(chunks)));
    s.on("error", reject);
  });
}
