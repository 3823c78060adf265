/**
 * Step chaining: a step that committed a transition invokes the next step's function
 * asynchronously, now or after a delay (a retry at its backoff time, a poll at its recheck time).
 * At-least-once and possibly lost; the sweeper is the safety net.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DependencyError } from "../errors";
import type { StepFunction } from "../workflow";

export interface StepInvocation {
  request_id: string;
}

/** The longest delay a delayed trigger takes (SQS DelaySeconds); a longer one is the sweeper's. */
export const MAX_DELAY_SECONDS = 900;

export interface Dispatcher {
  /** Fire-and-forget invoke of `fn` for one request. Throws DISPATCH_FAILED (retryable). */
  dispatch(fn: StepFunction, payload: StepInvocation): Promise<void>;
  /**
   * Invoke `fn` for one request `delaySeconds` from now (whole seconds, so never early), through
   * a delayed trigger. Where there is none for `fn`, or the delay is over MAX_DELAY_SECONDS,
   * nothing is sent: the sweeper dispatches the step once it is due. Throws DISPATCH_FAILED
   * (retryable) when the trigger could not be set.
   */
  dispatchAfter(fn: StepFunction, payload: StepInvocation, delaySeconds: number): Promise<void>;
}

/** A delayed trigger: on AWS the step function's SQS delay queue (delay-queue.ts). */
export interface DelayedTrigger {
  /** false when it has no queue for `fn` */
  send(fn: StepFunction, payload: StepInvocation, delaySeconds: number): Promise<boolean>;
}

/**
 * Lambda `Event` invoke (on AWS, and against serverless-offline's Lambda endpoint locally) for
 * the chain; the delayed trigger, when given, for what must run later.
 */
export class LambdaDispatcher implements Dispatcher {
  private readonly client: LambdaClient;
  constructor(
    private readonly functionPrefix: string,
    region: string,
    endpoint?: string,
    private readonly delayed?: DelayedTrigger,
  ) {
    this.client = new LambdaClient({
      region,
      ...(endpoint ? { endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
    });
  }

  async dispatch(fn: StepFunction, payload: StepInvocation): Promise<void> {
    try {
      await this.client.send(
        new InvokeCommand({
          FunctionName: `${this.functionPrefix}${fn}`,
          InvocationType: "Event",
          Payload: Buffer.from(JSON.stringify(payload)),
        }),
      );
    } catch (cause) {
      throw new DependencyError("DISPATCH_FAILED", `could not invoke ${fn}`, { retryable: true, cause });
    }
  }

  async dispatchAfter(fn: StepFunction, payload: StepInvocation, delaySeconds: number): Promise<void> {
    if (delaySeconds <= 0) return this.dispatch(fn, payload);
    if (!this.delayed || delaySeconds > MAX_DELAY_SECONDS) return;
    await this.delayed.send(fn, payload, Math.ceil(delaySeconds));
  }
}

/** How the in-process dispatcher waits; tests pass one they advance by hand. */
export interface DelayTimer {
  /** runs `run` after `ms`; the answer cancels it */
  set(ms: number, run: () => void): () => void;
}

const realTimer: DelayTimer = {
  set: (ms, run) => {
    const t = setTimeout(run, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/** In-process chaining for tests, benchmarks and the local stack: runs the step on a later tick. */
export class InlineDispatcher implements Dispatcher {
  /** set by the host that owns the handlers */
  handlers: Partial<Record<StepFunction, (payload: StepInvocation) => Promise<unknown>>> = {};
  /** a test can drop invocations to play a lost chain (a delayed one is dropped when it fires) */
  drop: (fn: StepFunction, payload: StepInvocation) => boolean = () => false;
  invocations = 0;
  /** delayed invocations asked for, fired or not */
  delayed = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** how delayed invocations wait: real timers; a test sets one it advances by hand */
  timer: DelayTimer = realTimer;
  private readonly timers = new Set<() => void>();

  async dispatch(fn: StepFunction, payload: StepInvocation): Promise<void> {
    this.invocations++;
    if (this.drop(fn, payload)) return;
    const handler = this.handlers[fn];
    if (!handler) throw new DependencyError("DISPATCH_FAILED", `no handler for ${fn}`, { retryable: true });
    const p = new Promise((r) => setImmediate(r)).then(() => handler(payload)).catch(() => undefined);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  async dispatchAfter(fn: StepFunction, payload: StepInvocation, delaySeconds: number): Promise<void> {
    if (delaySeconds <= 0) return this.dispatch(fn, payload);
    if (delaySeconds > MAX_DELAY_SECONDS) return;
    this.delayed++;
    const cancel = this.timer.set(Math.ceil(delaySeconds) * 1_000, () => {
      this.timers.delete(cancel);
      void this.dispatch(fn, payload).catch(() => undefined);
    });
    this.timers.add(cancel);
  }

  /** delayed invocations not fired yet */
  get waiting(): number {
    return this.timers.size;
  }

  /** drops every delayed invocation not fired yet (a host shutting down) */
  cancelDelayed(): void {
    for (const cancel of this.timers) cancel();
    this.timers.clear();
  }

  /** resolves when every chained invocation (and those they chained) has finished; delayed ones count once fired */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
