/**
 * The emulated Keystone's identity data and token logic: domains, projects, users with role
 * assignments, application credentials, the service catalog, and the tokens issued from them.
 * Pure (the clock is passed in); the HTTP server around it (server.ts) speaks the wire.
 *
 * Follows the identity v3 API reference: password auth (user by id, or by name with its domain),
 * project scope by id or by name with its domain, application credentials (by id, or by name with
 * their user) that carry their own scope and refuse another, unscoped tokens without a catalog,
 * errors `{"error": {"code", "message", "title"}}` with Keystone's generic 401 message.
 */
import { randomBytes, randomUUID } from "node:crypto";

export interface ProjectSpec {
  /** default: a random hex id, as Keystone makes them */
  id?: string;
  name: string;
  /** domain name (default "Default") */
  domain?: string;
}

export interface UserSpec {
  id?: string;
  name: string;
  domain?: string;
  password: string;
  /** role names per project name, e.g. {"sanboot": ["member"], "service": ["service"]} */
  roles: Record<string, string[]>;
}

export interface AppCredSpec {
  id?: string;
  name: string;
  secret: string;
  /** the owning user's name (in the Default domain unless `userDomain`) */
  user: string;
  userDomain?: string;
  /** the project it was made in (its scope) */
  project: string;
  /** default: all the user's roles on that project */
  roles?: string[];
}

export interface EndpointSpec {
  interface: "public" | "internal" | "admin";
  region: string;
  /** may hold `%(project_id)s` or `$(project_id)s`, replaced per token as Keystone does */
  url: string;
}

export interface ServiceSpec {
  type: string;
  name: string;
  endpoints: EndpointSpec[];
}

export interface Realm {
  projects: ProjectSpec[];
  users: UserSpec[];
  applicationCredentials?: AppCredSpec[];
  services: ServiceSpec[];
}

interface Domain {
  id: string;
  name: string;
}
interface Project {
  id: string;
  name: string;
  domain: Domain;
}
interface User {
  id: string;
  name: string;
  domain: Domain;
  password: string;
  roles: Map<string, string[]>;
}
interface AppCred {
  id: string;
  name: string;
  secret: string;
  user: User;
  project: Project;
  roles: string[];
}

export interface TokenRecord {
  id: string;
  methods: string[];
  user: User;
  project: Project | null;
  roles: string[];
  appCred: AppCred | null;
  issuedAt: Date;
  expiresAt: Date;
  auditId: string;
}

/** A Keystone error answer. */
export class KeystoneFault extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  body(): unknown {
    return { error: { code: this.status, message: this.message, title: TITLES[this.status] ?? "Error" } };
  }
}

const TITLES: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed" };
const NEEDS_AUTH = "The request you have made requires authentication.";
const unauthorized = (message = NEEDS_AUTH) => new KeystoneFault(401, message);
const expecting = (attribute: string, target: string) =>
  new KeystoneFault(
    400,
    `Expecting to find ${attribute} in ${target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`,
  );

export class Identity {
  private readonly domains = new Map<string, Domain>();
  private readonly projects: Project[] = [];
  private readonly users: User[] = [];
  private readonly appCreds: AppCred[] = [];
  private readonly tokens = new Map<string, TokenRecord>();
  issued = 0;

  constructor(
    realm: Realm,
    /** replaceable: a Cinder started after Keystone is added to the catalog then */
    public services: ServiceSpec[],
    private readonly lifetimeMs: number,
  ) {
    this.domains.set("Default", { id: "default", name: "Default" });
    for (const p of realm.projects) this.projects.push({ id: p.id ?? hexId(), name: p.name, domain: this.domain(p.domain) });
    for (const u of realm.users) {
      const user: User = { id: u.id ?? hexId(), name: u.name, domain: this.domain(u.domain), password: u.password, roles: new Map() };
      for (const [projectName, roles] of Object.entries(u.roles)) user.roles.set(this.projectNamed(projectName, user.domain.name).id, roles);
      this.users.push(user);
    }
    for (const a of realm.applicationCredentials ?? []) {
      const user = this.users.find((u) => u.name === a.user && u.domain.name === (a.userDomain ?? "Default"));
      if (!user) throw new Error(`application credential ${a.name}: no user ${a.user}`);
      const project = this.projectNamed(a.project, user.domain.name);
      this.appCreds.push({ id: a.id ?? hexId(), name: a.name, secret: a.secret, user, project, roles: a.roles ?? user.roles.get(project.id) ?? [] });
    }
  }

  projectId(name: string): string {
    return this.projectNamed(name, "Default").id;
  }

