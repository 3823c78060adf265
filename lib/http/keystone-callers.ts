/**
 * Callers by their Keystone tokens (SANBOOT_AUTH=keystone), validated with Keystone; see callers.ts.
 * Apart from callers.ts so that a function with static tokens never loads the HTTP client.
 */
import { failureOf, httpCall } from "./http-call";
import { TokenCache } from "../cinder/keystone-auth";
import { issueToken, keystoneTime, scrub, tokensUrl, type KeystoneCredentials } from "../cinder/keystone-tokens";
import type { Clock } from "../clock";
import { SanbootError } from "../errors";
import { sha256Hex } from "../ids";
import { z } from "zod/mini";
import { roleOf, type Caller, type CallerAuth } from "./callers";

// zod/mini rather than zod, as every schema a function loads: no function bundle then carries
// zod's classic API at all (issue 11, cold start)
const validated = z.object({
  token: z.object({
    expires_at: z.string(),
    project: z.optional(z.object({ id: z.string() })),
    roles: z.optional(z.array(z.object({ name: z.string() }))),
  }),
});

export interface KeystoneCallersSettings {
  authUrl: string;
  /** whose token validates callers' tokens */
  validator: KeystoneCredentials;
  validatorHint: string;
  timeoutMs: number;
  cacheSeconds: number;
  /** cached answers kept at most (oldest dropped first) */
  maxCached?: number;
}

export class KeystoneCallers implements CallerAuth {
  private readonly validator: TokenCache;
  private readonly cache = new Map<string, { caller: Caller; until: number }>();

  constructor(
    private readonly settings: KeystoneCallersSettings,
    private readonly clock: Clock,
  ) {
    this.validator = new TokenCache(
      () =>
        issueToken({
          authUrl: settings.authUrl,
          credentials: settings.validator,
          timeoutMs: settings.timeoutMs,
          now: () => clock.now(),
          configHint: settings.validatorHint,
        }).catch((err: unknown) => {
          // the service cannot check anyone's token: a 503, not the caller's fault
          throw new SanbootError("AUTH_UNAVAILABLE", `sanboot cannot validate tokens: ${(err as Error).message}`, { retryable: true });
        }),
      clock,
      60_000,
    );
  }

  async caller(token: string): Promise<Caller> {
    const key = sha256Hex(token);
    const now = this.clock.now().getTime();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.caller;
    this.cache.delete(key);
    const body = await this.validate(token, true);
    const parsed = validated.safeParse(body);
    if (!parsed.success) throw new SanbootError("AUTH_UNAVAILABLE", "Keystone answered a token validation without a readable token body", { retryable: true });
    const t = parsed.data.token;
    if (!t.project) throw new SanbootError("FORBIDDEN", "the token is not scoped to a project: get a project-scoped token (openstack token issue with a project)");
    const roles = (t.roles ?? []).map((r) => r.name);
    const role = roleOf(roles);
    if (!role) throw new SanbootError("FORBIDDEN", `the token's roles (${roles.join(", ") || "none"}) give no access to sanboot: it takes member, admin, or reader (read-only)`);
    const caller: Caller = { project_id: t.project.id, role };
    const expires = keystoneTime(t.expires_at);
    const until = Math.min(Number.isNaN(expires) ? now : expires, now + this.settings.cacheSeconds * 1000);
    if (until > now) {
      this.cache.set(key, { caller, until });
      if (this.cache.size > (this.settings.maxCached ?? 10_000)) this.cache.delete(this.cache.keys().next().value!);
    }
    return caller;
  }

  private async validate(subject: string, renew: boolean): Promise<unknown> {
    const mine = await this.validator.get();
    let status: number;
    let text: string;
    try {
      const res = await httpCall(`${tokensUrl(this.settings.authUrl)}?nocatalog`, {
        method: "GET",
        headers: { "X-Auth-Token": mine.id, "X-Subject-Token": subject, Accept: "application/json" },
        timeoutMs: this.settings.timeoutMs,
      });
      status = res.status;
      text = res.text;
    } catch (err) {
      throw new SanbootError("AUTH_UNAVAILABLE", `Keystone did not answer a token validation: ${scrub(failureOf(err, this.settings.timeoutMs), [subject, mine.id])}`, { retryable: true });
    }
    if (status === 200) return JSON.parse(text) as unknown;
    if (status === 404) throw new SanbootError("UNAUTHENTICATED", "the token is not valid (expired, revoked, or unknown to Keystone)");
    if (status === 401 && renew) {
      // our own token expired or was revoked: once more with a new one
      this.validator.forget(mine.id);
      return this.validate(subject, false);
    }
    if (status === 401 || status === 403) {
      throw new SanbootError("AUTH_UNAVAILABLE", `Keystone refused sanboot's validation of a token (${status}): the validating user (${this.settings.validatorHint}) needs the service or admin role`, { retryable: true });
    }
    throw new SanbootError("AUTH_UNAVAILABLE", `Keystone answered ${status} to a token validation`, { retryable: true });
  }

  /** Nothing to let go of: calls share the runtime's connection pool (http-call.ts). */
  async close(): Promise<void> {}
}
