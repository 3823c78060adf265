/**
 * What invokes a step function: a direct async invoke `{request_id}` (the chain, the sweeper, a
 * relay's report) or an SQS event from the function's retry queue (a delayed trigger), whose
 * records each carry one such invocation as their body. Anything else names no request.
 */
import type { StepInvocation } from "./dispatcher";

export function stepInvocations(event: unknown): StepInvocation[] {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (Array.isArray(records)) {
    return records.flatMap((r) => {
      const body = (r as { body?: unknown } | null)?.body;
      if (typeof body !== "string") return [];
      try {
        return invocation(JSON.parse(body));
      } catch {
        return [];
      }
    });
  }
  return invocation(event);
}

function invocation(v: unknown): StepInvocation[] {
  const id = (v as { request_id?: unknown } | null)?.request_id;
  return typeof id === "string" && id !== "" ? [{ request_id: id }] : [];
}
