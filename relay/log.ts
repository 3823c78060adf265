/**
 * Structured log lines for the relay: one JSON object per line (time, level, msg, and the
 * command's fields: command_id, type, site, bmc). Bodies of commands are never logged; on top of
 * that fields whose names look secret are replaced (lib/log's `redact`), and every line passes
 * through a redactor holding the secret values the agent knows of (the site token, BMC passwords
 * it resolved, the CHAP secret of each command while it runs), so a secret that slips into an
 * error message still never reaches the output. Pass errors as strings (name, code), not objects.
 */
import { redact as redactSecretKeys } from "../lib/log";

export type LogLevel = "debug" | "info" | "warn" | "error";

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to each line and redacts `secrets` as well as the parent's. */
  child(fields: LogFields, secrets?: Iterable<string>): Logger;
}

export const REDACTED = "[redacted]";

export interface JsonLoggerOptions {
  /** Receives one serialized line (without newline). Default: stdout. */
  write?: (line: string) => void;
  now?: () => number;
  /** Secrets redacted from every line; the set may grow (the agent adds passwords it resolves). */
  secrets?: Set<string>;
  fields?: LogFields;
}

function redact(line: string, secrets: Iterable<string>): string {
  let out = line;
  for (const s of secrets) {
    if (!s) continue;
    // Match the secret both raw and as JSON escaped it inside a string.
    const escaped = JSON.stringify(s).slice(1, -1);
    out = out.split(s).join(REDACTED);
    if (escaped !== s) out = out.split(escaped).join(REDACTED);
  }
  return out;
}

export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const shared = options.secrets ?? new Set<string>();

  const make = (base: LogFields, own: readonly string[]): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      const line = JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...(redactSecretKeys({ ...base, ...fields }) as LogFields) });
      write(redact(redact(line, own), shared));
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields, secrets) => make({ ...base, ...fields }, [...own, ...(secrets ?? [])]),
    };
  };
  return make(options.fields ?? {}, []);
}

/** A BMC address fit for a log line: no userinfo, no query. */
export function loggableAddress(address: string): string {
  try {
    const u = new URL(address);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(invalid address)";
  }
}
