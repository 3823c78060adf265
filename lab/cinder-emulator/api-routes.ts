/**
 * The Cinder v3 API surface the emulator answers: auth (noauth, or a caller the server's
 * keystone check established), project scoping, microversion
 * gates, and the routes for volumes, volume actions and attachments. Request → response over
 * the store; the HTTP server around it adds latency, faults and the wire. With a volume service
 * (queueing.ts) what a real cinder-api hands to cinder-volume waits its turn there.
 */
import { randomUUID } from "node:crypto";
import { CinderFault, faults } from "./cinder-fault";
import { atLeast, FEATURE, formatVersion, MIN_VERSION, requestedVersion, versionsDocument, type Version } from "./microversion";
import {
  legacyConnector,
  parseAttachmentCreate,
  parseAttachmentUpdate,
  parseBootable,
  parseVolumeCreate,
} from "./request-schemas";
import type { VolumeService } from "./queueing";
import { hasConnector, isObject, type Caller, type CinderStore, type VolumeRecord } from "./store";
import { attachmentDetail, attachmentSummary, poolView, volumeDetail, volumeSummary, volumeTypeView, type Placement, type ViewContext } from "./views";

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  /** raw body text; parsed here so a truncated body answers Cinder's "Malformed request body" */
  bodyText: string;
  baseUrl: string;
  /** who Keystone said the caller is (keystone mode); noauth reads X-Auth-Token otherwise */
  caller?: Caller;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers: Record<string, string>;
}

const PROJECT_ID = /^[0-9a-f-]+$/;

export class CinderApi {
  constructor(
    private readonly store: CinderStore,
    private readonly maxVersion: Version,
    /** the volume service's host, for the pools' location_info */
    private readonly host = "cinder-emulator",
    /** cinder-volume's queue; without it every call is carried out at once */
    private readonly volumeService: VolumeService | null = null,
  ) {}

  async handle(req: ApiRequest): Promise<ApiResponse> {
    let version = MIN_VERSION;
    try {
      if (req.path === "/" && req.method === "GET") return this.versions(req, 300);
      if ((req.path === "/v3" || req.path === "/v3/") && req.method === "GET") return this.versions(req, 200);
      if (!req.path.startsWith("/v3/")) return htmlNotFound();

      const token = req.headers["x-auth-token"];
      if (!req.caller && !token) return noauthTokenAnswer(req);
      const caller = req.caller ?? noauthCaller(token!, req.headers["x-service-roles"]);
      try {
        version = requestedVersion(req.headers["openstack-api-version"], this.maxVersion);
      } catch (err) {
        // a header Cinder cannot read gets an answer without a version header
        if (err instanceof CinderFault && err.status === 400) return { status: 400, body: err.body(), headers: requestIdHeader() };
        throw err;
      }

      const segments = req.path.slice("/v3/".length).split("/").filter((s) => s !== "");
      if (segments.length > 0 && segments[0] !== "volumes" && segments[0] !== "attachments") {
        const urlProject = segments.shift()!;
        // the router's project_id requirement: anything else matches no route at all
        if (!PROJECT_ID.test(urlProject)) return htmlNotFound();
        if (urlProject !== caller.project_id) throw faults.projectMismatch();
      }
      if ((req.method === "POST" || req.method === "PUT") && !isJson(req.headers["content-type"])) {
        throw faults.unsupportedContentType();
      }
      const ctx: ViewContext = { baseUrl: req.baseUrl, version };
      const out = await this.route(req, segments, caller, ctx);
      return { ...out, headers: { ...versionHeaders(version), ...out.headers } };
    } catch (err) {
      const fault = err instanceof CinderFault ? err : faults.internal();
      return { status: fault.status, body: fault.body(), headers: versionHeaders(version) };
    }
  }

  private versions(req: ApiRequest, status: number): ApiResponse {
    return { status, body: versionsDocument(req.baseUrl, this.maxVersion), headers: versionHeaders(MIN_VERSION) };
  }

  /** Through cinder-volume's queue when there is one: RpcTimeout (cinder-api's 500) when it is slower than rpc_response_timeout. */
  private viaVolumeService<T>(work: (abandoned: boolean) => T): Promise<T> | T {
    return this.volumeService ? this.volumeService.call(work) : work(false);
  }

