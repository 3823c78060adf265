/**
 * Who a caller is, from the token it sends: a static token of SANBOOT_API_TOKENS (local and simple
 * deployments), or, with SANBOOT_AUTH=keystone, a Keystone token validated with Keystone
 * (`GET /v3/auth/tokens`, as keystonemiddleware does) whose project and roles decide what it may
 * do: `admin` any project, `member` its project, `reader` its project read-only.
 *
 * Validation uses the service's own token (the SANBOOT_KEYSTONE_SERVICE_* user, which Keystone's
 * policy lets validate others' tokens through its `service` role; else sanboot's own user). An
 * answer is cached until the token expires, at most SANBOOT_AUTH_CACHE_SECONDS; Keystone's 404
 * (expired, revoked) is a 401 and drops the cached answer.
 */
import { SanbootError } from "../errors";
import { sha256Hex } from "../ids";

export type Role = "member" | "admin" | "reader";

export interface Caller {
  project_id: string;
  role: Role;
}

export interface CallerAuth {
  /** the caller a token proves; UNAUTHENTICATED / FORBIDDEN otherwise */
  caller(token: string): Promise<Caller>;
}

export class StaticCallers implements CallerAuth {
  constructor(private readonly tokens: Record<string, { project_id: string; role: Role }>) {}

  async caller(token: string): Promise<Caller> {
    const entry = this.tokens[sha256Hex(token)];
    if (!entry) throw new SanbootError("UNAUTHENTICATED", "the bearer token is not valid");
    return { project_id: entry.project_id, role: entry.role };
  }
}

/** Keystone's roles to sanboot's, strongest first. */
export function roleOf(roles: string[]): Role | undefined {
  const has = (r: string) => roles.some((x) => x.toLowerCase() === r);
  if (has("admin")) return "admin";
  if (has("member") || has("_member_")) return "member";
  if (has("reader")) return "reader";
  return undefined;
}
