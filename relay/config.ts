/**
 * The relay agent's configuration: command-line flags over environment variables over a JSON
 * config file (`--config`), parsed once with zod. This is the only file of the relay that reads
 * `process.argv` / `process.env` (`relayProcessInput`); everything else receives a `RelayConfig`.
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
  /** Addresses of the BMCs that use this login, for `sanboot-relay check` (the relay needs none to run). */
  check?: string[];
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
  config?: string;
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
  { flag: "--config", env: "SANBOOT_RELAY_CONFIG", key: "config" },
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

/** Flags a config file may set, by its key: `--service-url` is `service_url`. Secrets only by file. */
const FILE_KEYS = new Map(
  FLAGS.filter((f) => f.key !== "config" && f.key !== "token").map((f) => [f.flag.slice(2).replace(/-/g, "_"), f] as const),
);
/** Values in a config file that are paths: relative to the config file. */
const PATH_KEYS = new Set<keyof RawConfig>(["tokenFile", "credentialsFile", "siteKeyFile"]);

const fileKeyOf = (f: FlagSpec): string =>
  f.key === "config" ? "(a JSON object of the keys in this column)" : f.key === "token" ? "(not in the file: token_file)" : ([...FILE_KEYS].find(([, s]) => s === f)?.[0] ?? "");

export const RELAY_FLAGS_USAGE = `flags (each also read from the environment variable shown, and from the --config file under the key shown;
flags win over the environment, the environment over the file):
${FLAGS.map((f) => `  ${f.flag.padEnd(24)} ${(f.env ?? "").padEnd(36)} ${fileKeyOf(f)}`).join("\n")}
required: --service-url, --site, --token or --token-file, --credentials-file`;

function label(spec: FlagSpec): string {
  return spec.env ? `${spec.flag} (${spec.env})` : spec.flag;
}

