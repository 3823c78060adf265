/**
 * The relay agent's configuration: command-line flags over environment variables, parsed once
 * with zod. This is the only file of the relay that reads `process.argv` / `process.env`
 * (`relayConfigFromProcess`); everything else receives a `RelayConfig`.
 *
 * Secrets (the site token, BMC passwords) are read from files or the environment; a token given
 * with `--token` is visible to anyone who can list processes, so `--token-file` is preferred.
 * No error message here ever quotes a secret's value.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { z } from "zod";

/** A BMC login as the site keeps it; the cloud only ever names it by `credentials_ref`. */
export interface BmcCredential {
  username: string;
  password: string;
  /** PEM of the CA that signs the BMC's certificate (read from `ca_file`). */
  ca?: string;
  /** SHA-256 fingerprint of the BMC's own certificate, pinned */
  fingerprint_sha256?: string;
  /** Turn TLS verification off for this BMC: the site's explicit choice. */
  insecure?: boolean;
}

/** Where the executor looks credentials up. A `Map<string, BmcCredential>` is one. */
export interface CredentialStore {
  get(ref: string): BmcCredential | undefined;
}

export interface RelayConfig {
  serviceUrl: string;
  site: string;
  token: string;
  relayId: string;
  credentials: ReadonlyMap<string, BmcCredential>;
  credentialsFile: string;
  concurrency: number;
  waitSeconds: number;
  heartbeatSeconds: number;
  stopTimeoutSeconds: number;
  /** PEM of the site's X25519 private key, when the service seals secrets to this site */
  siteKeyPem?: string;
}

export class RelayConfigError extends Error {
  override readonly name = "RelayConfigError";
}

interface FlagSpec {
  flag: string;
  env?: string;
  key: keyof RawConfig;
}

interface RawConfig {
  serviceUrl?: string;
  site?: string;
  token?: string;
  tokenFile?: string;
  relayId?: string;
  credentialsFile?: string;
  concurrency?: string;
  waitSeconds?: string;
  heartbeatSeconds?: string;
  stopTimeoutSeconds?: string;
  siteKeyFile?: string;
}

const FLAGS: FlagSpec[] = [
  { flag: "--service-url", env: "SANBOOT_RELAY_SERVICE_URL", key: "serviceUrl" },
  { flag: "--site-key-file", env: "SANBOOT_RELAY_SITE_KEY_FILE", key: "siteKeyFile" },
  { flag: "--site", env: "SANBOOT_RELAY_SITE", key: "site" },
  { flag: "--token", env: "SANBOOT_RELAY_TOKEN", key: "token" },
  { flag: "--token-file", env: "SANBOOT_RELAY_TOKEN_FILE", key: "tokenFile" },
  { flag: "--relay-id", env: "SANBOOT_RELAY_ID", key: "relayId" },
  { flag: "--credentials-file", env: "SANBOOT_RELAY_CREDENTIALS", key: "credentialsFile" },
  { flag: "--concurrency", env: "SANBOOT_RELAY_CONCURRENCY", key: "concurrency" },
  { flag: "--wait-seconds", env: "SANBOOT_RELAY_WAIT_SECONDS", key: "waitSeconds" },
  { flag: "--heartbeat-seconds", env: "SANBOOT_RELAY_HEARTBEAT_SECONDS", key: "heartbeatSeconds" },
  { flag: "--stop-timeout-seconds", env: "SANBOOT_RELAY_STOP_TIMEOUT_SECONDS", key: "stopTimeoutSeconds" },
];

export const RELAY_USAGE = `usage: npm run relay -- [flags]   (each flag also reads the environment variable shown)
${FLAGS.map((f) => `  ${f.flag.padEnd(24)} ${f.env ?? ""}`).join("\n")}
required: --service-url, --site, --token or --token-file, --credentials-file`;

function label(spec: FlagSpec): string {
  return spec.env ? `${spec.flag} (${spec.env})` : spec.flag;
}

/** `--flag value` and `--flag=value`; flags win over the environment. */
function collect(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): RawConfig {
  const raw: RawConfig = {};
  for (const spec of FLAGS) {
    const v = spec.env ? env[spec.env] : undefined;
    if (v !== undefined && v !== "") raw[spec.key] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS.find((f) => f.flag === name);
    if (!spec) {
      throw new RelayConfigError(`unknown argument ${JSON.stringify(name)}\n${RELAY_USAGE}`);
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || (eq < 0 && value.startsWith("--"))) {
      throw new RelayConfigError(`${spec.flag} needs a value`);
    }
    raw[spec.key] = value;
  }
  return raw;
}

const intIn = (min: number, max: number) =>
  z.coerce
    .number({ error: "must be a number" })
    .int({ error: "must be a whole number" })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const numIn = (min: number, max: number) =>
  z.coerce
    .number({ error: "must be a number" })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const shape = {
  serviceUrl: z.url({
    protocol: /^https?$/,
    error: (issue) => (issue.input === undefined ? "is required" : "must be an http(s) URL"),
  }),
  site: z.string({ error: "is required" }).min(1, { error: "is required" }).max(128),
  relayId: z.string().min(1).max(128, { error: "must be at most 128 characters" }),
  credentialsFile: z.string({ error: "is required" }).min(1, { error: "is required" }),
  concurrency: intIn(1, 256).default(8),
  // The protocol caps a long-poll at 25 s.
  waitSeconds: numIn(0, 25).default(20),
  heartbeatSeconds: numIn(0.05, 3600).default(10),
  stopTimeoutSeconds: numIn(0, 3600).default(60),
} as const;

