/**
 * The relay's command executor: one try per command (the workflow owns retries), the command's
 * deadline as every wait's budget, evidence stored before each write, and undo by that evidence
 * only: against an in-memory driver for the sequences, and against each emulated BMC end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type Flavour, type RedfishEmulator, type SystemSnapshot } from "../../lab/redfish-emulator";
import type { BmcEvidence, Claim } from "../../lib/bmc/claims";
import type { BmcDriver, BmcEndpoint, ClearResult, PendingSettings, PowerState } from "../../lib/bmc/driver";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import { SanbootError } from "../../lib/errors";
import type { CommandBody } from "../../lib/relay/protocol";
import type { BmcCredential } from "../../relay/config";
import { CommandExecutor, resolveEndpoint, type RunContext } from "../../relay/executor";
import { backoffDelay, systemClock, type Clock } from "../../relay/timing";
import { FakeBmcDriver, bmc, iscsiSpec } from "./doubles";

const A = "https://10.0.0.5";

function fixedClock(t = 1_000_000): Clock {
  return { now: () => t, random: () => 0.5, sleep: async () => {} };
}

function executor(driver: FakeBmcDriver, creds: Record<string, BmcCredential> = { lab: { username: "u", password: "p" } }) {
  return new CommandExecutor({ driver, credentials: new Map(Object.entries(creds)), clock: fixedClock() });
}

/** A context whose evidence store records every checkpoint, in order with the driver calls. */
function recording(driver: FakeBmcDriver, extra: Partial<RunContext> = {}): RunContext & { stored: BmcEvidence[] } {
  const stored: BmcEvidence[] = [];
  return {
    stored,
    record: async (e) => {
      stored.push(e);
      driver.calls.push({ method: "record" as keyof BmcDriver, address: "", system_id: "", args: [], endpoint: {} as BmcEndpoint, start: Date.now() });
    },
    ...extra,
  };
}

const unreachable = () => new SanbootError("BMC_UNREACHABLE", "reset", { retryable: true });
const powerOn = (extra: Partial<Extract<CommandBody, { type: "power_on" }>> = {}): CommandBody => ({ type: "power_on", boot_override: "once", bmc: bmc(A), boot_mode: "uefi", san_targets: ["iqn.t"], ...extra });

describe("command executor", () => {
  it("tries once: a retryable fault is reported as such for the workflow to retry", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.configureIscsiBoot = async () => {
      throw unreachable();
    };
    const out = await executor(driver).execute({ type: "configure_san_boot", bmc: bmc(A), iscsi: iscsiSpec() });
    expect(out).toEqual({ ok: false, error: { code: "BMC_UNREACHABLE", message: "reset", retryable: true } });
    expect(driver.calls.map((c) => c.method)).toEqual(["configureIscsiBoot"]);
  });

  it("reports what configure wrote, with the evidence stored before it", async () => {
    const driver = new FakeBmcDriver();
    const ctx = recording(driver);
    const out = await executor(driver).execute({ type: "configure_san_boot", bmc: bmc(A), iscsi: iscsiSpec() }, ctx);
    expect(out).toMatchObject({ ok: true, result: { changed: true, changes: [{ kind: "function", action: "written" }], evidence: { claims: [{ kind: "nic_iscsi" }] } } });
    expect(ctx.stored.at(-1)!.claims[0]!.kind).toBe("nic_iscsi");
  });

  it("reports anything that is not a SanbootError as INTERNAL, retryable, without its message", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.getPowerState = async () => {
      throw new TypeError("cannot read properties of undefined (reading 'password=hunter2')");
    };
    const evidence: BmcEvidence = { claims: [], power: { before: "Off", reset_at: "2026-12-01T00:00:00Z" } };
    const out = await executor(driver).execute({ type: "clear_san_boot", bmc: bmc(A), evidence });
    expect(out).toEqual({ ok: false, error: { code: "INTERNAL", message: "internal error", retryable: true } });
  });

  it("answers BMC_CREDENTIALS_MISSING without calling the BMC", async () => {
    const driver = new FakeBmcDriver();
    const out = await executor(driver, {}).execute({ type: "clear_san_boot", bmc: bmc(A, "1", "rack-7"), evidence: { claims: [] } });
    expect(out).toEqual({
      ok: false,
      error: { code: "BMC_CREDENTIALS_MISSING", message: 'relay has no credentials for credentials_ref "rack-7"', retryable: false },
    });
    expect(driver.calls).toEqual([]);
  });

  it("keeps TLS verification on unless the node or the site turns it off", () => {
    const store = new Map<string, BmcCredential>([
      ["strict", { username: "u", password: "p", ca: "-----BEGIN CERTIFICATE-----" }],
      ["lax", { username: "u", password: "p", insecure: true }],
    ]);
    expect(resolveEndpoint(bmc(A, "1", "strict"), store).tls).toEqual({ ca: "-----BEGIN CERTIFICATE-----" });
    expect(resolveEndpoint(bmc(A, "1", "lax"), store).tls).toEqual({ insecure: true });
    expect(resolveEndpoint({ ...bmc(A, "1", "strict"), tls: { verify: false } }, store).tls).toMatchObject({ insecure: true });
  });

  it("gives every driver call the command's deadline (less a margin to report) and the lease's signal", async () => {
    const driver = new FakeBmcDriver();
    const lease = new AbortController();
    const deadline = new Date(1_000_000 + 600_000).toISOString();
    await executor(driver).execute({ type: "await_power_on", bmc: bmc(A), deadline_at: deadline }, { signal: lease.signal });
    const ep = driver.calls[0]!.endpoint;
    expect(ep.budget!.deadline).toBe(1_000_000 + 600_000 - 10_000);
    expect(ep.budget!.signal).toBe(lease.signal);
  });
});

