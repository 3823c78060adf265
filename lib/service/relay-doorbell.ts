/**
 * The relay queue's doorbell: whoever makes a command leasable rings the site's bell, and a relay's
 * long-poll (relay-queue.ts, `lease`) that found nothing sleeps until it rings instead of asking
 * the table again at intervals. A command enqueued for an idle relay then starts within one table
 * query of being written, and an idle relay costs one query per long-poll.
 *
 *   enqueue (any step, enrollment) ──▶ store.enqueueCommand ──▶ bell.ring(site)
 *                                                                   │ wakes
 *   relay ──long-poll──▶ lease: query; nothing? ──▶ listener.wait ◀─┘ ──▶ query again
 *
 * A listener is armed before the lease's first query, so a ring between that query and the wait
 * is not lost. Rings carry no command: the table stays the only truth, a ring only says "look".
 *
 * `heardEverywhere` says whether this bell hears every ring of the deployment. The in-process bell
 * does where every function runs in one process (the lab's service host, inline dispatch); where
 * the enqueuing function may be another process (serverless-offline's workers, Lambda) it hears
 * only its own process's rings, and the lease keeps asking the table at its interval besides.
 * The deployment-wide bell (one SQS queue per site, long-polled by the lease: sqs-doorbell.ts)
 * implements the same interface.
 */
import type { StateStore } from "../store/state-store";

export interface DoorbellListener {
  /** true when the site's bell rang since the listener was armed (or since the last true); false after `ms` */
  wait(ms: number): Promise<boolean>;
  close(): void;
}

export interface RelayDoorbell {
  /** every ring in the deployment reaches this bell: a lease may sleep on it alone */
  readonly heardEverywhere: boolean;
  /**
   * A bell that hears every process's rings but wakes one lease per ring (SQS): a lease waits on
   * it this long at a time and asks the table between waits. Unset: a bell that does not hear
   * every ring, between whose waits the lease asks at its growing interval.
   */
  readonly pollMs?: number;
  /** says the site's leasable commands changed; never throws (a lost ring costs latency, not work) */
  ring(site: string): Promise<void>;
  /** arms a listener for the site's rings */
  listen(site: string): DoorbellListener;
}

class LocalListener implements DoorbellListener {
  private rung = false;
  private wake: (() => void) | undefined;

  constructor(private readonly onClose: (l: LocalListener) => void) {}

  hear(): void {
    this.rung = true;
    this.wake?.();
  }

  async wait(ms: number): Promise<boolean> {
    if (!this.rung && ms > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const rung = this.rung;
    this.rung = false;
    return rung;
  }

  close(): void {
    this.wake?.();
    this.onClose(this);
  }
}

/** The bell of one process: rings reach the listeners of this process only. */
export class LocalDoorbell implements RelayDoorbell {
  private readonly listeners = new Map<string, Set<LocalListener>>();

  constructor(readonly heardEverywhere: boolean) {}

  async ring(site: string): Promise<void> {
    for (const l of this.listeners.get(site) ?? []) l.hear();
  }

  listen(site: string): DoorbellListener {
    let set = this.listeners.get(site);
    if (!set) this.listeners.set(site, (set = new Set()));
    const l = new LocalListener((gone) => {
      set!.delete(gone);
      if (set!.size === 0 && this.listeners.get(site) === set) this.listeners.delete(site);
    });
    set.add(l);
    return l;
  }
}

const bells = new WeakMap<object, RelayDoorbell>();

/**
 * `store`, with every command it queues rung on `bell` once written. Everything else is the
 * store's own; `doorbellOf` finds the bell again from what this answers.
 */
export function withRelayDoorbell<S extends Pick<StateStore, "enqueueCommand">>(store: S, bell: RelayDoorbell): S {
  const ringing = async (c: Parameters<StateStore["enqueueCommand"]>[0]) => {
    const created = await store.enqueueCommand(c);
    if (created) await bell.ring(c.site);
    return created;
  };
  const proxy = new Proxy(store, {
    get(target, prop) {
      if (prop === "enqueueCommand") return ringing;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  bells.set(proxy, bell);
  return proxy;
}

/** The bell of a store made by withRelayDoorbell; undefined for any other store (leases then poll). */
export function doorbellOf(store: object): RelayDoorbell | undefined {
  return bells.get(store);
}
