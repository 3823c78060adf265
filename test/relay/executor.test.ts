import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type Flavour, type RedfishEmulator } from "../../lab/redfish-emulator";
import type { BmcDriver, BmcEndpoint, ClearResult, PendingSettings, PowerState } from "../../lib/bmc/driver";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import { SanbootError } from "../../lib/errors";
import type { BmcCredential } from "../../relay/config";
import { CommandExecutor, resolveEndpoint } from "../../relay/executor";
import { backoffDelay, systemClock, type Clock } from "../../relay/timing";
import { FakeBmcDriver, bmc, iscsiSpec } from "./doubles";

const A = "https://10.0.0.5";

/** A clock whose sleeps return at once and advance time, recording each delay. */
function steppingClock(): Clock & { slept: number[] } {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    random: () => 0.5,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  };
}

function executor(driver: FakeBmcDriver, creds: Record<string, BmcCredential> = { lab: { username: "u", password: "p" } }) {
  const clock = steppingClock();
  const ex = new CommandExecutor({ driver, credentials: new Map(Object.entries(creds)), clock, attempts: 3 });
  return { ex, clock };
}

const unreachable = () => new SanbootError("BMC_UNREACHABLE", "reset", { retryable: true });

describe("command executor", () => {
  it("retries a retryable fault with growing delays and succeeds when the BMC recovers", async () => {
    const driver = new FakeBmcDriver();
    let fails = 2;
    driver.impl.configureIscsiBoot = async () => {
      if (fails-- > 0) throw unreachable();
      return { changed: false, function_uri: "/f" };
    };
    const { ex, clock } = executor(driver);
    const out = await ex.execute({ type: "configure_san_boot", bmc: bmc(A), iscsi: iscsiSpec() });
    expect(out).toEqual({ ok: true, result: { changed: false, function_uri: "/f" } });
    expect(clock.slept).toHaveLength(2);
    expect(clock.slept[1]!).toBeGreaterThan(clock.slept[0]!);
  });

  it("does not retry a fault that is not retryable", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.setSanBootOverride = async () => {
      throw new SanbootError("BMC_AUTH_FAILED", "401 from BMC");
    };
    const { ex } = executor(driver);
    const out = await ex.execute({ type: "power_on", boot_override: "once", bmc: bmc(A), boot_mode: "uefi" });
    expect(out).toEqual({ ok: false, error: { code: "BMC_AUTH_FAILED", message: "401 from BMC", retryable: false } });
    expect(driver.calls.map((c) => c.method)).toEqual(["setSanBootOverride"]);
  });

  it("reports anything that is not a SanbootError as INTERNAL, retryable, without its message", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.powerOff = async () => {
      throw new TypeError("cannot read properties of undefined (reading 'password=hunter2')");
    };
    const { ex } = executor(driver);
    const out = await ex.execute({ type: "clear_san_boot", protocol: "iscsi", bmc: bmc(A) });
    expect(out).toEqual({ ok: false, error: { code: "INTERNAL", message: "internal error", retryable: true } });
    expect(driver.calls).toHaveLength(1);
  });

  it("asks the power state before retrying powerOn, so a lost answer never restarts the server twice", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.powerOn = async () => {
      driver.power = "On"; // the BMC acted, but the answer was lost
      throw unreachable();
    };
    const { ex } = executor(driver);
    const out = await ex.execute({ type: "power_on", boot_override: "once", bmc: bmc(A), boot_mode: "uefi" });
    expect(out).toEqual({ ok: true, result: {} });
    expect(driver.calls.map((c) => c.method)).toEqual(["setSanBootOverride", "powerOn", "getPowerState"]);
  });

  it("does not stretch await_power_on past its timeout by retrying BMC_POWER_TIMEOUT", async () => {
    const driver = new FakeBmcDriver();
    driver.impl.waitForPowerOn = async () => {
      throw new SanbootError("BMC_POWER_TIMEOUT", "still Off", { retryable: true });
    };
    const { ex } = executor(driver);
    const out = await ex.execute({ type: "await_power_on", bmc: bmc(A), timeout_seconds: 90 });
    expect(out).toMatchObject({ ok: false, error: { code: "BMC_POWER_TIMEOUT", retryable: true } });
    expect(driver.calls).toHaveLength(1);
    expect(driver.calls[0]!.args).toEqual([90_000]);
  });

  it("answers BMC_CREDENTIALS_MISSING without calling the BMC", async () => {
    const driver = new FakeBmcDriver();
    const { ex } = executor(driver, {});
    const out = await ex.execute({ type: "clear_san_boot", protocol: "iscsi", bmc: bmc(A, "1", "rack-7") });
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

/** The fake driver plus the settings and power-settle ports, recorded in the same call list. */
class SettlingDriver extends FakeBmcDriver {
  awaitImpl: (p: PendingSettings) => Promise<void> = async () => {};
  awaitSettingsApplied(ep: BmcEndpoint, p: PendingSettings, timeoutMs: number): Promise<void> {
    this.calls.push({ method: "awaitSettingsApplied" as keyof BmcDriver, address: ep.address, system_id: ep.system_id, args: [p.settings_uri, timeoutMs], endpoint: ep, start: Date.now() });
    return this.awaitImpl(p);
  }
  async waitForPowerOff(ep: BmcEndpoint): Promise<PowerState> {
    this.calls.push({ method: "waitForPowerOff" as keyof BmcDriver, address: ep.address, system_id: ep.system_id, args: [], endpoint: ep, start: Date.now() });
    return "Off";
  }
}

const staged = (apply_time = "OnReset"): PendingSettings => ({ resource_uri: "/f", settings_uri: "/f/Settings", apply_time });

/** clearIscsiBoot answers `first`, then (the check after applying) `then`. */
function clears(driver: FakeBmcDriver, first: ClearResult, then: ClearResult = { changed: false }) {
  let n = 0;
  driver.impl.clearIscsiBoot = async () => (n++ === 0 ? first : then);
}

describe("clear_san_boot", () => {
  const clear = { type: "clear_san_boot" as const, protocol: "iscsi" as const, bmc: bmc(A), mac_address: "aa:bb:cc:dd:ee:ff" };

  it("applies a clear staged for the next reset: power on, wait until applied, power off, check nothing is left", async () => {
    const driver = new SettlingDriver();
    clears(driver, { changed: true, pending: [staged()] });
    const { ex } = executor(driver);
    const out = await ex.execute(clear);
    expect(out).toEqual({ ok: true, result: { changed: true, applied: ["/f/Settings"] } });
    expect(driver.calls.map((c) => c.method)).toEqual([
      "powerOff", "clearIscsiBoot", "clearBootOverride",
      "waitForPowerOff", "powerOn", "awaitSettingsApplied", "powerOff", "waitForPowerOff",
      "clearIscsiBoot",
    ]);
  });

  it("waits for an Immediate clear without a reset", async () => {
    const driver = new SettlingDriver();
    clears(driver, { changed: true, pending: [staged("Immediate")] });
    const { ex } = executor(driver);
    expect(await ex.execute(clear)).toMatchObject({ ok: true });
    expect(driver.calls.map((c) => c.method)).not.toContain("powerOn");
    expect(driver.calls.map((c) => c.method)).toContain("awaitSettingsApplied");
  });

  it("cycles no power when the clear is in force at once, nor when it finds nothing to clear", async () => {
    for (const answer of [{ changed: true }, { changed: false }]) {
      const driver = new SettlingDriver();
      clears(driver, answer);
      const { ex } = executor(driver);
      expect(await ex.execute(clear)).toEqual({ ok: true, result: answer });
      expect(driver.calls.map((c) => c.method)).toEqual(["powerOff", "clearIscsiBoot", "clearBootOverride", "waitForPowerOff"]);
    }
  });

  it("powers the system off again and reports BMC_SETTINGS_FAILED when the staged clear failed to apply", async () => {
    const driver = new SettlingDriver();
    clears(driver, { changed: true, pending: [staged()] });
    driver.awaitImpl = async () => {
      throw new SanbootError("BMC_SETTINGS_FAILED", "BMC reported settings /f/Settings failed: Base.1.8.SettingsFailed");
    };
    const { ex } = executor(driver);
    const out = await ex.execute(clear);
    expect(out).toMatchObject({ ok: false, error: { code: "BMC_SETTINGS_FAILED", message: expect.stringMatching(/SettingsFailed/) } });
    expect(driver.calls.map((c) => c.method).slice(-2)).toEqual(["awaitSettingsApplied", "powerOff"]);
    expect(driver.power).toBe("Off");
  });

  it("reports BMC_REJECTED when the target is still there after the settings applied", async () => {
    const driver = new SettlingDriver();
    clears(driver, { changed: true, pending: [staged()] }, { changed: true, pending: [staged()] });
    const { ex } = executor(driver);
    expect(await ex.execute(clear)).toMatchObject({ ok: false, error: { code: "BMC_REJECTED", message: expect.stringMatching(/still holds/) } });
  });
});

describe("clear_san_boot against each emulated BMC", () => {
  let emu: RedfishEmulator;
  const driver = new RedfishDriver({ timeoutMs: 3_000, pollIntervalMs: 10, taskTimeoutMs: 2_000, settingsApplyTimeoutMs: 5_000 });

  beforeAll(async () => {
    emu = await startRedfishEmulator({ port: 0, powerDelayMs: 20, taskDelayMs: 10 });
  });
  afterAll(async () => {
    await driver.close();
    await emu.close();
  });

  let n = 0;
  it.each<[Flavour, number]>([
    ["generic", 0],
    ["generic-settings", 0],
    ["dell", 2],
    ["hpe", 2],
  ])("%s: leaves the system off with no target in force after %i resets; run again, sends nothing", async (flavour, resets) => {
    const id = `ex-${flavour}-${++n}`;
    const mac = `02:00:5e:88:00:${n.toString(16).padStart(2, "0")}`;
    emu.addSystem({ id, mac, flavour, powerState: "Off" });
    const target = { ...bmc(emu.url, id), driver: "auto" as const };
    const ep = { address: emu.url, system_id: id, username: "admin", password: "password", tls: { ca: emu.caPem } };
    const spec = { ...iscsiSpec(), mac_address: mac };
    await driver.configureIscsiBoot(ep, spec);
    await driver.setSanBootOverride(ep, "uefi");
    await driver.powerOn(ep);
    await driver.waitForBoot(ep, 3_000);
    const name = spec.targets[0]!.name;

    const before = emu.system(id);
    const ex = new CommandExecutor({ driver, credentials: new Map([["lab", { username: "admin", password: "password", ca: emu.caPem }]]), clock: systemClock, settingsTimeoutMs: 5_000 });
    const out = await ex.execute({ type: "clear_san_boot", protocol: "iscsi", bmc: target, mac_address: mac });
    expect(out).toMatchObject({ ok: true, result: { changed: true } });
    const after = emu.system(id);
    expect(after.PowerState).toBe("Off");
    // the powerOff that starts undeploy, then the cycle that applies a staged clear
    expect(after.resetCount - before.resetCount).toBe(1 + resets);
    expect(after.functions.some((f) => f.iSCSIBoot.PrimaryTargetName === name || JSON.stringify(f.pending ?? {}).includes(name))).toBe(false);
    expect(JSON.stringify(after.hpeIscsi ?? {})).not.toContain(name);
    expect(after.Boot.BootSourceOverrideEnabled).toBe("Disabled");

    const again = await ex.execute({ type: "clear_san_boot", protocol: "iscsi", bmc: target, mac_address: mac });
    expect(again).toEqual({ ok: true, result: { changed: false } });
    expect(emu.system(id).patchCount).toBe(after.patchCount);
    expect(emu.system(id).resetCount).toBe(after.resetCount);
  });
});