/** `--flag value` and `--flag=value`; flags win over the environment. */
function collect(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, flags: readonly FlagSpec[] = FLAGS): RawConfig {
  const raw: RawConfig = {};
  for (const spec of flags) {
    const v = spec.env ? env[spec.env] : undefined;
    if (v !== undefined && v !== "") raw[spec.key] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const spec = flags.find((f) => f.flag === name);
    if (!spec) {
      throw new RelayConfigError(`unknown argument ${JSON.stringify(name)}`);
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

/** Where a value came from when it was not a flag or the environment: `<config file>: <key>`. */
type Origins = Partial<Record<keyof RawConfig, string>>;

/** Validates one field, throwing an error that names the flag (and its environment variable) or the config file's key. */
function field<K extends keyof typeof shape>(key: K, raw: RawConfig, origins: Origins = {}): z.output<(typeof shape)[K]> {
  const spec = FLAGS.find((f) => f.key === key)!;
  const parsed = shape[key].safeParse(raw[key as keyof RawConfig]);
  if (!parsed.success) {
    const why = parsed.error.issues[0]?.message ?? "is invalid";
    throw new RelayConfigError(`${origins[key as keyof RawConfig] ?? label(spec)} ${why}`);
  }
  return parsed.data as z.output<(typeof shape)[K]>;
}

/**
 * Fills what flags and environment left unset from the JSON config file: `{"service_url": ...,
 * "site": ..., "token_file": ..., "credentials_file": ..., ...}`, paths relative to the file.
 */
function fromConfigFile(path: string, raw: RawConfig, files: ConfigFiles): Origins {
  const where = `--config (SANBOOT_RELAY_CONFIG) ${path}`;
  let json: unknown;
  try {
    json = JSON.parse(files.readFile(path));
  } catch (err) {
    throw new RelayConfigError(`${where}: ${err instanceof SyntaxError ? "not valid JSON" : `cannot read: ${(err as Error).message}`}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new RelayConfigError(`${where}: must be a JSON object`);
  const origins: Origins = {};
  for (const [name, value] of Object.entries(json)) {
    const spec = FILE_KEYS.get(name);
    if (!spec) {
      const hint = name === "token" ? " (give the token in its own file: token_file)" : `; known keys: ${[...FILE_KEYS.keys()].join(", ")}`;
      throw new RelayConfigError(`${where}: unknown key ${JSON.stringify(name)}${hint}`);
    }
    if (typeof value !== "string" && typeof value !== "number") throw new RelayConfigError(`${where}: ${name} must be a string or a number`);
    // Flags and the environment win; a token given either way replaces the file's token_file.
    if (raw[spec.key] !== undefined || (spec.key === "tokenFile" && raw.token !== undefined)) continue;
    raw[spec.key] = PATH_KEYS.has(spec.key) ? resolve(dirname(path), String(value)) : String(value);
    origins[spec.key] = `${path}: ${name}`;
  }
  return origins;
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
    /** BMC addresses `sanboot-relay check` tries this login on */
    check: z.array(z.url({ protocol: /^https?$/, error: "must be an http(s) URL of a BMC" })).optional(),
  }),
);

export interface ConfigFiles {
  readFile(path: string): string;
}

const realFiles: ConfigFiles = { readFile: (p) => readFileSync(p, "utf8") };

/**
 * Loads the credentials file: `{ "<credentials_ref>": { "username", "password",
 * "ca_file"?: path to PEM (relative to the file), "fingerprint_sha256"?: pinned certificate,
 * "insecure"?: boolean, "check"?: BMC addresses for `sanboot-relay check` } }`.
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
    if (entry.check !== undefined) cred.check = entry.check;
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
  const origins = raw.config !== undefined ? fromConfigFile(raw.config, raw, files) : {};

  if (raw.token !== undefined && raw.tokenFile !== undefined) {
    throw new RelayConfigError("give one of --token (SANBOOT_RELAY_TOKEN) and --token-file (SANBOOT_RELAY_TOKEN_FILE), not both");
  }
  let token = raw.token;
  if (raw.tokenFile !== undefined) {
    try {
      token = files.readFile(raw.tokenFile).trim();
    } catch (err) {
      throw new RelayConfigError(`${origins.tokenFile ?? "--token-file (SANBOOT_RELAY_TOKEN_FILE)"} ${raw.tokenFile}: cannot read: ${(err as Error).message}`);
    }
  }
  if (!token) {
    throw new RelayConfigError("--token (SANBOOT_RELAY_TOKEN) or --token-file (SANBOOT_RELAY_TOKEN_FILE) is required");
  }

  const serviceUrl = field("serviceUrl", raw, origins);
  const site = field("site", raw, origins);
  const relayId = field("relayId", { ...raw, relayId: raw.relayId ?? defaults.relayId ?? `${hostname()}-${process.pid}` }, origins);
  const credentialsFile = field("credentialsFile", raw, origins);
  const concurrency = field("concurrency", raw, origins);
  const waitSeconds = field("waitSeconds", raw, origins);
  const heartbeatSeconds = field("heartbeatSeconds", raw, origins);
  const stopTimeoutSeconds = field("stopTimeoutSeconds", raw, origins);
  const credentials = loadCredentialsFile(credentialsFile, files);
  let siteKeyPem: string | undefined;
  if (raw.siteKeyFile !== undefined) {
    try {
      siteKeyPem = files.readFile(raw.siteKeyFile);
    } catch (err) {
      throw new RelayConfigError(`${origins.siteKeyFile ?? "--site-key-file (SANBOOT_RELAY_SITE_KEY_FILE)"} ${raw.siteKeyFile}: cannot read: ${(err as Error).message}`);
    }
    if (!siteKeyPem.includes("PRIVATE KEY")) throw new RelayConfigError(`${origins.siteKeyFile ?? "--site-key-file (SANBOOT_RELAY_SITE_KEY_FILE)"} ${raw.siteKeyFile} must hold a PEM private key`);
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

export interface KeygenArgs {
  /** where the private key goes (mode 0600) */
  privateKeyFile: string;
  /** where the public key goes: the private key's path and `.pub` */
  publicKeyFile: string;
  force: boolean;
  /** the site, when known: the printed SANBOOT_SITE_KEYS entry names it */
  site?: string;
}

const KEYGEN_FLAGS: FlagSpec[] = [
  ...FLAGS.filter((f) => f.key === "siteKeyFile" || f.key === "config" || f.key === "site"),
];

export const KEYGEN_USAGE = `usage: sanboot-relay keygen --site-key-file FILE [--site SITE] [--force]
  writes the site's X25519 key pair: the private key to FILE, the public key to FILE.pub (both mode 0600),
  and prints the public key for the service's SANBOOT_SITE_KEYS; refuses to overwrite either file without --force.
  FILE (and SITE) may also come from SANBOOT_RELAY_SITE_KEY_FILE (SANBOOT_RELAY_SITE) or the --config file's site_key_file (site).`;

/** `keygen` flags: the private key's path (flag, environment or config file) and --force. */
export function parseKeygenArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, files: ConfigFiles = realFiles): KeygenArgs {
  const force = argv.includes("--force");
  const raw = collect(argv.filter((a) => a !== "--force"), env, KEYGEN_FLAGS);
  if (raw.config !== undefined) {
    // Only the key's path and the site matter here; the rest of the file is checked by run and check.
    const partial: RawConfig = {};
    fromConfigFile(raw.config, partial, files);
    raw.siteKeyFile ??= partial.siteKeyFile;
    raw.site ??= partial.site;
  }
  if (!raw.siteKeyFile) throw new RelayConfigError("keygen needs --site-key-file FILE (SANBOOT_RELAY_SITE_KEY_FILE): where the private key goes");
  return { privateKeyFile: raw.siteKeyFile, publicKeyFile: `${raw.siteKeyFile}.pub`, force, ...(raw.site ? { site: raw.site } : {}) };
}

/** The one place the relay reads the process's arguments and environment. */
export function relayProcessInput(): { argv: readonly string[]; env: Readonly<Record<string, string | undefined>> } {
  return { argv: process.argv.slice(2), env: process.env };
}
