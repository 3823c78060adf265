/**
 * `npx tsx bench/relay-wake.ts`: how long a command enqueued for an idle relay waits before the
 * relay starts executing it. The whole local stack (lab/local-stack.ts) runs with the production
 * long-poll settings (SANBOOT_RELAY_POLL_MS 250, the relay's wait 20 s, unless flags say
 * otherwise); one node is enrolled; then, N times, the relay is left idle for a random while
 * (its long-poll in any phase), a command is enqueued the way the service does (the node's
 * inventory read, lib/service/nodes.ts), and the time from the enqueue call to the relay's
 * "executing command" line is taken. Also counted: table requests per second of the idle relay.
 *
 * The service's store rings the site's doorbell (lib/service/relay-doorbell.ts) when it queues a
 * command, where the deps were built with one; where not, this script installs the in-process
 * bell the same way (`--doorbell local`, the default) or leaves the lease polling (`--doorbell off`).
 * `--doorbell sqs` plays the deployment: the lease (the relay function) and the enqueue (another
 * function) each get their own store and their own SQS bell (lib/service/sqs-doorbell.ts) against
 * the lab's SQS, so the ring goes over SQS as it does between two Lambdas.
 *
 * `--doorbell none` is the same two stores without a bell: the lease polls, as across Lambdas before.
 *
 *   --doorbell M    local | off | sqs | none (default local)
 *   --samples N     (default 40)
 *   --poll-ms N     SANBOOT_RELAY_POLL_MS (default 250)
 *   --wait-s N      the relay's long-poll wait (default 20)
 *   --idle-ms A-B   idle time before each enqueue, uniform in [A, B] (default 100-3000)
 *   --json          also print one machine-readable line
 *
 * A measurement, not a test: exits 0 whatever it measures, 1 when the stack cannot start.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { request } from "undici";
import { LAB_CREDENTIALS_REF, LAB_SITE, startLocalStack, type LocalStack } from "../lab/local-stack";
import { requestInventory } from "../lib/service/nodes";
import { doorbellOf, LocalDoorbell, withRelayDoorbell } from "../lib/service/relay-doorbell";
import { SqsDoorbell } from "../lib/service/sqs-doorbell";
import { StateTable } from "../lib/store/state-table";
import { startSqsEmulator, type SqsEmulator } from "../lab/sqs-emulator";
import { summarize } from "./stats";

interface Params {
  doorbell: "local" | "off" | "sqs" | "none";
  samples: number;
  pollMs: number;
  waitS: number;
  idle: [number, number];
  json: boolean;
}

function readParams(argv: string[]): Params {
  const { values } = parseArgs({
    args: argv,
    options: {
      doorbell: { type: "string" },
      samples: { type: "string" },
      "poll-ms": { type: "string" },
      "wait-s": { type: "string" },
      "idle-ms": { type: "string" },
      json: { type: "boolean" },
    },
  });
  const int = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
    return n;
  };
  const idle = (values["idle-ms"] ?? "100-3000").split("-").map(Number);
  if (idle.length !== 2 || !idle.every((n) => Number.isFinite(n) && n >= 0) || idle[0]! > idle[1]!) throw new Error(`--idle-ms must be A-B, got "${values["idle-ms"]}"`);
  const doorbell = values.doorbell ?? "local";
  if (!["local", "off", "sqs", "none"].includes(doorbell)) throw new Error(`--doorbell must be local, off, sqs or none, got "${doorbell}"`);
  return {
    doorbell: doorbell as Params["doorbell"],
    samples: int("samples", values.samples, 40),
    pollMs: int("poll-ms", values["poll-ms"], 250),
    waitS: Math.min(25, int("wait-s", values["wait-s"], 20)),
    idle: [idle[0]!, idle[1]!],
    json: values.json === true,
  };
}

/** Waits for the next relay log line of `msg` about `commandId`; resolves with its arrival time. */
class RelayLines {
  private readonly waiters: Array<{ msg: string; id: string; resolve: (at: number) => void }> = [];
  readonly onLine = (line: string) => {
    const at = performance.now();
    let l: { msg?: string; command_id?: string };
    try {
      l = JSON.parse(line);
    } catch {
      return;
    }
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.msg === l.msg && w.id === l.command_id) {
        this.waiters.splice(i, 1);
        w.resolve(at);
      }
    }
  };

  next(msg: string, id: string, timeoutMs: number): Promise<number> {
    return Promise.race([
      new Promise<number>((resolve) => this.waiters.push({ msg, id, resolve })),
      sleep(timeoutMs).then(() => Promise.reject(new Error(`no "${msg}" for ${id} within ${timeoutMs} ms`))),
    ]);
  }
}

async function enrollNode(stack: LocalStack): Promise<string> {
  const systemId = "wake-node";
  const mac = "02:00:5e:00:77:01";
  stack.bmc.addSystem({ id: systemId, mac, powerState: "Off" });
  const res = await request(`${stack.service.url}/v1/nodes`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.apiToken}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: systemId,
      site: LAB_SITE,
      bmc: { driver: "redfish", address: stack.bmc.url, system_id: systemId, credentials_ref: LAB_CREDENTIALS_REF },
      boot_mode: "uefi",
      mac_address: mac,
    }),
  });
  const body = (await res.body.json()) as { node_id?: string };
  if (res.statusCode !== 201 || !body.node_id) throw new Error(`enrolling the node answered ${res.statusCode}`);
  return body.node_id;
}

