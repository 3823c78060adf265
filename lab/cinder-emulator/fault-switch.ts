/**
 * The lab's fault switch: one-shot failures a test arms (over HTTP `POST /_lab/faults` or in
 * process) to produce what the wire rarely shows on demand: a 500 under load, a dropped
 * connection, a slow answer, and above all the LOST ANSWER (`after_effect: true`: Cinder did the
 * work, the caller never learned it).
 */
export interface FaultRule {
  /** HTTP method to match (any when absent) */
  method?: string;
  /** regular expression tested against the request path (without the query) */
  path_regex?: string;
  /** regular expression tested against the request body (e.g. "os-attach" for one volume action) */
  body_regex?: string;
  /** status to answer (default 500, with Cinder's matching error body) */
  status?: number;
  /** destroy the connection instead of answering */
  drop?: boolean;
  /** perform the request's effect first, then fail: the "lost answer" */
  after_effect?: boolean;
  /** hold the answer this long first (for client timeouts) */
  delay_ms?: number;
  /** how many matching requests fail (default 1) */
  times?: number;
  /** seconds for a Retry-After header on the failure (e.g. with status 429 or 503) */
  retry_after?: number;
}

interface ArmedRule extends FaultRule {
  remaining: number;
  pattern: RegExp | null;
  bodyPattern: RegExp | null;
}

export class FaultSwitch {
  private rules: ArmedRule[] = [];
  fired = 0;

  arm(rule: FaultRule): void {
    this.rules.push({
      ...rule,
      remaining: rule.times ?? 1,
      pattern: rule.path_regex ? new RegExp(rule.path_regex) : null,
      bodyPattern: rule.body_regex ? new RegExp(rule.body_regex) : null,
    });
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map(({ remaining, pattern: _p, bodyPattern: _b, ...rule }) => ({ ...rule, times: remaining }));
  }

  /** The first armed rule matching the request, consumed; null when none. */
  take(method: string, path: string, body = ""): FaultRule | null {
    const rule = this.rules.find(
      (r) =>
        (!r.method || r.method.toUpperCase() === method) && (!r.pattern || r.pattern.test(path)) && (!r.bodyPattern || r.bodyPattern.test(body)),
    );
    if (!rule) return null;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    this.fired += 1;
    return rule;
  }
}

/** Checks a rule that came over HTTP; returns an error message or null. */
export function invalidRule(raw: unknown): string | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return "a fault rule must be an object";
  const r = raw as Record<string, unknown>;
  const known = ["method", "path_regex", "body_regex", "status", "drop", "after_effect", "delay_ms", "times", "retry_after"];
  const unknown = Object.keys(r).find((k) => !known.includes(k));
  if (unknown) return `unknown fault rule field '${unknown}'`;
  if (r["method"] !== undefined && typeof r["method"] !== "string") return "method must be a string";
  for (const k of ["path_regex", "body_regex"]) {
    if (r[k] === undefined) continue;
    if (typeof r[k] !== "string") return `${k} must be a string`;
    try {
      new RegExp(r[k]);
    } catch {
      return `${k} is not a valid regular expression`;
    }
  }
  const st = r["status"];
  if (st !== undefined && !(Number.isInteger(st) && (st as number) >= 200 && (st as number) <= 599)) return "status must be an integer 200..599";
  for (const k of ["drop", "after_effect"]) if (r[k] !== undefined && typeof r[k] !== "boolean") return `${k} must be a boolean`;
  for (const k of ["delay_ms", "times", "retry_after"]) {
    const n = r[k];
    if (n !== undefined && !(Number.isInteger(n) && (n as number) >= (k === "times" ? 1 : 0))) return `${k} must be a non-negative integer`;
  }
  return null;
}
