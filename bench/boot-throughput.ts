/**
 * `npm run bench`: N boot requests fired at once against the whole system on this machine
 * (lab/local-stack.ts, emulators without latency), watched until each is active or failed;
 * then, unless --no-undeploy, the same for undeploy. Prints throughput, latency percentiles
 * from each request's own history, and the load per workflow on the table, Cinder and the BMCs.
 * Setup (enrolling nodes, creating volumes) is not timed. A measurement, not a test: it exits
 * 0 whatever it measures, and 1 only when the stack cannot be started or set up.
 */
import { calibrate, type Calibration } from "./calibrate";
import { delta, readCounters } from "./counters";
import { prepareFleet, type Target } from "./fleet";
import { readParams, type BenchParams } from "./params";
import { headerLines, machine, phaseLines, phaseResult, type PhaseResult } from "./report";
import { tally } from "./stats";
import { tallyDelta, WireTally } from "./wire-tally";
import { fireAll, watchUntil } from "./workload";
import { startLocalStack, type LocalStack } from "../lab/local-stack";
import { createLogger } from "../lib/log";
import { apiFor, type Api } from "../test/support/api";

const BOOT_PATH = ["accepted", "connector_ready", "attached", "firmware_configured", "booting", "active"] as const;
const UNDEPLOY_PATH = ["detaching", "detached"] as const;

/** warn and error lines of the service and the relay, kept out of stdout and tallied at the end */
const warnings: string[] = [];
const collect = (source: string) => (line: string) => {
  try {
    const l = JSON.parse(line) as { level?: string; msg?: string };
    if (l.level === "warn" || l.level === "error") warnings.push(`${source} ${l.level}: ${l.msg}`);
  } catch {
    warnings.push(`${source}: ${line.slice(0, 80)}`);
  }
};

/** Runs the sweeper on a schedule, as EventBridge would on AWS. */
function scheduleSweeper(stack: LocalStack, everyMs: number) {
  const sweeps = { runs: 0, dispatched: 0 };
  let running = false;
  const timer = everyMs > 0
    ? setInterval(() => {
        if (running) return;
        running = true;
        void (stack.service.invoke("sweeper", {}) as Promise<{ dispatched: number }>)
          .then((r) => ((sweeps.runs += 1), (sweeps.dispatched += r.dispatched)))
          .catch(() => undefined)
          .finally(() => (running = false));
      }, everyMs)
    : null;
  return {
    take: () => {
      const s = { ...sweeps };
      sweeps.runs = sweeps.dispatched = 0;
      return s;
    },
    stop: () => timer && clearInterval(timer),
  };
}

async function phase(
  stack: LocalStack,
  api: Api,
  params: BenchParams,
  cal: Calibration,
  sweeper: ReturnType<typeof scheduleSweeper>,
  wire: WireTally,
  name: string,
  path: readonly string[],
  calls: ReadonlyArray<() => Promise<{ status: number; body: any }>>,
): Promise<PhaseResult> {
  sweeper.take();
  const before = readCounters(stack);
  const wireBefore = wire.snapshot();
  const startedAt = Date.now();
  const fired = await fireAll(calls);
  const answeredAt = Date.now();
  const ids = fired.flatMap((f) => (f.requestId ? [f.requestId] : []));
  const watched = await watchUntil(api, ids, [path[path.length - 1]!, "failed"], params.pollMs, params.timeoutS * 1000);
  const load = delta(before, readCounters(stack));
  const wireLoad = tallyDelta(wireBefore, wire.snapshot());
  return phaseResult({ name, path, startedAt, answeredAt, fired, watched, load, wire: wireLoad, tableRequestsPerList: cal.perListCall, sweeps: sweeper.take() });
}

async function main(): Promise<number> {
  const params = readParams(process.argv.slice(2), process.env);
  const m = machine();
  for (const l of headerLines(params, m)) console.log(l);

  let stack: LocalStack;
  let api: Api;
  let targets: Target[];
  let cal: Calibration;
  const setupStart = performance.now();
  try {
    stack = await startLocalStack({
      powerDelayMs: 0,
      cinderCreateDelayMs: 0,
      relayConcurrency: params.relayConcurrency,
      env: { SANBOOT_LOG_LEVEL: "warn" },
      overrides: { log: createLogger("warn", { service: "sanboot" }, collect("service")) },
      log: collect("relay"),
    });
    api = apiFor(stack);
    targets = await prepareFleet(stack, api, params.nodes, params.requests);
    cal = await calibrate(stack, api);
  } catch (err) {
    console.error(`the local stack could not be started or set up: ${(err as Error).stack ?? err}`);
    return 1;
  }
  console.log(`setup        ${params.nodes} nodes enrolled, ${params.requests} volumes created in ${((performance.now() - setupStart) / 1000).toFixed(1)} s (not timed)`);
  console.log(`idle load    ${cal.idlePerSecond.toFixed(0)} table requests/s from the idle relay's long-poll; ${cal.perListCall.toFixed(2)} per list call of the poller`);
  console.log("");

  const sweeper = scheduleSweeper(stack, params.sweepMs);
  const wire = new WireTally({ dynamodb: stack.store.port, service: Number(new URL(stack.service.url).port), cinder: stack.cinder.port, bmc: stack.bmc.port });
  const results: PhaseResult[] = [];
  try {
    const boot = await phase(stack, api, params, cal, sweeper, wire, "boot", BOOT_PATH,
      targets.map((t) => () => api.post(`/v1/nodes/${t.nodeId}/boot-from-volume`, { volume_id: t.volumeId, protocol: "iscsi" })));
    results.push(boot);
    for (const l of phaseLines(boot)) console.log(l);

    if (params.undeploy) {
      const nodes = [...new Set(targets.map((t) => t.nodeId))];
      const undeploy = await phase(stack, api, params, cal, sweeper, wire, "undeploy", UNDEPLOY_PATH,
        nodes.map((n) => () => api.delete(`/v1/nodes/${n}/boot-from-volume`)));
      results.push(undeploy);
      console.log("");
      for (const l of phaseLines(undeploy)) console.log(l);
    }
  } catch (err) {
    console.log(`benchmark stopped early: ${(err as Error).message}`);
  } finally {
    sweeper.stop();
    wire.close();
  }

  const logTally = tally(warnings);
  if (logTally.length) {
    console.log("");
    console.log("warnings and errors logged during the run:");
    for (const [line, n] of logTally.slice(0, 12)) console.log(`  ${n} × ${line}`);
  }
  if (params.json) {
    console.log(JSON.stringify({ bench: "boot-throughput", machine: m, params, calibration: cal, phases: results, log: Object.fromEntries(logTally) }));
  }
  await stack.close().catch(() => undefined);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
