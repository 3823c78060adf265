/**
 * The deployment-wide relay doorbell (relay-doorbell.ts): one SQS queue per site. Whoever makes
 * a command leasable sends a ring to the site's queue; a lease that found nothing waits on the
 * queue (a long poll) instead of sleeping, and asks the table as soon as a ring arrives, from
 * whichever function sent it. On Lambda, where the queueing function and the relay's lease call
 * are different processes, a command then starts within one SQS delivery of being written
 * instead of up to the lease's poll interval.
 *
 *   firmware (attach, nodes, relay) ──SendMessage──▶ <prefix><site> ──ReceiveMessage (long poll)──▶ lease
 *
 * A ring carries nothing: the table stays the only truth. A ring stays in the queue until a lease
 * takes it (so one sent between a lease's query and its wait is not lost) or for a minute (the
 * queue's retention: a ring nobody heard then is stale). One ring wakes one lease call: with two
 * relays at a site the other one finds the command at its next query, which the lease still makes
 * every few seconds (`pollMs`), as it does when a ring is lost. The lease creates its site's queue
 * on its first wait; before that a ring has nowhere to go and is dropped (no relay was waiting).
 */
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createHash } from "node:crypto";
import type { Logger } from "../log";
import type { DoorbellListener, RelayDoorbell } from "./relay-doorbell";

export interface SqsDoorbellOptions {
  /** every site's queue URL is this plus the site's queue name part, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/sanboot-prod-relay- */
  queueUrlPrefix: string;
  region: string;
  /** a DynamoDB-style local endpoint (the lab's SQS); unset on AWS */
  endpoint?: string;
  log?: Logger;
  /** how often a waiting lease asks the table anyway (a ring lost, or taken by another relay's lease) */
  pollMs?: number;
}

/** SQS's own bounds on a queue name and a long poll. */
const MAX_QUEUE_NAME = 80;
const MAX_WAIT_SECONDS = 20;
/** a ring nobody took within this is stale (SQS's shortest retention) */
const RING_RETENTION_SECONDS = 60;

export class SqsDoorbell implements RelayDoorbell {
  readonly heardEverywhere = false;
  readonly pollMs: number;
  private readonly client: SQSClient;
  private readonly prefixUrl: string;
  private readonly prefixName: string;
  /** sites whose queue this process created (or found) */
  private readonly created = new Set<string>();

  constructor(private readonly opts: SqsDoorbellOptions) {
    this.pollMs = opts.pollMs ?? 5_000;
    this.prefixUrl = opts.queueUrlPrefix;
    this.prefixName = opts.queueUrlPrefix.slice(opts.queueUrlPrefix.lastIndexOf("/") + 1);
    this.client = new SQSClient({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
    });
  }

  /** The site's queue name: the prefix and the site, or a digest of the site where that would be too long for SQS. */
  queueName(site: string): string {
    const plain = `${this.prefixName}${site}`;
    if (plain.length <= MAX_QUEUE_NAME && /^[A-Za-z0-9_-]+$/.test(plain)) return plain;
    return `${this.prefixName}${createHash("sha256").update(site).digest("hex").slice(0, Math.max(8, MAX_QUEUE_NAME - this.prefixName.length))}`;
  }

  private urlOf(site: string): string {
    return `${this.prefixUrl.slice(0, this.prefixUrl.length - this.prefixName.length)}${this.queueName(site)}`;
  }

  async ring(site: string): Promise<void> {
    try {
      await this.client.send(new SendMessageCommand({ QueueUrl: this.urlOf(site), MessageBody: "ring" }));
    } catch (err) {
      // no queue yet: no relay of the site has waited on it, the next lease asks the table first
      if ((err as { name?: string }).name !== "QueueDoesNotExist") this.opts.log?.warn("could not ring the relay doorbell", { site, error: (err as Error).message });
    }
  }

  listen(site: string): DoorbellListener {
    let closed = false;
    const abort = new AbortController();
    return {
      wait: async (ms: number): Promise<boolean> => {
        if (closed) return false;
        // SQS waits in whole seconds: a shorter wait is a plain sleep (the queue keeps a ring for the next)
        if (ms < 1_000) {
          await new Promise((r) => setTimeout(r, Math.max(0, ms)));
          return false;
        }
        try {
          await this.ensureQueue(site);
          const r = await this.client.send(
            new ReceiveMessageCommand({ QueueUrl: this.urlOf(site), MaxNumberOfMessages: 10, WaitTimeSeconds: Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.floor(ms / 1_000))), VisibilityTimeout: 30 }),
            { abortSignal: abort.signal },
          );
          const rings = r.Messages ?? [];
          // a ring is taken by the lease that heard it; the table decides what there is to lease
          await Promise.all(rings.map((m) => this.client.send(new DeleteMessageCommand({ QueueUrl: this.urlOf(site), ReceiptHandle: m.ReceiptHandle! })).catch(() => undefined)));
          return rings.length > 0;
        } catch (err) {
          if (closed) return false;
          this.opts.log?.warn("the relay doorbell could not be heard; the lease asks the table at its interval", { site, error: (err as Error).message });
          await new Promise((r) => setTimeout(r, Math.min(ms, this.pollMs)));
          return false;
        }
      },
      close: () => {
        closed = true;
        abort.abort();
      },
    };
  }

  private async ensureQueue(site: string): Promise<void> {
    if (this.created.has(site)) return;
    await this.client.send(new CreateQueueCommand({ QueueName: this.queueName(site), Attributes: { MessageRetentionPeriod: String(RING_RETENTION_SECONDS) } }));
    this.created.add(site);
  }
}
