/**
 * Keystone v3 authentication for the Cinder client: tokens cached until shortly before they
 * expire, Cinder's endpoint from the token's catalog, and a service token for detach.
 *
 * Service token: Cinder deletes an attachment (or terminates a legacy connection) only for a
 * caller with a service role; keystonemiddleware takes that role from `X-Service-Token`. Either a
 * separate service user signs it, or sanboot's own user does when it holds the service role
 * ("main"), or none is configured and detach fails at once saying what to set.
 */

import { systemClock, type Clock } from "../clock";
import { SanbootError } from "../errors";
import { serviceRoot, type CinderAuth, type CinderSession } from "./cinder-auth";
import { describeCredentials, issueToken, type IssuedToken, type KeystoneCredentials } from "./keystone-tokens";
import { blockStorageEndpoint, type EndpointInterface } from "./service-catalog";

export type ServiceTokenSource =
  | { kind: "separate"; credentials: KeystoneCredentials }
  /** sanboot's own user holds the service role: its token doubles as the service token */
  | { kind: "main" }
  | { kind: "none" };

export interface KeystoneSettings {
  /** Keystone's endpoint, e.g. https://keystone.example:5000 (a trailing /v3 is tolerated) */
  authUrl: string;
  credentials: KeystoneCredentials;
  service: ServiceTokenSource;
  /** a service token must hold one of these (keystonemiddleware's service_token_roles; default: service) */
  serviceRoles?: string[];
  interface: EndpointInterface;
  region?: string;
  /** use this Cinder endpoint instead of the catalog's */
  endpointOverride?: string;
  /** renew this long before a token expires (default 5 min; at most half a token's lifetime) */
  refreshMarginMs?: number;
  timeoutMs: number;
}

const DEFAULT_MARGIN_MS = 5 * 60_000;

export class KeystoneAuth implements CinderAuth {
  private readonly main: TokenCache;
  private readonly service: TokenCache | null;

  constructor(
    private readonly settings: KeystoneSettings,
    options: { clock?: Clock } = {},
  ) {
    const clock = options.clock ?? systemClock;
    const margin = settings.refreshMarginMs ?? DEFAULT_MARGIN_MS;
    const issuer = (credentials: KeystoneCredentials, configHint: string) => () =>
      issueToken({ authUrl: settings.authUrl, credentials, timeoutMs: settings.timeoutMs, now: () => clock.now(), configHint });
    this.main = new TokenCache(issuer(settings.credentials, mainHint(settings.credentials)), clock, margin);
    this.service =
      settings.service.kind === "separate" ? new TokenCache(issuer(settings.service.credentials, "the SANBOOT_KEYSTONE_SERVICE_* variables"), clock, margin) : null;
  }

  async session(): Promise<CinderSession> {
    const token = await this.main.get();
    if (!token.projectId) {
      throw new SanbootError(
        "CINDER_AUTH_FAILED",
        "Keystone issued sanboot an unscoped token: scope it to sanboot's project (SANBOOT_KEYSTONE_PROJECT_ID or SANBOOT_KEYSTONE_PROJECT_NAME), or use an application credential made in that project.",
      );
    }
    const endpoint =
      this.settings.endpointOverride ??
      blockStorageEndpoint(token.catalog, { interface: this.settings.interface, ...(this.settings.region ? { region: this.settings.region } : {}) });
    return { root: serviceRoot(endpoint), projectId: token.projectId, headers: { "X-Auth-Token": token.id } };
  }

  async serviceHeaders(): Promise<Record<string, string>> {
    const source = this.settings.service;
    if (source.kind === "none") {
      throw new SanbootError(
        "CINDER_AUTH_FAILED",
        "Cinder deletes an attachment or terminates a connection only for a caller with a service token (CVE-2023-2088), and sanboot has no service credentials: set SANBOOT_KEYSTONE_SERVICE_USERNAME and SANBOOT_KEYSTONE_SERVICE_PASSWORD (a user with the 'service' role) or SANBOOT_KEYSTONE_SERVICE_APP_CRED_ID and SANBOOT_KEYSTONE_SERVICE_APP_CRED_SECRET, or SANBOOT_KEYSTONE_SERVICE_TOKEN_FROM_MAIN=true when sanboot's own user has the service role.",
      );
    }
    const token = source.kind === "main" ? await this.main.get() : await this.service!.get();
    // Cinder answers a service token without the role with a 401 for the whole call, which reads
    // as sanboot's own token failing: say what it is before sending it
    const wanted = this.settings.serviceRoles ?? ["service"];
    if (!token.roles.some((r) => wanted.some((w) => w.toLowerCase() === r.toLowerCase()))) {
      const whose =
        source.kind === "main"
          ? `sanboot's own token (SANBOOT_KEYSTONE_SERVICE_TOKEN_FROM_MAIN=true, ${describeCredentials(this.settings.credentials)})`
          : `the service token of the SANBOOT_KEYSTONE_SERVICE_* credentials (${describeCredentials(source.credentials)})`;
      throw new SanbootError(
        "CINDER_AUTH_FAILED",
        `${whose} holds roles [${token.roles.join(", ")}] but not the '${wanted.join("' or '")}' role Cinder requires of a service token to delete an attachment: grant it, or set other service credentials (SANBOOT_KEYSTONE_SERVICE_TOKEN_ROLES lists the roles your Cinder accepts).`,
      );
    }
    return { "X-Service-Token": token.id };
  }

  renew(sent: Record<string, string>): boolean {
    for (const id of [sent["X-Auth-Token"], sent["X-Service-Token"]]) {
      if (id === undefined) continue;
      this.main.forget(id);
      this.service?.forget(id);
    }
    return true;
  }

  /** Nothing to let go of: calls share the runtime's connection pool (lib/http/http-call.ts). */
  async close(): Promise<void> {}
}

/**
 * One credential's token: reused until `margin` before it expires, one request in flight at a
 * time however many calls want it.
 */
export class TokenCache {
  private current: IssuedToken | null = null;
  private pending: Promise<IssuedToken> | null = null;

  constructor(
    private readonly issue: () => Promise<IssuedToken>,
    private readonly clock: Clock,
    private readonly marginMs: number,
  ) {}

  get(): Promise<IssuedToken> {
    if (this.current && this.fresh(this.current)) return Promise.resolve(this.current);
    this.pending ??= this.issue()
      .then((t) => {
        this.current = t;
        return t;
      })
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }

  /** Cinder refused this token: the next get() asks Keystone (only if it is still the one we hold). */
  forget(tokenId: string): void {
    if (this.current?.id === tokenId) this.current = null;
  }

  private fresh(t: IssuedToken): boolean {
    // a short-lived token (a lab's) would never be fresh under a 5-minute margin: cap it at half
    const margin = Math.min(this.marginMs, t.lifetimeMs / 2);
    return this.clock.now().getTime() < t.obtainedAt.getTime() + t.lifetimeMs - margin;
  }
}

function mainHint(creds: KeystoneCredentials): string {
  return creds.method === "password"
    ? "SANBOOT_KEYSTONE_USERNAME, SANBOOT_KEYSTONE_USER_DOMAIN_NAME, SANBOOT_KEYSTONE_PASSWORD and the project"
    : "SANBOOT_KEYSTONE_APP_CRED_ID and SANBOOT_KEYSTONE_APP_CRED_SECRET";
}
