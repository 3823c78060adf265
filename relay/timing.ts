/**
 * Time and randomness for the relay, injected so tests can run the loop fast and with fixed
 * jitter, plus the one backoff formula the relay uses everywhere it waits after a failure.
 */

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** In [0, 1); drives jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
    }),
};

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * "Full jitter" exponential backoff: a uniform draw in [base·2^(n-1) / 2, base·2^(n-1)], capped
 * at maxMs. Half the window is kept as a floor so a burst of relays never retries at once nor
 * spins at zero delay.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
