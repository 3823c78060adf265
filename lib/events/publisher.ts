/**
 * Every state change of a boot request is published: EventBridge on AWS, the log locally.
 * Events carry ids, states and error codes only: never a target secret.
 */
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DependencyError } from "../errors";
import type { Logger } from "../log";
import type { RequestState } from "../workflow";

export interface StateChangeEvent {
  request_id: string;
  node_id: string;
  project_id: string;
  volume_id: string;
  from: RequestState | null;
  to: RequestState;
  at: string;
  error_code: string | null;
}

export const EVENT_SOURCE = "sanboot";
export const EVENT_DETAIL_TYPE = "BootRequestStateChanged";

export interface EventPublisher {
  /** Throws DISPATCH_FAILED (retryable) when the bus refuses. */
  publish(event: StateChangeEvent): Promise<void>;
}

export class LogPublisher implements EventPublisher {
  readonly published: StateChangeEvent[] = [];
  constructor(private readonly log: Logger) {}
  async publish(event: StateChangeEvent): Promise<void> {
    this.published.push(event);
    if (this.published.length > 1000) this.published.shift();
    this.log.info("state changed", { event: EVENT_DETAIL_TYPE, ...event });
  }
}

export class EventBridgePublisher implements EventPublisher {
  private readonly client: EventBridgeClient;
  constructor(
    private readonly busName: string,
    region: string,
  ) {
    this.client = new EventBridgeClient({ region });
  }
  async publish(event: StateChangeEvent): Promise<void> {
    try {
      const res = await this.client.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: this.busName, Source: EVENT_SOURCE, DetailType: EVENT_DETAIL_TYPE, Detail: JSON.stringify(event) }],
        }),
      );
      if (res.FailedEntryCount) throw new Error(res.Entries?.[0]?.ErrorMessage ?? "rejected");
    } catch (cause) {
      throw new DependencyError("DISPATCH_FAILED", "could not publish the state change", { retryable: true, cause });
    }
  }
}
