/**
 * The lab Cinder v3 emulator's HTTP server. Speaks the wire a real Cinder (Zed, noauth, LVM +
 * tgt) speaks, so sanboot's real Cinder client is what the tests exercise. Apart from the API it
 * answers the lab's own endpoints under `/_lab/`:
 *
 *   POST   /_lab/faults  {"fail_next": rule | [rules]}   arm one-shot faults (see fault-switch.ts;
 *                                                        `retry_after` adds a Retry-After header)
 *   GET    /_lab/faults                                  the armed rules
 *   DELETE /_lab/faults                                  disarm all
 *   GET    /_lab/stats                                   {"requests", "faults_fired"}
 *
 * With `queueing` it queues as a real Cinder does under load (queueing.ts): a few API workers,
 * exports one at a time in cinder-volume, cinder-api's 500 after rpc_response_timeout while the
 * export still happens later.
 * With `keystoneUrl` it validates tokens with that Keystone instead of noauth (keystone-check.ts).
 * With `dataPlane` the iSCSI volumes are real block devices: sparse files exported by a real
 * iSCSI target while Cinder would export them (data-plane.ts).
 * Everything is in memory (and the data plane's files) and lives as long as the server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { CinderApi, type ApiResponse } from "./api-routes";
import { CinderFault, faults as cinderFaults } from "./cinder-fault";
import { FaultSwitch, invalidRule, type FaultRule } from "./fault-switch";
import { KeystoneCheck } from "./keystone-check";
import { MAX_VERSION, parseVersion, compare, MIN_VERSION } from "./microversion";
import { DataPlane, type DataPlaneOptions, type VolumeExport } from "./data-plane";
import { CinderStore, DEFAULT_TYPE, type BackendSpec, type Caller } from "./store";
import { VolumeService, WorkerPool, type QueueingOptions } from "./queueing";
import { listen, readBody } from "../http-server";

export type { FaultRule } from "./fault-switch";
export type { QueueingOptions } from "./queueing";
export type { BackendSpec } from "./store";
export type { DataPlaneOptions, VolumeExport } from "./data-plane";

export interface CinderEmulatorOptions {
  /** 0 (the default) picks a free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** added to every API answer */
  latencyMs?: number;
  /** how long a new volume stays `creating` (default 200 ms; a real one takes ~2 s) */
  createDelayMs?: number;
  /** how long a deleted volume stays `deleting` (default: createDelayMs) */
  deleteDelayMs?: number;
  /** highest microversion to offer, e.g. "3.26" (default "3.70", Zed's) */
  maxVersion?: string;
  /** iSCSI portals "ip:port"; the first is `target_portal` (default ["127.0.0.1:3260"]) */
  portals?: string[];
  /** the volume service's host: volumes show "<serviceHost>@lvm#lvm" (default "cinder-emulator"; the lab's real one is "cinder-lab") */
  serviceHost?: string;
  /**
   * A second backend, Fibre Channel: volumes of `volumeType` (default "fc") land on it and
   * export as `fibre_channel` to the array's `targetWwpns` (`target_wwn` a string for one port,
   * a list for more, as drivers send it); its pool reports storage_protocol "FC". The LVM/iSCSI
   * backend keeps `__DEFAULT__`.
   */
  fcBackend?: { targetWwpns: string[]; volumeType?: string; name?: string };
  /** Any set of backends instead (overrides `portals` and `fcBackend`); see store.ts BackendSpec. */
  backends?: BackendSpec[];
  /** faults armed from the start */
  faults?: FaultRule[];
  /** queue as a real Cinder does under load (off by default; see queueing.ts) */
  queueing?: QueueingOptions;
  /**
   * A Keystone (e.g. the lab's keystone emulator) to validate X-Auth-Token and X-Service-Token
   * with, instead of noauth: 401 for a missing, invalid or expired token; the service role (for
   * deleting attachments) from the service token's roles, never from X-Service-Roles.
   */
  keystoneUrl?: string;
  /**
   * Real volumes (off by default): each iSCSI volume a sparse file in `dir`, exported by a real
   * iSCSI target (lab/iscsi-target) from the attach until the detach, with the CHAP credentials
   * connection_info carries; `target_portal` is that target's "127.0.0.1:<port>" (it replaces
   * `portals` for the LVM backend).
   */
  dataPlane?: DataPlaneOptions;
}

