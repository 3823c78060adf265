/**
 * The benchmark's parameters, from flags or environment (flags win):
 *
 *   --requests N      BENCH_REQUESTS      boot requests fired at once (default: nodes, else 200)
 *   --nodes N         BENCH_NODES         nodes enrolled; requests go round-robin (default: requests)
 *   --short           BENCH_SHORT=1       the CI run: 5 nodes, polled every 100 ms, 60 s per phase
 *                                         (each still overridable by its own flag)
 *   --cinder-url URL  BENCH_CINDER_URL    a real Cinder (noauth) instead of the emulator: the
 *   --cinder-project P BENCH_CINDER_PROJECT  volumes are found or created there once and reused,
 *                                         and Cinder's floor is measured in the same run
 *   --relay-concurrency N  BENCH_RELAY_CONCURRENCY  commands the relay holds at once (default 64)
 *   --relay-wait-s N  BENCH_RELAY_WAIT_S  the relay's long-poll per lease call (default 20, the
 *                                         relay's own: each lease that comes back empty is an
 *                                         invocation, so a shorter wait inflates the count)
 *   --poll-ms N       BENCH_POLL_MS       pause between the caller's status sweeps (default 500)
 *   --sweep-ms N      BENCH_SWEEP_MS      the sweeper's schedule; 0 = never (default 60000,
 *                                         serverless.yml's rate(1 minute): each run is an invocation)
 *   --timeout-s N     BENCH_TIMEOUT_S     give up waiting for a phase after this (default 300)
 *   --no-undeploy     BENCH_UNDEPLOY=0    skip the undeploy phase
 *   --json            BENCH_JSON=1        also print one machine-readable result line
 *
 * One active request per node is the service's rule, so a node count below the request count
 * makes the surplus requests answer NODE_BUSY: that is measured too, not prevented.
 */
import { parseArgs } from "node:util";

export interface BenchParams {
  requests: number;
  nodes: number;
  relayConcurrency: number;
  relayWaitS: number;
  pollMs: number;
  sweepMs: number;
  timeoutS: number;
  undeploy: boolean;
  json: boolean;
  short: boolean;
  /** a real Cinder to run against, null for the emulator */
  realCinder: { url: string; project: string } | null;
}

const positive = (name: string, raw: string | undefined, fallback: number, min = 1): number => {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
};

const flag = (raw: string | undefined): boolean | undefined =>
  raw === undefined || raw === "" ? undefined : !["0", "false", "no"].includes(raw.toLowerCase());

export function readParams(argv: string[], env: NodeJS.ProcessEnv): BenchParams {
  const { values } = parseArgs({
    args: argv,
    options: {
      requests: { type: "string" },
      nodes: { type: "string" },
      "relay-concurrency": { type: "string" },
      "relay-wait-s": { type: "string" },
      "poll-ms": { type: "string" },
      "sweep-ms": { type: "string" },
      "timeout-s": { type: "string" },
      "no-undeploy": { type: "boolean" },
      json: { type: "boolean" },
      short: { type: "boolean" },
      "cinder-url": { type: "string" },
      "cinder-project": { type: "string" },
    },
    strict: true,
  });
  const short = values.short ?? flag(env.BENCH_SHORT) ?? false;
  const rawNodes = values.nodes ?? env.BENCH_NODES;
  const nodesGiven = rawNodes !== undefined && rawNodes !== "" ? positive("--nodes", rawNodes, 1) : undefined;
  const requests = positive("--requests", values.requests ?? env.BENCH_REQUESTS, nodesGiven ?? (short ? 5 : 200));
  return {
    requests,
    nodes: nodesGiven ?? requests,
    relayConcurrency: positive("--relay-concurrency", values["relay-concurrency"] ?? env.BENCH_RELAY_CONCURRENCY, 64),
    relayWaitS: Math.min(25, positive("--relay-wait-s", values["relay-wait-s"] ?? env.BENCH_RELAY_WAIT_S, 20, 0)),
    pollMs: positive("--poll-ms", values["poll-ms"] ?? env.BENCH_POLL_MS, short ? 100 : 500, 10),
    sweepMs: positive("--sweep-ms", values["sweep-ms"] ?? env.BENCH_SWEEP_MS, 60_000, 0),
    timeoutS: positive("--timeout-s", values["timeout-s"] ?? env.BENCH_TIMEOUT_S, short ? 60 : 300),
    undeploy: values["no-undeploy"] ? false : (flag(env.BENCH_UNDEPLOY) ?? true),
    json: values.json ?? flag(env.BENCH_JSON) ?? false,
    short,
    realCinder: readRealCinder(values["cinder-url"] ?? env.BENCH_CINDER_URL, values["cinder-project"] ?? env.BENCH_CINDER_PROJECT),
  };
}

/** both or neither: a URL without its project (or the reverse) is a mistake, not the emulator */
function readRealCinder(url: string | undefined, project: string | undefined): BenchParams["realCinder"] {
  const u = url || undefined;
  const p = project || undefined;
  if (!u && !p) return null;
  if (!u || !p) throw new Error("--cinder-url and --cinder-project go together");
  if (!/^https?:\/\//.test(u)) throw new Error(`--cinder-url must be an http(s) URL, got "${u}"`);
  if (!/^[0-9a-f]{32}$/i.test(p)) throw new Error(`--cinder-project must be a project id (32 hex digits), got "${p}"`);
  return { url: u.replace(/\/+$/, ""), project: p };
}
