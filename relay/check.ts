/**
 * `sanboot-relay check`: what an operator runs after installing a relay, before `run`. One line
 * for the service (reachable, token accepted) and one per BMC address of the credentials file
 * (reachable, TLS verified as the entry says, login accepted), each OK or a stable code and a
 * short reason. Nothing is written anywhere: the service is asked for the heartbeat of a command
 * that cannot exist (a site token is checked before the command is looked up, so LEASE_LOST
 * means the token was accepted), the BMCs for their service root and their Systems collection.
 *
 * No line carries a secret: the site token and every password are scrubbed from each line.
 */
import type { Dispatcher } from "undici";
import { RedfishAgentPool, RedfishTransport } from "../lib/bmc/redfish-transport";
import type { BmcEndpoint } from "../lib/bmc/driver";
import { SanbootError } from "../lib/errors";
import type { BmcCredential, RelayConfig } from "./config";
import { REDACTED } from "./log";
import { ServiceCallError, ServiceClient } from "./service-client";

export interface CheckLine {
  subject: "service" | "bmc";
  /** the credentials_ref, for a BMC */
  ref?: string;
  address: string;
  status: "OK" | "SKIPPED" | "FAILED";
  /** OK, SKIPPED, or the error code (BMC_TLS_UNTRUSTED, BMC_AUTH_FAILED, UNAUTHENTICATED, ...) */
  code: string;
  reason: string;
}

export interface CheckOptions {
  /** per call to the service or a BMC (default 10 s) */
  timeoutMs?: number;
  /** BMCs checked at once (default 16) */
  concurrency?: number;
  /** for the service calls (tests) */
  dispatcher?: Dispatcher;
}

/** A command id of the protocol's shape that no workflow ever makes. */
export const PROBE_COMMAND_ID = "00000000-0000-0000-0000-000000000000.relay_check.0";

/**
 * The service reachable and the token accepted, as a token of this relay's site: whoami answers
 * the site the service holds the token for. A service without whoami (older) is probed with a
 * heartbeat of a command that cannot exist, which only says the token is some site's.
 */
export async function checkService(config: Pick<RelayConfig, "serviceUrl" | "token"> & { site?: string }, opts: CheckOptions = {}): Promise<CheckLine> {
  const line = (status: CheckLine["status"], code: string, reason: string): CheckLine => ({ subject: "service", address: config.serviceUrl, status, code, reason });
  const client = new ServiceClient({
    serviceUrl: config.serviceUrl,
    token: config.token,
    requestTimeoutMs: opts.timeoutMs ?? 10_000,
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
  });
  try {
    const site = await client.whoami().catch(async (err: unknown) => {
      if (!(err instanceof ServiceCallError && (err.status === 404 || err.status === 405))) throw err;
      await client.heartbeat(PROBE_COMMAND_ID, { lease_token: "sanboot-relay-check" });
      return null;
    });
    if (site === null) return line("OK", "OK", "reachable, token accepted (this service does not say for which site)");
    if (config.site !== undefined && site !== config.site) return line("FAILED", "SITE_MISMATCH", `token accepted, but as a token of site ${site}, not ${config.site}`);
    return line("OK", "OK", `reachable, token accepted for site ${site}`);
  } catch (err) {
    if (!(err instanceof ServiceCallError)) return line("FAILED", "INTERNAL", `unexpected error (${(err as Error)?.name ?? "error"})`);
    if (err.leaseLost) return line("OK", "OK", "reachable, token accepted (this service does not say for which site)");
    if (err.status === 401 || err.status === 403) return line("FAILED", err.code, `token refused (${err.status}): not a relay token the service knows`);
    if (err.status === 404) return line("FAILED", err.code, "no sanboot relay API at this URL (404)");
    if (err.code === "SERVICE_UNREACHABLE") {
      const cause = causeCode(err.cause);
      if (cause && TLS_CODES.has(cause)) return line("FAILED", "SERVICE_TLS_UNTRUSTED", `TLS untrusted (${cause}): NODE_EXTRA_CA_CERTS names a CA file node should trust`);
      return line("FAILED", err.code, `unreachable (${cause ?? "no answer"})`);
    }
    return line("FAILED", err.code, err.message);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Reachable, TLS as the entry says, and the login accepted (the service root needs none; Systems does). */
export async function checkBmc(ref: string, cred: BmcCredential, address: string, pool: RedfishAgentPool, timeoutMs = 10_000): Promise<CheckLine> {
  const line = (status: CheckLine["status"], code: string, reason: string): CheckLine => ({ subject: "bmc", ref, address, status, code, reason });
  const tls: BmcEndpoint["tls"] = {};
  if (cred.ca !== undefined) tls.ca = cred.ca;
  if (cred.fingerprint_sha256 !== undefined) tls.fingerprint_sha256 = cred.fingerprint_sha256;
  if (cred.insecure === true) tls.insecure = true;
  const ep: BmcEndpoint = { address, system_id: "", username: cred.username, password: cred.password, tls, budget: { deadline: Date.now() + 2 * timeoutMs } };
  try {
    const transport = new RedfishTransport(ep, pool.agentFor(ep), { timeoutMs }, pool.gateFor(ep));
    const root = (await transport.get("/redfish/v1/")).body;
    const version = typeof root.RedfishVersion === "string" ? root.RedfishVersion : undefined;
    const systemsLink = (root.Systems as { "@odata.id"?: unknown } | undefined)?.["@odata.id"];
    if (!version && typeof systemsLink !== "string") return line("FAILED", "BMC_REJECTED", "answers, but not as a Redfish service (no RedfishVersion, no Systems)");
    const systems = (await transport.get(typeof systemsLink === "string" ? systemsLink : "/redfish/v1/Systems")).body;
    const count = Array.isArray(systems.Members) ? systems.Members.length : 0;
    return line("OK", "OK", `Redfish ${version ?? "(version not given)"}, ${count} system${count === 1 ? "" : "s"}, login accepted, ${tlsSummary(address, cred)}`);
  } catch (err) {
    if (!(err instanceof SanbootError)) return line("FAILED", "INTERNAL", `unexpected error (${(err as Error)?.name ?? "error"})`);
    return line("FAILED", err.code, bmcReason(err, cred));
  }
}

/** The service first, then every BMC address of every credentials entry, in the file's order. */
export async function* runChecks(config: Pick<RelayConfig, "serviceUrl" | "token" | "credentials"> & { site?: string }, opts: CheckOptions = {}): AsyncGenerator<CheckLine> {
  yield await checkService(config, opts);
  const pool = new RedfishAgentPool(opts.timeoutMs ?? 10_000);
  const jobs: Array<() => Promise<CheckLine>> = [];
  for (const [ref, cred] of config.credentials) {
    const addresses = cred.check ?? [];
    if (addresses.length === 0) {
      jobs.push(async () => ({ subject: "bmc", ref, address: "-", status: "SKIPPED", code: "SKIPPED", reason: 'no "check" addresses for this credentials_ref in the credentials file' }));
    }
    for (const address of addresses) jobs.push(() => checkBmc(ref, cred, address, pool, opts.timeoutMs));
  }
  try {
    // At most `concurrency` BMCs at once; lines come out in the file's order as they are ready.
    const results: Array<Promise<CheckLine>> = [];
    let next = 0;
    const startMore = (upTo: number) => {
      while (next < jobs.length && next < upTo) results.push(jobs[next++]!());
    };
    const width = Math.max(1, opts.concurrency ?? 16);
    startMore(width);
    for (let i = 0; i < jobs.length; i++) {
      const done = await results[i]!;
      startMore(i + 1 + width);
      yield done;
    }
  } finally {
    await pool.close().catch(() => undefined);
  }
}

/** One line per subject, columns aligned on the widths given, every secret scrubbed. */
export function formatCheckLine(l: CheckLine, widths: { ref: number; address: number }, secrets: Iterable<string>): string {
  const cells = [l.subject.padEnd(7), (l.ref ?? "-").padEnd(widths.ref), l.address.padEnd(widths.address), l.code.padEnd(22), l.reason];
  let out = cells.join("  ").trimEnd();
  for (const s of secrets) if (s) out = out.split(s).join(REDACTED);
  return out;
}

/** The secrets a check line must never show: the token and every password. */
export function checkSecrets(config: Pick<RelayConfig, "token" | "credentials">): string[] {
  return [config.token, ...[...config.credentials.values()].map((c) => c.password)].filter((s) => s.length > 0);
}

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_FINGERPRINT_MISMATCH",
]);

