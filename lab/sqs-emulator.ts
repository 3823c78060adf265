/**
 * A minimal SQS for the lab: what sanboot's retry queues need of SQS and of Lambda's SQS event
 * source, and nothing else (no Java, no ElasticMQ here). It speaks the SQS JSON protocol
 * (`X-Amz-Target: AmazonSQS.SendMessage`, what the AWS SDK sends) for SendMessage with
 * DelaySeconds, and delivers each message once its delay is over to the queue's consumer, as the
 * event source mapping would: an SQS event `{Records: [one record]}`. Nothing is kept after
 * delivery (the consumer's own failures are its business: sanboot's step functions never throw)
 * and nothing outlives the process. Any other action answers 400 UnsupportedOperation.
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
      if (req.method !== "POST" || target !== "AmazonSQS.SendMessage") return error("UnsupportedOperation", `the lab's SQS answers SendMessage only, not ${target || req.method}`);
      let input: { QueueUrl?: unknown; MessageBody?: unknown; DelaySeconds?: unknown };
      try {
        input = JSON.parse(text) as typeof input;
      } catch {
        return error("InvalidParameterValue", "the body is not JSON");
      }
      const name = typeof input.QueueUrl === "string" ? new URL(input.QueueUrl).pathname.split("/").pop() ?? "" : "";
      const consumer = opts.consumers[name];
      if (!consumer) return error("QueueDoesNotExist", `The specified queue does not exist: ${String(input.QueueUrl)}`);
      if (typeof input.MessageBody !== "string" || input.MessageBody === "") return error("MissingParameter", "MessageBody is required");
      const delay = input.DelaySeconds ?? 0;
      if (!Number.isInteger(delay) || (delay as number) < 0 || (delay as number) > MAX_DELAY_SECONDS) {
        return error("InvalidParameterValue", `DelaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}`);
      }
      const messageId = randomUUID();
      const md5 = createHash("md5").update(input.MessageBody).digest("hex");
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
      sent += 1;
      const timer = setTimeout(() => {
        timers.delete(timer);
        delivered += 1;
        void consumer({ Records: [record] }).catch(() => undefined);
      }, (delay as number) * 1_000);
      timers.add(timer);
      answer(200, { MessageId: messageId, MD5OfMessageBody: md5 });
    })().catch(() => res.destroy());
  });

  const { port, urlHost } = await listen(server, opts.port, "127.0.0.1");
  const url = `http://${urlHost}:${port}`;
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
