/**
 * Metrics are written once per invocation, when the handler is done, answered or failed: a
 * middy middleware for the HTTP handlers (lib/http/api-handler.ts), and a plain wrapper for the
 * handlers that are not HTTP (the step functions, the sweeper, intake's EventBridge path). Those
 * stay outside middy on purpose: middy would give them its early timeout, which throws where the
 * step runner never does.
 */
import type middy from "@middy/core";
import type { Context } from "aws-lambda";
import { getDeps } from "../deps";
import type { MetricsPort } from "./metrics-port";

/** `metricsOf` is asked at the end, so it may read what an earlier `before` put in place. */
export function flushMetrics<E, R, C extends Context = Context>(metricsOf: (request: middy.Request<E, R, Error, C>) => MetricsPort | undefined): middy.MiddlewareObj<E, R, Error, C> {
  const flush = (request: middy.Request<E, R, Error, C>): void => {
    try {
      metricsOf(request)?.flush();
    } catch {
      // the dependencies could not be built: the invocation fails for that, not for its metrics
    }
  };
  return { after: flush, onError: flush };
}

/** A handler that is not HTTP, with this process's metrics flushed when it ends. */
export function withMetrics<A extends unknown[], R>(handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handler(...args);
    } finally {
      flushProcessMetrics();
    }
  };
}

function flushProcessMetrics(): void {
  try {
    getDeps().metrics.flush();
  } catch {
    // as above: no dependencies, no metrics to write
  }
}