async function main(): Promise<number> {
  const params = readParams(process.argv.slice(2));
  const lines = new RelayLines();
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      powerDelayMs: 0,
      relayWaitSeconds: params.waitS,
      env: { SANBOOT_RELAY_POLL_MS: String(params.pollMs), SANBOOT_LOG_LEVEL: "warn" },
      log: lines.onLine,
    });
  } catch (err) {
    console.error(`the local stack could not be started: ${(err as Error).stack ?? err}`);
    return 1;
  }
  const deps = stack.service.deps;
  let bell = doorbellOf(deps.store) ? "wired by the service's deps" : "none (the lease polls)";
  /** the deps the enqueue runs with: the service's, or (sqs) another function's */
  let enqueueDeps = deps;
  let sqs: SqsEmulator | undefined;
  let sqsStats: ReturnType<SqsEmulator["stats"]> | undefined;
  const table = () => new StateTable({ tableName: deps.config.SANBOOT_TABLE, region: "us-east-1", endpoint: stack.store.endpoint });
  if (params.doorbell === "none") {
    // two functions without a deployment-wide bell (Lambda before the SQS doorbell): the lease polls
    deps.store = table();
    enqueueDeps = { ...deps, store: table() };
    bell = "none between the two stores: the lease asks the table at its interval";
  } else if (params.doorbell === "sqs") {
    sqs = await startSqsEmulator({ consumers: {} });
    const sqsBell = () => new SqsDoorbell({ queueUrlPrefix: sqs!.queueUrl("sanboot-bench-relay-"), region: "us-east-1", endpoint: sqs!.url });
    // the relay function's store, whose lease waits on the site's queue ...
    deps.store = withRelayDoorbell(table(), sqsBell());
    // ... and the queueing function's, which rings it
    enqueueDeps = { ...deps, store: withRelayDoorbell(table(), sqsBell()) };
    bell = "SQS, one queue per site: the lease and the enqueue each with their own store and bell";
  } else if (!doorbellOf(deps.store) && params.doorbell === "local") {
    // every function runs in this process (inline dispatch): this bell hears every ring
    deps.store = withRelayDoorbell(deps.store, new LocalDoorbell(true));
    bell = "in-process, installed by this script";
  }
  const samples: number[] = [];
  let idleTable = { requests: 0, ms: 0 };
  try {
    const nodeId = await enrollNode(stack);
    // the enrollment's own inventory read, then a quiet relay
    await sleep(500);
    for (let i = 0; i < params.samples; i++) {
      const idleMs = params.idle[0] + Math.random() * (params.idle[1] - params.idle[0]);
      const before = { requests: deps.store.requestCount, at: performance.now() };
      await sleep(idleMs);
      idleTable = { requests: idleTable.requests + deps.store.requestCount - before.requests, ms: idleTable.ms + performance.now() - before.at };
      const node = await deps.store.getNode(nodeId);
      if (!node) throw new Error("the node vanished");
      // a new command id each time: the inventory command is derived from the node's version
      const commandId = `${node.node_id}.node_inventory.${node.version}`;
      const executing = lines.next("executing command", commandId, params.waitS * 1000 + 10_000);
      const reported = lines.next("result reported", commandId, params.waitS * 1000 + 20_000);
      const enqueuedAt = performance.now();
      await requestInventory(enqueueDeps, node);
      samples.push((await executing) - enqueuedAt);
      await reported;
      // the report updates the node (a new version, so a new command id next time)
      await sleep(50);
    }
  } catch (err) {
    console.log(`stopped early: ${(err as Error).message}`);
  } finally {
    sqsStats = sqs?.stats();
    await stack.close().catch(() => undefined);
    await sqs?.close();
  }
  const s = summarize(samples);
  const idlePerSecond = idleTable.ms > 0 ? (idleTable.requests * 1000) / idleTable.ms : Number.NaN;
  console.log(`relay wake   doorbell: ${bell}; poll ${params.pollMs} ms, long-poll ${params.waitS} s, idle ${params.idle[0]}-${params.idle[1]} ms before each enqueue`);
  console.log(`enqueue → executing, ms: p50 ${s.p50.toFixed(1)}  p95 ${s.p95.toFixed(1)}  max ${s.max.toFixed(1)}  mean ${s.mean.toFixed(1)}  (${s.count} samples)`);
  console.log(`idle relay: ${idlePerSecond.toFixed(2)} table requests/s`);
  if (sqsStats) console.log(`SQS: ${sqsStats.sent} rings sent, ${sqsStats.delivered} received by a waiting lease`);
  if (params.json) console.log(JSON.stringify({ bench: "relay-wake", params, doorbell: bell, latency_ms: s, idle_table_requests_per_s: idlePerSecond }));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