describe("power_on", () => {
  it("records the power state with the override claim (one checkpoint), then resets, then records the reset", async () => {
    const driver = new FakeBmcDriver();
    const ctx = recording(driver);
    const out = await executor(driver).execute(powerOn(), ctx);
    expect(out).toMatchObject({ ok: true, result: { changed: true, changes: [{ kind: "override" }, { kind: "power", action: "powered on" }] } });
    // the fake lists setSanBootOverride as it is entered; its record comes before its write
    expect(driver.calls.map((c) => c.method)).toEqual(["checkSanBootCapability", "getPowerState", "setSanBootOverride", "record", "powerOn", "record"]);
    expect(ctx.stored).toHaveLength(2);
    expect(ctx.stored[0]!.power).toEqual({ before: "Off", marks: {} });
    expect(ctx.stored[0]!.claims.map((c) => c.kind)).toEqual(["boot_override"]);
    expect(ctx.stored.at(-1)!.power!.reset_at).toBeDefined();
  });

  it("an override already in place writes nothing: the power state is stored on its own before the reset", async () => {
    const driver = new FakeBmcDriver();
    driver.setSanBootOverride = (ep, want) => {
      driver.calls.push({ method: "setSanBootOverride", address: ep.address, system_id: ep.system_id, args: [want], endpoint: ep, start: Date.now() });
      return Promise.resolve({ changed: false });
    };
    const ctx = recording(driver);
    const out = await executor(driver).execute(powerOn(), ctx);
    expect(out).toMatchObject({ ok: true, result: { changed: true, changes: [{ kind: "power" }] } });
    expect(driver.calls.map((c) => c.method)).toEqual(["checkSanBootCapability", "getPowerState", "setSanBootOverride", "record", "powerOn", "record"]);
    expect(ctx.stored[0]).toEqual({ claims: [], power: { before: "Off", marks: {} } });
  });

  it("run again after a reset it recorded (a lost result), does not reset the server twice", async () => {
    const driver = new FakeBmcDriver();
    const checkpoint: BmcEvidence = { claims: [], power: { before: "Off", reset_at: "2026-12-01T10:00:00.000Z" } };
    const out = await executor(driver).execute(powerOn(), { checkpoint });
    expect(out).toMatchObject({ ok: true, result: { changed: false, reset_at: checkpoint.power!.reset_at } });
    expect(driver.calls).toEqual([]);
  });

  it("writes nothing when the service cannot store the evidence", async () => {
    const driver = new FakeBmcDriver();
    const out = await executor(driver).execute(powerOn(), {
      record: async () => {
        throw new SanbootError("RELAY_TIMEOUT", "the service did not store the command's evidence", { retryable: true });
      },
    });
    expect(out).toMatchObject({ ok: false, error: { code: "RELAY_TIMEOUT", retryable: true } });
    // the override's record (carrying the power state) failed: neither its write nor the reset followed
    expect(driver.calls.map((c) => c.method)).toEqual(["checkSanBootCapability", "getPowerState", "setSanBootOverride"]);
  });
});

