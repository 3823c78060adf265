/**
 * What the sources of the metrics make of what they see, where the wire cannot easily produce
 * it: an undeploy whose undo gave up, Cinder calls named as operations, a relay's measurements
 * capped, a relay that sends none. Recorded through a port that keeps what it was told.
 */
import { describe, expect, it } from "vitest";
import { cinderOperation } from "../../lib/metrics/cinder-calls";
import type { MetricsPort } from "../../lib/metrics/metrics-port";
import { recordBmcCalls } from "../../lib/metrics/relay-metrics";
import { recordTransition } from "../../lib/metrics/workflow-metrics";
import { resultRequest } from "../../lib/relay/protocol";
import type { BootRequestRecord } from "../../lib/store/records";
import { start, transition, type WorkflowEvent, type WorkflowState } from "../../lib/workflow";
import { BmcCallTally } from "../../relay/bmc-calls";

type Told = Array<[string, number, Record<string, string>]>;
function recording(): { port: MetricsPort; told: Told } {
  const told: Told = [];
  const keep = (name: string, v: number, dims: Record<string, string> = {}) => void told.push([name, v, dims]);
  return { port: { count: keep, duration: keep, gauge: keep, flush: () => undefined } as MetricsPort, told };
}

const T0 = new Date("2026-12-01T10:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const record = (s: WorkflowState): BootRequestRecord => ({ ...s, created_at: T0.toISOString() }) as BootRequestRecord;

/** A request driven through the real workflow: to active, then undeployed with these undo outcomes. */
function undeployed(undo: WorkflowEvent[]): { before: BootRequestRecord; after: BootRequestRecord } {
  let s = start("4b0c9a2e-1d3f-4e5a-8b6c-7d8e9f0a1b2c", T0).state;
  let t = 1;
  while (s.state !== "active") s = transition(s, { type: "step_succeeded", step: s.step! }, at(t++)).state;
  s = transition(s, { type: "undeploy_requested" }, at(100)).state;
  let before = s;
  for (const e of undo) {
    before = s;
    s = transition(s, { ...e, step: s.step! } as WorkflowEvent, at(t++ + 100)).state;
  }
  return { before: record(before), after: record(s) };
}

const giveUp: WorkflowEvent = { type: "step_failed", step: "clear_firmware", error: { code: "BMC_AUTH_FAILED", message: "refused", retryable: false } };
const transient: WorkflowEvent = { type: "step_failed", step: "clear_firmware", error: { code: "BMC_UNREACHABLE", message: "timed out", retryable: true } };
const succeed: WorkflowEvent = { type: "step_succeeded", step: "clear_firmware" };

describe("the workflow's end in metrics", () => {
  it("an undeploy whose undo step gave up counts UndeployFailed with that step's code, and its duration from the DELETE", () => {
    const { before, after } = undeployed([giveUp, succeed]);
    expect(after.state).toBe("detached");
    const { port, told } = recording();
    recordTransition(port, before, after, at(130));
    expect(told).toEqual([
      ["UndeployFailed", 1, { ErrorCode: "BMC_AUTH_FAILED" }],
      ["RequestDuration", 30_000, { Workflow: "undeploy" }],
    ]);
  });

  it("an undeploy that rode out a transient error counts UndeploySucceeded", () => {
    const { before, after } = undeployed([transient, succeed, succeed]);
    expect(after.state).toBe("detached");
    expect(after.error?.code).toBe("BMC_UNREACHABLE");
    const { port, told } = recording();
    recordTransition(port, before, after, at(130));
    expect(told.map(([name]) => name)).toEqual(["UndeploySucceeded", "RequestDuration"]);
  });

  it("a transition that stays in its state counts nothing", () => {
    const { after } = undeployed([]);
    const { port, told } = recording();
    recordTransition(port, after, { ...after, attempts: 1 }, at(130));
    expect(told).toEqual([]);
  });
});

describe("Cinder calls as operations", () => {
  it.each([
    [{ method: "GET", path: "/volumes/0b4a4c3e-58a5-4f1b-9a0e-7d1c3f2e9a11" }, "GET /volumes/{id}"],
    [{ method: "POST", path: "/attachments", body: { attachment: {} } }, "POST /attachments"],
    [{ method: "PUT", path: "/attachments/9a0e7d1c" }, "PUT /attachments/{id}"],
    [{ method: "POST", path: "/attachments/9a0e7d1c/action", body: { "os-complete": null } }, "POST /attachments/{id}/action os-complete"],
    [{ method: "POST", path: "/volumes/abc/action", body: { "os-initialize_connection": { connector: {} } } }, "POST /volumes/{id}/action os-initialize_connection"],
    [{ method: "GET", path: "/attachments" }, "GET /attachments"],
    [{ method: "GET", path: "/scheduler-stats/get_pools" }, "GET /scheduler-stats/get_pools"],
  ] as const)("%j is %s", (call, operation) => {
    expect(cinderOperation(call)).toBe(operation);
  });
});

describe("the relay's BMC call measurements", () => {
  it("counts every call and failure but keeps at most 100 latencies, the most a result carries", () => {
    const tally = new BmcCallTally();
    for (let i = 0; i < 150; i++) tally.add({ latencyMs: i + 0.4, failed: i % 50 === 0 });
    const s = tally.summary();
    expect(s.count).toBe(150);
    expect(s.failures).toBe(3);
    expect(s.latencies_ms).toHaveLength(100);
    expect(s.latencies_ms.slice(0, 2)).toEqual([0, 1]);
    expect(resultRequest.safeParse({ lease_token: "t", outcome: { ok: true, result: {} }, bmc_calls: s }).success).toBe(true);
  });

  it("a result from a relay that sends no measurements is accepted and publishes no BMC metric", () => {
    expect(resultRequest.safeParse({ lease_token: "t", outcome: { ok: true, result: {} } }).success).toBe(true);
    const { port, told } = recording();
    recordBmcCalls(port, "power_on", undefined);
    expect(told).toEqual([]);
  });

  it("publishes each latency and the failures under the step the command served", () => {
    const { port, told } = recording();
    recordBmcCalls(port, "power_on", { count: 3, failures: 1, latencies_ms: [12, 30, 7] });
    expect(told).toEqual([
      ["BmcLatency", 12, { Step: "power_on" }],
      ["BmcLatency", 30, { Step: "power_on" }],
      ["BmcLatency", 7, { Step: "power_on" }],
      ["BmcErrors", 1, { Step: "power_on" }],
    ]);
  });
});