/** Validates one field, throwing an error that names the flag (and its environment variable). */
function field<K extends keyof typeof shape>(key: K, raw: RawConfig): z.output<(typeof shape)[K]> {
  const spec = FLAGS.find((f) => f.key === key)!;
  const parsed = shape[key].safeParse(raw[key as keyof RawConfig]);
  if (!parsed.success) {
    const why = parsed.error.issues[0]?.message ?? "is invalid";
    throw new RelayConfigError(`${label(spec)} ${why}`);
  }
  return parsed.data as z.output<(typeof shape)[K]>;
}

const credentialsFileSchema = z.record(
  z.string().min(1),
  z.strictObject({
    username: z.string().min(1),
    password: z.string(),
    ca_file: z.string().min(1).optional(),
    /** pin the BMC's own certificate (self-signed BMCs): its SHA-256 fingerprint */
    fingerprint_sha256: z
      .string()
      .regex(/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, { error: "must be a SHA-256 fingerprint (64 hex digits, colons optional)" })
      .optional(),
    insecure: z.boolean().optional(),
  }),
);

export interface ConfigFiles {
  readFile(path: string): string;
}

const realFiles: ConfigFiles = { readFile: (p) => readFileSync(p, "utf8") };

/**
 * Loads the credentials file: `{ "<credentials_ref>": { "username", "password",
 * "ca_file"?: path to PEM (relative to the file), "fingerprint_sha256"?: pinned certificate,
 * "insecure"?: boolean } }`.
 */
export function loadCredentialsFile(path: string, files: ConfigFiles = realFiles): Map<string, BmcCredential> {
  const where = `--credentials-file (SANBOOT_RELAY_CREDENTIALS) ${path}`;
  let text: string;
  try {
    text = files.readFile(path);
  } catch (err) {
    throw new RelayConfigError(`${where}: cannot read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parser's message can quote the file's text, passwords included: not repeated here.
    throw new RelayConfigError(`${where}: not valid JSON`);
  }
  const parsed = credentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RelayConfigError(`${where}: at ${issue.path.map(String).join(".") || "(top)"}: ${issue.message}`);
  }
  const out = new Map<string, BmcCredential>();
  for (const [ref, entry] of Object.entries(parsed.data)) {
    const cred: BmcCredential = { username: entry.username, password: entry.password };
    if (entry.ca_file !== undefined) {
      const caPath = resolve(dirname(path), entry.ca_file);
      try {
        cred.ca = files.readFile(caPath);
      } catch (err) {
        throw new RelayConfigError(`${where}: ${ref}.ca_file ${caPath}: cannot read: ${(err as Error).message}`);
      }
    }
    if (entry.insecure !== undefined) cred.insecure = entry.insecure;
    if (entry.fingerprint_sha256 !== undefined) cred.fingerprint_sha256 = entry.fingerprint_sha256;
    out.set(ref, cred);
  }
  return out;
}

/** Parses flags and environment (both passed in), reading the token and credentials files. */
export function parseRelayConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  files: ConfigFiles = realFiles,
  defaults: { relayId?: string } = {},
): RelayConfig {
  const raw = collect(argv, env);

  if (raw.token !== undefined && raw.tokenFile !== undefined) {
    throw new RelayConfigError("give one of --token (SANBOOT_RELAY_TOKEN) and --token-file (SANBOOT_RELAY_TOKEN_FILE), not both");
  }
  let token = raw.token;
  if (raw.tokenFile !== undefined) {
    try {
      token = files.readFile(raw.tokenFile).trim();
    } catch (err) {
      throw new RelayConfigError(`--token-file (SANBOOT_RELAY_TOKEN_FILE) ${raw.tokenFile}: cannot read: ${(err as Error).message}`);
    }
  }
  if (!token) {
    throw new RelayConfigError("--token (SANBOOT_RELAY_TOKEN) or --token-file (SANBOOT_RELAY_TOKEN_FILE) is required");
  }

  const serviceUrl = field("serviceUrl", raw);
  const site = field("site", raw);
  const relayId = field("relayId", { ...raw, relayId: raw.relayId ?? defaults.relayId ?? `${hostname()}-${process.pid}` });
  const credentialsFile = field("credentialsFile", raw);
  const concurrency = field("concurrency", raw);
  const waitSeconds = field("waitSeconds", raw);
  const heartbeatSeconds = field("heartbeatSeconds", raw);
  const stopTimeoutSeconds = field("stopTimeoutSeconds", raw);
  const credentials = loadCredentialsFile(credentialsFile, files);
  let siteKeyPem: string | undefined;
  if (raw.siteKeyFile !== undefined) {
    try {
      siteKeyPem = files.readFile(raw.siteKeyFile);
    } catch (err) {
      throw new RelayConfigError(`--site-key-file (SANBOOT_RELAY_SITE_KEY_FILE) ${raw.siteKeyFile}: cannot read: ${(err as Error).message}`);
    }
    if (!siteKeyPem.includes("PRIVATE KEY")) throw new RelayConfigError("--site-key-file (SANBOOT_RELAY_SITE_KEY_FILE) must hold a PEM private key");
  }

  return {
    ...(siteKeyPem ? { siteKeyPem } : {}),
    serviceUrl,
    site,
    token,
    relayId,
    credentials,
    credentialsFile,
    concurrency,
    waitSeconds,
    heartbeatSeconds,
    stopTimeoutSeconds,
  };
}

/** The one place the relay reads the process's arguments and environment. */
export function relayConfigFromProcess(): RelayConfig {
  return parseRelayConfig(process.argv.slice(2), process.env);
}
