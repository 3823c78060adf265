/**
 * The delayed trigger on AWS: each step function has a retry queue (serverless.yml) it consumes,
 * and a message sent with DelaySeconds reaches it that much later. The message body is the step
 * invocation itself, so the function reads it as it reads a direct invoke (step-events.ts).
 * Locally the same calls go to the lab's SQS emulator (SANBOOT_SQS_ENDPOINT).
 */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DependencyError } from "../errors";
import type { StepFunction } from "../workflow";
import type { DelayedTrigger, StepInvocation } from "./dispatcher";

export type RetryQueueUrls = Partial<Record<StepFunction, string>>;

export class SqsDelayQueue implements DelayedTrigger {
  private readonly client: SQSClient;
  constructor(
    private readonly queueUrls: RetryQueueUrls,
    region: string,
    endpoint?: string,
  ) {
    this.client = new SQSClient({
      region,
      ...(endpoint ? { endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
    });
  }

  async send(fn: StepFunction, payload: StepInvocation, delaySeconds: number): Promise<boolean> {
    const url = this.queueUrls[fn];
    if (!url) return false;
    try {
      await this.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(payload), DelaySeconds: delaySeconds }));
      return true;
    } catch (cause) {
      throw new DependencyError("DISPATCH_FAILED", `could not schedule ${fn} in ${delaySeconds} s`, { retryable: true, cause });
    }
  }
}

/** The retry queues the configuration names, or none (then retries wait for the sweeper). */
export function delayQueueFrom(config: {
  AWS_REGION: string;
  SANBOOT_SQS_ENDPOINT?: string | undefined;
  SANBOOT_ATTACH_RETRY_QUEUE_URL?: string | undefined;
  SANBOOT_FIRMWARE_RETRY_QUEUE_URL?: string | undefined;
}): SqsDelayQueue | undefined {
  const urls: RetryQueueUrls = {};
  if (config.SANBOOT_ATTACH_RETRY_QUEUE_URL) urls.attach = config.SANBOOT_ATTACH_RETRY_QUEUE_URL;
  if (config.SANBOOT_FIRMWARE_RETRY_QUEUE_URL) urls.firmware = config.SANBOOT_FIRMWARE_RETRY_QUEUE_URL;
  if (Object.keys(urls).length === 0) return undefined;
  return new SqsDelayQueue(urls, config.AWS_REGION, config.SANBOOT_SQS_ENDPOINT);
}
