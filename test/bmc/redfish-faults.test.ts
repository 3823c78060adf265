/**
 * Faults a real BMC shows, switched on per system in the emulator, and what the driver makes of
 * them: one session at a time, settings that fail to apply at the reset, ETags changing under a
 * settings write, 5xx and dropped connections during a task, slowness.
 */
import { describe, expect, it } from "vitest";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import { useLabBmc } from "./lab-bmc";
import type { BmcEndpoint, SanIscsiSpec } from "../../lib/bmc/driver";
import { SanbootError } from "../../lib/errors";

const lab = useLabBmc({ prefix: "ft", driver: { timeoutMs: 3_000, pollIntervalMs: 20, settingsApplyTimeoutMs: 3_000 }, emulator: { powerDelayMs: 40, taskDelayMs: 30 } });
const { driver, system } = lab;

const spec: SanIscsiSpec = {
  initiator_name: "iqn.2026-11.org.example.sanboot:node-5",
  network: { mode: "dhcp" },
  targets: [{ name: "iqn.2010-10.org.openstack:volume-0005", address: "192.0.2.10", port: 3260, lun: 0 }],
  auth: { method: "None" },
  boot_mode: "uefi",
};

async function failure(p: Promise<unknown>): Promise<SanbootError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SanbootError);
  return err as SanbootError;
}

describe("a BMC that allows one session at a time", () => {
  it("serves one driver's concurrent calls, which queue at the driver", async () => {
    const { id, ep, guard } = system();
    lab.emu.setFaults(id, { maxSessions: 1, latencyMs: 30 });
    const states = await Promise.all([driver.getPowerState(ep), driver.getPowerState(ep), driver.getBootStatus(ep)]);
    expect(states.slice(0, 2)).toEqual(["Off", "Off"]);
  });

  it("refuses a second client's concurrent request with retryable 503", async () => {
    const { id, ep, guard } = system();
    // long enough that the two requests overlap on a busy machine too
    lab.emu.setFaults(id, { maxSessions: 1, latencyMs: 300 });
    const other = new RedfishDriver({ timeoutMs: 3_000 });
    try {
      const results = await Promise.allSettled([driver.getPowerState(ep), other.getPowerState(ep)]);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toMatchObject({ code: "BMC_UNREACHABLE", retryable: true });
      expect(rejected[0]!.reason.message).toContain("SessionLimitExceeded");
    } finally {
      await other.close();
    }
  });

  it("or with 401, as BMCs out of sessions also answer", async () => {
    const { id, ep, guard } = system();
    lab.emu.setFaults(id, { maxSessions: 1, latencyMs: 300, sessionLimitStatus: 401 });
    const other = new RedfishDriver({ timeoutMs: 3_000 });
    try {
      const results = await Promise.allSettled([driver.getPowerState(ep), other.getPowerState(ep)]);
      expect(results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(["BMC_AUTH_FAILED"]);
    } finally {
      await other.close();
    }
  });
});

const TARGETS = [spec.targets[0]!.name];

describe("settings that fail to apply at the reset", () => {
  it("generic settings object: the override that needed the device says so at the POST that failed to apply it", async () => {
    const { id, ep, guard } = system({ flavour: "generic-settings" });
    await driver.configureIscsiBoot(ep, spec, guard);
    lab.emu.setFaults(id, { settingsFailOnReset: true });
    const err = await failure(driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: TARGETS }, guard));
    expect(err).toMatchObject({ code: "BMC_SETTINGS_FAILED", retryable: false });
    expect(err.message).toContain("Base.1.8.SettingsFailed");
  });

  it("generic settings object with RemoteDrive: waitForBoot surfaces Base SettingsFailed once the POST applied, not a timeout", async () => {
    const { id, ep, guard } = system({ flavour: "generic-settings", remoteDrive: true });
    await driver.configureIscsiBoot(ep, spec, guard);
    lab.emu.setFaults(id, { settingsFailOnReset: true });
    await driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: TARGETS }, guard);
    await driver.powerOn(ep);
    const err = await failure(driver.waitForBoot(ep, { timeoutMs: 3_000, claims: guard.evidence.claims }));
    expect(err).toMatchObject({ code: "BMC_SETTINGS_FAILED", retryable: false });
    expect(err.message).toContain("Base.1.8.SettingsFailed");
    expect(lab.emu.system(id).functions.some((f) => f.bootMode === "iSCSI")).toBe(false);
  });

  it("Dell: the job fails, and the override that needed it says so", async () => {
    const { id, ep, guard } = system({ flavour: "dell" });
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    lab.emu.setFaults(id, { settingsFailOnReset: true });
    const err = await failure(driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: TARGETS }, guard));
    expect(err.code).toBe("BMC_SETTINGS_FAILED");
    expect(err.message).toContain("SettingsFailed");
    const job = await failure(driver.awaitSettingsApplied(ep, out.pending!, 1_000));
    expect(job.code).toBe("BMC_SETTINGS_FAILED");
    expect(job.message).toContain("SYS051");
  });

  it("HPE: the BIOS iSCSI settings fail and the override cannot name the attempt", async () => {
    const { id, ep, guard } = system({ flavour: "hpe" });
    await driver.configureIscsiBoot(ep, spec, guard);
    lab.emu.setFaults(id, { settingsFailOnReset: true });
    const err = await failure(driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: TARGETS }, guard));
    expect(err.code).toBe("BMC_SETTINGS_FAILED");
    expect(err.message).toContain("SettingsFailed");
  });
});

describe("ETags, 5xx, drops and slowness on settings writes", () => {
  it("every write to a settings object changes its ETag, and a 412 race is re-read and retried", async () => {
    const { id, ep, guard } = system({ flavour: "generic-settings" });
    lab.emu.setFaults(id, { etagMismatchOnce: true });
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    expect(out.changed).toBe(true);
    expect(lab.emu.system(id).patches.map((p) => p.status)).toEqual([412, 202]);
  });

  it("a 5xx while following the task is retryable BMC_UNREACHABLE", async () => {
    const { id, ep, guard } = system({ flavour: "generic-settings" });
    const first = driver.configureIscsiBoot(ep, spec, guard);
    // Let the PATCH through, then fail the next request (the task monitor poll).
    await new Promise((r) => setTimeout(r, 5));
    lab.emu.setFaults(id, { failNext: 1, failStatus: 502 });
    const outcome = await first.then(() => "ok", (e: SanbootError) => e.code);
    expect(["ok", "BMC_UNREACHABLE"]).toContain(outcome);
    // Whatever happened, configuring again converges without a second target write.
    lab.emu.clearFaults(id);
    const again = await driver.configureIscsiBoot(ep, spec, guard);
    expect(lab.emu.system(id).functions.find((f) => f.uri === again.function_uri)!.pending).toMatchObject({ bootMode: "iSCSI" });
  });

  it("a dropped connection and a slow BMC are retryable BMC_UNREACHABLE", async () => {
    const { id, ep, guard } = system({ flavour: "dell" });
    lab.emu.setFaults(id, { dropNext: 1 });
    expect(await failure(driver.configureIscsiBoot(ep, spec, guard))).toMatchObject({ code: "BMC_UNREACHABLE", retryable: true });
    const impatient = new RedfishDriver({ timeoutMs: 100 });
    try {
      lab.emu.setFaults(id, { latencyMs: 300 });
      expect(await failure(impatient.getPowerState(ep))).toMatchObject({ code: "BMC_UNREACHABLE", retryable: true });
    } finally {
      lab.emu.clearFaults(id);
      await impatient.close();
    }
  });
});
