/**
 * The adaptive limit on calls in flight at Cinder's volume service, on its own: answers are
 * given to it by hand, so each case states the latencies and failures it reacts to.
 */
import { describe, expect, it } from "vitest";
import { ExportLimiter, type LimiterSettings } from "../../lib/cinder/export-limiter";

const settings: LimiterSettings = { initial: 2, min: 1, max: 8, tolerance: 2, floorMs: 1_000, samples: 20 };
const ok = (latencyMs: number) => ({ latencyMs, failed: false });

/** n calls sent and answered one round after another, each with `latencyMs` */
async function answer(l: ExportLimiter, n: number, latencyMs: number) {
  for (let i = 0; i < n; i++) (await l.acquire()).release(ok(latencyMs));
}

describe("the volume-service limiter (AIMD)", () => {
  it("admits up to its window at once; the next waits for a slot and gets the first one freed", async () => {
    const l = new ExportLimiter("http://cinder", settings);
    const a = await l.acquire();
    const b = await l.acquire();
    let third = false;
    const c = l.acquire().then((p) => ((third = true), p));
    await Promise.resolve();
    expect(l.inFlight).toBe(2);
    expect(l.waiting).toBe(1);
    expect(third).toBe(false);
    a.release(ok(100));
    (await c).release(ok(100));
    b.release(ok(100));
    expect(third).toBe(true);
    expect(l.inFlight).toBe(0);
  });

  it("grows by one slot per window of answers within the target, up to its ceiling", async () => {
    const l = new ExportLimiter("http://cinder", settings);
    await answer(l, 2, 200); // 2 → 2.5 → 2.9
    expect(l.window).toBeCloseTo(2.9, 5);
    await answer(l, 200, 200);
    expect(l.window).toBe(8);
  });

  it("halves on a timeout, a 5xx or a 429, but only once for the calls of one round", async () => {
    const l = new ExportLimiter("http://cinder", { ...settings, initial: 8 });
    const round = await Promise.all(Array.from({ length: 8 }, () => l.acquire()));
    for (const p of round) p.release({ latencyMs: 60_000, failed: true });
    expect(l.window).toBe(4);
    (await l.acquire()).release({ latencyMs: 60_000, failed: true });
    expect(l.window).toBe(2);
  });

  it("reads Cinder queueing from latency: slower than twice its fastest recent answer halves the window", async () => {
    const l = new ExportLimiter("http://cinder", { ...settings, initial: 4 });
    await answer(l, 3, 800); // Cinder's own service time: 0.8 s
    const before = l.window;
    (await l.acquire()).release(ok(1_700)); // one export queued behind another
    expect(l.window).toBeCloseTo(before / 2, 5);
  });

  it("never reacts to a fast Cinder's jitter below the floor", async () => {
    const l = new ExportLimiter("http://cinder", settings);
    await answer(l, 5, 5);
    (await l.acquire()).release(ok(900)); // 180 × the fastest, but under a second
    expect(l.window).toBeGreaterThan(2);
  });

  it("never goes below one call in flight", async () => {
    const l = new ExportLimiter("http://cinder", settings);
    for (let i = 0; i < 10; i++) (await l.acquire()).release({ latencyMs: 1, failed: true });
    expect(l.window).toBe(1);
    const p = await l.acquire();
    expect(l.inFlight).toBe(1);
    p.release(null);
  });

  it("a call that was never sent (released without a signal) changes nothing but its slot", async () => {
    const l = new ExportLimiter("http://cinder", settings);
    (await l.acquire()).release(null);
    expect(l.window).toBe(2);
    expect(l.typicalLatencyMs).toBeNull();
  });

  it("a wait that outlasts its bound is refused as not sent (retryable), and leaves its place in the queue", async () => {
    const l = new ExportLimiter("http://cinder", { ...settings, initial: 1 });
    const held = await l.acquire();
    const err = await l.acquire(20).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: "CINDER_UNAVAILABLE", retryable: true, notActedOn: true });
    expect(String((err as Error).message)).toMatch(/1 calls to its volume service were ahead/);
    expect(l.waiting).toBe(0);
    held.release(ok(10));
    expect(l.inFlight).toBe(0);
  });

  it("keeps a smoothed latency for the client's budget checks", async () => {
    const l = new ExportLimiter("http://cinder", settings);
    await answer(l, 1, 1_000);
    expect(l.typicalLatencyMs).toBe(1_000);
    await answer(l, 1, 2_000);
    expect(l.typicalLatencyMs).toBeCloseTo(1_200, 5);
  });
});
