import { describe, expect, it } from "vitest";
import { SanbootError } from "../../lib/errors";
import type { BmcCredential } from "../../relay/config";
import { CommandExecutor, resolveEndpoint } from "../../relay/executor";
import { backoffDelay, type Clock } from "../../relay/timing";
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
    const out = await ex.execute({ type: "power_on", bmc: bmc(A), boot_mode: "uefi" });
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
    const out = await ex.execute({ type: "power_on", bmc: bmc(A), boot_mode: "uefi" });
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
