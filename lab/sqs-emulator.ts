/**
 * A minimal SQS for the lab: what sanboot's retry queues need of SQS and of Lambda's SQS event
 * source, and nothing else (no Java, no ElasticMQ here). It speaks the SQS JSON protocol
 * (`X-Amz-Target: AmazonSQS.SendMessage`, what the AWS SDK sends) for SendMessage with
 * DelaySeconds, and delivers each message once its delay is over to the queue's consumer, as the
 * event source mapping would: an SQS event `{Records: [one record]}`. Nothing is kept after
 * delivery (the consumer's own failures are its business: sanboot's step functions never throw)
 * and nothing outlives the process.
 *
 * Queues without a consumer are pulled, as the relays' doorbell queues are (one per site,
 * lib/service/sqs-doorbell.ts): CreateQueue (idempotent; MessageRetentionPeriod 60..1209600 s),
 * GetQueueUrl, SendMessage, ReceiveMessage (1..10 messages, a long poll of 0..20 s that answers as
 * soon as one is visible, VisibilityTimeout 0..43200 s: a message received and not deleted is
 * visible again after it), DeleteMessage by receipt handle. A queue that was not created answers
 * QueueDoesNotExist, a parameter out of its range InvalidParameterValue, as SQS does. Any other
 * action answers 400 UnsupportedOperation.
 *
 * Queue URLs are `<url>/000000000000/<queue name>`; `consumers` maps a queue name to where its
 * messages go (lab/start.ts: an async invoke of the step function through serverless-offline).
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { readBody, listen } from "./http-server";

export const LAB_ACCOUNT = "000000000000";
const MAX_DELAY_SECONDS = 900;

export interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, never>;
  md5OfBody: string;
  eventSource: "aws:sqs";
  eventSourceARN: string;
  awsRegion: string;
}

interface Pulled {
  id: string;
  body: string;
  md5: string;
  sentAt: number;
  visibleAt: number;
  /** the receipt handle of its last receive */
  handle: string | null;
}
interface PulledQueue {
  messages: Pulled[];
  /** long polls waiting for a message */
  waiters: Set<() => void>;
  retentionMs: number;
}

export interface SqsEmulatorOptions {
  port?: number;
  region?: string;
  /** queue name → its consumer, given one event per message */
  consumers: Record<string, (event: { Records: SqsRecord[] }) => Promise<unknown>>;
}

export interface SqsEmulator {
  url: string;
  queueUrl(name: string): string;
  /** messages accepted, delivered, and waiting for their delay */
  stats(): { sent: number; delivered: number; waiting: number };
  close(): Promise<void>;
}

