/**
 * The thin layer to Keystone's identity v3 API: `POST /v3/auth/tokens` with a password or an
 * application credential, the answer read into an IssuedToken, Keystone's errors translated into
 * SanbootError. No cache, no policy (keystone-auth.ts holds those).
 *
 * Secrets (passwords, application credential secrets, tokens) never reach a message: errors
 * describe the credentials by user, domain, project or credential id only, and whatever text
 * Keystone sends back is scrubbed of the secrets we sent before it is quoted.
 */
import { failureOf, httpCall } from "../http/http-call";
import { z } from "zod/mini";
import { SanbootError } from "../errors";
import { catalogSchema, type ServiceCatalog } from "./service-catalog";

export type ProjectScope = { id: string } | { name: string; domainName: string };

export type KeystoneCredentials =
  | {
      method: "password";
      username: string;
      userDomainName: string;
      password: string;
      project: ProjectScope;
    }
  | {
      /** carries its own project scope: Keystone refuses a scope next to it */
      method: "application_credential";
      id: string;
      secret: string;
    };

export interface IssuedToken {
  /** the X-Subject-Token */
  id: string;
  projectId: string | null;
  roles: string[];
  catalog: ServiceCatalog;
  /** our clock when we asked */
  obtainedAt: Date;
  /** expires_at − issued_at as Keystone states them, so a skewed clock does not matter */
  lifetimeMs: number;
}

// zod/mini rather than zod, as every schema a function loads: no function bundle then carries
// zod's classic API at all (issue 11, cold start)
const tokenBody = z.object({
  token: z.looseObject({
    expires_at: z.string(),
    issued_at: z.optional(z.string()),
    project: z.optional(z.looseObject({ id: z.string() })),
    roles: z.optional(z.array(z.looseObject({ name: z.string() }))),
    catalog: z.optional(catalogSchema),
  }),
});

/**
 * A Keystone timestamp as epoch ms. Keystone writes UTC, usually with a `Z`, but without a zone
 * where an application credential's own expiry cuts a token short (`2026-12-02T10:00:00.000000`);
 * JavaScript would read that as the host's local time, so a time without a zone is taken as UTC.
 * NaN for anything unreadable.
 */
export function keystoneTime(text: string): number {
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(t)) return NaN;
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(t) ? t : `${t}Z`);
}

/** http://ks:5000, http://ks:5000/v3, https://cloud/identity/v3/ → …/v3/auth/tokens */
export function tokensUrl(authUrl: string): string {
  return `${authUrl.replace(/\/+$/, "").replace(/\/v3$/, "")}/v3/auth/tokens`;
}

export function authRequestBody(creds: KeystoneCredentials): unknown {
  if (creds.method === "application_credential") {
    return { auth: { identity: { methods: ["application_credential"], application_credential: { id: creds.id, secret: creds.secret } } } };
  }
  const project = "id" in creds.project ? { id: creds.project.id } : { name: creds.project.name, domain: { name: creds.project.domainName } };
  return {
    auth: {
      identity: {
        methods: ["password"],
        password: { user: { name: creds.username, domain: { name: creds.userDomainName }, password: creds.password } },
      },
      scope: { project },
    },
  };
}

/** Who the credentials are, for messages: never the secret. */
export function describeCredentials(creds: KeystoneCredentials): string {
  if (creds.method === "application_credential") return `application credential ${creds.id}`;
  const project = "id" in creds.project ? `project ${creds.project.id}` : `project '${creds.project.name}' in domain '${creds.project.domainName}'`;
  return `user '${creds.username}' in domain '${creds.userDomainName}', ${project}`;
}

export interface IssueOptions {
  authUrl: string;
  credentials: KeystoneCredentials;
  timeoutMs: number;
  now: () => Date;
  /** names the configuration to fix, e.g. "SANBOOT_KEYSTONE_USERNAME / SANBOOT_KEYSTONE_PASSWORD" */
  configHint: string;
}

export async function issueToken(opts: IssueOptions): Promise<IssuedToken> {
  const url = tokensUrl(opts.authUrl);
  const secret = opts.credentials.method === "password" ? opts.credentials.password : opts.credentials.secret;
  const who = describeCredentials(opts.credentials);
  const obtainedAt = opts.now();
  let status: number;
  let subject: string | undefined;
  let text: string;
  try {
    const res = await httpCall(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(authRequestBody(opts.credentials)),
      timeoutMs: opts.timeoutMs,
    });
    status = res.status;
    subject = res.header("x-subject-token");
    text = res.text;
  } catch (err) {
    const reason = failureOf(err, opts.timeoutMs);
    // the cause is kept out: nothing of the request (and its secret) should travel with the error
    throw new SanbootError("CINDER_UNAVAILABLE", `Keystone at ${url} did not answer a token request for ${who}: ${scrub(reason, [secret])}`, {
      retryable: true,
    });
  }

  const message = scrub(keystoneMessage(text), [secret, subject]);
  if (status === 401) {
    throw new SanbootError(
      "CINDER_AUTH_FAILED",
      `Keystone at ${url} refused the credentials of ${who} (401${message ? `: ${message}` : ""}): check ${opts.configHint}, and that the user has a role on the project.`,
    );
  }
  if (status >= 500 || status === 429) {
    throw new SanbootError("CINDER_UNAVAILABLE", `Keystone at ${url} answered ${status} to a token request for ${who}${message ? `: ${message}` : ""}`, {
      retryable: true,
    });
  }
  if (status !== 201 && status !== 200) {
    throw new SanbootError("CINDER_AUTH_FAILED", `Keystone at ${url} answered ${status} to a token request for ${who}${message ? `: ${message}` : ""}: check ${opts.configHint}.`);
  }
  const parsed = tokenBody.safeParse(safeJson(text));
  const expires = parsed.success ? keystoneTime(parsed.data.token.expires_at) : NaN;
  if (!subject || !parsed.success || Number.isNaN(expires)) {
    throw new SanbootError("CINDER_UNAVAILABLE", `Keystone at ${url} answered a token request without a readable X-Subject-Token or token body`, {
      retryable: true,
    });
  }
  const t = parsed.data.token;
  const issued = t.issued_at ? keystoneTime(t.issued_at) : NaN;
  return {
    id: subject,
    projectId: t.project?.id ?? null,
    roles: (t.roles ?? []).map((r) => r.name),
    catalog: t.catalog ?? [],
    obtainedAt,
    lifetimeMs: Number.isNaN(issued) ? expires - obtainedAt.getTime() : expires - issued,
  };
}

/** Keystone's errors are `{"error": {"code", "title", "message"}}`. */
function keystoneMessage(text: string): string {
  const body = safeJson(text);
  const msg = (body as { error?: { message?: unknown } } | null)?.error?.message;
  if (typeof msg === "string") return msg.slice(0, 300);
  return typeof body === "string" ? body.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300) : "";
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Removes every occurrence of the secrets from a text before it goes into an error. */
export function scrub(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("[redacted]");
  return out;
}
