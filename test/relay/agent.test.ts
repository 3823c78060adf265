/**
 * The relay agent through its public face (startRelayAgent) against a wire double of the
 * service: leases, heartbeats, reports, the per-BMC lock, lease loss, stop and drain. Time is a
 * ManualClock: a test waits until the agent sleeps where it expects, then moves time; BMC calls
 * that must last are gates the test opens. Nothing here waits on the wall clock for time to pass.
 */
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SanbootError } from "../../lib/errors";
import { startRelayAgent, type RelayAgent, type RelayAgentOptions } from "../../relay/agent";
import {
  BMC_PASSWORD,
  CHAP_SECRET,
  FakeBmcDriver,
  FakeRelayService,
  SITE_TOKEN,
  bmc,
  eventually,
  gate,
  iscsiSpec,
  leased,
  type Gate,
} from "./doubles";
import { ManualClock } from "./manual-clock";
import { RELAY_VERSION } from "../../relay/version";

const A = "https://10.0.0.5";
const B = "https://10.0.0.6";
/** heartbeatSeconds 5, as setup() configures it */
const BEAT = 5_000;

let service: FakeRelayService;
let agent: RelayAgent | undefined;
let clock: ManualClock;
let lines: string[];
let gates: Gate[] = [];

async function setup(overrides: Partial<RelayAgentOptions> = {}, driver = new FakeBmcDriver()) {
  service = await new FakeRelayService().start();
  lines = [];
  clock = new ManualClock();
  agent = startRelayAgent({
    serviceUrl: service.url,
    site: "dc1",
    token: SITE_TOKEN,
    relayId: "relay-test",
    credentials: new Map([["lab", { username: "admin", password: BMC_PASSWORD }]]),
    driver,
    waitSeconds: 1,
    heartbeatSeconds: BEAT / 1000,
    idlePollMs: 0,
    serviceBackoff: { baseMs: 5, maxMs: 40 },
    clock,
    log: (l) => lines.push(l),
    ...overrides,
  });
  return { driver };
}

/** A BMC call that lasts until the test opens it (every gate opens at the end of a test). */
function held(): Gate {
  const g = gate();
  gates.push(g);
  return g;
}

/** stop(), moving time along so that whatever the test left holding reaches its bound. */
async function stopDriven(a: RelayAgent): Promise<void> {
  let done = false;
  const stopped = a.stop().finally(() => (done = true));
  service.answerLongPolls(); // stop() waits for the long-poll in flight
  while (!done) {
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 5));
  }
  await stopped;
}

afterEach(async () => {
  for (const g of gates) g.open();
  gates = [];
  if (agent) await stopDriven(agent);
  agent = undefined;
  await service?.close();
});

const logs = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
const logged = (msg: string) => logs().find((l) => String(l.msg).startsWith(msg));

/** Moves time through each backoff sleep in turn, waiting for the agent to be in it first. */
async function throughSleeps(...delays: number[]): Promise<void> {
  for (const d of delays) {
    await clock.sleeping(d);
    clock.advance(d);
  }
}

