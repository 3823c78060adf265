/**
 * At most one command in flight per BMC. BMCs serialize badly (a second PATCH races the first's
 * ETag, a reset during a settings write loses it), so a command for a busy BMC waits here, in
 * the agent, until the one before it ends. Waiters are served first come, first served.
 */

export type Release = () => void;

export class BmcLock {
  // A key is busy while present; its array holds the waiters.
  private readonly queues = new Map<string, Array<(release: Release) => void>>();

  /** Resolves with a release function, or undefined when `signal` aborted the wait. */
  acquire(key: string, signal?: AbortSignal): Promise<Release | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    const queue = this.queues.get(key);
    if (!queue) {
      this.queues.set(key, []);
      return Promise.resolve(this.releaser(key));
    }
    return new Promise((resolve) => {
      const grant = (release: Release) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(release);
      };
      const onAbort = () => {
        const i = queue.indexOf(grant);
        if (i >= 0) queue.splice(i, 1);
        resolve(undefined);
      };
      queue.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  busy(key: string): boolean {
    return this.queues.has(key);
  }

  private releaser(key: string): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const queue = this.queues.get(key);
      const next = queue?.shift();
      if (next) next(this.releaser(key));
      else this.queues.delete(key);
    };
  }
}

/** Two spellings of one BMC (default port, trailing slash, case of host) share one key. */
export function bmcKey(address: string, systemId: string): string {
  try {
    const u = new URL(address);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}#${systemId}`;
  } catch {
    return `${address}#${systemId}`;
  }
}
