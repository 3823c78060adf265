/**
 * The deployment-wide relay doorbell: one SQS queue per site, rung by whichever function queues a
 * command and long-polled by the relay's lease in another. Against the lab's SQS with the real SDK
 * client: first that the lab's pulled queues answer as SQS does (so the bell is not tested against
 * something kinder), then the bell itself between two processes' instances.
 */
import { CreateQueueCommand, DeleteMessageCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSqsEmulator, type SqsEmulator } from "../../lab/sqs-emulator";
import { SqsDoorbell } from "../../lib/service/sqs-doorbell";

let sqs: SqsEmulator;
let client: SQSClient;
beforeAll(async () => {
  sqs = await startSqsEmulator({ consumers: {} });
  client = new SQSClient({ region: "us-east-1", endpoint: sqs.url, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
});
afterAll(async () => {
  client?.destroy();
  await sqs?.close();
});

const bell = () => new SqsDoorbell({ queueUrlPrefix: sqs.queueUrl("sanboot-test-relay-"), region: "us-east-1", endpoint: sqs.url, pollMs: 5_000 });

describe("the lab's SQS, pulled queues", () => {
  it("knows no queue before it is created, and creating one twice answers the same URL", async () => {
    await expect(client.send(new GetQueueUrlCommand({ QueueName: "q-none" }))).rejects.toMatchObject({ name: "QueueDoesNotExist" });
    await expect(client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl("q-none"), MessageBody: "x" }))).rejects.toMatchObject({ name: "QueueDoesNotExist" });
    const a = await client.send(new CreateQueueCommand({ QueueName: "q-1", Attributes: { MessageRetentionPeriod: "60" } }));
    const b = await client.send(new CreateQueueCommand({ QueueName: "q-1", Attributes: { MessageRetentionPeriod: "60" } }));
    expect(a.QueueUrl).toBe(sqs.queueUrl("q-1"));
    expect(b.QueueUrl).toBe(a.QueueUrl);
    expect((await client.send(new GetQueueUrlCommand({ QueueName: "q-1" }))).QueueUrl).toBe(a.QueueUrl);
  });

  it("refuses what SQS refuses: a long poll over 20 s, more than 10 messages, a retention under a minute, a bad name", async () => {
    await client.send(new CreateQueueCommand({ QueueName: "q-2" }));
    const url = sqs.queueUrl("q-2");
    await expect(client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 21 }))).rejects.toMatchObject({ name: "InvalidParameterValue" });
    await expect(client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 }))).rejects.toMatchObject({ name: "InvalidParameterValue" });
    await expect(client.send(new CreateQueueCommand({ QueueName: "q-3", Attributes: { MessageRetentionPeriod: "59" } }))).rejects.toMatchObject({ name: "InvalidParameterValue" });
    await expect(client.send(new CreateQueueCommand({ QueueName: "has space" }))).rejects.toMatchObject({ name: "InvalidParameterValue" });
  });

  it("a long poll answers as soon as a message is sent; a message received and not deleted comes back after its visibility timeout; a deleted one does not", async () => {
    await client.send(new CreateQueueCommand({ QueueName: "q-4" }));
    const url = sqs.queueUrl("q-4");
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0 }))).Messages).toBeUndefined();
    const polling = client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20, VisibilityTimeout: 1 }));
    setTimeout(() => void client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "hello" })), 100);
    const first = await polling;
    expect(first.Messages?.map((m) => m.Body)).toEqual(["hello"]);
    // hidden for its visibility timeout, then back, with a new receipt handle
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0 }))).Messages).toBeUndefined();
    const again = await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 3 }));
    expect(again.Messages?.map((m) => m.Body)).toEqual(["hello"]);
    expect(again.Messages![0]!.ReceiptHandle).not.toBe(first.Messages![0]!.ReceiptHandle);
    await expect(client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.Messages![0]!.ReceiptHandle! }))).rejects.toMatchObject({ name: "ReceiptHandleIsInvalid" });
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again.Messages![0]!.ReceiptHandle! }));
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 2 }))).Messages).toBeUndefined();
  });
});

describe("SqsDoorbell", () => {
  it("a ring sent by one process wakes a lease waiting in another, well before its wait is over", async () => {
    const lease = bell().listen("site-a");
    const queueing = bell();
    // the queue exists once a lease waited on it
    expect(await lease.wait(1_000)).toBe(false);
    const heard = lease.wait(15_000);
    setTimeout(() => void queueing.ring("site-a"), 100);
    const started = Date.now();
    expect(await heard).toBe(true);
    // a wait that returned true was woken: it did not run to its end
    expect(Date.now() - started).toBeLessThan(15_000);
    lease.close();
  });

  it("keeps a ring sent between a lease's query and its wait; a ring is taken once", async () => {
    const lease = bell().listen("site-b");
    expect(await lease.wait(1_000)).toBe(false); // made the queue
    await bell().ring("site-b");
    expect(await lease.wait(5_000)).toBe(true);
    expect(await lease.wait(1_000)).toBe(false);
    lease.close();
  });

  it("a ring for a site no lease ever waited on goes nowhere and does not fail the caller", async () => {
    await expect(bell().ring("site-nobody")).resolves.toBeUndefined();
    await expect(client.send(new GetQueueUrlCommand({ QueueName: "sanboot-test-relay-site-nobody" }))).rejects.toMatchObject({ name: "QueueDoesNotExist" });
  });

  it("names each site's queue after the site, or a digest of it where SQS's 80 characters would not hold it", () => {
    const b = bell();
    expect(b.queueName("lab")).toBe("sanboot-test-relay-lab");
    const long = b.queueName("s".repeat(90));
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^sanboot-test-relay-[0-9a-f]+$/);
    expect(b.queueName("t".repeat(90))).not.toBe(long);
  });
});