describe("relay agent", () => {
  it("leases a command, executes it and reports the outcome, authenticated with the site token", async () => {
    const { driver } = await setup();
    const cmd = leased({ type: "configure_san_boot", bmc: bmc(A), iscsi: iscsiSpec() });
    service.enqueue(cmd);

    const result = await eventually(() => service.resultFor(cmd.command_id));
    expect(result.auth).toBe(`Bearer ${SITE_TOKEN}`);
    expect(result.body).toMatchObject({
      lease_token: cmd.lease_token,
      outcome: { ok: true, result: { changed: true, function_uri: "/redfish/v1/Chassis/1/NetworkAdapters/1/NetworkDeviceFunctions/1" } },
    });
    // the evidence of the write went to the service first, with the lease it holds
    const checkpoint = service.heartbeats.find((h) => h.path.includes(cmd.command_id) && h.body.checkpoint)!;
    expect(checkpoint.body).toMatchObject({ lease_token: cmd.lease_token, checkpoint: { claims: [{ kind: "nic_iscsi" }] } });
    expect(checkpoint.at).toBeLessThanOrEqual(result.at);
    expect(driver.calls.map((c) => c.method)).toEqual(["configureIscsiBoot"]);
    expect(driver.calls[0]!.endpoint).toMatchObject({ address: A, system_id: "1", username: "admin", password: BMC_PASSWORD });
    expect(service.leases[0]!.body).toMatchObject({ relay_id: "relay-test", max_commands: 8, wait_seconds: 1, relay_version: RELAY_VERSION, concurrency: 8 });
    expect(service.leases[0]!.auth).toBe(`Bearer ${SITE_TOKEN}`);
  });

  it("runs each command type as its sequence of driver calls", async () => {
    const { driver } = await setup();
    const on = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "bios" });
    const wait = leased({ type: "await_power_on", bmc: bmc(A) });
    const clear = leased({ type: "clear_san_boot", bmc: bmc(A), evidence: { claims: [] } });
    service.enqueue(on, wait, clear);

    await eventually(() => service.results.length === 3);
    expect(driver.calls.map((c) => [c.method, ...c.args])).toEqual([
      ["checkSanBootCapability", "bios"],
      ["getPowerState"],
      ["setSanBootOverride", { mode: "bios", persistence: "once", targets: [] }],
      ["powerOn"],
      ["waitForPowerOn", undefined],
    ]);
    expect(service.resultFor(wait.command_id)!.body.outcome).toMatchObject({ ok: true, result: { power_state: "On", boot_confirmed: false } });
    // no evidence of anything sanboot did: the undo touches nothing
    expect(service.resultFor(clear.command_id)!.body.outcome).toEqual({ ok: true, result: { changed: false, changes: [] } });
  });

  it("keeps one command in flight per BMC while commands for two BMCs run in parallel", async () => {
    const driver = new FakeBmcDriver();
    const resets = held();
    driver.impl.powerOn = async () => {
      await resets.passed;
      driver.power = "On";
    };
    await setup({}, driver);
    const a1 = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" });
    const a2 = leased({ type: "clear_san_boot", bmc: bmc(`${A}:443/`), evidence: { claims: [], power: { before: "Off", reset_at: "2026-12-01T00:00:00Z" } } }); // same BMC, other spelling
    const b1 = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(B), boot_mode: "uefi" });
    service.enqueue(a1, a2, b1);

    // a1 and b1 are both in their reset; a2 waits for a1 to let go of A.
    await eventually(() => driver.calls.filter((c) => c.method === "powerOn").length === 2);
    expect(driver.maxActive).toBe(2);
    expect(driver.calls.filter((c) => c.address.startsWith(A)).map((c) => c.method)).toEqual(["checkSanBootCapability", "getPowerState", "setSanBootOverride", "powerOn"]);
    expect(logged("BMC busy with another command")).toMatchObject({ command_id: a2.command_id });

    resets.open();
    await eventually(() => service.results.length === 3);
    expect(driver.maxActivePerBmc).toBe(1);
    const onA = driver.calls.filter((c) => c.address.startsWith(A));
    expect(onA.map((c) => c.method)).toEqual(["checkSanBootCapability", "getPowerState", "setSanBootOverride", "powerOn", "getPowerState", "powerOff"]);
    const a1End = Math.max(...onA.slice(0, 4).map((c) => c.end!));
    expect(onA.slice(4).every((c) => c.start >= a1End)).toBe(true);
  });

  it("leases no more than concurrency minus the commands it holds", async () => {
    const driver = new FakeBmcDriver();
    const reset = held();
    driver.impl.powerOn = async () => {
      await reset.passed;
    };
    await setup({ concurrency: 2 }, driver);
    service.enqueue(leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" }));
    await eventually(() => driver.calls.some((c) => c.method === "powerOn"));
    await eventually(() => service.leases.length >= 2);
    expect(service.leases[0]!.body.max_commands).toBe(2);
    expect(service.leases.at(-1)!.body.max_commands).toBe(1);
  });

  it("waits for room, without leasing, while it holds as many commands as its concurrency", async () => {
    const driver = new FakeBmcDriver();
    const wait = held();
    driver.impl.waitForPowerOn = async () => {
      await wait.passed;
      return "On";
    };
    await setup({ concurrency: 1 }, driver);
    const first = leased({ type: "await_power_on", bmc: bmc(A) });
    const second = leased({ type: "await_power_on", bmc: bmc(B) });
    service.enqueue(first);
    await eventually(() => driver.calls.length === 1);
    expect(service.leases.length).toBe(1); // the lease that brought the first, and none since
    service.enqueue(second);
    expect(agent!.held()).toBe(1);

    wait.open();
    await eventually(() => service.resultFor(second.command_id));
    // the second was leased only once the first had been reported, and for one command
    const firstReported = service.resultFor(first.command_id)!.at;
    expect(service.leases[1]!.at).toBeGreaterThanOrEqual(firstReported);
    expect(service.leases[1]!.body.max_commands).toBe(1);
  });

  it("heartbeats a held command every heartbeatSeconds while it runs, and not after its report", async () => {
    const driver = new FakeBmcDriver();
    const wait = held();
    driver.impl.waitForPowerOn = async () => {
      await wait.passed;
      return "On";
    };
    await setup({}, driver);
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd);

    for (let beat = 1; beat <= 3; beat++) {
      await clock.sleeping(BEAT);
      expect(service.heartbeats.length).toBe(beat - 1); // nothing before its time
      clock.advance(BEAT);
      await eventually(() => service.heartbeats.length === beat);
    }
    expect(service.heartbeats.every((h) => h.path === `/v1/relay/commands/${cmd.command_id}/heartbeat`)).toBe(true);
    expect(service.heartbeats[0]!.body).toEqual({ lease_token: cmd.lease_token, relay_id: "relay-test" });
    expect(service.heartbeats[0]!.auth).toBe(`Bearer ${SITE_TOKEN}`);

    wait.open();
    await eventually(() => service.resultFor(cmd.command_id));
    await eventually(() => agent!.held() === 0);
    expect(clock.pending()).not.toContain(BEAT); // its heartbeat ended with the report
  });

  it("beats at least three times per remaining lease when the lease is shorter than heartbeatSeconds", async () => {
    const driver = new FakeBmcDriver();
    const wait = held();
    driver.impl.waitForPowerOn = async () => {
      await wait.passed;
      return "On";
    };
    await setup({}, driver);
    service.enqueue(leased({ type: "await_power_on", bmc: bmc(A) }, { lease_expires_at: new Date(clock.now() + 6_000).toISOString() }));
    await clock.sleeping(2_000);
    clock.advance(2_000);
    await eventually(() => service.heartbeats.length === 1);
  });

  it("takes the new lease token of a command the service leases to it again while it holds it", async () => {
    const driver = new FakeBmcDriver();
    const wait = held();
    driver.impl.waitForPowerOn = async () => {
      await wait.passed;
      return "On";
    };
    await setup({}, driver);
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd);
    await eventually(() => driver.calls.length === 1);
    service.enqueue({ ...cmd, lease_token: "lease-again", attempt: 2 });
    await eventually(() => logged("command leased again while held"));

    await clock.sleeping(BEAT);
    clock.advance(BEAT);
    await eventually(() => service.heartbeats.length === 1);
    expect(service.heartbeats[0]!.body).toEqual({ lease_token: "lease-again", relay_id: "relay-test" });
    wait.open();
    const result = await eventually(() => service.resultFor(cmd.command_id));
    expect(result.body.lease_token).toBe("lease-again");
    expect(driver.calls).toHaveLength(1); // run once, not twice
  });

  it("stops heartbeating and never reports a command whose lease was lost", async () => {
    const driver = new FakeBmcDriver();
    const wait = held();
    driver.impl.waitForPowerOn = async () => {
      await wait.passed;
      return "On";
    };
    await setup({}, driver);
    service.onHeartbeat = () => ({ status: 409, body: { error: { code: "LEASE_LOST", message: "lease moved to relay-b" } } });
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd);

    await clock.sleeping(BEAT);
    clock.advance(BEAT);
    await eventually(() => logged("lease lost"));
    expect(logged("lease lost")).toMatchObject({ command_id: cmd.command_id, level: "warn" });
    expect(clock.pending()).not.toContain(BEAT);
    wait.open();
    await eventually(() => agent!.held() === 0);
    expect(logged("command finished")).toBeDefined();
    expect(service.results).toEqual([]);
    expect(service.heartbeats.length).toBe(1);
  });

  it("drops a command waiting for a busy BMC when its lease is lost", async () => {
    const driver = new FakeBmcDriver();
    const wait = held();
    driver.impl.waitForPowerOn = async () => {
      await wait.passed;
      return "On";
    };
    await setup({}, driver);
    const running = leased({ type: "await_power_on", bmc: bmc(A) });
    const waiting = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" });
    service.onHeartbeat = (id) =>
      id === waiting.command_id ? { status: 409, body: { error: { code: "LEASE_LOST", message: "moved" } } } : undefined;
    service.enqueue(running, waiting);

    await clock.sleeping(BEAT, 2);
    clock.advance(BEAT);
    await eventually(() => logged("command dropped before it started"));
    expect(logged("command dropped before it started")).toMatchObject({ command_id: waiting.command_id });
    wait.open();
    await eventually(() => service.resultFor(running.command_id));
    await eventually(() => agent!.held() === 0);
    expect(driver.calls.map((c) => c.method)).toEqual(["waitForPowerOn"]);
    expect(service.resultFor(waiting.command_id)).toBeUndefined();
  });

  it("reports a failing BMC call once, with its code and retryable, for the workflow to retry", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.configureIscsiBoot = async () => {
      throw new SanbootError("BMC_UNREACHABLE", "connection refused", { retryable: true });
    };
    await setup({}, driver);
    const cmd = leased({ type: "configure_san_boot", bmc: bmc(A), iscsi: iscsiSpec() });
    service.enqueue(cmd);

    const result = await eventually(() => service.resultFor(cmd.command_id));
    expect(driver.calls.map((c) => c.method)).toEqual(["configureIscsiBoot"]);
    expect(result.body.outcome).toEqual({
      ok: false,
      error: { code: "BMC_UNREACHABLE", message: "connection refused", retryable: true },
    });
  });

  it("reports BMC_CREDENTIALS_MISSING, not retryable, for an unknown credentials_ref", async () => {
    const { driver } = await setup();
    const cmd = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A, "1", "nope"), boot_mode: "uefi" });
    service.enqueue(cmd);

    const result = await eventually(() => service.resultFor(cmd.command_id));
    expect(result.body.outcome).toMatchObject({ ok: false, error: { code: "BMC_CREDENTIALS_MISSING", retryable: false } });
    expect(driver.calls).toEqual([]);
  });

  it("reports a leased command it cannot parse as VALIDATION_FAILED", async () => {
    await setup();
    const bad = { ...leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" }), body: { type: "reflash_bios", bmc: bmc(A) } };
    service.enqueue(bad as never);

    const result = await eventually(() => service.resultFor(bad.command_id));
    expect(result.body).toMatchObject({
      lease_token: bad.lease_token,
      outcome: { ok: false, error: { code: "VALIDATION_FAILED", retryable: false } },
    });
  });

  it("stop() stops leasing and waits for in-flight commands to be reported", async () => {
    const driver = new FakeBmcDriver();
    const wait = held();
    driver.impl.waitForPowerOn = async () => {
      await wait.passed;
      return "On";
    };
    await setup({}, driver);
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd);
    await eventually(() => driver.calls.length === 1);
    await eventually(() => service.holding === 1); // the next long-poll is open
    const leaseCount = service.leases.length;

    let stopped = false;
    const stopping = agent!.stop().then(() => (stopped = true));
    await eventually(() => logged("relay stopping"));
    expect(stopped).toBe(false); // the command is still running
    wait.open();
    await stopping;
    expect(service.resultFor(cmd.command_id)).toBeDefined();
    expect(service.leases.length).toBe(leaseCount);
    expect(logs().at(-1)).toMatchObject({ msg: "relay stopped" });
  });

  it("stop() hands back, unstarted, a command that the in-flight long-poll brings", async () => {
    const driver = new FakeBmcDriver();
    await setup({ waitSeconds: 5 }, driver);
    service.maxHoldMs = 5_000;
    await eventually(() => service.holding === 1); // a long-poll held open
    const stopped = agent!.stop();
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd); // the service leases it to us as we stop
    await stopped;
    expect(driver.calls).toEqual([]);
    expect(service.releases.map((r) => r.path)).toEqual([`/v1/relay/commands/${cmd.command_id}/release`]);
    expect(service.releases[0]!.body).toEqual({ lease_token: cmd.lease_token });
    expect(service.resultFor(cmd.command_id)).toBeUndefined();
  });

  it("stop() gives up on commands that outlast its bound, aborting their BMC work", async () => {
    const driver = new FakeBmcDriver();
    let signal: AbortSignal | undefined;
    driver.impl.waitForPowerOn = (ep) =>
      new Promise((_resolve, reject) => {
        signal = ep.budget?.signal;
        signal?.addEventListener("abort", () => reject(new SanbootError("LEASE_LOST", "abandoned")));
      });
    await setup({ stopTimeoutSeconds: 30 }, driver);
    service.enqueue(leased({ type: "await_power_on", bmc: bmc(A) }));
    await eventually(() => driver.calls.length === 1);

    const stopped = agent!.stop();
    await clock.sleeping(30_000);
    clock.advance(29_999);
    expect(signal?.aborted).toBe(false);
    clock.advance(1);
    await stopped;
    agent = undefined;
    expect(logged("stop timeout")).toMatchObject({ level: "warn", held: 1 });
    expect(signal?.aborted).toBe(true);
  });

  it("never writes the site token, the BMC password or the CHAP secret to the log", async () => {
    const driver = new FakeBmcDriver();
    await setup({}, driver);
    service.onHeartbeat = () => ({ status: 500, body: { error: { code: "INTERNAL", message: `bad token ${SITE_TOKEN}` } } });
    const ok = leased({ type: "configure_san_boot", bmc: bmc(A), iscsi: iscsiSpec() });
    const failing = leased({ type: "configure_san_boot", bmc: bmc(B), iscsi: iscsiSpec() });
    const configuring = held();
    driver.impl.configureIscsiBoot = async (ep, spec) => {
      if (ep.address === A) {
        await configuring.passed;
        return { changed: false, function_uri: "/x" };
      }
      // A careless driver error that quotes everything it knows.
      const secret = spec.auth.method === "CHAP" ? spec.auth.secret : "";
      throw new SanbootError("BMC_REJECTED", `rejected ${secret} for ${ep.username}:${ep.password}`);
    };
    service.enqueue(ok, failing);

    await eventually(() => service.resultFor(failing.command_id));
    await clock.sleeping(BEAT);
    clock.advance(BEAT);
    await eventually(() => logged("heartbeat failed"));
    configuring.open();
    await eventually(() => service.results.length === 2);
    await stopDriven(agent!);
    agent = undefined;
    const all = lines.join("\n");
    expect(lines.length).toBeGreaterThan(5);
    expect(all).not.toContain(SITE_TOKEN);
    expect(all).not.toContain(CHAP_SECRET);
    expect(all).not.toContain(BMC_PASSWORD);
    expect(all).toContain("[redacted]");
    // The secrets do not travel to the service either.
    const outcome = service.resultFor(failing.command_id)!.body.outcome;
    expect(outcome.error.message).toBe("rejected [redacted] for admin:[redacted]");
    // Every line is one JSON object with the command's fields.
    const line = logs().find((l) => l.msg === "command finished" && l.command_id === ok.command_id);
    expect(line).toMatchObject({ level: "info", site: "dc1", type: "configure_san_boot", bmc: A });
    expect(typeof line!.time).toBe("string");
  });

  it("backs off exponentially, capped, while the service is unreachable, without crashing", async () => {
    // A port with nothing listening.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    service = await new FakeRelayService().start();
    lines = [];
    // random() = 0.5: each delay is three quarters of its window, 1 s doubling to the 8 s cap
    clock = new ManualClock();
    agent = startRelayAgent({
      serviceUrl: `http://127.0.0.1:${port}`,
      site: "dc1",
      token: SITE_TOKEN,
      credentials: {},
      driver: new FakeBmcDriver(),
      serviceBackoff: { baseMs: 1_000, maxMs: 8_000 },
      clock,
      log: (l) => lines.push(l),
    });

    const expected = [750, 1_500, 3_000, 6_000, 6_000, 6_000];
    for (const [i, delay] of expected.entries()) {
      await clock.sleeping(delay);
      expect(logs().filter((l) => l.msg === "lease failed; backing off").length).toBe(i + 1);
      clock.advance(delay - 1);
      expect(clock.pending()).toEqual([delay]); // not a moment sooner
      clock.advance(1);
    }
    await eventually(() => logs().filter((l) => l.msg === "lease failed; backing off").length === expected.length + 1);
    const fails = logs().filter((l) => l.msg === "lease failed; backing off");
    expect(fails[0]).toMatchObject({ level: "warn", code: "SERVICE_UNREACHABLE", failures: 1 });
    expect(fails.slice(0, expected.length).map((l) => l.retry_in_ms)).toEqual(expected);
    await agent.stop(); // a backoff sleep ends at once
    agent = undefined;
  });

  it("writes nothing when the service will not take the evidence (the lease moved on)", async () => {
    const { driver } = await setup();
    const cmd = leased({ type: "configure_san_boot", bmc: bmc(A), iscsi: iscsiSpec() });
    let written = false;
    driver.impl.configureIscsiBoot = async (_ep, _spec, guard) => {
      await guard.record({ claims: [] });
      written = true;
      return { changed: true, function_uri: "/f" };
    };
    service.onHeartbeat = (_id, req) => (req.body.checkpoint ? { status: 409, body: { error: { code: "LEASE_LOST", message: "gone" } } } : undefined);
    service.enqueue(cmd);
    await eventually(() => logged("command finished"));
    await eventually(() => agent!.held() === 0);
    expect(service.heartbeats.filter((h) => h.body.checkpoint)).toHaveLength(1);
    expect(written).toBe(false);
    expect(logged("command finished")).toMatchObject({ ok: false, code: "LEASE_LOST" });
    // the lease is another relay's: nothing is reported
    expect(service.resultFor(cmd.command_id)).toBeUndefined();
  });

  it("aborts the running command when its lease is lost", async () => {
    const driver = new FakeBmcDriver();
    let signal: AbortSignal | undefined;
    driver.impl.waitForPowerOn = (ep) =>
      new Promise((_resolve, reject) => {
        signal = ep.budget?.signal;
        signal?.addEventListener("abort", () => reject(new SanbootError("LEASE_LOST", "abandoned")));
      });
    await setup({}, driver);
    service.onHeartbeat = () => ({ status: 409, body: { error: { code: "LEASE_LOST", message: "another relay holds it" } } });
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd);
    await eventually(() => signal);
    expect(signal!.aborted).toBe(false);
    await clock.sleeping(BEAT);
    clock.advance(BEAT);
    await eventually(() => signal!.aborted);
    await eventually(() => agent!.held() === 0);
    expect(service.resultFor(cmd.command_id)).toBeUndefined();
  });

  it("recovers when the service answers 503 for a while", async () => {
    const { driver } = await setup();
    let refusals = 3;
    service.onLease = () => (refusals-- > 0 ? { status: 503, body: { error: { code: "STORE_UNAVAILABLE", message: "try later" } } } : undefined);
    const cmd = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" });
    service.enqueue(cmd);

    // serviceBackoff 5 ms doubling, at three quarters of each window
    await throughSleeps(4, 8, 15);
    await eventually(() => service.resultFor(cmd.command_id));
    expect(driver.calls.map((c) => c.method)).toEqual(["checkSanBootCapability", "getPowerState", "setSanBootOverride", "powerOn"]);
    expect(logs().filter((l) => l.code === "STORE_UNAVAILABLE").length).toBe(3);
    expect(logged("service reachable again")).toMatchObject({ failures: 3 });
  });

  it("retries reporting a result the service failed to take, after a backoff each time", async () => {
    await setup();
    let failures = 2;
    service.onResult = () => (failures-- > 0 ? { status: 502 } : undefined);
    const cmd = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" });
    service.enqueue(cmd);

    await eventually(() => service.results.length === 1);
    await throughSleeps(4);
    await eventually(() => service.results.length === 2);
    await throughSleeps(8);
    await eventually(() => logged("result reported"));
    expect(service.results.length).toBe(3);
  });

  it("gives up reporting on an answer that will not change (4xx)", async () => {
    await setup();
    service.onResult = () => ({ status: 400, body: { error: { code: "VALIDATION_FAILED", message: "outcome: invalid" } } });
    const cmd = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" });
    service.enqueue(cmd);

    await eventually(() => logged("result could not be reported"));
    expect(logged("result could not be reported")).toMatchObject({ level: "error", code: "VALIDATION_FAILED", attempts: 1 });
    expect(service.results.length).toBe(1);
  });
});
