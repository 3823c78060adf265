/**
 * Step chaining: a step that committed a transition invokes the next step's function
 * asynchronously. At-least-once and possibly lost; the sweeper is the safety net.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DependencyError } from "../errors";
import type { StepFunction } from "../workflow";

export interface StepInvocation {
  request_id: string;
}

export interface Dispatcher {
  /** Fire-and-forget invoke of `fn` for one request. Throws DISPATCH_FAILED (retryable). */
  dispatch(fn: StepFunction, payload: StepInvocation): Promise<void>;
}

/** Lambda `Event` invoke: on AWS, and against serverless-offline's Lambda endpoint locally. */
export class LambdaDispatcher implements Dispatcher {
  private readonly client: LambdaClient;
  constructor(
    private readonly functionPrefix: string,
    region: string,
    endpoint?: string,
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
}

/** In-process chaining for tests and benchmarks: runs the step on a later tick. */
export class InlineDispatcher implements Dispatcher {
  /** set by the host that owns the handlers */
  handlers: Partial<Record<StepFunction, (payload: StepInvocation) => Promise<unknown>>> = {};
  /** a test can drop invocations to play a lost chain */
  drop: (fn: StepFunction, payload: StepInvocation) => boolean = () => false;
  invocations = 0;
  private readonly inFlight = new Set<Promise<unknown>>();

  async dispatch(fn: StepFunction, payload: StepInvocation): Promise<void> {
    this.invocations++;
    if (this.drop(fn, payload)) return;
    const handler = this.handlers[fn];
    if (!handler) throw new DependencyError("DISPATCH_FAILED", `no handler for ${fn}`, { retryable: true });
    const p = new Promise((r) => setImmediate(r)).then(() => handler(payload)).catch(() => undefined);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** resolves when every chained invocation (and those they chained) has finished */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
