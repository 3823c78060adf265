/**
 * How a real Cinder queues under load (the lab's Cinder, seen at 10-50 concurrent attaches:
 * cinder-api under uwsgi with 1 process × 8 threads, cinder-volume with LVM + tgt):
 *
 * - cinder-api serves `apiWorkers` requests at a time; the others wait their turn, in order. A
 *   request whose client gave up is still served when its turn comes: uwsgi does not look, so a
 *   create the client stopped waiting for still reserves, later.
 * - What cinder-api hands to cinder-volume over RPC (an export made or removed: an attachment
 *   created with a connector, updated, deleted; the legacy initialize / attach / terminate /
 *   detach) runs there one at a time, `exportMs` each, while its API request keeps its worker.
 * - cinder-api waits `rpcTimeoutMs` for cinder-volume at most (rpc_response_timeout, 60 s):
 *   then it answers 500 and frees the worker, but the RPC stays queued at cinder-volume and is
 *   carried out all the same when its turn comes. What cinder-api saves from the RPC's answer
 *   (an attachment's connection_info) is then never saved.
 *
 * Off unless the emulator is started with `queueing`: tests that need none of it stay fast.
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface QueueingOptions {
  /** requests cinder-api serves at once (uwsgi processes × threads; the lab's: 8) */
  apiWorkers?: number;
  /** how long cinder-volume takes over one export or unexport (the lab's LVM + tgt: ~0.5-1 s) */
  exportMs: number;
  /** rpc_response_timeout (default 60 s) */
  rpcTimeoutMs?: number;
}

/** cinder-api's answer when cinder-volume did not answer in time (MessagingTimeout). */
export class RpcTimeout extends Error {
  override readonly name = "RpcTimeout";
}

/** A fixed number of workers; the rest wait in order. */
export class WorkerPool {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly size: number) {}

  async admit(): Promise<() => void> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.busy -= 1;
    };
  }

  get queued(): number {
    return this.waiting.length;
  }
}

/** cinder-volume: one RPC at a time, each `exportMs` long, whether its caller still waits or not. */
export class VolumeService {
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  /** RPCs carried out, and the most that were ever queued at once */
  done = 0;
  deepest = 0;
  private queued = 0;

  constructor(private readonly opts: QueueingOptions) {}

  /**
   * Runs `work` when its turn comes; `abandoned` tells it whether cinder-api had already given
   * up waiting. Rejects with RpcTimeout after rpcTimeoutMs (the work still runs later).
   */
  call<T>(work: (abandoned: boolean) => T): Promise<T> {
    let abandoned = false;
    this.queued += 1;
    this.deepest = Math.max(this.deepest, this.queued);
    const result = new Promise<T>((resolve, reject) => {
      this.tail = this.tail.then(async () => {
        await sleep(this.opts.exportMs, undefined, { ref: false });
        this.queued -= 1;
        if (this.closed) return reject(new RpcTimeout("the volume service stopped"));
        this.done += 1;
        try {
          resolve(work(abandoned));
        } catch (err) {
          reject(err);
        }
      });
    });
    // an RPC whose caller gave up fails on its own: nobody reads that
    result.catch(() => undefined);
    const limit = this.opts.rpcTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abandoned = true;
        reject(new RpcTimeout(`Timed out waiting for a reply to message ID (${limit / 1000} s)`));
      }, limit);
      timer.unref();
    });
    return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
  }

  close(): void {
    this.closed = true;
  }
}
