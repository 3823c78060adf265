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
  iscsiSpec,
  leased,
} from "./doubles";

const A = "https://10.0.0.5";
const B = "https://10.0.0.6";

let service: FakeRelayService;
let agent: RelayAgent | undefined;
let lines: string[];

async function setup(overrides: Partial<RelayAgentOptions> = {}, driver = new FakeBmcDriver()) {
  service = await new FakeRelayService().start();
  lines = [];
  agent = startRelayAgent({
    serviceUrl: service.url,
    site: "dc1",
    token: SITE_TOKEN,
    relayId: "relay-test",
    credentials: new Map([["lab", { username: "admin", password: BMC_PASSWORD }]]),
    driver,
    waitSeconds: 1,
    heartbeatSeconds: 5,
    idlePollMs: 10,
    serviceBackoff: { baseMs: 5, maxMs: 40 },
    log: (l) => lines.push(l),
    ...overrides,
  });
  return { driver };
}

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await service?.close();
});

const logs = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

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
    expect(service.leases[0]!.body).toMatchObject({ relay_id: "relay-test", max_commands: 8, wait_seconds: 1 });
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
    driver.delayMs = 80;
    await setup({}, driver);
    const a1 = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" });
    const a2 = leased({ type: "clear_san_boot", bmc: bmc(`${A}:443/`), evidence: { claims: [], power: { before: "Off", reset_at: "2026-12-01T00:00:00Z" } } }); // same BMC, other spelling
    const b1 = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(B), boot_mode: "uefi" });
    service.enqueue(a1, a2, b1);

    await eventually(() => service.results.length === 3);
    expect(driver.maxActive).toBe(2);
    const onA = driver.calls.filter((c) => c.address.startsWith(A));
    // a2 starts only after every call of a1 ended.
    const a1End = Math.max(...onA.slice(0, 4).map((c) => c.end!));
    expect(onA.slice(4).every((c) => c.start >= a1End)).toBe(true);
    expect(onA.map((c) => c.method)).toEqual(["checkSanBootCapability", "getPowerState", "setSanBootOverride", "powerOn", "getPowerState", "powerOff"]);
    // B ran while A was busy.
    const b = driver.calls.find((c) => c.address === B)!;
    expect(b.start).toBeLessThan(a1End);
  });

  it("leases no more than concurrency minus the commands it holds", async () => {
    const driver = new FakeBmcDriver();
    driver.delayMs = 150;
    await setup({ concurrency: 2 }, driver);
    service.enqueue(leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" }));
    await eventually(() => driver.calls.length > 0);
    await eventually(() => service.leases.length >= 2);
    expect(service.leases[service.leases.length - 1]!.body.max_commands).toBe(1);
  });

  it("heartbeats a held command while it runs", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.waitForPowerOn = () => new Promise((r) => setTimeout(() => r("On"), 400));
    await setup({ heartbeatSeconds: 0.05 }, driver);
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd);

    await eventually(() => service.resultFor(cmd.command_id));
    expect(service.heartbeats.length).toBeGreaterThanOrEqual(3);
    expect(service.heartbeats.every((h) => h.path === `/v1/relay/commands/${cmd.command_id}/heartbeat`)).toBe(true);
    expect(service.heartbeats[0]!.body).toEqual({ lease_token: cmd.lease_token });
    expect(service.heartbeats[0]!.auth).toBe(`Bearer ${SITE_TOKEN}`);
    const count = service.heartbeats.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(service.heartbeats.length).toBe(count); // none after the report
  });

  it("stops heartbeating and never reports a command whose lease was lost", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.waitForPowerOn = () => new Promise((r) => setTimeout(() => r("On"), 300));
    await setup({ heartbeatSeconds: 0.05 }, driver);
    service.onHeartbeat = () => ({ status: 409, body: { error: { code: "LEASE_LOST", message: "lease moved to relay-b" } } });
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd);

    await eventually(() => logs().some((l) => l.msg === "command finished"));
    await new Promise((r) => setTimeout(r, 100));
    expect(service.results).toEqual([]);
    expect(service.heartbeats.length).toBe(1);
    expect(logs().find((l) => String(l.msg).startsWith("lease lost"))).toMatchObject({ command_id: cmd.command_id, level: "warn" });
    expect(agent!.held()).toBe(0);
  });

  it("drops a command waiting for a busy BMC when its lease is lost", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.waitForPowerOn = () => new Promise((r) => setTimeout(() => r("On"), 300));
    await setup({ heartbeatSeconds: 0.05 }, driver);
    const running = leased({ type: "await_power_on", bmc: bmc(A) });
    const waiting = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" });
    service.onHeartbeat = (id) =>
      id === waiting.command_id ? { status: 409, body: { error: { code: "LEASE_LOST", message: "moved" } } } : undefined;
    service.enqueue(running, waiting);

    await eventually(() => service.resultFor(running.command_id));
    await new Promise((r) => setTimeout(r, 50));
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
    driver.impl.waitForPowerOn = () => new Promise((r) => setTimeout(() => r("On"), 300));
    await setup({}, driver);
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd);
    await eventually(() => driver.calls.length === 1);

    await agent!.stop();
    expect(service.resultFor(cmd.command_id)).toBeDefined();
    const leaseCount = service.leases.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(service.leases.length).toBe(leaseCount);
    expect(logs().at(-1)).toMatchObject({ msg: "relay stopped" });
  });

  it("stop() hands back, unstarted, a command that the in-flight long-poll brings", async () => {
    const driver = new FakeBmcDriver();
    await setup({ waitSeconds: 5 }, driver);
    service.maxHoldMs = 5_000;
    const before = service.leases.length;
    await eventually(() => service.leases.length > before); // a long-poll held open for seconds
    const stopped = agent!.stop();
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd); // the service leases it to us as we stop
    await stopped;
    expect(driver.calls).toEqual([]);
    expect(service.releases.map((r) => r.path)).toEqual([`/v1/relay/commands/${cmd.command_id}/release`]);
    expect(service.releases[0]!.body).toEqual({ lease_token: cmd.lease_token });
    expect(service.resultFor(cmd.command_id)).toBeUndefined();
  });

  it("stop() gives up on commands that outlast its bound", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.waitForPowerOn = () => new Promise((r) => setTimeout(() => r("On"), 2_000));
    await setup({ stopTimeoutSeconds: 0.1 }, driver);
    service.enqueue(leased({ type: "await_power_on", bmc: bmc(A) }));
    await eventually(() => driver.calls.length === 1);

    const t0 = Date.now();
    await agent!.stop();
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(logs().some((l) => String(l.msg).startsWith("stop timeout"))).toBe(true);
  });

  it("never writes the site token, the BMC password or the CHAP secret to the log", async () => {
    const driver = new FakeBmcDriver();
    await setup({ heartbeatSeconds: 0.05 }, driver);
    service.onHeartbeat = () => ({ status: 500, body: { error: { code: "INTERNAL", message: `bad token ${SITE_TOKEN}` } } });
    const ok = leased({ type: "configure_san_boot", bmc: bmc(A), iscsi: iscsiSpec() });
    const failing = leased({ type: "configure_san_boot", bmc: bmc(B), iscsi: iscsiSpec() });
    driver.impl.configureIscsiBoot = async (ep, spec) => {
      if (ep.address === A) {
        await new Promise((r) => setTimeout(r, 150));
        return { changed: false, function_uri: "/x" };
      }
      // A careless driver error that quotes everything it knows.
      const secret = spec.auth.method === "CHAP" ? spec.auth.secret : "";
      throw new SanbootError("BMC_REJECTED", `rejected ${secret} for ${ep.username}:${ep.password}`);
    };
    service.enqueue(ok, failing);

    await eventually(() => service.results.length === 2);
    await agent!.stop();
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

  it("backs off with bounded jitter while the service is unreachable, without crashing", async () => {
    // A port with nothing listening.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    service = await new FakeRelayService().start();
    lines = [];
    agent = startRelayAgent({
      serviceUrl: `http://127.0.0.1:${port}`,
      site: "dc1",
      token: SITE_TOKEN,
      credentials: {},
      driver: new FakeBmcDriver(),
      serviceBackoff: { baseMs: 5, maxMs: 40 },
      log: (l) => lines.push(l),
    });

    await eventually(() => logs().filter((l) => l.msg === "lease failed; backing off").length >= 6);
    const fails = logs().filter((l) => l.msg === "lease failed; backing off");
    expect(fails[0]).toMatchObject({ level: "warn", code: "SERVICE_UNREACHABLE" });
    const delays = fails.map((l) => l.retry_in_ms as number);
    expect(Math.max(...delays)).toBeLessThanOrEqual(40);
    expect(delays[5]!).toBeGreaterThanOrEqual(20); // grew from 5 ms towards the cap
    await agent.stop();
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
    await eventually(() => service.heartbeats.some((h) => h.body.checkpoint));
    await new Promise((r) => setTimeout(r, 100));
    expect(written).toBe(false);
    // the lease is another relay's: nothing is reported
    expect(service.resultFor(cmd.command_id)).toBeUndefined();
  });

  it("aborts the running command when its lease is lost", async () => {
    const driver = new FakeBmcDriver();
    let signal: AbortSignal | undefined;
    driver.impl.waitForPowerOn = (ep) =>
      new Promise((resolve, reject) => {
        signal = ep.budget?.signal;
        signal?.addEventListener("abort", () => reject(new SanbootError("LEASE_LOST", "abandoned")));
        setTimeout(() => resolve("On"), 5_000);
      });
    await setup({ heartbeatSeconds: 0.05 }, driver);
    service.onHeartbeat = () => ({ status: 409, body: { error: { code: "LEASE_LOST", message: "another relay holds it" } } });
    const cmd = leased({ type: "await_power_on", bmc: bmc(A) });
    service.enqueue(cmd);
    await eventually(() => signal?.aborted, 3_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(service.resultFor(cmd.command_id)).toBeUndefined();
    expect(agent!.held()).toBe(0);
  });

  it("recovers when the service answers 503 for a while", async () => {
    const { driver } = await setup();
    let refusals = 3;
    service.onLease = () => (refusals-- > 0 ? { status: 503, body: { error: { code: "STORE_UNAVAILABLE", message: "try later" } } } : undefined);
    const cmd = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" });
    service.enqueue(cmd);

    await eventually(() => service.resultFor(cmd.command_id));
    expect(driver.calls.map((c) => c.method)).toEqual(["checkSanBootCapability", "getPowerState", "setSanBootOverride", "powerOn"]);
    expect(logs().filter((l) => l.code === "STORE_UNAVAILABLE").length).toBe(3);
    expect(logs().some((l) => l.msg === "service reachable again")).toBe(true);
  });

  it("retries reporting a result the service failed to take", async () => {
    await setup();
    let failures = 2;
    service.onResult = () => (failures-- > 0 ? { status: 502 } : undefined);
    const cmd = leased({ type: "power_on", boot_override: "once", san_targets: [], bmc: bmc(A), boot_mode: "uefi" });
    service.enqueue(cmd);

    await eventually(() => logs().some((l) => l.msg === "result reported"));
    expect(service.results.length).toBe(3);
  });
});
