/**
 * Idempotency-Key on POST: the first request with a key runs and its answer is stored; the same
 * key with the same body answers that again; with another body, 422. A request that failed
 * without changing anything forgets the key, so the caller can retry it.
 */
import type { Deps } from "../deps";
import { SanbootError } from "../errors";
import type { ApiAnswer, Caller } from "../http/api-handler";
import { sha256Hex } from "../ids";

const KEEP_MS = 24 * 3600 * 1000;

/** JSON with sorted keys, so equal bodies hash equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export async function withIdempotency(
  deps: Deps,
  caller: Caller,
  key: string | undefined,
  fingerprint: unknown,
  run: () => Promise<ApiAnswer>,
): Promise<ApiAnswer> {
  if (!key) return run();
  const now = deps.clock.now();
  const bodyHash = sha256Hex(canonical(fingerprint));
  const seen = await deps.store.claimIdempotencyKey(
    { project_id: caller.project_id, key, body_hash: bodyHash, status: "in_progress", response: null, expires_at: new Date(now.getTime() + KEEP_MS).toISOString() },
    now.toISOString(),
  );
  if (seen) {
    if (seen.body_hash !== bodyHash) {
      throw new SanbootError("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with another request body; use a new key", {
        details: [{ field: "Idempotency-Key", message: "reused with a different body" }],
      });
    }
    if (seen.status !== "completed" || !seen.response) {
      throw new SanbootError("IDEMPOTENCY_KEY_IN_FLIGHT", "a request with this Idempotency-Key is still being processed; retry shortly");
    }
    const r = seen.response;
    return { status: r.statusCode, body: r.body, headers: { ...(r.location ? { location: r.location } : {}), "idempotent-replayed": "true" } };
  }
  let answer: ApiAnswer;
  try {
    answer = await run();
  } catch (err) {
    await deps.store.releaseIdempotencyKey(caller.project_id, key).catch(() => undefined);
    throw err;
  }
  await deps.store.completeIdempotencyKey(caller.project_id, key, {
    statusCode: answer.status,
    body: answer.body,
    ...(answer.headers?.location ? { location: answer.headers.location } : {}),
  });
  return answer;
}
