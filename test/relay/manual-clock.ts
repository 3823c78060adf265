/**
 * A relay Clock (relay/timing.ts) that stands still until a test moves it: `sleep` resolves only
 * when `advance` passes its time (or its signal aborts), `random` is fixed. Tests wait for the
 * agent to be asleep (`sleeping`), then move time, instead of waiting on the wall clock.
 */
import type { Clock } from "../../relay/timing";

interface Sleeper {
  at: number;
  ms: number;
  wake: () => void;
}

export class ManualClock implements Clock {
  private t: number;
  private sleepers: Sleeper[] = [];

  constructor(
    start = Date.now(),
    /** drives jitter; 0.5 puts every backoff at three quarters of its window */
    readonly random: () => number = () => 0.5,
  ) {
    this.t = start;
  }

  now = (): number => this.t;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      // Nothing to wait for: a zero sleep (an idle poll of 0) is due now.
      if (signal?.aborted || ms <= 0) return resolve();
      const sleeper: Sleeper = {
        at: this.t + Math.max(0, ms),
        ms,
        wake: () => {
          signal?.removeEventListener("abort", sleeper.wake);
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal?.addEventListener("abort", sleeper.wake, { once: true });
    });

  /** Moves time forward, waking (in time order) every sleep that is due by then. */
  advance(ms: number): void {
    this.t += ms;
    for (const s of [...this.sleepers].sort((a, b) => a.at - b.at)) if (s.at <= this.t) s.wake();
  }

  /** The durations of the sleeps pending now, as they were asked for. */
  pending(): number[] {
    return this.sleepers.map((s) => s.ms);
  }

  /** Resolves once `count` sleeps of `ms` are pending (the agent is parked where the test expects). */
  async sleeping(ms: number, count = 1, timeoutMs = 5_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.sleepers.filter((s) => s.ms === ms).length < count) {
      if (Date.now() > until) throw new Error(`no ${count} sleep(s) of ${ms} ms pending; pending: [${this.pending().join(", ")}]`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}
