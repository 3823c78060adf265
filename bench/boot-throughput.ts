/**
 * `npm run bench`: N boot requests fired at once against the whole system on this machine
 * (lab/local-stack.ts, emulators without latency), watched until each is active or failed;
 * then, unless --no-undeploy, the same for undeploy. Prints throughput, latency percentiles
 * from each request's own history, and the load per workflow on the table, Cinder, the BMCs and
 * Lambda. With --cinder-url / --cinder-project the service uses a real Cinder (through a
 * recording proxy, cinder-tap.ts) and the run also measures that Cinder's floor (real-cinder.ts).
 * Setup (enrolling nodes, creating volumes) is not timed. A measurement, not a test: it exits
 * 0 whatever it measures, and 1 only when the stack cannot be started or set up.
 */
import { calibrate, type Calibration } from "./calibrate";
import { CinderTap } from "./cinder-tap";
import { delta, readCounters } from "./counters";
import { prepareFleet, type Target } from "./fleet";
import { readParams, type BenchParams } from "./params";
import { benchVolumes, leaveAvailable, measureFloor, type BenchVolumes, type Floor } from "./real-cinder";
import { floorLines, headerLines, machine, phaseLines, phaseResult, type PhaseResult } from "./report";
import { tally } from "./stats";
import { tallyDelta, WireTally } from "./wire-tally";
import { fireAll, watchUntil } from "./workload";
import { startLocalStack, type LocalStack } from "../lab/local-stack";
import { createLogger } from "../lib/log";
import { CinderAdmin } from "../test/cinder/cinder-admin";
import { apiFor, type Api } from "../test/support/api-client";

const BOOT_PATH = ["accepted", "connector_ready", "attached", "firmware_configured", "booting", "active"] as const;
const UNDEPLOY_PATH = ["detaching", "detached"] as const;

