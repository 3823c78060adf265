/**
 * How a call to Cinder is authenticated: the identity headers, the endpoint and project they are
 * good for, and the proof of a service role that detach needs. Two kinds:
 * - noauth (labs): `X-Auth-Token: <user>:<project>`, and `X-Service-Roles: service` for detach;
 * - Keystone v3 (keystone-auth.ts): a token from /v3/auth/tokens, the endpoint from its catalog,
 *   and `X-Service-Token` (a service user's token) for detach.
 *
 * The transport asks for a session before each call and calls renew() once when Cinder answers
 * 401 to it, then asks again: the policy "renewed once on a 401" lives in the transport, the
 * token cache here.
 */
export interface CinderSession {
  /** Cinder's service root, without /v3: e.g. http://cinder:8776 or https://cloud/volume */
  root: string;
  /** the project the token is scoped to: the /v3/<project> of every call */
  projectId: string;
  /** the identity headers (X-Auth-Token) */
  headers: Record<string, string>;
}

export interface CinderAuth {
  session(): Promise<CinderSession>;
  /**
   * Headers that give a call the service role: Cinder refuses to delete an attachment or to
   * terminate a connection without it (it asks Nova otherwise, CVE-2023-2088).
   * Throws SanbootError CINDER_AUTH_FAILED when no service credentials are configured.
   */
  serviceHeaders(): Promise<Record<string, string>>;
  /**
   * Cinder answered 401 to a call that sent `sent`: forget those tokens so the next session()
   * and serviceHeaders() authenticate again. False when there is nothing to renew (noauth).
   */
  renew(sent: Record<string, string>): boolean;
}

export interface NoauthSettings {
  /** e.g. http://127.0.0.1:8776 (a trailing /v3 or /v3/<project> is tolerated) */
  endpoint: string;
  project_id: string;
  user: string;
  /** send `X-Service-Roles: service` on calls that need the service role */
  service_roles_header: boolean;
}

/** Cinder's noauth middleware: the token names the user and the project, nothing is checked. */
export class NoAuth implements CinderAuth {
  private readonly fixed: CinderSession;

  constructor(private readonly settings: NoauthSettings) {
    this.fixed = {
      root: serviceRoot(settings.endpoint),
      projectId: settings.project_id,
      headers: { "X-Auth-Token": `${settings.user}:${settings.project_id}` },
    };
  }

  async session(): Promise<CinderSession> {
    return this.fixed;
  }

  async serviceHeaders(): Promise<Record<string, string>> {
    // without the header Cinder refuses the call itself, and the client explains why
    return this.settings.service_roles_header ? { "X-Service-Roles": "service" } : {};
  }

  renew(): boolean {
    return false;
  }
}

/**
 * The service root of a Cinder endpoint as configured or as a catalog lists it:
 * http://host:8776/v3/<project>/ → http://host:8776; https://cloud/volume/v3 → https://cloud/volume
 */
export function serviceRoot(endpoint: string): string {
  return endpoint.replace(/\/+$/, "").replace(/\/v3(\/[^/]*)?$/, "");
}
