/**
 * The emulator's stand-in for keystonemiddleware's auth_token filter, used instead of noauth when
 * the emulator is given a Keystone: every API request's `X-Auth-Token` is validated with Keystone
 * (`GET /v3/auth/tokens`), and so is an `X-Service-Token` when one comes; the caller's project
 * is the token's, and it acts as a service when the service token carries the `service` role
 * (Cinder's default `service_token_roles`). Anything invalid or expired is a 401 with the
 * middleware's body and a `WWW-Authenticate` naming Keystone.
 *
 * Differences from the real middleware: no validation cache (a revoked token is refused at once,
 * where keystonemiddleware may accept it for up to `token_cache_time`), and tokens validate
 * themselves instead of with a service user of Cinder's own (Keystone's default policy allows
 * both).
 */
import { request } from "undici";
import type { ApiResponse } from "./api-routes";
import type { Caller } from "./store";

interface ValidToken {
  user: { id: string };
  project?: { id: string };
  roles?: Array<{ name: string }>;
}

export class KeystoneCheck {
  constructor(private readonly keystoneUrl: string) {}

  /** The caller the headers prove, or the 401 to answer. */
  async caller(headers: Record<string, string | undefined>): Promise<Caller | ApiResponse> {
    const user = await this.validate(headers["x-auth-token"]);
    if (!user?.project) return this.denied();
    let isService = false;
    const serviceToken = headers["x-service-token"];
    if (serviceToken !== undefined) {
      const service = await this.validate(serviceToken);
      // keystonemiddleware refuses the whole request when a service token is sent and invalid
      if (!service) return this.denied();
      isService = (service.roles ?? []).some((r) => r.name === "service");
    }
    const isAdmin = (user.roles ?? []).some((r) => r.name === "admin");
    return { user_id: user.user.id, project_id: user.project.id, is_service: isService, is_admin: isAdmin };
  }

  private async validate(token: string | undefined): Promise<ValidToken | null> {
    if (!token) return null;
    const res = await request(`${this.keystoneUrl.replace(/\/+$/, "")}/v3/auth/tokens?nocatalog`, {
      method: "GET",
      headers: { "X-Auth-Token": token, "X-Subject-Token": token, Accept: "application/json" },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return null;
    return (JSON.parse(text) as { token: ValidToken }).token;
  }

  private denied(): ApiResponse {
    return {
      status: 401,
      body: { error: { code: 401, title: "Unauthorized", message: "The request you have made requires authentication." } },
      headers: { "WWW-Authenticate": `Keystone uri="${this.keystoneUrl}"` },
    };
  }
}
