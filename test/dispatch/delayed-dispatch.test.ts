/**
 * Delayed triggers: a retry starts at its backoff time, not at the sweeper's next round. In
 * process (InlineDispatcher, with a timer advanced by hand), and over the wire the way AWS does
 * it: SendMessage with DelaySeconds to the step function's retry queue (the real SDK client
 * against the lab's SQS), delivered to the function as an SQS event it reads like a direct invoke.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqsDelayQueue, delayQueueFrom } from "../../lib/dispatch/delay-queue";
import { InlineDispatcher, LambdaDispatcher, type StepInvocation } from "../../lib/dispatch/dispatcher";
import { stepInvocations } from "../../lib/dispatch/step-events";
import { startSqsEmulator, type SqsEmulator, type SqsRecord } from "../../lab/sqs-emulator";
import { ManualTimer } from "../support/manual-timer";

describe("InlineDispatcher.dispatchAfter", () => {
  function dispatcher() {
    const timer = new ManualTimer();
    const d = new InlineDispatcher();
    d.timer = timer;
    const ran: string[] = [];
    d.handlers = { attach: async (p) => ran.push(`attach ${p.request_id}`), firmware: async (p) => ran.push(`firmware ${p.request_id}`) };
    return { d, timer, ran };
  }

  it("runs the step once its delay is over, not before", async () => {
    const { d, timer, ran } = dispatcher();
    await d.dispatchAfter("attach", { request_id: "r1" }, 3);
    timer.advance(2_999);
    await d.settle();
    expect(ran).toEqual([]);
    timer.advance(1);
    await new Promise((r) => setImmediate(r));
    await d.settle();
    expect(ran).toEqual(["attach r1"]);
    expect(d.invocations).toBe(1);
  });

  it("rounds a fractional delay up to whole seconds: never early", async () => {
    const { d, timer } = dispatcher();
    await d.dispatchAfter("firmware", { request_id: "r2" }, 1.2);
    expect(timer.waiting).toEqual([2_000]);
  });

  it("leaves a delay beyond what SQS takes (900 s) to the sweeper", async () => {
    const { d, timer } = dispatcher();
    await d.dispatchAfter("attach", { request_id: "r3" }, 901);
    expect(timer.waiting).toEqual([]);
  });

  it("drops what has not fired when the host shuts down", async () => {
    const { d, timer, ran } = dispatcher();
    await d.dispatchAfter("attach", { request_id: "r4" }, 5);
    d.cancelDelayed();
    timer.advance(10_000);
    await d.settle();
    expect(ran).toEqual([]);
    expect(d.waiting).toBe(0);
  });
});

describe("the retry queue over SQS", () => {
  let sqs: SqsEmulator;
  const delivered: Array<{ at: number; records: SqsRecord[] }> = [];
  beforeAll(async () => {
    sqs = await startSqsEmulator({
      consumers: { "sanboot-test-attach-retries": async (event) => delivered.push({ at: Date.now(), records: event.Records }) },
    });
  });
  afterAll(() => sqs?.close());

  it("delivers a message sent with DelaySeconds to the step function after the delay, as an SQS event it reads", async () => {
    const queue = new SqsDelayQueue({ attach: sqs.queueUrl("sanboot-test-attach-retries") }, "us-east-1", sqs.url);
    const sent = Date.now();
    expect(await queue.send("attach", { request_id: "req-42" }, 1)).toBe(true);
    expect(sqs.stats()).toMatchObject({ sent: 1, waiting: 1 });
    await expect.poll(() => delivered.length, { timeout: 3_000, interval: 50 }).toBe(1);
    expect(delivered[0]!.at - sent).toBeGreaterThanOrEqual(1_000);
    expect(delivered[0]!.records).toEqual([expect.objectContaining({ eventSource: "aws:sqs", body: JSON.stringify({ request_id: "req-42" }) })]);
    expect(stepInvocations({ Records: delivered[0]!.records })).toEqual([{ request_id: "req-42" }]);
  });

  it("has no queue for a function the configuration names none for: nothing is sent", async () => {
    const queue = new SqsDelayQueue({ attach: sqs.queueUrl("sanboot-test-attach-retries") }, "us-east-1", sqs.url);
    expect(await queue.send("firmware", { request_id: "req-43" }, 1)).toBe(false);
  });

  it("reports a queue that does not exist as a retryable DISPATCH_FAILED", async () => {
    const queue = new SqsDelayQueue({ attach: sqs.queueUrl("no-such-queue") }, "us-east-1", sqs.url);
    await expect(queue.send("attach", { request_id: "req-44" }, 1)).rejects.toMatchObject({ code: "DISPATCH_FAILED", retryable: true });
  });

  it("LambdaDispatcher sends a delayed invocation to the retry queue, and none without one", async () => {
    const withQueue = new LambdaDispatcher("sanboot-test-", "us-east-1", "http://127.0.0.1:9", delayQueueFrom({ AWS_REGION: "us-east-1", SANBOOT_SQS_ENDPOINT: sqs.url, SANBOOT_ATTACH_RETRY_QUEUE_URL: sqs.queueUrl("sanboot-test-attach-retries") }));
    const before = sqs.stats().sent;
    await withQueue.dispatchAfter("attach", { request_id: "req-45" }, 2);
    expect(sqs.stats().sent).toBe(before + 1);
    expect(delayQueueFrom({ AWS_REGION: "us-east-1" })).toBeUndefined();
    await new LambdaDispatcher("sanboot-test-", "us-east-1", "http://127.0.0.1:9").dispatchAfter("attach", { request_id: "req-46" }, 2);
    expect(sqs.stats().sent).toBe(before + 1);
  });
});

describe("what invokes a step function", () => {
  it.each<[string, unknown, StepInvocation[]]>([
    ["a direct invoke", { request_id: "a" }, [{ request_id: "a" }]],
    ["an SQS event", { Records: [{ body: '{"request_id":"b"}' }, { body: '{"request_id":"c"}' }] }, [{ request_id: "b" }, { request_id: "c" }]],
    ["a record that is not ours", { Records: [{ body: "not json" }, { body: '{"x":1}' }] }, []],
    ["nothing", null, []],
    ["an empty id", { request_id: "" }, []],
  ])("%s", (_label, event, expected) => {
    expect(stepInvocations(event)).toEqual(expected);
  });
});