export async function startSqsEmulator(opts: SqsEmulatorOptions): Promise<SqsEmulator> {
  const region = opts.region ?? "us-east-1";
  const timers = new Set<NodeJS.Timeout>();
  let sent = 0;
  let delivered = 0;
  let url = "";
  const pulled = new Map<string, PulledQueue>();

  /** wakes the queue's long polls when a message becomes visible `ms` from now */
  const wakeLater = (queue: PulledQueue, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      for (const w of [...queue.waiters]) w();
    }, Math.max(0, ms));
    timers.add(timer);
  };

  type Answer = (status: number, body: unknown) => void;
  type Fail = (type: string, message: string) => void;

  function visible(queue: PulledQueue, now: number): Pulled[] {
    queue.messages = queue.messages.filter((m) => now - m.sentAt < queue.retentionMs);
    return queue.messages.filter((m) => m.visibleAt <= now);
  }

  function receive(queue: PulledQueue, input: Record<string, unknown>, answer: Answer, error: Fail): void {
    const max = input.MaxNumberOfMessages ?? 1;
    const waitS = input.WaitTimeSeconds ?? 0;
    const hideS = input.VisibilityTimeout ?? 30;
    if (!Number.isInteger(max) || (max as number) < 1 || (max as number) > 10) return error("InvalidParameterValue", "MaxNumberOfMessages must be 1 to 10");
    if (!Number.isInteger(waitS) || (waitS as number) < 0 || (waitS as number) > 20) return error("InvalidParameterValue", "WaitTimeSeconds must be 0 to 20");
    if (!Number.isInteger(hideS) || (hideS as number) < 0 || (hideS as number) > 43_200) return error("InvalidParameterValue", "VisibilityTimeout must be 0 to 43200");
    const until = Date.now() + (waitS as number) * 1_000;
    const attempt = () => {
      const now = Date.now();
      const got = visible(queue, now).slice(0, max as number);
      if (got.length === 0 && now < until) return false;
      for (const m of got) {
        m.handle = randomUUID();
        m.visibleAt = now + (hideS as number) * 1_000;
        wakeLater(queue, (hideS as number) * 1_000);
      }
      delivered += got.length;
      answer(200, got.length === 0 ? {} : { Messages: got.map((m) => ({ MessageId: m.id, ReceiptHandle: m.handle, MD5OfBody: m.md5, Body: m.body })) });
      return true;
    };
    if (attempt()) return;
    const done = () => {
      if (!attempt()) return;
      clearTimeout(timer);
      timers.delete(timer);
      queue.waiters.delete(done);
    };
    const timer = setTimeout(() => {
      timers.delete(timer);
      queue.waiters.delete(done);
      attempt();
    }, until - Date.now());
    timers.add(timer);
    queue.waiters.add(done);
  }

  function del(queue: PulledQueue, input: Record<string, unknown>, answer: Answer, error: Fail): void {
    if (typeof input.ReceiptHandle !== "string" || input.ReceiptHandle === "") return error("MissingParameter", "ReceiptHandle is required");
    const i = queue.messages.findIndex((m) => m.handle === input.ReceiptHandle);
    if (i < 0) return error("ReceiptHandleIsInvalid", "The receipt handle is not valid for this queue");
    queue.messages.splice(i, 1);
    answer(200, {});
  }

  const server = createServer((req, res) => {
    void (async () => {
      const text = (await readBody(req)).toString("utf8");
      const target = String(req.headers["x-amz-target"] ?? "");
      const answer = (status: number, body: unknown) => {
        const payload = JSON.stringify(body);
        res.writeHead(status, { "content-type": "application/x-amz-json-1.0", "content-length": Buffer.byteLength(payload) });
        res.end(payload);
      };
      const error = (type: string, message: string) => answer(400, { __type: `com.amazonaws.sqs#${type}`, message });
      const action = target.startsWith("AmazonSQS.") ? target.slice("AmazonSQS.".length) : "";
      if (req.method !== "POST" || !["SendMessage", "CreateQueue", "GetQueueUrl", "ReceiveMessage", "DeleteMessage"].includes(action)) {
        return error("UnsupportedOperation", `the lab's SQS answers SendMessage, CreateQueue, GetQueueUrl, ReceiveMessage and DeleteMessage, not ${target || req.method}`);
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return error("InvalidParameterValue", "the body is not JSON");
      }
      if (action === "CreateQueue") {
        const name = typeof input.QueueName === "string" ? input.QueueName : "";
        if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) return error("InvalidParameterValue", "QueueName must be 1 to 80 characters: letters, digits, - and _");
        const attrs = (input.Attributes ?? {}) as Record<string, string>;
        const retention = attrs.MessageRetentionPeriod === undefined ? 345_600 : Number(attrs.MessageRetentionPeriod);
        if (!Number.isInteger(retention) || retention < 60 || retention > 1_209_600) return error("InvalidParameterValue", "MessageRetentionPeriod must be 60 to 1209600");
        if (!opts.consumers[name] && !pulled.has(name)) pulled.set(name, { messages: [], waiters: new Set(), retentionMs: retention * 1_000 });
        return answer(200, { QueueUrl: `${url}/${LAB_ACCOUNT}/${name}` });
      }
      if (action === "GetQueueUrl") {
        const name = typeof input.QueueName === "string" ? input.QueueName : "";
        if (!opts.consumers[name] && !pulled.has(name)) return error("QueueDoesNotExist", `The specified queue does not exist: ${name}`);
        return answer(200, { QueueUrl: `${url}/${LAB_ACCOUNT}/${name}` });
      }
      const name = typeof input.QueueUrl === "string" ? new URL(input.QueueUrl).pathname.split("/").pop() ?? "" : "";
      const consumer = opts.consumers[name];
      const queue = pulled.get(name);
      if (!consumer && !queue) return error("QueueDoesNotExist", `The specified queue does not exist: ${String(input.QueueUrl)}`);
      if (action === "ReceiveMessage" || action === "DeleteMessage") {
        if (!queue) return error("UnsupportedOperation", `the lab's queue ${name} is consumed by its function, not received from`);
        return action === "ReceiveMessage" ? receive(queue, input, answer, error) : del(queue, input, answer, error);
      }
      if (typeof input.MessageBody !== "string" || input.MessageBody === "") return error("MissingParameter", "MessageBody is required");
      const delay = input.DelaySeconds ?? 0;
      if (!Number.isInteger(delay) || (delay as number) < 0 || (delay as number) > MAX_DELAY_SECONDS) {
        return error("InvalidParameterValue", `DelaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}`);
      }
      const messageId = randomUUID();
      const md5 = createHash("md5").update(input.MessageBody).digest("hex");
      sent += 1;
      if (queue) {
        const now = Date.now();
        queue.messages.push({ id: messageId, body: input.MessageBody, md5, sentAt: now, visibleAt: now + (delay as number) * 1_000, handle: null });
        wakeLater(queue, (delay as number) * 1_000);
        return answer(200, { MessageId: messageId, MD5OfMessageBody: md5 });
      }
      const record: SqsRecord = {
        messageId,
        receiptHandle: randomUUID(),
        body: input.MessageBody,
        attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()) },
        messageAttributes: {},
        md5OfBody: md5,
        eventSource: "aws:sqs",
        eventSourceARN: `arn:aws:sqs:${region}:${LAB_ACCOUNT}:${name}`,
        awsRegion: region,
      };
      const timer = setTimeout(() => {
        timers.delete(timer);
        delivered += 1;
        void consumer!({ Records: [record] }).catch(() => undefined);
      }, (delay as number) * 1_000);
      timers.add(timer);
      answer(200, { MessageId: messageId, MD5OfMessageBody: md5 });
    })().catch(() => res.destroy());
  });

  const { port, urlHost } = await listen(server, opts.port, "127.0.0.1");
  url = `http://${urlHost}:${port}`;
  return {
    url,
    queueUrl: (name) => `${url}/${LAB_ACCOUNT}/${name}`,
    stats: () => ({ sent, delivered, waiting: timers.size }),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
