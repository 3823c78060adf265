/** Turns a phase's measurements into the printed lines and the JSON result. */
import { cpus, loadavg } from "node:os";
import type { Counters } from "./counters";
import type { BenchParams } from "./params";
import { summarize, tally, type LatencySummary } from "./stats";
import { breakdown, type System, type Tally } from "./wire-tally";
import { reachedAt, span, type Fired, type Watched } from "./workload";

export interface PhaseResult {
  name: string;
  fired: number;
  accepted: number;
  /** first call sent → last answer received, ms */
  acceptMs: number;
  completed: number;
  failed: number;
  timedOut: number;
  /** completed per second, first call sent → last completion recorded by the service */
  perSecond: number;
  windowMs: number;
  latency: LatencySummary;
  /** per step: the time from one state to the next, over the completed requests */
  steps: Array<{ from: string; to: string; latency: LatencySummary }>;
  failures: Array<[string, number]>;
  listErrors: number;
  load: {
    dynamodbTotal: number;
    dynamodbPolling: number;
    perWorkflow: { dynamodb: number; cinder: number; bmc: number; bmcPatches: number; stepInvocations: number };
    /** per workflow, by kind of request (the caller's own list calls included under service / Query) */
    byKind: Record<System, Array<[string, number]>>;
  };
  sweeps: { runs: number; dispatched: number };
  /** the one process that runs the whole stack, over the phase */
  process: { cpuCores: number; cpuMsPerWorkflow: number; eventLoopUtilization: number; tableRequestsPerSecond: number };
}

export interface PhaseInput {
  name: string;
  /** the states a request passes through in this phase, first to last */
  path: readonly string[];
  startedAt: number;
  answeredAt: number;
  fired: Fired[];
  watched: Watched;
  load: Counters;
  /** state-table requests per list call, measured while idle */
  tableRequestsPerList: number;
  sweeps: { runs: number; dispatched: number };
  wire: Tally;
}

export function phaseResult(p: PhaseInput): PhaseResult {
  const from = p.path[0]!;
  const to = p.path[p.path.length - 1]!;
  const ids = p.fired.flatMap((f) => (f.requestId ? [f.requestId] : []));
  const views = ids.map((id) => p.watched.views.get(id)).filter((v) => v !== undefined);
  const done = views.filter((v) => v.state === to);
  const failed = views.filter((v) => v.state === "failed");
  const lastDone = Math.max(p.startedAt, ...done.map((v) => reachedAt(v, to)!));
  const windowMs = lastDone - p.startedAt;
  const failures = [
    ...p.fired.filter((f) => !f.requestId).map((f) => `refused ${f.status} ${f.code}`),
    ...failed.map((v) => `failed ${v.error?.code ?? "UNKNOWN"}`),
    ...views.filter((v) => v.state !== to && v.state !== "failed").map((v) => `timed out in ${v.state}`),
  ];
  const polling = Math.round(p.watched.listCalls * p.tableRequestsPerList);
  const n = Math.max(1, ids.length);
  return {
    name: p.name,
    fired: p.fired.length,
    accepted: ids.length,
    acceptMs: p.answeredAt - p.startedAt,
    completed: done.length,
    failed: failed.length,
    timedOut: ids.length - done.length - failed.length,
    perSecond: windowMs > 0 ? done.length / (windowMs / 1000) : 0,
    windowMs,
    latency: summarize(done.map((v) => span(v, from, to)!)),
    steps: p.path.slice(1).map((s, i) => ({ from: p.path[i]!, to: s, latency: summarize(done.map((v) => span(v, p.path[i]!, s)!)) })),
    failures: tally(failures),
    listErrors: p.watched.listErrors,
    load: {
      dynamodbTotal: p.load.dynamodb,
      dynamodbPolling: polling,
      perWorkflow: {
        dynamodb: (p.load.dynamodb - polling) / n,
        cinder: p.load.cinder / n,
        bmc: p.load.bmc / n,
        bmcPatches: p.load.bmcPatches / n,
        stepInvocations: p.load.stepInvocations / n,
      },
      byKind: {
        dynamodb: breakdown(p.wire, "dynamodb", n),
        service: breakdown(p.wire, "service", n),
        cinder: breakdown(p.wire, "cinder", n),
        bmc: breakdown(p.wire, "bmc", n),
      },
    },
    sweeps: p.sweeps,
    process: {
      cpuCores: p.load.at > 0 ? p.load.cpuMs / p.load.at : 0,
      cpuMsPerWorkflow: p.load.cpuMs / n,
      eventLoopUtilization: p.load.loopActiveMs / Math.max(1, p.load.loopActiveMs + p.load.loopIdleMs),
      tableRequestsPerSecond: p.load.at > 0 ? (p.load.dynamodb * 1000) / p.load.at : 0,
    },
  };
}

