/**
 * Every metric sanboot publishes, with its kind and the dimensions it is published by: one table,
 * so that what the code emits, what serverless.yml alarms and charts on, and what the README
 * explains cannot drift apart (test/deploy/serverless-package.test.ts holds the template to it).
 *
 * Dimensions stay low-cardinality on purpose: a step, an error code, a workflow, a Cinder
 * operation, a site. Never a request, node or volume id: each distinct value is a metric of its
 * own in CloudWatch, paid for and unreadable on a chart.
 */

/** The dimension names a metric may carry. */
export type DimensionName = "Workflow" | "Step" | "ErrorCode" | "Operation" | "Site";

export interface MetricSpec {
  /** count: Sum is what it means; duration: milliseconds, read as percentiles; gauge: a level, read as Maximum */
  kind: "count" | "duration" | "gauge";
  dimensions: readonly DimensionName[];
  /**
   * Published a second time without its dimensions, so that an alarm (which names one exact
   * dimension set; it cannot search) can watch the total across every value of them.
   */
  total?: true;
}

export const METRICS = {
  // the workflows' outcomes: started at intake, ended when the terminal transition commits
  BootStarted: { kind: "count", dimensions: [] },
  BootSucceeded: { kind: "count", dimensions: [] },
  BootFailed: { kind: "count", dimensions: ["ErrorCode"], total: true },
  UndeployStarted: { kind: "count", dimensions: [] },
  UndeploySucceeded: { kind: "count", dimensions: [] },
  UndeployFailed: { kind: "count", dimensions: ["ErrorCode"], total: true },
  // time
  StepDuration: { kind: "duration", dimensions: ["Step"] },
  RequestDuration: { kind: "duration", dimensions: ["Workflow"] },
  // the outside systems
  CinderLatency: { kind: "duration", dimensions: ["Operation"] },
  CinderErrors: { kind: "count", dimensions: ["Operation"] },
  BmcLatency: { kind: "duration", dimensions: ["Step"] },
  BmcErrors: { kind: "count", dimensions: ["Step"] },
  // the relay queue
  RelayCommandQueued: { kind: "count", dimensions: ["Site"] },
  RelayCommandWait: { kind: "duration", dimensions: ["Site"] },
  // the sweeper
  SweeperErrors: { kind: "count", dimensions: [] },
  RequestsPastDeadline: { kind: "gauge", dimensions: [] },
  /** sites none of whose relays was heard from lately (the sweeper's relay health check) */
  SitesRelaySilent: { kind: "gauge", dimensions: [] },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;
type OfKind<K extends MetricSpec["kind"]> = { [N in MetricName]: (typeof METRICS)[N]["kind"] extends K ? N : never }[MetricName];
export type CountMetric = OfKind<"count">;
export type DurationMetric = OfKind<"duration">;
export type GaugeMetric = OfKind<"gauge">;

/** The dimension values of one sample of `N`: exactly the catalog's dimensions, each named. */
export type DimensionsOf<N extends MetricName> = { readonly [D in (typeof METRICS)[N]["dimensions"][number]]: string };
/** The dimensions argument: none for a metric without dimensions, all of them otherwise. */
export type DimensionsArg<N extends MetricName> = (typeof METRICS)[N]["dimensions"] extends readonly [] ? [] : [dimensions: DimensionsOf<N>];