describe("boot_sequence", () => {
  const sequence = (): CommandBody => ({
    type: "boot_sequence",
    bmc: bmc(A),
    steps: [
      { step: "configure_firmware", body: { type: "configure_san_boot", bmc: bmc(A), iscsi: iscsiSpec() } },
      { step: "power_on", body: { type: "power_on", bmc: bmc(A), boot_mode: "uefi", boot_override: "once", san_targets: ["iqn.t"] } },
      { step: "await_boot", body: { type: "await_power_on", bmc: bmc(A) } },
    ],
  });

  it("runs configure, power on and the wait in order against one evidence, reporting each step as it ends", async () => {
    const driver = new FakeBmcDriver();
    const done: string[] = [];
    const ctx = recording(driver, { onStepDone: (d) => done.push(`${d.step}@${driver.calls.length}`) });
    const out = await executor(driver).execute(sequence(), ctx);
    expect(out.ok).toBe(true);
    const methods = driver.calls.map((c) => c.method);
    expect(methods).toEqual(["configureIscsiBoot", "record", "checkSanBootCapability", "getPowerState", "setSanBootOverride", "record", "powerOn", "record", "waitForPowerOn"]);
    // power_on is done once the reset went out, before its record: the reset's heartbeat says so
    expect(done).toEqual(["configure_firmware@2", "power_on@7", "await_boot@9"]);
    // three checkpoints, each adding to the one before: the override's claim beside the NIC's
    expect(ctx.stored).toHaveLength(3);
    expect(ctx.stored[1]!.claims.map((c) => c.kind).sort()).toEqual(["boot_override", "nic_iscsi"]);
    expect(ctx.stored[2]!.power?.reset_at).toBeDefined();
    if (!out.ok) return;
    expect((out.result.steps as Array<{ step: string }>).map((s) => s.step)).toEqual(["configure_firmware", "power_on", "await_boot"]);
  });

  it("a step that fails ends the sequence with its error; the steps before it were reported, none after it ran", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.powerOn = async () => {
      throw unreachable();
    };
    const done: string[] = [];
    const out = await executor(driver).execute(sequence(), recording(driver, { onStepDone: (d) => done.push(d.step) }));
    expect(out).toEqual({ ok: false, error: { code: "BMC_UNREACHABLE", message: "reset", retryable: true } });
    expect(done).toEqual(["configure_firmware"]);
    expect(driver.calls.map((c) => c.method)).not.toContain("waitForPowerOn");
  });

  it("refuses a step that names another BMC than the sequence, before touching either", async () => {
    const driver = new FakeBmcDriver();
    const body = sequence();
    if (body.type !== "boot_sequence") throw new Error("unreachable");
    body.steps[0]!.body = { ...body.steps[0]!.body, bmc: bmc("https://10.0.0.99") };
    const out = await executor(driver).execute(body);
    expect(out).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    expect(driver.calls).toEqual([]);
  });
});

/** The fake driver plus the settings and power-settle ports, recorded in the same call list. */
class SettlingDriver extends FakeBmcDriver {
  awaitImpl: (p: PendingSettings) => Promise<void> = async () => {};
  awaitSettingsApplied(ep: BmcEndpoint, p: PendingSettings): Promise<void> {
    this.calls.push({ method: "awaitSettingsApplied" as keyof BmcDriver, address: ep.address, system_id: ep.system_id, args: [p.settings_uri], endpoint: ep, start: Date.now() });
    return this.awaitImpl(p);
  }
  async waitForPowerOff(ep: BmcEndpoint): Promise<PowerState> {
    this.calls.push({ method: "waitForPowerOff" as keyof BmcDriver, address: ep.address, system_id: ep.system_id, args: [], endpoint: ep, start: Date.now() });
    return "Off";
  }
}

const staged = (apply_time = "OnReset"): PendingSettings => ({ resource_uri: "/f", settings_uri: "/f/Settings", apply_time });
const nicClaim: Claim = { kind: "nic_iscsi", uri: "/f", wrote: { "iSCSIBoot.PrimaryTargetName": "iqn.t" }, before: { "iSCSIBoot.PrimaryTargetName": null }, secrets: [], identity: ["iSCSIBoot.PrimaryTargetName"] };
const overrideClaim: Claim = { kind: "boot_override", uri: "/s", wrote: { "Boot.BootSourceOverrideTarget": "RemoteDrive" }, before: { "Boot.BootSourceOverrideTarget": "Pxe" }, secrets: [], identity: ["Boot.BootSourceOverrideTarget"] };
const deployed: BmcEvidence = { claims: [nicClaim, overrideClaim], power: { before: "Off", reset_at: "2026-12-01T10:00:00.000Z" } };

