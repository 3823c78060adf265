/**
 * How the CLI prints: tables for lists, key/value blocks for one object, `--json` as the API
 * answered it. Plain text only; nothing here knows about terminals.
 */
export type Row = Record<string, unknown>;

const cell = (v: unknown): string => {
  if (v === null || v === undefined || v === "") return "-";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
};

/** Columns padded to their widest cell, headers upper case. */
export function table(rows: Row[], columns: Array<[header: string, pick: (r: Row) => unknown]>): string {
  const cells = rows.map((r) => columns.map(([, pick]) => cell(pick(r))));
  const heads = columns.map(([h]) => h.toUpperCase());
  const widths = heads.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join("  ");
  return [line(heads), ...cells.map(line)].join("\n") + "\n";
}

/** One object as `key: value` lines, in the order given. */
export function fields(obj: Row, keys: string[]): string {
  const width = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${(k + ":").padEnd(width + 1)} ${cell(obj[k])}`).join("\n") + "\n";
}

/** Elapsed time as m:ss (or h:mm:ss). */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export const NODE_COLUMNS: Array<[string, (r: Row) => unknown]> = [
  ["node_id", (r) => r.node_id],
  ["name", (r) => r.name],
  ["site", (r) => r.site],
  ["bmc", (r) => `${(r.bmc as Row | undefined)?.address ?? ""} ${(r.bmc as Row | undefined)?.system_id ?? ""}`.trim()],
  ["boot_mode", (r) => r.boot_mode],
  ["active_request", (r) => r.active_request_id],
];

export const NODE_FIELDS = [
  "node_id", "name", "project_id", "site", "bmc", "boot_mode", "boot_override", "mac_address", "fc_wwpn", "network",
  "bios_changes", "initiator_iqn", "fc_ports", "inventory_error", "active_request_id", "created_at", "updated_at",
];

export const REQUEST_COLUMNS: Array<[string, (r: Row) => unknown]> = [
  ["request_id", (r) => r.request_id],
  ["node_id", (r) => r.node_id],
  ["state", (r) => r.state],
  ["step", (r) => r.step],
  ["attempts", (r) => r.attempts],
  ["error", (r) => (r.error as Row | null)?.code],
  ["updated_at", (r) => r.updated_at],
];

export const REQUEST_FIELDS = [
  "request_id", "node_id", "volume_id", "protocol", "multipath", "state", "step", "attempts", "next_attempt_at", "error",
  "boot_confirmed", "boot_evidence", "target", "attachment_id", "created_at", "updated_at",
];

export const HISTORY_COLUMNS: Array<[string, (r: Row) => unknown]> = [
  ["at", (r) => r.at],
  ["state", (r) => r.state],
  ["step", (r) => r.step],
  ["attempts", (r) => r.attempts],
  ["error", (r) => {
    const e = r.error as Row | null;
    return e ? `${e.code}: ${e.message}` : null;
  }],
];

/** A PEM key as its one base64 line, to compare with the file (grep -v -- ----- site-key.pem.pub). */
const pemBody = (pem: unknown): string | null => (typeof pem === "string" ? pem.split(/\r?\n/).filter((l) => l && !l.startsWith("-----")).join("") : null);

export const SITE_COLUMNS: Array<[string, (r: Row) => unknown]> = [
  ["site", (r) => r.site],
  ["source", (r) => r.source],
  ["tokens", (r) => (r.relay_tokens as Row[] | undefined)?.length ?? 0],
  ["sealing_key", (r) => (r.sealing_public_key ? "yes" : "no")],
  ["nodes", (r) => r.node_count],
  ["description", (r) => r.description],
  ["updated_at", (r) => r.updated_at],
];

const TOKEN_COLUMNS: Array<[string, (r: Row) => unknown]> = [
  ["token_sha256", (r) => r.sha256],
  ["added_at", (r) => r.added_at],
];

const RELAY_COLUMNS: Array<[string, (r: Row) => unknown]> = [
  ["relay_id", (r) => r.relay_id],
  ["version", (r) => r.version],
  ["concurrency", (r) => r.concurrency],
  ["last_seen", (r) => r.last_seen_at],
  ["online", (r) => (r.online ? "yes" : "no")],
];

/** One site (the API's site view): its fields, then the hashes of the relay tokens it accepts. */
export function siteText(s: Row): string {
  const tokens = (s.relay_tokens as Row[] | undefined) ?? [];
  const text = fields({ ...s, sealing_public_key: pemBody(s.sealing_public_key) }, ["site", "source", "description", "sealing_public_key", "node_count", "version", "created_at", "updated_at"]);
  return `${text}\n${tokens.length ? table(tokens, TOKEN_COLUMNS) : "no relay token\n"}`;
}

/** A site with its relays and command queue (GET /v1/sites/{site}). */
export function siteDetailText(s: Row): string {
  const c = (s.commands as Row | undefined) ?? {};
  const relays = (s.relays as Row[] | undefined) ?? [];
  // the service stops counting at counted_up_to commands: beyond it the counts are lower bounds
  const capped = Number(c.queued ?? 0) + Number(c.in_flight ?? 0) >= Number(c.counted_up_to ?? Infinity);
  const count = (n: unknown) => `${String(n ?? 0)}${capped ? "+" : ""}`;
  const age = typeof c.oldest_queued_age_seconds === "number" ? `${Math.round(c.oldest_queued_age_seconds)}s` : null;
  const queue = fields({ relay_status: s.relay_status, queued: count(c.queued), in_flight: count(c.in_flight), oldest_queued: age }, ["relay_status", "queued", "in_flight", "oldest_queued"]);
  return `${siteText(s)}\n${queue}\n${relays.length ? table(relays, RELAY_COLUMNS) : "no relay has called yet\n"}`;
}
