/**
 * The metrics port over Powertools for AWS Lambda: CloudWatch embedded metric format (EMF), one
 * JSON line per dimension set on stdout at each flush. On Lambda, CloudWatch Logs turns the lines
 * into metrics with no API call and no IAM permission; locally they are the same lines in the log.
 *
 * One Powertools `Metrics` holds one set of dimension values (an EMF line carries each dimension
 * once, as a top-level key), while our samples carry different ones (a step, an error code, a
 * site). So this keeps one Powertools instance per dimension set met in this process, made on
 * first use and kept (the dimensions are low-cardinality by design, catalog.ts), and flush()
 * publishes each that holds samples. That is also why the handler shell flushes through the port
 * (flush-middleware.ts) rather than Powertools' `logMetrics` middleware, which flushes the
 * instances it was given when the handler was built.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Logger } from "../log";
import { METRICS, type MetricName } from "./catalog";
import type { MetricsPort } from "./metrics-port";

export interface EmfMetricsOptions {
  /** the CloudWatch namespace (SANBOOT_METRICS_NAMESPACE) */
  namespace: string;
  /** the `service` dimension every line carries */
  service: string;
  /** where Powertools' own warnings go (never the metric lines: those go to stdout) */
  log: Logger;
}

type Dimensions = Readonly<Record<string, string>>;

export class EmfMetrics implements MetricsPort {
  private readonly sets = new Map<string, Metrics>();

  constructor(private readonly opts: EmfMetricsOptions) {}

  count(name: MetricName, n: number, dimensions: Dimensions = {}): void {
    this.record(name, MetricUnit.Count, n, dimensions);
  }

  duration(name: MetricName, ms: number, dimensions: Dimensions = {}): void {
    this.record(name, MetricUnit.Milliseconds, Math.max(0, ms), dimensions);
  }

  gauge(name: MetricName, value: number, dimensions: Dimensions = {}): void {
    this.record(name, MetricUnit.Count, value, dimensions);
  }

  flush(): void {
    for (const m of this.sets.values()) {
      if (!m.hasStoredMetrics()) continue;
      try {
        m.publishStoredMetrics();
      } catch (err) {
        this.opts.log.warn("metrics could not be written", { error: (err as Error).message });
      }
    }
  }

  private record(name: MetricName, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number, dimensions: Dimensions): void {
    if (!Number.isFinite(value)) return;
    try {
      this.set(dimensions).addMetric(name, unit, value);
      if ((METRICS[name] as { total?: true }).total && Object.keys(dimensions).length > 0) this.set({}).addMetric(name, unit, value);
    } catch (err) {
      // Powertools refuses a name, unit or dimension it cannot publish: a bug here, never the caller's failure
      this.opts.log.warn("metric not recorded", { metric: name, error: (err as Error).message });
    }
  }

  private set(dimensions: Dimensions): Metrics {
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    let m = this.sets.get(key);
    if (!m) {
      const log = this.opts.log;
      m = new Metrics({
        namespace: this.opts.namespace,
        serviceName: this.opts.service,
        defaultDimensions: { ...dimensions },
        logger: { debug: () => undefined, info: () => undefined, warn: (msg: unknown) => log.warn(String(msg)), error: (msg: unknown) => log.error(String(msg)) },
      });
      this.sets.set(key, m);
    }
    return m;
  }
}
