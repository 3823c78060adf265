/**
 * The lab Keystone (identity v3) emulator's HTTP server: enough of Keystone for sanboot's Cinder
 * client and for the Cinder emulator's keystone mode.
 *
 *   GET    /, /v3                 version documents
 *   POST   /v3/auth/tokens        password or application_credential → 201, X-Subject-Token
 *   GET    /v3/auth/tokens        validate X-Subject-Token → 200 | 401 | 403 | 404 (X-Auth-Token: the subject
 *                                  itself, or a token with the service or admin role: Keystone's policy)
 *   HEAD   /v3/auth/tokens        the same, without a body
 *   DELETE /v3/auth/tokens        revoke X-Subject-Token → 204 | 404
 *   POST   /_lab/revoke-all       revoke every token (a Keystone restarted with new keys)
 *   GET    /_lab/stats            {"tokens_issued", "validations"}
 *
 * `?nocatalog` leaves the catalog out. Everything is in memory and lives as long as the server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Identity, KeystoneFault, type Realm, type ServiceSpec } from "./identity";
import { listen, readBody } from "../http-server";

export type { AppCredSpec, ProjectSpec, Realm, ServiceSpec, UserSpec } from "./identity";

export interface KeystoneEmulatorOptions extends Realm {
  port?: number;
  host?: string;
  /** how long a token lives (default 3600 s, Keystone's default) */
  tokenLifetimeSeconds?: number;
  /** the emulator's clock, for expiry (default: the real one) */
  now?: () => Date;
}

export interface KeystoneEmulator {
  /** e.g. http://127.0.0.1:41235 (the auth URL, without /v3) */
  url: string;
  port: number;
  /** the id Keystone gave a project (names are per domain; Default first) */
  projectId(name: string): string;
  revokeAll(): void;
  /** replace the service catalog (e.g. with cinderServices() of a Cinder started afterwards) */
  setServices(services: ServiceSpec[]): void;
  stats(): { tokensIssued: number; validations: number };
  close(): Promise<void>;
}

/**
 * Cinder in the catalog as a cloud usually registers it: `block-storage` and `volumev3`, with
 * public, internal and admin endpoints in one region, the project in the path.
 */
export function cinderServices(cinderUrl: string, region = "RegionOne"): ServiceSpec[] {
  const endpoints = (["public", "internal", "admin"] as const).map((i) => ({ interface: i, region, url: `${cinderUrl}/v3/%(project_id)s` }));
  return [
    { type: "block-storage", name: "cinder", endpoints },
    { type: "volumev3", name: "cinderv3", endpoints },
  ];
}

export async function startKeystoneEmulator(opts: KeystoneEmulatorOptions): Promise<KeystoneEmulator> {
  const now = opts.now ?? (() => new Date());
  const identity = new Identity(opts, opts.services, (opts.tokenLifetimeSeconds ?? 3600) * 1000);
  let validations = 0;
  let baseUrl = "";

  const server = createServer((req, res) => {
    void serve(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, new KeystoneFault(500, "An unexpected error prevented the server from fulfilling your request.").body());
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = (await readBody(req)).toString("utf8");
    const url = new URL(req.url ?? "/", "http://keystone");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    try {
      if (path === "/" && method === "GET") return send(res, 300, { versions: { values: [versionDoc()] } });
      if (path === "/v3" && method === "GET") return send(res, 200, { version: versionDoc() });
      if (path === "/_lab/revoke-all" && method === "POST") {
        identity.revokeAll();
        return send(res, 204);
      }
      if (path === "/_lab/stats" && method === "GET") return send(res, 200, { tokens_issued: identity.issued, validations });
      if (path !== "/v3/auth/tokens") throw new KeystoneFault(404, "The resource could not be found.");

      const withCatalog = !url.searchParams.has("nocatalog");
      if (method === "POST") {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new KeystoneFault(400, "Malformed request body");
        }
        const token = identity.authenticate(body, now());
        return send(res, 201, identity.view(token, withCatalog), { "X-Subject-Token": token.id });
      }
      if (method === "GET" || method === "HEAD" || method === "DELETE") {
        const caller = identity.valid(header(req, "x-auth-token"), now());
        if (!caller) throw new KeystoneFault(401, "The request you have made requires authentication.");
        const subjectId = header(req, "x-subject-token") ?? "";
        // identity:validate_token / revoke_token: the token's own subject, the service role, or an admin
        const mayCheckOthers = caller.roles.some((r) => r === "service" || r === "admin");
        if (!mayCheckOthers && caller.id !== subjectId && identity.valid(subjectId, now())?.user.id !== caller.user.id) {
          throw new KeystoneFault(403, "You are not authorized to perform the requested action: identity:validate_token.");
        }
        const subject = identity.valid(subjectId, now());
        if (!subject) throw new KeystoneFault(404, `Could not find token: ${subjectId}.`);
        if (method === "DELETE") {
          identity.revoke(subject.id);
          return send(res, 204);
        }
        validations += 1;
        return send(res, 200, method === "HEAD" ? undefined : identity.view(subject, withCatalog), { "X-Subject-Token": subject.id });
      }
      throw new KeystoneFault(405, "The method you made is not allowed for the requested resource.");
    } catch (err) {
      const fault = err instanceof KeystoneFault ? err : new KeystoneFault(500, "An unexpected error prevented the server from fulfilling your request.");
      const headers: Record<string, string> = fault.status === 401 ? { "WWW-Authenticate": `Keystone uri="${baseUrl}"` } : {};
      send(res, fault.status, fault.body(), headers);
    }
  }

  function versionDoc(): unknown {
    return {
      id: "v3.14",
      status: "stable",
      updated: "2020-04-07T00:00:00Z",
      links: [{ rel: "self", href: `${baseUrl}/v3/` }],
      "media-types": [{ base: "application/json", type: "application/vnd.openstack.identity-v3+json" }],
    };
  }

  const { port, urlHost } = await listen(server, opts.port, opts.host);
  baseUrl = `http://${urlHost}:${port}`;

  return {
    url: baseUrl,
    port,
    projectId: (name) => identity.projectId(name),
    revokeAll: () => identity.revokeAll(),
    setServices: (services) => {
      identity.services = services;
    },
    stats: () => ({ tokensIssued: identity.issued, validations }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const payload = body === undefined ? "" : JSON.stringify(body);
  const h: Record<string, string | number> = { ...headers, "Content-Length": Buffer.byteLength(payload), Vary: "X-Auth-Token" };
  if (payload !== "") h["Content-Type"] = "application/json";
  res.writeHead(status, h);
  res.end(payload);
}

