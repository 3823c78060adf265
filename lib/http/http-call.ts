/**
 * The service's one HTTP client, for Cinder and Keystone: the runtime's own fetch (Node ships
 * undici inside, so no HTTP library goes into the function bundles: issue 11, cold start), its
 * global keep-alive pool, one deadline per call from connecting to the end of the body, no
 * redirects followed (neither API redirects; a redirect answered is an answer). What a failure
 * was is read from the error itself: `isTimeout` and `errnoOf`.
 */

export interface HttpReply {
  status: number;
  /** a response header, by name in any case */
  header(name: string): string | undefined;
  text: string;
}

export interface HttpCall {
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
}

export async function httpCall(url: string | URL, c: HttpCall): Promise<HttpReply> {
  const res = await fetch(url, {
    method: c.method,
    headers: c.headers,
    ...(c.body === undefined ? {} : { body: c.body }),
    redirect: "manual",
    signal: AbortSignal.timeout(Math.max(1, Math.round(c.timeoutMs))),
  });
  const text = await res.text();
  return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, text };
}

/** The call's deadline passed (or it was aborted) before the answer was whole. */
export const isTimeout = (err: unknown): boolean => err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");

/** The errno-style code of an error or of its causes (fetch wraps the socket's), e.g. ECONNREFUSED. */
export function errnoOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("E") && !code.startsWith("ERR_")) return code;
    // AggregateError (happy eyeballs): any refusal among its errors
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) if (errnoOf(inner) === "ECONNREFUSED") return "ECONNREFUSED";
  }
  return undefined;
}

/** What went wrong, in words: fetch's own message ("fetch failed") says nothing, its cause does. */
export function failureOf(err: unknown, timeoutMs: number): string {
  if (isTimeout(err)) return `no answer within ${Math.round(timeoutMs)} ms`;
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error && e.message === "fetch failed" && e.cause !== undefined; depth++) e = e.cause;
  const message = e instanceof Error ? e.message : String(e);
  return message || (e instanceof Error ? e.name : "no answer");
}