  private async route(req: ApiRequest, seg: string[], caller: Caller, ctx: ViewContext): Promise<Omit<ApiResponse, "headers"> & { headers?: Record<string, string> }> {
    const m = req.method;
    const [collection, id, sub, ...extra] = seg;
    if (extra.length > 0) throw faults.resourceNotFound();
    const allTenants = ["1", "true", "True"].includes(req.query.get("all_tenants") ?? "");
    const projectFilter = allTenants ? null : caller.project_id;

    if (collection === "volumes") {
      if (id === undefined) {
        if (m === "GET") return ok({ volumes: this.store.listVolumes(projectFilter).map((v) => volumeSummary(v, ctx)) });
        if (m === "POST") {
          const vol = this.store.createVolume(caller, parseVolumeCreate(parseBody(req)));
          return { status: 202, body: { volume: volumeDetail(vol, [], this.placement(vol), ctx, true) } };
        }
      } else if (id === "detail" && sub === undefined) {
        if (m === "GET") {
          const vols = this.store.listVolumes(projectFilter);
          return ok({ volumes: vols.map((v) => volumeDetail(v, this.store.attachmentsOf(v.id), this.placement(v), ctx)) });
        }
      } else if (sub === undefined) {
        if (m === "GET") {
          const vol = this.store.getVolume(id);
          return ok({ volume: volumeDetail(vol, this.store.attachmentsOf(id), this.placement(vol), ctx) });
        }
        if (m === "DELETE") {
          this.store.deleteVolume(id);
          return { status: 202 };
        }
      } else if (sub === "action" && m === "POST") {
        return await this.volumeAction(id, parseBody(req), caller);
      }
      throw faults.resourceNotFound();
    }

    if (collection === "attachments") {
      if (!atLeast(ctx.version, FEATURE.attachments)) throw faults.resourceNotFound();
      if (id === undefined || (id === "detail" && sub === undefined)) {
        if (m === "GET") {
          const list = this.store.listAttachments({
            projectId: projectFilter,
            volumeId: req.query.get("volume_id") ?? undefined,
            instanceId: req.query.get("instance_id") ?? undefined,
          });
          return ok({ attachments: list.map(id === "detail" ? attachmentDetail : attachmentSummary) });
        }
        if (m === "POST" && id === undefined) {
          const spec = parseAttachmentCreate(parseBody(req), ctx.version);
          // cinder-api reserves, then waits for cinder-volume to export (attachment_update over RPC)
          const att = this.store.reserveAttachment(caller, spec.volume_uuid, spec.instance_uuid, spec.mode);
          const answer = { ...att };
          if (hasConnector(spec.connector)) {
            const connector = spec.connector;
            answer.connection_info = (await this.viaVolumeService((abandoned) => this.store.exportAttachment(att.id, connector, "create", !abandoned))).connection_info;
          }
          return ok({ attachment: attachmentDetail(answer) });
        }
      } else if (sub === undefined) {
        if (m === "GET") return ok({ attachment: attachmentDetail(this.store.getAttachment(id)) });
        if (m === "PUT") {
          const connector = parseAttachmentUpdate(parseBody(req));
          this.store.getAttachment(id);
          return ok({ attachment: attachmentDetail(await this.viaVolumeService((abandoned) => this.store.exportAttachment(id, connector, "update", !abandoned))) });
        }
        if (m === "DELETE") {
          this.store.getAttachment(id);
          return ok({ attachments: (await this.viaVolumeService(() => this.store.deleteAttachment(caller, id))).map(attachmentSummary) });
        }
      } else if (sub === "action" && m === "POST") {
        const [name] = actionOf(parseBody(req));
        if (name !== "os-complete") throw faults.noSuchAction(name);
        if (!atLeast(ctx.version, FEATURE.attachComplete)) throw faults.resourceNotFound();
        this.store.completeAttachment(id);
        return { status: 204 };
      }
      throw faults.resourceNotFound();
    }
    if (collection === "types" && m === "GET" && sub === undefined) {
      if (id === undefined) return ok({ volume_types: this.store.listTypes().map((t) => volumeTypeView(t, true)) });
      return ok({ volume_type: volumeTypeView(this.store.getType(id), false) });
    }

    if (collection === "scheduler-stats" && id === "get_pools" && sub === undefined && m === "GET") {
      // admin-only in Cinder's default policy
      if (caller.is_admin === false) throw faults.policyForbids("scheduler_extension:scheduler_stats:get_pools");
      const detail = ["1", "true", "True"].includes(req.query.get("detail") ?? "");
      const name = req.query.get("name");
      const pools = this.store.pools().filter((p) => name === null || p.name === name);
      return ok({ pools: pools.map((p) => poolView(p, detail, this.host)) });
    }
    throw faults.resourceNotFound();
  }