/** undoSanBoot answers `first`, then (the check after applying) `then`. */
function undoes(driver: FakeBmcDriver, first: ClearResult, then: ClearResult = { changed: false, changes: [] }) {
  let n = 0;
  driver.impl.undoSanBoot = async () => (n++ === 0 ? first : then);
}

describe("clear_san_boot", () => {
  const clear = (evidence: BmcEvidence): CommandBody => ({ type: "clear_san_boot", bmc: bmc(A), evidence });
  const restored = { changed: true, changes: [{ kind: "function" as const, uri: "/f", action: "restored" }] };

  it("without evidence touches nothing: no power, no PATCH", async () => {
    const driver = new SettlingDriver();
    driver.power = "On";
    expect(await executor(driver).execute(clear({ claims: [] }))).toEqual({ ok: true, result: { changed: false, changes: [] } });
    expect(driver.calls).toEqual([]);
  });

  it("after configure only (a rollback before power_on), puts the function back and leaves power as it was", async () => {
    const driver = new SettlingDriver();
    driver.power = "On";
    undoes(driver, restored);
    const out = await executor(driver).execute(clear({ claims: [nicClaim] }));
    expect(out).toMatchObject({ ok: true, result: { changed: true, changes: [{ kind: "function" }] } });
    expect(driver.calls.map((c) => c.method)).toEqual(["undoSanBoot"]);
    expect(driver.power).toBe("On");
  });

  it("after a deploy: powers off what it powered on, puts the function and the override back", async () => {
    const driver = new SettlingDriver();
    driver.power = "On";
    undoes(driver, restored);
    const out = await executor(driver).execute(clear(deployed));
    expect(out).toMatchObject({ ok: true, result: { changed: true } });
    expect(driver.calls.map((c) => c.method)).toEqual(["getPowerState", "powerOff", "waitForPowerOff", "undoSanBoot", "restoreBootOverride"]);
    expect((out as unknown as { result: { changes: unknown[] } }).result.changes).toEqual([
      { kind: "power", uri: "1", action: "On -> Off" },
      { kind: "function", uri: "/f", action: "restored" },
      { kind: "override", uri: "/s", action: "restored" },
    ]);
  });

  it("applies an undo staged for the next reset with its override off, checks nothing of ours is left, then puts the override back", async () => {
    const driver = new SettlingDriver();
    undoes(driver, { ...restored, pending: [staged()] });
    const out = await executor(driver).execute(clear(deployed));
    expect(out).toMatchObject({ ok: true, result: { changed: true } });
    expect(driver.calls.map((c) => c.method)).toEqual([
      "getPowerState", "waitForPowerOff", "undoSanBoot", "disableBootOverride",
      "getPowerState", "powerOn", "awaitSettingsApplied", "powerOff", "waitForPowerOff",
      "undoSanBoot", "restoreBootOverride",
    ]);
  });

  it("waits for an Immediate undo without a reset", async () => {
    const driver = new SettlingDriver();
    undoes(driver, { ...restored, pending: [staged("Immediate")] });
    expect(await executor(driver).execute(clear(deployed))).toMatchObject({ ok: true });
    expect(driver.calls.map((c) => c.method)).not.toContain("powerOn");
    expect(driver.calls.map((c) => c.method)).toContain("awaitSettingsApplied");
  });

  it("powers the system off again and reports BMC_SETTINGS_FAILED when the staged undo failed to apply", async () => {
    const driver = new SettlingDriver();
    undoes(driver, { ...restored, pending: [staged()] });
    driver.awaitImpl = async () => {
      throw new SanbootError("BMC_SETTINGS_FAILED", "BMC reported settings /f/Settings failed: Base.1.8.SettingsFailed");
    };
    const out = await executor(driver).execute(clear(deployed));
    expect(out).toMatchObject({ ok: false, error: { code: "BMC_SETTINGS_FAILED", message: expect.stringMatching(/SettingsFailed/) } });
    expect(driver.calls.map((c) => c.method).slice(-3)).toEqual(["awaitSettingsApplied", "powerOff", "waitForPowerOff"]);
    expect(driver.power).toBe("Off");
  });

  it("reports BMC_SETTINGS_FAILED when ours is still there after the undo applied", async () => {
    const driver = new SettlingDriver();
    undoes(driver, { ...restored, pending: [staged()] }, { ...restored, pending: [staged()] });
    expect(await executor(driver).execute(clear(deployed))).toMatchObject({ ok: false, error: { code: "BMC_SETTINGS_FAILED", message: expect.stringMatching(/still holds/) } });
  });
});

