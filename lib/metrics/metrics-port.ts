/**
 * The metrics port: what the rest of lib calls to count, time and gauge. Samples are buffered and
 * written once per invocation by flush() (the handler shell does it: flush-middleware.ts).
 *
 * No method throws: a metric that cannot be recorded must never fail the step, the request or the
 * relay report it describes.
 */
import type { CountMetric, DimensionsArg, DurationMetric, GaugeMetric } from "./catalog";

export interface MetricsPort {
  /** adds `n` to a count (Sum over a period is how many) */
  count<N extends CountMetric>(name: N, n: number, ...dimensions: DimensionsArg<N>): void;
  /** one duration sample, in milliseconds */
  duration<N extends DurationMetric>(name: N, ms: number, ...dimensions: DimensionsArg<N>): void;
  /** a level as of now (read as its Maximum over a period) */
  gauge<N extends GaugeMetric>(name: N, value: number, ...dimensions: DimensionsArg<N>): void;
  /** writes what was recorded since the last flush */
  flush(): void;
}

/** SANBOOT_METRICS=off: nothing is recorded (the in-process test stack, unless a test asks). */
export const noMetrics: MetricsPort = {
  count: () => undefined,
  duration: () => undefined,
  gauge: () => undefined,
  flush: () => undefined,
};