function tlsSummary(address: string, cred: BmcCredential): string {
  if (!address.startsWith("https:")) return "plain HTTP, no TLS";
  if (cred.insecure) return "TLS NOT verified (insecure: true)";
  if (cred.fingerprint_sha256) return "TLS certificate matches fingerprint_sha256";
  return cred.ca ? "TLS verified against ca_file" : "TLS verified against the system CAs";
}

function bmcReason(err: SanbootError, cred: BmcCredential): string {
  const cause = causeCode(err.cause);
  switch (err.code) {
    case "BMC_TLS_UNTRUSTED": {
      const why =
        cause === "ERR_TLS_CERT_ALTNAME_INVALID"
          ? "the certificate is not issued for this address"
          : cause === "CERT_FINGERPRINT_MISMATCH"
            ? "not the certificate fingerprint_sha256 pins"
            : cause === "CERT_HAS_EXPIRED" || cause === "CERT_NOT_YET_VALID"
              ? "the certificate is outside its validity"
              : cred.ca
                ? "the certificate is not signed by ca_file"
                : "the certificate is not signed by a system CA (give ca_file, or pin fingerprint_sha256)";
      return `TLS untrusted (${cause ?? "verification failed"}): ${why}`;
    }
    case "BMC_AUTH_FAILED":
      return `auth failed: the BMC refused the login of user ${JSON.stringify(cred.username)}`;
    case "BMC_UNREACHABLE":
      if (/timed out/.test(err.message)) return "unreachable (timed out)";
      if (/answered \d+/.test(err.message)) return `answers, but failed: ${shorten(err.message)}`;
      return `unreachable (${cause ?? "connection failed"})`;
    default:
      return shorten(err.message);
  }
}

/** The first error code (ECONNREFUSED, SELF_SIGNED_CERT_IN_CHAIN, ...) along a cause chain, undici's own aside. */
function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && !code.startsWith("UND_ERR")) return code;
  }
  return undefined;
}

function shorten(message: string): string {
  const flat = message.replace(/^BMC \S+ /, "").replace(/\s+/g, " ");
  return flat.length > 160 ? `${flat.slice(0, 160)}…` : flat;
}
