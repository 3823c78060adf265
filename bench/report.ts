/** Turns a phase's measurements into the printed lines and the JSON result. */
import { cpus, loadavg } from "node:os";
import type { TapCounts } from "./cinder-tap";
import type { Counters } from "./counters";
import type { BenchParams } from "./params";
import type { Floor } from "./real-cinder";
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
    perWorkflow: { dynamodb: number; cinder: number; bmc: number; bmcPatches: number; stepInvocations: number; lambda: number };
    /** requests in the phase, the caller's own polling left out of dynamodb and lambda */
    totals: { dynamodb: number; cinder: number; bmc: number; lambda: number };
    /**
     * Lambda invocations, as AWS would bill them: every API call the service answered (intake,
     * the relay's lease / heartbeat / result) but the caller's status polling, every chained
     * step, every sweeper run
     */
    lambda: { api: number; relay: number; steps: number; sweeps: number };
    /** per workflow, by kind of request (the caller's own list calls included under service / Query) */
    byKind: Record<System, Array<[string, number]>>;
  };
  sweeps: { runs: number; dispatched: number };
  /** a real Cinder: what it saw, through the recording proxy */
  cinder: TapCounts | null;
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
  cinder: TapCounts | null;
}

/** the caller's own list calls: the benchmark's polling, not the workflow's */
const POLLING = "service GET /v1/boot-requests";

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
  const service = Object.entries(p.wire).filter(([k]) => k.startsWith("service ") && k !== POLLING);
  const api = service.reduce((a, [, c]) => a + c, 0);
  const relay = service.filter(([k]) => k.startsWith("service POST /v1/relay/") || k.startsWith("service GET /v1/relay/")).reduce((a, [, c]) => a + c, 0);
  const lambda = api + p.load.stepInvocations + p.sweeps.runs;
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
        lambda: lambda / n,
      },
      totals: { dynamodb: p.load.dynamodb - polling, cinder: p.load.cinder, bmc: p.load.bmc, lambda },
      lambda: { api, relay, steps: p.load.stepInvocations, sweeps: p.sweeps.runs },
      byKind: {
        dynamodb: breakdown(p.wire, "dynamodb", n),
        service: breakdown(p.wire, "service", n),
        cinder: breakdown(p.wire, "cinder", n),
        bmc: breakdown(p.wire, "bmc", n),
      },
    },
    sweeps: p.sweeps,
    cinder: p.cinder,
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
    ...loadLines(r),
    ...kindLines("table ops", r.load.byKind.dynamodb),
    ...kindLines("service calls", r.load.byKind.service),
    ...kindLines("cinder calls", r.load.byKind.cinder),
    ...kindLines("bmc calls", r.load.byKind.bmc),
    `  process      event loop ${Math.round(r.process.eventLoopUtilization * 100)}% busy, ${r.process.cpuCores.toFixed(2)} cores of CPU (${Math.round(r.process.cpuMsPerWorkflow)} ms per workflow), ${Math.round(r.process.tableRequestsPerSecond)} table requests/s`,
    `  sweeper      ${r.sweeps.runs} runs, ${r.sweeps.dispatched} re-dispatched`,
    ...(r.cinder ? tapLines(r.cinder, r.accepted) : []),
  ];
  if (r.listErrors) lines.push(`  poller       ${r.listErrors} list passes failed and were retried`);
  if (r.failures.length) lines.push(`  failures     ${r.failures.map(([k, n]) => `${k} ×${n}`).join(", ")}`);
  return lines;
}

/** requests per workflow and in total, one line per outside system */
function loadLines(r: PhaseResult): string[] {
  const { perWorkflow: pw, totals: t, lambda: l } = r.load;
  const n = Math.max(1, r.accepted);
  const row = (name: string, per: number, total: number, note: string) => `    ${name.padEnd(14)}${f1(per).padStart(12)}${String(Math.round(total)).padStart(10)}   ${note}`.trimEnd();
  return [
    `${"  requests".padEnd(18)}${"per workflow".padStart(12)}${"total".padStart(10)}`,
    row("dynamodb", pw.dynamodb, t.dynamodb, `(the caller's polling, ≈ ${r.load.dynamodbPolling} more, left out)`),
    row("cinder", pw.cinder, t.cinder, ""),
    row("bmc", pw.bmc, t.bmc, `(${f1(pw.bmcPatches)} PATCH per workflow)`),
    row("lambda", pw.lambda, t.lambda, `(per workflow: ${f1(l.steps / n)} chained steps, ${f1((l.api - l.relay) / n)} API, ${f1(l.relay / n)} relay calls; ${l.sweeps} sweeper runs)`),
  ];
}