/** warn and error lines of the service and the relay, kept out of stdout and tallied at the end */
const warnings: string[] = [];
const collect = (source: string) => (line: string) => {
  try {
    const l = JSON.parse(line) as { level?: string; msg?: string; step?: string; code?: string; error?: string };
    // the step and the error code or name, not ids: lines of one kind tally together
    const what = [l.step, l.code ?? l.error].filter(Boolean).join(" ");
    if (l.level === "warn" || l.level === "error") warnings.push(`${source} ${l.level}: ${l.msg}${what ? ` (${what})` : ""}`);
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

/** what every phase measures with */
interface Run {
  stack: LocalStack;
  api: Api;
  params: BenchParams;
  cal: Calibration;
  sweeper: ReturnType<typeof scheduleSweeper>;
  wire: WireTally;
  /** the recording proxy in front of a real Cinder, else null */
  tap: CinderTap | null;
}

async function phase(
  { stack, api, params, cal, sweeper, wire, tap }: Run,
  name: string,
  path: readonly string[],
  calls: ReadonlyArray<() => Promise<{ status: number; body: any }>>,
): Promise<PhaseResult> {
  sweeper.take();
  tap?.take();
  const counters = () => (tap ? readCounters(stack, () => tap.requestsTotal) : readCounters(stack));
  const before = counters();
  const wireBefore = wire.snapshot();
  const startedAt = Date.now();
  const fired = await fireAll(calls);
  const answeredAt = Date.now();
  const ids = fired.flatMap((f) => (f.requestId ? [f.requestId] : []));
  const watched = await watchUntil(api, ids, [path[path.length - 1]!, "failed"], params.pollMs, params.timeoutS * 1000);
  const load = delta(before, counters());
  const wireLoad = tallyDelta(wireBefore, wire.snapshot());
  return phaseResult({ name, path, startedAt, answeredAt, fired, watched, load, wire: wireLoad, tableRequestsPerList: cal.perListCall, sweeps: sweeper.take(), cinder: tap?.take() ?? null });
}

async function main(): Promise<number> {
  const params = readParams(process.argv.slice(2), process.env);
  const m = machine();
  for (const l of headerLines(params, m)) console.log(l);

  const real = params.realCinder;
  let stack: LocalStack | undefined;
  let api: Api;
  let targets: Target[];
  let cal: Calibration;
  let tap: CinderTap | null = null;
  let admin: CinderAdmin | null = null;
  let volumes: BenchVolumes | null = null;
  const setupStart = performance.now();
  try {
    if (real) tap = new CinderTap(real.url);
    const tapUrl = tap ? await tap.start() : null;
    stack = await startLocalStack({
      powerDelayMs: 0,
      cinderCreateDelayMs: 0,
      relayConcurrency: params.relayConcurrency,
      relayWaitSeconds: params.relayWaitS,
      env: { SANBOOT_LOG_LEVEL: "warn" },
      overrides: { log: createLogger("warn", { service: "sanboot" }, collect("service")) },
      log: collect("relay"),
      ...(real && tapUrl ? { realCinder: { url: tapUrl, project: real.project } } : {}),
    });
    api = apiFor(stack);
    if (real) {
      admin = new CinderAdmin(real.url, real.project);
      volumes = await benchVolumes(admin, params.requests);
    }
    targets = await prepareFleet(stack, api, params.nodes, params.requests, volumes?.ids);
    cal = await calibrate(stack, api);
  } catch (err) {
    console.error(`the local stack could not be started or set up: ${(err as Error).stack ?? err}`);
    await stack?.close().catch(() => undefined);
    await tap?.close();
    return 1;
  }
  const made = volumes ? `${volumes.reused} volumes reused and ${volumes.created} created in the real Cinder (${volumes.cleared} cleared of a previous run's attachments)` : `${params.requests} volumes created`;
  console.log(`setup        ${params.nodes} nodes enrolled, ${made} in ${((performance.now() - setupStart) / 1000).toFixed(1)} s (not timed)`);
  console.log(`idle load    ${cal.idlePerSecond.toFixed(0)} table requests/s from the idle relay's long-poll; ${cal.perListCall.toFixed(2)} per list call of the poller`);

  let floor: Floor | null = null;
  if (admin && volumes) {
    try {
      floor = await measureFloor(admin, volumes.ids);
    } catch (err) {
      console.log(`cinder floor not measured: ${(err as Error).message}`);
    }
  }
  console.log("");

  const sweeper = scheduleSweeper(stack, params.sweepMs);
  const wire = new WireTally({ dynamodb: stack.store.port, service: Number(new URL(stack.service.url).port), cinder: tap?.port ?? stack.cinder.port, bmc: stack.bmc.port });
  const run: Run = { stack, api, params, cal, sweeper, wire, tap };
  const results: PhaseResult[] = [];
  try {
    const boot = await phase(run, "boot", BOOT_PATH,
      targets.map((t) => () => api.post(`/v1/nodes/${t.nodeId}/boot-from-volume`, { volume_id: t.volumeId, protocol: "iscsi" })));
    results.push(boot);
    for (const l of phaseLines(boot)) console.log(l);

    if (params.undeploy) {
      const nodes = [...new Set(targets.map((t) => t.nodeId))];
      const undeploy = await phase(run, "undeploy", UNDEPLOY_PATH,
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

  let after: Awaited<ReturnType<typeof leaveAvailable>> | null = null;
  if (admin && volumes) {
    after = await leaveAvailable(admin, volumes.ids).catch((err: Error) => (console.log(`volumes not checked after the run: ${err.message}`), null));
  }
  if (real) {
    console.log("");
    for (const l of floorLines(floor, results[0] ?? null, after)) console.log(l);
  }

  const logTally = tally(warnings);
  if (logTally.length) {
    console.log("");
    console.log("warnings and errors logged during the run:");
    for (const [line, n] of logTally.slice(0, 12)) console.log(`  ${n} × ${line}`);
  }
  if (params.json) {
    console.log(JSON.stringify({ bench: "boot-throughput", machine: m, params, calibration: cal, volumes, floor, after, phases: results, log: Object.fromEntries(logTally) }));
  }
  await stack.close().catch(() => undefined);
  await tap?.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
