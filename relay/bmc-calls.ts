/**
 * The Redfish calls of one run of a command, measured where they happen: the relay is the only
 * one that reaches the BMCs, so it sends these with the result and the service publishes them
 * (BmcLatency, BmcErrors). Every call is counted; the first 100 latencies are kept, the most the
 * protocol carries (a long wait for a boot polls the BMC for minutes).
 */
import type { BmcCallEvent } from "../lib/bmc/driver";
import type { BmcCalls } from "../lib/relay/protocol";

const MAX_LATENCIES = 100;

export class BmcCallTally {
  private count = 0;
  private failures = 0;
  private readonly latencies: number[] = [];

  /** the executor's onBmcCall */
  readonly add = (call: BmcCallEvent): void => {
    this.count++;
    if (call.failed) this.failures++;
    if (this.latencies.length < MAX_LATENCIES) this.latencies.push(Math.max(0, Math.round(call.latencyMs)));
  };

  summary(): BmcCalls {
    return { count: this.count, failures: this.failures, latencies_ms: [...this.latencies] };
  }

  /** the calls so far, and a fresh count from here (a boot sequence measures each step apart) */
  take(): BmcCalls {
    const out = this.summary();
    this.count = 0;
    this.failures = 0;
    this.latencies.length = 0;
    return out;
  }
}