export interface CinderEmulator {
  /** e.g. http://127.0.0.1:41234 (the Cinder endpoint, without /v3) */
  url: string;
  port: number;
  close(): Promise<void>;
  /** API requests answered (the /_lab/ endpoints are not counted); with queueing, the volume service's RPCs */
  stats(): { requests: number; faultsFired: number; volumeService: { done: number; deepest: number } | null };
  /** arm a one-shot fault, as POST /_lab/faults does */
  failNext(rule: FaultRule): void;
  clearFaults(): void;
  /** the data plane's iSCSI portal "ip:port", null without a data plane */
  iscsiPortal: string | null;
  /** what the data plane exports now ([] without one): a test's "no export left" */
  exports(): VolumeExport[];
  /** a volume's backing file (it exists while the volume does), null without a data plane */
  volumeFile(volumeId: string): string | null;
}

export async function startCinderEmulator(opts: CinderEmulatorOptions = {}): Promise<CinderEmulator> {
  const maxVersion = opts.maxVersion ? parseVersion(opts.maxVersion) : MAX_VERSION;
  if (!maxVersion || compare(maxVersion, MIN_VERSION) < 0 || compare(maxVersion, MAX_VERSION) > 0) {
    throw new Error(`maxVersion must be between 3.0 and 3.70, got ${opts.maxVersion}`);
  }
  const portals = opts.portals ?? ["127.0.0.1:3260"];
  if (portals.length === 0) throw new Error("portals must name at least one ip:port");
  const backends: BackendSpec[] = opts.backends ?? [
    { name: "lvm", protocol: "iSCSI", volumeTypes: [DEFAULT_TYPE], portals },
    ...(opts.fcBackend ? [fcBackendSpec(opts.fcBackend)] : []),
  ];
  const createDelayMs = opts.createDelayMs ?? 200;
  const serviceHost = opts.serviceHost ?? "cinder-emulator";
  const dataPlane = opts.dataPlane ? await DataPlane.start(opts.dataPlane) : null;
  const store = new CinderStore({
    createDelayMs,
    deleteDelayMs: opts.deleteDelayMs ?? createDelayMs,
    host: serviceHost,
    backends,
    ...(dataPlane ? { dataPlane } : {}),
  });
  const volumeService = opts.queueing ? new VolumeService(opts.queueing) : null;
  const apiWorkers = opts.queueing?.apiWorkers ? new WorkerPool(opts.queueing.apiWorkers) : null;
  const api = new CinderApi(store, maxVersion, serviceHost, volumeService);
  const faultSwitch = new FaultSwitch();
  const keystone = opts.keystoneUrl ? new KeystoneCheck(opts.keystoneUrl) : null;
  for (const rule of opts.faults ?? []) faultSwitch.arm(rule);
  let requests = 0;

  const server = createServer((req, res) => {
    void serve(req, res).catch(() => {
      if (!res.headersSent) send(res, { status: 500, body: cinderFaults.internal().body(), headers: {} });
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bodyText = (await readBody(req)).toString("utf8");
    const url = new URL(req.url ?? "/", "http://emulator");
    const method = req.method ?? "GET";
    if (url.pathname.startsWith("/_lab/")) return send(res, lab(method, url.pathname, bodyText));

    requests += 1;
    const rule = faultSwitch.take(method, url.pathname, bodyText);
    const failing = rule !== null && (rule.drop === true || rule.status !== undefined || rule.delay_ms === undefined);
    const delay = (opts.latencyMs ?? 0) + (rule?.delay_ms ?? 0);
    if (delay > 0) await sleep(delay);
    if (failing && !rule.after_effect) return fail(req, res, rule);

    const headers = flatHeaders(req);
    let caller: Caller | undefined;
    // the version documents (GET /, GET /v3/) stay public, as in Cinder's paste pipeline
    if (keystone && url.pathname.startsWith("/v3/") && url.pathname !== "/v3/") {
      const who = await keystone.caller(headers);
      if ("status" in who) return send(res, who);
      caller = who;
    }
    // a worker serves it when one is free, whether its client still waits or not (uwsgi does not look)
    const release = apiWorkers ? await apiWorkers.admit() : () => undefined;
    let answer: ApiResponse;
    try {
      answer = await api.handle({
        method,
        path: url.pathname,
        query: url.searchParams,
        headers,
        bodyText,
        baseUrl: `http://${req.headers.host ?? "127.0.0.1"}`,
        ...(caller ? { caller } : {}),
      });
    } finally {
      release();
    }
    if (failing) return fail(req, res, rule); // the effect happened; the answer is lost
    send(res, answer);
  }

  function lab(method: string, path: string, bodyText: string): ApiResponse {
    if (path === "/_lab/stats" && method === "GET") {
      return { status: 200, body: { requests, faults_fired: faultSwitch.fired }, headers: {} };
    }
    if (path === "/_lab/faults") {
      if (method === "GET") return { status: 200, body: { faults: faultSwitch.list() }, headers: {} };
      if (method === "DELETE") {
        faultSwitch.clear();
        return { status: 204, headers: {} };
      }
      if (method === "POST") {
        let parsed: unknown;
        try {
          parsed = JSON.parse(bodyText);
        } catch {
          return labError("body must be JSON");
        }
        const raw = (parsed as { fail_next?: unknown } | null)?.fail_next;
        const rules = Array.isArray(raw) ? raw : [raw];
        for (const r of rules) {
          const problem = invalidRule(r);
          if (problem) return labError(`fail_next: ${problem}`);
        }
        for (const r of rules) faultSwitch.arm(r as FaultRule);
        return { status: 200, body: { armed: rules.length }, headers: {} };
      }
    }
    return { status: 404, body: { error: `no lab endpoint ${method} ${path}` }, headers: {} };
  }

  let listening: { port: number; urlHost: string };
  try {
    listening = await listen(server, opts.port, opts.host);
  } catch (err) {
    await dataPlane?.close();
    throw err;
  }
  const { port, urlHost } = listening;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    stats: () => ({ requests, faultsFired: faultSwitch.fired, volumeService: volumeService ? { done: volumeService.done, deepest: volumeService.deepest } : null }),
    failNext: (rule) => {
      const problem = invalidRule(rule);
      if (problem) throw new Error(problem);
      faultSwitch.arm(rule);
    },
    clearFaults: () => faultSwitch.clear(),
    iscsiPortal: dataPlane?.portal ?? null,
    exports: () => dataPlane?.exports() ?? [],
    volumeFile: (volumeId) => dataPlane?.fileOf(volumeId) ?? null,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        store.close();
        volumeService?.close();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      await dataPlane?.close();
    },
  };
}

function fcBackendSpec(fc: NonNullable<CinderEmulatorOptions["fcBackend"]>): BackendSpec {
  const wwpns = fc.targetWwpns.map((w) => w.replace(/:/g, "").toLowerCase());
  if (wwpns.length === 0 || wwpns.some((w) => !/^[0-9a-f]{16}$/.test(w))) {
    throw new Error(`fcBackend.targetWwpns must be 16 hex digits each, got ${fc.targetWwpns.join(", ")}`);
  }
  return { name: fc.name ?? "fc", protocol: "FC", volumeTypes: [fc.volumeType ?? "fc"], targetWwpns: wwpns };
}

function fail(req: IncomingMessage, res: ServerResponse, rule: FaultRule): void {
  if (rule.drop) {
    req.socket.destroy();
    return;
  }
  const status = rule.status ?? 500;
  const fault =
    status === 503
      ? new CinderFault(503, "The server is currently unavailable. Please try again at a later time.")
      : status >= 500
        ? new CinderFault(status, cinderFaults.internal().message)
        : new CinderFault(status, "Fault injected by the lab.");
  const retryAfter: Record<string, string> = rule.retry_after !== undefined ? { "Retry-After": String(rule.retry_after) } : {};
  send(res, { status, body: fault.body(), headers: { "OpenStack-API-Version": "volume 3.0", ...retryAfter } });
}

function labError(message: string): ApiResponse {
  return { status: 400, body: { error: message }, headers: {} };
}

function send(res: ServerResponse, answer: ApiResponse): void {
  const payload = answer.body === undefined ? "" : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
  const headers: Record<string, string | number> = { ...answer.headers, "Content-Length": Buffer.byteLength(payload) };
  if (payload !== "" && !("Content-Type" in headers)) headers["Content-Type"] = "application/json";
  res.writeHead(answer.status, headers);
  res.end(payload);
}


function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}