  private placement(vol: VolumeRecord): Placement {
    return { host: this.store.volumeHost(vol), type_id: this.store.typeOf(vol).id };
  }

  private async volumeAction(volumeId: string, body: unknown, caller: Caller): Promise<{ status: number; body?: unknown }> {
    const [name, args] = actionOf(body);
    const s = this.store;
    switch (name) {
      case "os-set_bootable":
        s.getVolume(volumeId);
        s.setBootable(volumeId, parseBootable(args));
        return { status: 200 };
      case "os-reserve":
        s.legacyReserve(volumeId);
        return { status: 202 };
      case "os-unreserve":
        s.legacyUnreserve(volumeId);
        return { status: 202 };
      case "os-initialize_connection": {
        const connector = legacyConnector(name, args);
        return ok({ connection_info: await this.viaVolumeService(() => s.legacyInitializeConnection(volumeId, connector)) });
      }
      case "os-attach": {
        const a = isObject(args) ? args : {};
        const instance = typeof a["instance_uuid"] === "string" ? a["instance_uuid"] : null;
        const mountpoint = typeof a["mountpoint"] === "string" ? a["mountpoint"] : null;
        const mode = a["mode"] === "ro" ? "ro" : "rw";
        await this.viaVolumeService(() => s.legacyAttach(caller, volumeId, instance, mountpoint, mode));
        return { status: 202 };
      }
      case "os-begin_detaching":
        s.legacyBeginDetaching(volumeId);
        return { status: 202 };
      case "os-roll_detaching":
        s.legacyRollDetaching(volumeId);
        return { status: 202 };
      case "os-terminate_connection":
        legacyConnector(name, args);
        await this.viaVolumeService(() => s.legacyTerminateConnection(caller, volumeId));
        return { status: 202 };
      case "os-detach": {
        const a = isObject(args) ? args : {};
        await this.viaVolumeService(() => s.legacyDetach(caller, volumeId, typeof a["attachment_id"] === "string" ? a["attachment_id"] : null));
        return { status: 202 };
      }
      default:
        throw faults.noSuchAction(name);
    }
  }
}

/** noauth: "user:project"; a token without a colon is both user and project */
function noauthCaller(token: string, serviceRoles: string | undefined): Caller {
  const [user, ...rest] = token.split(":");
  return {
    user_id: user!,
    project_id: rest.join(":") || user!,
    is_service: (serviceRoles ?? "").split(",").some((r) => r.trim() === "service"),
    // Cinder's NoAuthMiddleware makes every context an admin
    is_admin: true,
  };
}

function ok(body: unknown): { status: number; body: unknown } {
  return { status: 200, body };
}

function parseBody(req: ApiRequest): unknown {
  if (req.bodyText.trim() === "") return undefined;
  try {
    return JSON.parse(req.bodyText);
  } catch {
    throw faults.malformedBody();
  }
}

/** An action body is {"<name>": <args>}. */
function actionOf(body: unknown): [string, unknown] {
  if (!isObject(body)) throw faults.malformedBody();
  const name = Object.keys(body)[0];
  if (name === undefined) throw faults.malformedBody();
  return [name, body[name]];
}

function versionHeaders(version: Version): Record<string, string> {
  return {
    "OpenStack-API-Version": `volume ${formatVersion(version)}`,
    Vary: "OpenStack-API-Version",
    ...requestIdHeader(),
  };
}

function requestIdHeader(): Record<string, string> {
  const id = `req-${randomUUID()}`;
  return { "x-compute-request-id": id, "x-openstack-request-id": id };
}

function isJson(contentType: string | undefined): boolean {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase() === "application/json";
}

/** What the router (not Cinder's fault wrapper) answers when no route matches: HTML. */
function htmlNotFound(): ApiResponse {
  return {
    status: 404,
    body: "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\n\n\n\n </body>\n</html>",
    headers: { "Content-Type": "text/html; charset=UTF-8", ...requestIdHeader() },
  };
}

/** Cinder's NoAuthMiddleware answers a request without a token with a token to use. */
function noauthTokenAnswer(req: ApiRequest): ApiResponse {
  const user = req.headers["x-auth-user"] ?? "admin";
  const project = req.headers["x-auth-project-id"] ?? "admin";
  return {
    status: 204,
    headers: {
      "X-Auth-Token": `${user}:${project}`,
      "X-Server-Management-Url": `${req.baseUrl}${req.path}`,
      "Content-Type": "text/plain; charset=UTF-8",
      "x-openstack-request-id": `req-${randomUUID()}`,
    },
  };
}
