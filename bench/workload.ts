/**
 * The timed part: fire every call of a phase at once, then watch the requests until each one
 * ends. Watching uses the list endpoint (one page of up to 100 requests per call) rather than
 * one GET per request, so the caller's own load on the state table stays small and countable;
 * latencies come from each request's history timestamps, so the poll interval does not
 * blur them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Api } from "../test/support/api-client";

export interface Fired {
  /** request id when the call was accepted (202), else null */
  requestId: string | null;
  status: number;
  /** the error code of a refused call */
  code: string | null;
}

export interface RequestView {
  request_id: string;
  state: string;
  error: { code: string; message: string } | null;
  history: Array<{ state: string; at: string }>;
}

export interface Watched {
  /** the last view of every watched request */
  views: Map<string, RequestView>;
  /** list calls made (each one page) */
  listCalls: number;
  /** list passes that failed (a busy stack may answer 5xx); the next pass tries again */
  listErrors: number;
  timedOut: boolean;
}

/** Sends all calls at once and records each answer. */
export async function fireAll(calls: ReadonlyArray<() => Promise<{ status: number; body: any }>>): Promise<Fired[]> {
  return Promise.all(
    calls.map(async (call) => {
      try {
        const r = await call();
        if (r.status === 202) return { requestId: r.body.request_id as string, status: r.status, code: null };
        return { requestId: null, status: r.status, code: String(r.body?.error?.code ?? `HTTP_${r.status}`) };
      } catch (err) {
        return { requestId: null, status: 0, code: `CLIENT_${(err as Error).name}` };
      }
    }),
  );
}

/** One pass over the project's requests, page by page; false if a page could not be read. */
async function listAll(api: Api, into: Map<string, RequestView>, counts: { calls: number }): Promise<boolean> {
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    counts.calls++;
    const r = await api.get(`/v1/boot-requests?limit=100${q}`).catch(() => null);
    if (r?.status !== 200) return false;
    for (const v of r.body.boot_requests as RequestView[]) into.set(v.request_id, v);
    cursor = r.body.next_cursor;
  } while (cursor);
  return true;
}

/** Polls until every id is in one of `done`, or the deadline passes. */
export async function watchUntil(api: Api, ids: readonly string[], done: readonly string[], pollMs: number, timeoutMs: number): Promise<Watched> {
  const views = new Map<string, RequestView>();
  const deadline = Date.now() + timeoutMs;
  const counts = { calls: 0 };
  let listErrors = 0;
  for (;;) {
    if (!(await listAll(api, views, counts))) listErrors++;
    else if (ids.every((id) => done.includes(views.get(id)?.state ?? ""))) return { views, listCalls: counts.calls, listErrors, timedOut: false };
    if (Date.now() >= deadline) return { views, listCalls: counts.calls, listErrors, timedOut: true };
    await sleep(pollMs);
  }
}

/** Milliseconds between the first history entry in state `from` and the first in state `to`. */
export function span(view: RequestView, from: string, to: string): number | null {
  const a = view.history.find((h) => h.state === from);
  const b = view.history.find((h) => h.state === to);
  return a && b ? Date.parse(b.at) - Date.parse(a.at) : null;
}

/** The time of the first history entry in `state`, epoch ms. */
export function reachedAt(view: RequestView, state: string): number | null {
  const h = view.history.find((e) => e.state === state);
  return h ? Date.parse(h.at) : null;
}