describe("backoff", () => {
  it("grows exponentially, stays within [half, full] of its window and never exceeds the cap", () => {
    const policy = { baseMs: 100, maxMs: 1_000 };
    expect(backoffDelay(1, policy, () => 0)).toBe(50);
    expect(backoffDelay(1, policy, () => 0.999)).toBe(100);
    expect(backoffDelay(3, policy, () => 0)).toBe(200);
    expect(backoffDelay(50, policy, () => 0.999)).toBe(1_000);
    expect(backoffDelay(50, policy, () => 0)).toBe(500);
  });
});

describe("a whole deploy and undeploy through the executor, against each emulated BMC", () => {
  let emu: RedfishEmulator;
  const driver = new RedfishDriver({ timeoutMs: 3_000, pollIntervalMs: 10, taskTimeoutMs: 2_000, settingsApplyTimeoutMs: 5_000 });

  beforeAll(async () => {
    emu = await startRedfishEmulator({ port: 0, powerDelayMs: 20, taskDelayMs: 10 });
  });
  afterAll(async () => {
    await driver.close();
    await emu.close();
  });

  /** What a user compares: every function (secrets aside), the override, power. */
  const state = (s: SystemSnapshot) => ({
    PowerState: s.PowerState,
    Boot: s.Boot,
    functions: s.functions.map((f) => ({ ...f, iSCSIBoot: { ...f.iSCSIBoot, CHAPSecret: null, MutualCHAPSecret: null }, pending: null, settingsMessages: undefined })),
    hpe: s.hpeIscsi ? { initiatorName: s.hpeIscsi.initiatorName, sources: s.hpeIscsi.sources.map((a) => ({ ...a, iSCSIChapSecret: null, UEFIDevicePath: null })) } : null,
  });

  let n = 0;
  it.each<[Flavour, number]>([
    ["generic", 0],
    // the undo is staged OnReset (Immediate may reset the host): one cycle applies it
    ["generic-settings", 2],
    ["dell", 2],
    ["hpe", 2],
  ])("%s: ends with the system as it was found, after %i resets to apply the undo; run again, sends nothing", async (flavour, cycle) => {
    const id = `ex-${flavour}-${++n}`;
    emu.addSystem({ id, flavour, powerState: "Off" });
    const target = { ...bmc(emu.url, id), driver: "auto" as const };
    const ex = new CommandExecutor({ driver, credentials: new Map([["lab", { username: "admin", password: "password", ca: emu.caPem }]]), clock: systemClock });
    const found = emu.system(id);
    let evidence: BmcEvidence = { claims: [] };
    const run = async (body: CommandBody) => {
      const out = await ex.execute(body, { record: async (e) => void (evidence = e) });
      expect(out).toMatchObject({ ok: true });
      return (out as { result: Record<string, unknown> }).result;
    };
    const spec = { ...iscsiSpec(), mac_address: undefined };
    delete (spec as { mac_address?: string }).mac_address;
    await run({ type: "configure_san_boot", bmc: target, iscsi: spec, evidence });
    await run({ type: "power_on", bmc: target, boot_mode: "uefi", boot_override: "once", san_targets: [spec.targets[0]!.name], evidence });
    expect(await run({ type: "await_power_on", bmc: target, evidence })).toMatchObject({ boot_confirmed: true });
    const name = spec.targets[0]!.name;
    expect(emu.system(id).boots.at(-1)!.iscsi.some((i) => i.iscsiBoot.PrimaryTargetName === name)).toBe(true);

    const before = emu.system(id);
    const result = await run({ type: "clear_san_boot", bmc: target, evidence });
    expect(result).toMatchObject({ changed: true });
    const after = emu.system(id);
    // the power off that starts undeploy, then the cycle that applies a staged undo
    expect(after.resetCount - before.resetCount).toBe(1 + cycle);
    expect(state(after)).toEqual(state(found));

    const again = await ex.execute({ type: "clear_san_boot", bmc: target, evidence });
    expect(again).toEqual({ ok: true, result: { changed: false, changes: [] } });
    expect(emu.system(id).patchCount).toBe(after.patchCount);
    expect(emu.system(id).resetCount).toBe(after.resetCount);
  });
});
