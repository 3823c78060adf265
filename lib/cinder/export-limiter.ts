/**
 * An adaptive limit on the calls in flight that queue at Cinder's volume service, per Cinder
 * endpoint: attachment creates and updates (an export each), deletes, and the legacy
 * initialize / attach / terminate / detach actions. cinder-api hands each to cinder-volume over
 * RPC and holds one of its few API threads until the answer comes (the lab's: 8); with LVM + tgt
 * the exports run one after another. Sending more than Cinder works through only lengthens its
 * queue: every create waits longer, the cheap calls find no API thread free, and past
 * rpc_response_timeout (60 s) Cinder answers 500 while it still carries the work out.
 *
 * AIMD over the calls in flight (TCP's congestion window; the shape of Netflix's
 * concurrency-limits):
 * - an answer within the latency target adds 1/window: one more slot per window of good answers;
 * - an answer slower than the target, a timeout, a 5xx or a 429 halves the window, once per round
 *   (a call sent before the last cut does not cut again);
 * - the target is `tolerance` × the fastest of the recent answers (Cinder's own service time,
 *   which a queue only adds to), and never below `floorMs`.
 * Calls over the window wait in order; a wait ends at its deadline, with nothing sent.
 *
 * Sharing: one limiter per endpoint per process (limiterFor). Locally and in the benchmark every
 * step runs in one process, so this is the limit at that Cinder. On AWS a Lambda container runs
 * one invocation at a time and so holds at most one such call: there the bound is the attach
 * function's reserved concurrency (serverless.yml), and this window never makes a call wait.
 */
import { CinderHttpError } from "./cinder-transport";

export interface LimiterSettings {
  /** the window to start from */
  initial: number;
  min: number;
  max: number;
  /** an answer slower than tolerance × the fastest recent one means Cinder is queueing */
  tolerance: number;
  /** ... but one faster than this never does (a fast Cinder's jitter is no queue) */
  floorMs: number;
  /** how many recent answers the fastest is taken from */
  samples: number;
}

export const DEFAULT_LIMITER: LimiterSettings = { initial: 2, min: 1, max: 8, tolerance: 2, floorMs: 1_000, samples: 20 };

/** What one call that held a slot showed. */
export interface CallSignal {
  latencyMs: number;
  /** timed out, 5xx, 429, connection failure: Cinder is overloaded (or gone) */
  failed: boolean;
}

export interface Permit {
  /** once, when the call is over; null: it was never sent (no signal) */
  release(signal: CallSignal | null): void;
}

interface Waiter {
  admit(): void;
}

export class ExportLimiter {
  private windowSize: number;
  private held = 0;
  private round = 0;
  private readonly queue: Waiter[] = [];
  private readonly recent: number[] = [];
  private smoothed: number | null = null;

  constructor(
    readonly endpoint: string,
    private readonly settings: LimiterSettings = DEFAULT_LIMITER,
  ) {
    this.windowSize = clamp(settings.initial, settings.min, settings.max);
  }

  /** the current limit (fractional: it grows by fractions) */
  get window(): number {
    return this.windowSize;
  }

  get inFlight(): number {
    return this.held;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** how long such a call takes now (smoothed), null before the first answer */
  get typicalLatencyMs(): number | null {
    return this.smoothed;
  }

  /**
   * A slot, now or when one frees up. `waitMs` bounds the wait: past it the call is refused
   * with CINDER_UNAVAILABLE (retryable, notActedOn: nothing was sent).
   */
  acquire(waitMs = Number.POSITIVE_INFINITY): Promise<Permit> {
    if (this.queue.length === 0 && this.held < this.capacity()) return Promise.resolve(this.grant());
    const ahead = this.queue.length + this.held;
    return new Promise<Permit>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        admit: () => {
          if (timer) clearTimeout(timer);
          resolve(this.grant());
        },
      };
      if (Number.isFinite(waitMs)) {
        timer = setTimeout(() => {
          const at = this.queue.indexOf(waiter);
          if (at >= 0) this.queue.splice(at, 1);
          reject(
            new CinderHttpError(
              "CINDER_UNAVAILABLE",
              `Cinder at ${this.endpoint} is busy: ${ahead} calls to its volume service were ahead of this one (limit ${this.capacity()} in flight), and it was not sent within the step's budget`,
              null,
              "",
              { retryable: true, notActedOn: true },
            ),
          );
        }, Math.max(0, waitMs));
        timer.unref?.();
      }
      this.queue.push(waiter);
    });
  }

  private capacity(): number {
    return Math.max(this.settings.min, Math.floor(this.windowSize));
  }

  private grant(): Permit {
    this.held += 1;
    const round = this.round;
    let released = false;
    return {
      release: (signal) => {
        if (released) return;
        released = true;
        this.held -= 1;
        if (signal) this.learn(signal, round);
        this.admitWaiting();
      },
    };
  }

  private learn(signal: CallSignal, sentInRound: number): void {
    if (!signal.failed) {
      this.recent.push(signal.latencyMs);
      if (this.recent.length > this.settings.samples) this.recent.shift();
      this.smoothed = this.smoothed === null ? signal.latencyMs : 0.8 * this.smoothed + 0.2 * signal.latencyMs;
    }
    const target = Math.max(this.settings.floorMs, this.settings.tolerance * Math.min(...this.recent, Number.POSITIVE_INFINITY));
    const overloaded = signal.failed || signal.latencyMs > target;
    if (overloaded) {
      if (sentInRound !== this.round) return; // this round was cut already
      this.round += 1;
      this.windowSize = Math.max(this.settings.min, this.windowSize / 2);
    } else {
      this.windowSize = Math.min(this.settings.max, this.windowSize + 1 / this.windowSize);
    }
  }

  private admitWaiting(): void {
    while (this.queue.length > 0 && this.held < this.capacity()) this.queue.shift()!.admit();
  }
}

const limiters = new Map<string, ExportLimiter>();

/** This process's limiter for a Cinder endpoint (its URL without the project), made on first use. */
export function limiterFor(endpoint: string, settings?: Partial<LimiterSettings>): ExportLimiter {
  let limiter = limiters.get(endpoint);
  if (!limiter) {
    limiter = new ExportLimiter(endpoint, { ...DEFAULT_LIMITER, ...settings });
    limiters.set(endpoint, limiter);
  }
  return limiter;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
