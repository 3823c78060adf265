/**
 * Following a boot request until it ends: a live line on a terminal (state, step, attempt,
 * elapsed, redrawn in place), one plain line per change otherwise. Ends at a final state:
 * 0 for `active` / `detached`, 1 for `failed` (its error code and message printed).
 */
import type { ApiClient } from "./client";
import { elapsed } from "./render";

export interface WaitIo {
  out(text: string): void;
  isTTY: boolean;
  now(): number;
  sleep(ms: number): Promise<void>;
}

const FINAL = new Set(["active", "detached", "failed"]);

export async function follow(client: ApiClient, requestId: string, io: WaitIo, opts: { intervalMs?: number; timeoutMs?: number } = {}): Promise<number> {
  const started = io.now();
  const interval = opts.intervalMs ?? 1_000;
  let last = "";
  let live = false;
  const clearLive = () => {
    if (live) io.out("\n");
    live = false;
  };
  for (;;) {
    const r = (await client.get(`/v1/boot-requests/${encodeURIComponent(requestId)}`)).body;
    const since = elapsed(io.now() - started);
    const key = `${r.state} ${r.step ?? "-"} ${r.attempts ?? 0}`;
    const line = `${r.state.padEnd(19)} ${String(r.step ?? "-").padEnd(18)} attempt ${r.attempts ?? 0}`;
    if (io.isTTY) {
      // each step keeps its line (with the time it moved on); the current one is redrawn in place
      if (live && key !== last) io.out("\n");
      else if (live) io.out("\r\x1b[2K");
      io.out(`${line}  ${since}`);
      live = true;
    } else if (key !== last) {
      io.out(`${since} ${line}\n`);
    }
    last = key;
    if (FINAL.has(r.state)) {
      clearLive();
      if (r.state === "failed") {
        io.out(`failed after ${since}: ${r.error?.code ?? "UNKNOWN"}: ${r.error?.message ?? ""}\n`);
        return 1;
      }
      const confirmed = r.state === "active" ? ` (boot confirmed: ${r.boot_confirmed === true ? "yes" : "no"}${r.boot_evidence ? `, ${r.boot_evidence}` : ""})` : "";
      io.out(`${r.state} after ${since}${confirmed}\n`);
      return 0;
    }
    if (opts.timeoutMs !== undefined && io.now() - started >= opts.timeoutMs) {
      clearLive();
      io.out(`still ${r.state} after ${since}: stopped waiting (the request goes on)\n`);
      return 3;
    }
    await io.sleep(interval);
  }
}
