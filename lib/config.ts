/**
 * Configuration, parsed once from the environment and passed in. Nothing else reads process.env.
 */
import { z } from "zod/mini";
import { callerAuthProblems, cinderConfigProblems } from "./cinder/cinder-settings";

// zod/mini rather than zod: the same schemas, built 2-3x faster when the module loads, and every
// function loads this one (issue 11, cold start)

// zod's classic API sets its English messages when it loads; zod/mini sets none, and the function
// bundles carry no classic API: without this, every message zod words itself (a wrong type, a bad
// URL, out of range) reads "Invalid input", in the API's answers too. Set at load, as classic does.
z.config(z.locales.en());

const jsonOf = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((s: string, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.issues.push({ code: "custom", message: "is not valid JSON", input: s });
          return z.NEVER;
        }
      }),
    ),
    schema,
  );

/** serverless.yml passes an unset variable as "" (`${env:X, ''}`): that means "not configured" */
const optionalUrl = z.pipe(
  z.transform((v) => (v === "" ? undefined : v)),
  z.optional(z.url()),
);

const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, "must be a hex SHA-256"));

export const configSchema = z.object({
  SANBOOT_STAGE: z._default(z.enum(["local", "aws"]), "local"),
  SANBOOT_TABLE: z._default(z.string().check(z.minLength(1)), "sanboot-state"),
  /** a DynamoDB-compatible endpoint (dynalite locally); unset on AWS */
  SANBOOT_DYNAMODB_ENDPOINT: optionalUrl,
  AWS_REGION: z._default(z.string(), "us-east-1"),

  /** how callers authenticate: static tokens (SANBOOT_API_TOKENS), or Keystone tokens validated with Keystone */
  SANBOOT_AUTH: z._default(z.enum(["static", "keystone"]), "static"),
  /** caller tokens: {"<sha256 of token>": {"project_id": "...", "role": "member" | "admin" | "reader"}} */
  SANBOOT_API_TOKENS: z._default(
    jsonOf(z.record(sha256Hex, z.object({ project_id: z.string().check(z.minLength(1)), role: z._default(z.enum(["member", "admin", "reader"]), "member") }))),
    {},
  ),
  /** SANBOOT_AUTH=keystone: how long a validated token is trusted before Keystone is asked again (never past its expiry) */
  SANBOOT_AUTH_CACHE_SECONDS: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(3600)), 60),
  /** relay tokens, one per site: {"<site>": "<sha256 of token>"} */
  SANBOOT_RELAY_TOKENS: z._default(jsonOf(z.record(z.string(), sha256Hex)), {}),
  /** each site's X25519 public key (PEM): target secrets are sealed so only that site's relay reads them */
  SANBOOT_SITE_KEYS: z._default(jsonOf(z.record(z.string(), z.string().check(z.includes("BEGIN PUBLIC KEY", { message: "must be a PEM public key" })))), {}),
  /** AES-256-GCM key for target secrets at rest, base64 of 32 bytes */
  SANBOOT_SECRET_KEY: z.optional(z.string().check(z.refine((s) => Buffer.from(s, "base64").length === 32, "must be base64 of 32 bytes"))),
  /** on AWS: the KMS key (id or ARN) that seals target secrets instead of SANBOOT_SECRET_KEY */
  SANBOOT_KMS_KEY_ID: z.optional(z.string().check(z.minLength(1))),
  /** a KMS-compatible endpoint (the lab's emulator); unset on AWS */
  SANBOOT_KMS_ENDPOINT: z.optional(z.url()),

  /** noauth (labs): the endpoint and project below; keystone: both come from the token (SANBOOT_KEYSTONE_*) */
  SANBOOT_CINDER_AUTH: z._default(z.enum(["noauth", "keystone"]), "noauth"),
  SANBOOT_CINDER_URL: z.optional(z.url()),
  SANBOOT_CINDER_PROJECT: z.optional(z.string().check(z.regex(/^[0-9a-f-]+$/, "must be a hex project id"))),
  SANBOOT_CINDER_USER: z._default(z.string(), "sanboot"),
  /** per call to cinder-api that it answers itself (reads, os-complete) */
  SANBOOT_CINDER_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.positive()), 15_000),
  /**
   * per call that cinder-api hands to cinder-volume and waits for (attachment create, update and
   * delete: an export made or removed), queued behind the others: longer than Cinder's own
   * rpc_response_timeout (60 s), after which Cinder answers 500 itself. Always cut to the step's budget.
   */
  SANBOOT_CINDER_VOLUME_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.positive()), 90_000),
  /** the most such calls in flight at one Cinder endpoint from one process (the adaptive limit's ceiling) */
  SANBOOT_CINDER_MAX_IN_FLIGHT: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(256)), 8),
  /** never ask Cinder for more than this microversion ("3.43" forces the legacy attach actions) */
  SANBOOT_CINDER_MAX_MICROVERSION: z.optional(z.string().check(z.regex(/^3\.\d+$/, "must look like 3.44"))),
  /** Keystone v3 (SANBOOT_CINDER_AUTH=keystone): a password (user + project) or an application credential */
  SANBOOT_KEYSTONE_URL: z.optional(z.url()),
  SANBOOT_KEYSTONE_USERNAME: z.optional(z.string().check(z.minLength(1))),
  SANBOOT_KEYSTONE_USER_DOMAIN_NAME: z._default(z.string().check(z.minLength(1)), "Default"),
  SANBOOT_KEYSTONE_PASSWORD: z.optional(z.string().check(z.minLength(1))),
  SANBOOT_KEYSTONE_PROJECT_ID: z.optional(z.string().check(z.minLength(1))),
  SANBOOT_KEYSTONE_PROJECT_NAME: z.optional(z.string().check(z.minLength(1))),
  SANBOOT_KEYSTONE_PROJECT_DOMAIN_NAME: z._default(z.string().check(z.minLength(1)), "Default"),
  SANBOOT_KEYSTONE_APP_CRED_ID: z.optional(z.string().check(z.minLength(1))),
  SANBOOT_KEYSTONE_APP_CRED_SECRET: z.optional(z.string().check(z.minLength(1))),
  /** which catalog endpoint of Cinder (service type block-storage, else volumev3) */
  SANBOOT_KEYSTONE_INTERFACE: z._default(z.enum(["public", "internal", "admin"]), "public"),
  SANBOOT_KEYSTONE_REGION: z.optional(z.string().check(z.minLength(1))),
  /** the service token detach needs: a service user's password or application credential ... */
  SANBOOT_KEYSTONE_SERVICE_USERNAME: z.optional(z.string().check(z.minLength(1))),
  SANBOOT_KEYSTONE_SERVICE_USER_DOMAIN_NAME: z._default(z.string().check(z.minLength(1)), "Default"),
  SANBOOT_KEYSTONE_SERVICE_PASSWORD: z.optional(z.string().check(z.minLength(1))),
  SANBOOT_KEYSTONE_SERVICE_PROJECT_NAME: z._default(z.string().check(z.minLength(1)), "service"),
  SANBOOT_KEYSTONE_SERVICE_PROJECT_DOMAIN_NAME: z._default(z.string().check(z.minLength(1)), "Default"),
  SANBOOT_KEYSTONE_SERVICE_APP_CRED_ID: z.optional(z.string().check(z.minLength(1))),
  SANBOOT_KEYSTONE_SERVICE_APP_CRED_SECRET: z.optional(z.string().check(z.minLength(1))),
  /** ... or sanboot's own token, when its user holds the service role */
  SANBOOT_KEYSTONE_SERVICE_TOKEN_FROM_MAIN: z.pipe(
    z._default(z.enum(["true", "false"]), "false"),
    z.transform((v: "true" | "false") => v === "true"),
  ),
  /** the roles Cinder's keystonemiddleware accepts in a service token (its service_token_roles): any one of them */
  SANBOOT_KEYSTONE_SERVICE_TOKEN_ROLES: z.pipe(
    z.pipe(
      z._default(z.string(), "service"),
      z.transform((v: string) => v.split(",").map((r) => r.trim()).filter((r) => r.length > 0)),
    ),
    z.array(z.string()).check(z.minLength(1, "name at least one role")),
  ),

  /** how a step chains the next: Lambda async invoke (AWS, or the offline emulator's endpoint) or in-process */
  SANBOOT_DISPATCH: z._default(z.enum(["lambda", "inline"]), "lambda"),
  SANBOOT_LAMBDA_ENDPOINT: optionalUrl,
  /** each step function's retry queue (SQS, DelaySeconds): a retry starts at its backoff time; unset, the sweeper starts it */
  SANBOOT_ATTACH_RETRY_QUEUE_URL: optionalUrl,
  SANBOOT_FIRMWARE_RETRY_QUEUE_URL: optionalUrl,
  /** an SQS-compatible endpoint (the lab's emulator); unset on AWS */
  SANBOOT_SQS_ENDPOINT: optionalUrl,
  /**
   * The relays' doorbell: each site's SQS queue URL is this plus the site (lib/service/sqs-doorbell.ts);
   * unset, a lease hears only the rings of its own process and asks the table at its interval
   */
  SANBOOT_RELAY_BELL_QUEUE_URL_PREFIX: optionalUrl,
  /** deployed function names are <prefix><function>, e.g. sanboot-dev-attach */
  SANBOOT_FUNCTION_PREFIX: z._default(z.string(), "sanboot-dev-"),
  /** where state changes are published: an EventBridge bus name, or "log" */
  SANBOOT_EVENT_BUS: z._default(z.string(), "log"),

  SANBOOT_IQN_PREFIX: z._default(
    z.string().check(z.regex(/^iqn\.\d{4}-\d{2}\.[a-z0-9.-]+$/, "must look like iqn.YYYY-MM.reversed.domain")),
    "iqn.2026-11.io.sanboot",
  ),
  SANBOOT_MAX_BODY_BYTES: z._default(z.coerce.number().check(z.int(), z.positive()), 16_384),
  SANBOOT_LEASE_SECONDS: z._default(z.coerce.number().check(z.int(), z.positive()), 60),
  SANBOOT_RELAY_POLL_MS: z._default(z.coerce.number().check(z.int(), z.positive()), 250),
  /** a boot is refused (SITE_RELAY_OFFLINE) when no relay of the node's site was heard from for this long; 0: never refused */
  SANBOOT_RELAY_OFFLINE_SECONDS: z._default(z.coerce.number().check(z.int(), z.minimum(0)), 180),
  /** how long a function trusts what it read of a site (its relay tokens, its sealing key): a removed token stops working within it */
  SANBOOT_SITE_CACHE_SECONDS: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(300)), 30),
  SANBOOT_LOG_LEVEL: z._default(z.enum(["debug", "info", "warn", "error"]), "info"),
  /** emf: CloudWatch embedded metric format lines on stdout (lib/metrics); off: none (the in-process test stack) */
  SANBOOT_METRICS: z._default(z.enum(["emf", "off"]), "emf"),
  /** the CloudWatch namespace of the metrics: one per deployment (serverless.yml: sanboot/<stage>), so alarms see their own */
  SANBOOT_METRICS_NAMESPACE: z._default(z.string().check(z.regex(/^[A-Za-z0-9._/#:-]{1,255}$/, "must be a CloudWatch namespace")), "sanboot"),
});

export type Config = z.infer<typeof configSchema>;

/** Empty values count as unset: serverless.yml passes `${env:X, ''}` through as "". */
function withoutEmpty(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join("; ")}`);
  }
  if (!parsed.data.SANBOOT_SECRET_KEY === !parsed.data.SANBOOT_KMS_KEY_ID) {
    throw new ConfigError("invalid configuration: set exactly one of SANBOOT_SECRET_KEY (local) and SANBOOT_KMS_KEY_ID (AWS)");
  }
  const cinderProblems = [...cinderConfigProblems(parsed.data), ...callerAuthProblems(parsed.data)];
  if (cinderProblems.length > 0) throw new ConfigError(`invalid configuration: ${cinderProblems.join("; ")}`);
  return parsed.data;
}
