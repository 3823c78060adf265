import type { DelayTimer } from "../../lib/dispatch/dispatcher";

/** A timer that fires only when told: `advance(ms)` runs what is due. */
export class ManualTimer implements DelayTimer {
  now = 0;
  private pending: Array<{ at: number; run: () => void }> = [];
  set(ms: number, run: () => void): () => void {
    const entry = { at: this.now + ms, run };
    this.pending.push(entry);
    return () => (this.pending = this.pending.filter((e) => e !== entry));
  }
  advance(ms: number): void {
    this.now += ms;
    const due = this.pending.filter((e) => e.at <= this.now);
    this.pending = this.pending.filter((e) => e.at > this.now);
    for (const e of due) e.run();
  }
  get waiting(): number[] {
    return this.pending.map((e) => e.at - this.now);
  }
}