export function machine() {
  const c = cpus();
  // the load average says whether other work shared the machine: the numbers move with it
  return { cores: c.length, cpu: c[0]?.model.trim() ?? "unknown", node: process.version, platform: `${process.platform} ${process.arch}`, loadAverage1m: loadavg()[0]! };
}

const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}` : "-");
const f1 = (v: number) => v.toFixed(1);
const lat = (l: LatencySummary) => `p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}  max ${ms(l.max)}  (mean ${ms(l.mean)}) ms`;

export function phaseLines(r: PhaseResult): string[] {
  const pw = r.load.perWorkflow;
  const lines = [
    `${r.name}: ${r.fired} fired, ${r.accepted} accepted in ${ms(r.acceptMs)} ms; ${r.completed} done, ${r.failed} failed, ${r.timedOut} timed out`,
    `  throughput   ${f1(r.perSecond)} workflows/s  (${r.completed} in ${(r.windowMs / 1000).toFixed(2)} s, first call sent → last completion)`,
    `  latency      ${lat(r.latency)}`,
    ...r.steps.map((s) => `    ${`${s.from} → ${s.to}`.padEnd(36)} p50 ${ms(s.latency.p50).padStart(6)}  p95 ${ms(s.latency.p95).padStart(6)}  max ${ms(s.latency.max).padStart(6)} ms`),
    `  per workflow dynamodb ${f1(pw.dynamodb)}  cinder ${f1(pw.cinder)}  bmc ${f1(pw.bmc)} (${f1(pw.bmcPatches)} PATCH)  step invocations ${f1(pw.stepInvocations)}`,
    `               (table requests in the phase: ${r.load.dynamodbTotal}, of which the caller's polling ≈ ${r.load.dynamodbPolling}, not counted above)`,
    ...kindLines("table ops", r.load.byKind.dynamodb),
    ...kindLines("service calls", r.load.byKind.service),
    ...kindLines("cinder calls", r.load.byKind.cinder),
    ...kindLines("bmc calls", r.load.byKind.bmc),
    `  process      event loop ${Math.round(r.process.eventLoopUtilization * 100)}% busy, ${r.process.cpuCores.toFixed(2)} cores of CPU (${Math.round(r.process.cpuMsPerWorkflow)} ms per workflow), ${Math.round(r.process.tableRequestsPerSecond)} table requests/s`,
    `  sweeper      ${r.sweeps.runs} runs, ${r.sweeps.dispatched} re-dispatched`,
  ];
  if (r.listErrors) lines.push(`  poller       ${r.listErrors} list passes failed and were retried`);
  if (r.failures.length) lines.push(`  failures     ${r.failures.map(([k, n]) => `${k} ×${n}`).join(", ")}`);
  return lines;
}

/** one line per kind, largest first, per workflow; kinds under 0.05 per workflow left out */
function kindLines(title: string, kinds: Array<[string, number]>): string[] {
  const shown = kinds.filter(([, n]) => n >= 0.05);
  return shown.map(([k, n], i) => `    ${(i === 0 ? title : "").padEnd(14)}${n.toFixed(2).padStart(6)}  ${k}`);
}

export function headerLines(p: BenchParams, m: ReturnType<typeof machine>): string[] {
  return [
    "sanboot boot throughput — local stack, zero-latency emulators (powerDelayMs 0, cinderCreateDelayMs 0)",
    `machine      ${m.cores} cores (${m.cpu}), node ${m.node}, ${m.platform}, load average ${m.loadAverage1m.toFixed(2)} at start`,
    `parameters   requests ${p.requests}, nodes ${p.nodes}, relay concurrency ${p.relayConcurrency}, poll ${p.pollMs} ms, sweeper every ${p.sweepMs || "never"}${p.sweepMs ? " ms" : ""}, undeploy ${p.undeploy ? "yes" : "no"}`,
  ];
}