/** what a real Cinder saw in the phase */
function tapLines(c: TapCounts, workflows: number): string[] {
  const list = (t: Tally) => Object.entries(t).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(", ") || "none";
  const races = Object.values(c.races).reduce((a, b) => a + b, 0);
  const abandoned = Object.values(c.abandoned).reduce((a, b) => a + b, 0);
  return [
    `  real cinder  ${c.requests} requests (${f1(c.requests / Math.max(1, workflows))} per workflow), answers: ${list(c.answers)}`,
    `               attachment creates ${c.creates}, lookups by volume ${c.lookups}; ${c.volumesWithSeveralCreates} volumes got more than one create`,
    `               raced a create still running in Cinder: ${races} (${list(c.races)})`,
    `               abandoned by the client before Cinder answered: ${abandoned} (${list(c.abandoned)})`,
  ];
}

/** the workload beside the real Cinder's floor, and the volumes as the run left them */
export function floorLines(floor: Floor | null, boot: PhaseResult | null, after: { available: number; cleared: number; stuck: string[] } | null): string[] {
  const s = (v: number) => (v / 1000).toFixed(1);
  const lines = ["against the real Cinder's floor (as many attachment creates as deploys, one after another, straight to Cinder)"];
  if (floor) {
    const p = floor.perCreate;
    lines.push(`  floor        ${floor.creates} creates in ${s(floor.totalMs)} s (per create p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  max ${ms(p.max)} ms); deleted after in ${s(floor.cleanupMs)} s; failures: ${floor.failures.length ? tally(floor.failures).map(([k, n]) => `${k} ×${n}`).join(", ") : "none"}`);
  } else lines.push("  floor        not measured");
  if (boot) {
    const ratio = floor && floor.totalMs > 0 ? `${(boot.windowMs / floor.totalMs).toFixed(2)}× the floor` : "no floor to compare";
    // a wall time over part of the deploys would flatter the run: only a complete one is compared
    const wall = boot.completed === boot.fired && boot.fired > 0 ? `wall time ${s(boot.windowMs)} s (first call sent → last active) = ${ratio}` : "no wall time: not every deploy became active";
    lines.push(`  boot         ${wall}; ${boot.completed} done, ${boot.failed} failed, ${boot.timedOut} timed out`);
    if (boot.cinder) {
      const races = Object.values(boot.cinder.races).reduce((a, b) => a + b, 0);
      const abandoned = Object.values(boot.cinder.abandoned).reduce((a, b) => a + b, 0);
      lines.push(`  per deploy   ${f1(boot.cinder.requests / Math.max(1, boot.accepted))} Cinder requests; ${races} requests raced a create still running in Cinder; ${abandoned} calls abandoned by the client`);
    }
  }
  if (after) lines.push(`  volumes      ${after.available} available after the run (${after.cleared} needed clearing${after.stuck.length ? `; stuck: ${after.stuck.join(", ")}` : ""})`);
  return lines;
}

/** one line per kind, largest first, per workflow; kinds under 0.05 per workflow left out */
function kindLines(title: string, kinds: Array<[string, number]>): string[] {
  const shown = kinds.filter(([, n]) => n >= 0.05);
  return shown.map(([k, n], i) => `    ${(i === 0 ? title : "").padEnd(14)}${n.toFixed(2).padStart(6)}  ${k}`);
}

export function headerLines(p: BenchParams, m: ReturnType<typeof machine>): string[] {
  return [
    p.realCinder
      ? `sanboot boot throughput — local stack against a real Cinder at ${p.realCinder.url} (project ${p.realCinder.project}, through a recording proxy), zero-latency BMC emulator`
      : "sanboot boot throughput — local stack, zero-latency emulators (powerDelayMs 0, cinderCreateDelayMs 0)",
    `machine      ${m.cores} cores (${m.cpu}), node ${m.node}, ${m.platform}, load average ${m.loadAverage1m.toFixed(2)} at start`,
    `parameters   requests ${p.requests}, nodes ${p.nodes}, relay concurrency ${p.relayConcurrency}, relay long-poll ${p.relayWaitS} s, poll ${p.pollMs} ms, sweeper every ${p.sweepMs || "never"}${p.sweepMs ? " ms" : ""}, undeploy ${p.undeploy ? "yes" : "no"}${p.short ? ", short (CI)" : ""}`,
  ];
}