  /** POST /v3/auth/tokens */
  authenticate(body: unknown, now: Date): TokenRecord {
    const auth = field(body, "auth", "request body");
    const identity = field(auth, "identity", "auth");
    const methods = (identity as { methods?: unknown }).methods;
    if (!Array.isArray(methods) || methods.length === 0) throw expecting("methods", "identity");
    const scope = (auth as { scope?: unknown }).scope;

    let user: User;
    let project: Project | null = null;
    let appCred: AppCred | null = null;
    if (methods.includes("password")) {
      user = this.passwordUser(field(identity, "password", "identity"));
    } else if (methods.includes("application_credential")) {
      appCred = this.applicationCredential(field(identity, "application_credential", "identity"));
      // an application credential carries its scope: asking for another is refused
      if (scope !== undefined) throw unauthorized();
      user = appCred.user;
      project = appCred.project;
    } else {
      throw unauthorized("Attempted to authenticate with an unsupported method.");
    }
    if (!appCred && scope !== undefined) project = this.scopedProject(scope);

    const roles = appCred ? appCred.roles : project ? (user.roles.get(project.id) ?? []) : [];
    if (project && roles.length === 0) throw unauthorized();
    const token: TokenRecord = {
      id: `gAAAAA${randomBytes(132).toString("base64url")}`,
      methods: appCred ? ["application_credential"] : ["password"],
      user,
      project,
      roles,
      appCred,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + this.lifetimeMs),
      auditId: randomBytes(16).toString("base64url"),
    };
    this.tokens.set(token.id, token);
    this.issued += 1;
    return token;
  }

  /** A token that exists, is not revoked and has not expired; null otherwise. */
  valid(tokenId: string | undefined, now: Date): TokenRecord | null {
    if (!tokenId) return null;
    const t = this.tokens.get(tokenId);
    if (!t || t.expiresAt.getTime() <= now.getTime()) return null;
    return t;
  }

  revoke(tokenId: string): boolean {
    return this.tokens.delete(tokenId);
  }

  revokeAll(): void {
    this.tokens.clear();
  }

  /** The `token` object of an answer, catalog included unless asked not to. */
  view(t: TokenRecord, withCatalog: boolean): unknown {
    const out: Record<string, unknown> = {
      methods: t.methods,
      user: { domain: { id: t.user.domain.id, name: t.user.domain.name }, id: t.user.id, name: t.user.name, password_expires_at: null },
      audit_ids: [t.auditId],
      expires_at: keystoneTime(t.expiresAt),
      issued_at: keystoneTime(t.issuedAt),
    };
    if (t.project) {
      out["project"] = { domain: { id: t.project.domain.id, name: t.project.domain.name }, id: t.project.id, name: t.project.name };
      out["is_domain"] = false;
      out["roles"] = t.roles.map((name) => ({ id: roleId(name), name }));
      if (withCatalog) out["catalog"] = this.catalog(t.project.id);
    }
    if (t.appCred) out["application_credential"] = { id: t.appCred.id, name: t.appCred.name, restricted: true };
    return { token: out };
  }

  private catalog(projectId: string): unknown[] {
    return this.services.map((s) => ({
      endpoints: s.endpoints.map((e) => ({
        id: stableId(`${s.type}/${e.interface}/${e.region}`),
        interface: e.interface,
        region: e.region,
        region_id: e.region,
        url: e.url.replace(/[%$]\((project_id|tenant_id)\)s/g, projectId),
      })),
      id: stableId(s.type),
      type: s.type,
      name: s.name,
    }));
  }

  private passwordUser(password: unknown): User {
    const u = field(password, "user", "password") as { id?: unknown; name?: unknown; domain?: { id?: unknown; name?: unknown }; password?: unknown };
    if (typeof u.password !== "string") throw expecting("password", "user");
    let user: User | undefined;
    if (typeof u.id === "string") {
      user = this.users.find((x) => x.id === u.id);
    } else if (typeof u.name === "string") {
      if (!u.domain || (typeof u.domain.id !== "string" && typeof u.domain.name !== "string")) throw expecting("domain", "user");
      user = this.users.find((x) => x.name === u.name && (x.domain.id === u.domain!.id || x.domain.name === u.domain!.name));
    } else {
      throw expecting("id or name", "user");
    }
    if (!user || user.password !== u.password) throw unauthorized();
    return user;
  }

  private applicationCredential(ac: unknown): AppCred {
    const a = ac as { id?: unknown; name?: unknown; secret?: unknown; user?: { id?: unknown; name?: unknown } };
    if (typeof a.secret !== "string") throw expecting("secret", "application_credential");
    let found: AppCred | undefined;
    if (typeof a.id === "string") found = this.appCreds.find((x) => x.id === a.id);
    else if (typeof a.name === "string" && a.user) found = this.appCreds.find((x) => x.name === a.name && (x.user.id === a.user!.id || x.user.name === a.user!.name));
    else throw expecting("id or name and user", "application_credential");
    if (!found || found.secret !== a.secret) throw unauthorized();
    return found;
  }

  private scopedProject(scope: unknown): Project {
    const p = field(scope, "project", "scope") as { id?: unknown; name?: unknown; domain?: { id?: unknown; name?: unknown } };
    let project: Project | undefined;
    if (typeof p.id === "string") project = this.projects.find((x) => x.id === p.id);
    else if (typeof p.name === "string") {
      if (!p.domain || (typeof p.domain.id !== "string" && typeof p.domain.name !== "string")) throw expecting("domain", "project");
      project = this.projects.find((x) => x.name === p.name && (x.domain.id === p.domain!.id || x.domain.name === p.domain!.name));
    } else throw expecting("id or name", "project");
    if (!project) throw unauthorized();
    return project;
  }

  private domain(name = "Default"): Domain {
    let d = this.domains.get(name);
    if (!d) {
      d = { id: hexId(), name };
      this.domains.set(name, d);
    }
    return d;
  }

  private projectNamed(name: string, domain: string): Project {
    const p = this.projects.find((x) => x.name === name && x.domain.name === domain) ?? this.projects.find((x) => x.name === name);
    if (!p) throw new Error(`no project ${name}`);
    return p;
  }
}

function field(obj: unknown, key: string, target: string): unknown {
  const v = obj && typeof obj === "object" ? (obj as Record<string, unknown>)[key] : undefined;
  if (!v || typeof v !== "object") throw expecting(key, target);
  return v;
}

function hexId(): string {
  return randomUUID().replace(/-/g, "");
}

function stableId(text: string): string {
  let h = 0;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, "0").repeat(4);
}

function roleId(name: string): string {
  return stableId(`role/${name}`);
}

/** Keystone's timestamps: ISO 8601 with microseconds and a Z. */
function keystoneTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
