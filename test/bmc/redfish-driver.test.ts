import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator } from "../../lab/redfish-emulator";
import type { BmcEndpoint } from "../../lib/bmc/driver";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import type { IscsiBootSpec } from "../../lib/relay/protocol";
import { SanbootError } from "../../lib/errors";

const PASSWORD = "lab-Pa55-word";
let emu: RedfishEmulator;
const driver = new RedfishDriver({ timeoutMs: 3_000, pollIntervalMs: 20 });

beforeAll(async () => {
  emu = await startRedfishEmulator({ port: 0, powerDelayMs: 50, password: PASSWORD });
});
afterAll(async () => {
  await driver.close();
  await emu.close();
});

let n = 0;
/** A fresh system per test, so tests do not see each other's writes. */
function system(spec: Parameters<RedfishEmulator["addSystem"]>[0] = {}): { id: string; ep: BmcEndpoint } {
  const id = `drv-${++n}`;
  emu.addSystem({ id, ...spec });
  return { id, ep: { address: emu.url, system_id: id, username: "admin", password: PASSWORD, tls: { ca: emu.caPem } } };
}

const spec: IscsiBootSpec = {
  initiator_name: "iqn.2026-11.org.example.sanboot:node-1",
  network: { mode: "static", address: "192.0.2.21", netmask: "255.255.255.0", gateway: "192.0.2.1" },
  targets: [{ name: "iqn.2010-10.org.openstack:volume-0001", address: "192.0.2.10", port: 3260, lun: 1 }],
  auth: { method: "CHAP", username: "chapuser", secret: "chap-secret-123456" },
  boot_mode: "uefi",
};

async function failure(p: Promise<unknown>): Promise<SanbootError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SanbootError);
  return err as SanbootError;
}

describe("RedfishDriver.configureIscsiBoot", () => {
  it("writes iSCSIBoot on the first iSCSI-capable function and turns its BootMode to iSCSI", async () => {
    const { id, ep } = system();
    const out = await driver.configureIscsiBoot(ep, spec);
    const fn = emu.system(id).functions.find((f) => f.uri === out.function_uri)!;
    expect(out.changed).toBe(true);
    expect(fn.id).toMatch(/^NIC\.Slot\.\d-1-1$/);
    expect(fn.bootMode).toBe("iSCSI");
    expect(fn.iSCSIBoot).toMatchObject({
      InitiatorName: spec.initiator_name,
      InitiatorIPAddress: "192.0.2.21",
      PrimaryTargetName: "iqn.2010-10.org.openstack:volume-0001",
      PrimaryTargetIPAddress: "192.0.2.10",
      PrimaryTargetTCPPort: 3260,
      PrimaryLUN: 1,
      AuthenticationMethod: "CHAP",
      CHAPUsername: "chapuser",
      CHAPSecret: "chap-secret-123456",
    });
  });

  it("sends no PATCH the second time", async () => {
    const { id, ep } = system();
    await driver.configureIscsiBoot(ep, spec);
    const before = emu.system(id).patchCount;
    const again = await driver.configureIscsiBoot(ep, spec);
    expect(again.changed).toBe(false);
    expect(emu.system(id).patchCount).toBe(before);
  });

  it("rewrites the secret when it changed, though nothing readable did", async () => {
    const { id, ep } = system();
    await driver.configureIscsiBoot(ep, spec);
    const out = await driver.configureIscsiBoot(ep, { ...spec, auth: { method: "CHAP", username: "chapuser", secret: "rotated-secret-99" } });
    expect(out.changed).toBe(true);
    const fn = emu.system(id).functions.find((f) => f.uri === out.function_uri)!;
    expect(fn.iSCSIBoot.CHAPSecret).toBe("rotated-secret-99");
    expect(emu.system(id).patches.at(-1)!.body).toEqual({ iSCSIBoot: { CHAPSecret: "rotated-secret-99" } });
  });

  it("rewrites the secret once when a fresh driver cannot vouch for it, then stops", async () => {
    const { id, ep } = system();
    await driver.configureIscsiBoot(ep, spec);
    const other = new RedfishDriver({ timeoutMs: 3_000 });
    try {
      expect((await other.configureIscsiBoot(ep, spec)).changed).toBe(true);
      const count = emu.system(id).patchCount;
      expect((await other.configureIscsiBoot(ep, spec)).changed).toBe(false);
      expect(emu.system(id).patchCount).toBe(count);
    } finally {
      await other.close();
    }
  });

  it("picks the function by MAC", async () => {
    const { id, ep } = system({ mac: "02:00:5e:10:00:01" });
    const second = emu.system(id).functions.filter((f) => f.capabilities.includes("iSCSI"))[1]!;
    const out = await driver.configureIscsiBoot(ep, { ...spec, mac_address: second.mac.toLowerCase() });
    expect(out.function_uri).toBe(second.uri);
    expect(emu.system(id).functions.find((f) => f.id === second.id)!.iSCSIBoot.PrimaryLUN).toBe(1);
  });

  it("finds the NIC through the Chassis collection when the system does not link its chassis", async () => {
    const { id, ep } = system({ linkChassis: false });
    const out = await driver.configureIscsiBoot(ep, spec);
    expect(out.function_uri.startsWith(`/redfish/v1/Chassis/${id}/`)).toBe(true);
  });

  it("reports BMC_CAPABILITY_MISSING for a MAC that cannot boot iSCSI", async () => {
    const { id, ep } = system();
    const lom = emu.system(id).functions.find((f) => !f.capabilities.includes("iSCSI"))!;
    const err = await failure(driver.configureIscsiBoot(ep, { ...spec, mac_address: lom.mac }));
    expect(err.code).toBe("BMC_CAPABILITY_MISSING");
  });

  it("re-reads and retries when another client wrote first (412)", async () => {
    const { id, ep } = system();
    emu.setFaults(id, { etagMismatchOnce: true });
    const out = await driver.configureIscsiBoot(ep, spec);
    expect(out.changed).toBe(true);
    expect(emu.system(id).patches.map((p) => p.status)).toEqual([412, 200]);
  });

  it("gives up with retryable BMC_ETAG_MISMATCH when 412s persist", async () => {
    const { id, ep } = system();
    const stubborn = new RedfishDriver({ timeoutMs: 3_000, etagRetries: 0 });
    try {
      emu.setFaults(id, { etagMismatchOnce: true });
      const err = await failure(stubborn.configureIscsiBoot(ep, spec));
      expect(err).toMatchObject({ code: "BMC_ETAG_MISMATCH", retryable: true });
    } finally {
      await stubborn.close();
    }
  });

  it("answers a BMC 5xx with retryable BMC_UNREACHABLE", async () => {
    const { id, ep } = system();
    emu.setFaults(id, { failNext: 1, failStatus: 500 });
    const err = await failure(driver.configureIscsiBoot(ep, spec));
    expect(err).toMatchObject({ code: "BMC_UNREACHABLE", retryable: true });
  });

  it("answers a bad password with BMC_AUTH_FAILED and never shows it", async () => {
    const { ep } = system();
    const bad = { ...ep, password: "not-the-Pa55word" };
    const err = await failure(driver.configureIscsiBoot(bad, spec));
    expect(err.code).toBe("BMC_AUTH_FAILED");
    expect(`${err.message} ${JSON.stringify(err.details)}`).not.toContain("not-the-Pa55word");
  });

  it("accepts per-system credentials", async () => {
    const { ep } = system({ username: "root", password: "calvin-lab" });
    await expect(driver.getPowerState({ ...ep, username: "root", password: "calvin-lab" })).resolves.toBe("Off");
    expect((await failure(driver.getPowerState(ep))).code).toBe("BMC_AUTH_FAILED");
  });
});

describe("RedfishDriver power and boot override", () => {
  it("powers on a system that is off, and it reports On after the delay", async () => {
    const { id, ep } = system();
    await driver.powerOn(ep);
    expect(emu.system(id).resets.map((r) => r.resetType)).toEqual(["On"]);
    expect(await driver.waitForPowerOn(ep, 2_000)).toBe("On");
    expect(emu.system(id)).toMatchObject({ PowerState: "On", BootProgress: { LastState: "OSRunning" } });
  });

  it("restarts a system that is already on", async () => {
    const { id, ep } = system({ powerState: "On" });
    await driver.powerOn(ep);
    expect(emu.system(id).resets.map((r) => r.resetType)).toEqual(["ForceRestart"]);
  });

  it("uses GracefulRestart where ForceRestart is not allowed", async () => {
    const { id, ep } = system({ powerState: "On", resetTypes: ["On", "ForceOff", "GracefulRestart"] });
    await driver.powerOn(ep);
    expect(emu.system(id).resets.map((r) => r.resetType)).toEqual(["GracefulRestart"]);
  });

  it("reports BMC_CAPABILITY_MISSING when no allowed reset type powers on", async () => {
    const { ep } = system({ resetTypes: ["Nmi", "ForceOff"] });
    expect((await failure(driver.powerOn(ep))).code).toBe("BMC_CAPABILITY_MISSING");
  });

  it("powers off with ForceOff, and not at all when already off", async () => {
    const { id, ep } = system({ powerState: "On" });
    await driver.powerOff(ep);
    await driver.powerOff(ep);
    expect(emu.system(id).resets.map((r) => r.resetType)).toEqual(["ForceOff"]);
  });

  it("times out waiting with retryable BMC_POWER_TIMEOUT, through an injected clock", async () => {
    const { ep } = system();
    let t = 0;
    const sleeps: number[] = [];
    const patient = new RedfishDriver({ pollIntervalMs: 1_000, now: () => t, sleep: async (ms) => void (sleeps.push(ms), (t += ms)) });
    try {
      const err = await failure(patient.waitForPowerOn(ep, 3_000));
      expect(err).toMatchObject({ code: "BMC_POWER_TIMEOUT", retryable: true });
      expect(sleeps).toEqual([1_000, 1_000, 1_000]);
    } finally {
      await patient.close();
    }
  });

  it("keeps polling through a BMC hiccup while powering on", async () => {
    const { id, ep } = system();
    await driver.powerOn(ep);
    emu.setFaults(id, { failNext: 2 });
    expect(await driver.waitForPowerOn(ep, 5_000)).toBe("On");
  });

  it("sets a one-time RemoteDrive override that the next boot consumes", async () => {
    const { id, ep } = system();
    await driver.setSanBootOverride(ep, "uefi");
    expect(emu.system(id).Boot).toMatchObject({ BootSourceOverrideTarget: "RemoteDrive", BootSourceOverrideEnabled: "Once", BootSourceOverrideMode: "UEFI" });
    const count = emu.system(id).patchCount;
    await driver.setSanBootOverride(ep, "uefi");
    expect(emu.system(id).patchCount).toBe(count);

    await driver.powerOn(ep);
    await driver.waitForPowerOn(ep, 2_000);
    const after = emu.system(id);
    expect(after.Boot.BootSourceOverrideEnabled).toBe("Disabled");
    expect(after.boots.at(-1)!.override).toEqual({ target: "RemoteDrive", mode: "UEFI" });
  });

  it("sets Legacy mode for a BIOS SAN boot", async () => {
    const { id, ep } = system();
    await driver.setSanBootOverride(ep, "bios");
    expect(emu.system(id).Boot).toMatchObject({ BootSourceOverrideTarget: "RemoteDrive", BootSourceOverrideMode: "Legacy" });
  });

  it("reports BMC_CAPABILITY_MISSING when the BMC allows no SAN override target", async () => {
    const { ep } = system({ bootTargets: ["None", "Pxe", "Hdd"] });
    expect((await failure(driver.setSanBootOverride(ep, "bios"))).code).toBe("BMC_CAPABILITY_MISSING");
  });

  it("clears the override", async () => {
    const { id, ep } = system();
    await driver.setSanBootOverride(ep, "uefi");
    await driver.clearBootOverride(ep);
    expect(emu.system(id).Boot).toMatchObject({ BootSourceOverrideEnabled: "Disabled", BootSourceOverrideTarget: "None" });
  });
});

describe("RedfishDriver.clearIscsiBoot", () => {
  it("restores a blank target, BootMode Disabled and no override", async () => {
    const { id, ep } = system();
    const { function_uri } = await driver.configureIscsiBoot(ep, spec);
    await driver.setSanBootOverride(ep, "uefi");

    expect(await driver.clearIscsiBoot(ep)).toEqual({ changed: true });

    const snap = emu.system(id);
    const fn = snap.functions.find((f) => f.uri === function_uri)!;
    expect(fn.bootMode).toBe("Disabled");
    expect(fn.iSCSIBoot).toMatchObject({
      InitiatorName: null,
      PrimaryTargetName: null,
      PrimaryTargetIPAddress: null,
      PrimaryLUN: null,
      AuthenticationMethod: "None",
      CHAPUsername: null,
      CHAPSecret: null,
    });
    expect(snap.Boot).toMatchObject({ BootSourceOverrideEnabled: "Disabled", BootSourceOverrideTarget: "None" });
  });

  it("is idempotent: nothing to clear sends no PATCH", async () => {
    const { id, ep } = system();
    await driver.configureIscsiBoot(ep, spec);
    await driver.clearIscsiBoot(ep);
    const count = emu.system(id).patchCount;
    expect(await driver.clearIscsiBoot(ep)).toEqual({ changed: false });
    expect(emu.system(id).patchCount).toBe(count);
  });

  it("clears only the function with the given MAC", async () => {
    const { id, ep } = system();
    const [a, b] = emu.system(id).functions.filter((f) => f.capabilities.includes("iSCSI"));
    await driver.configureIscsiBoot(ep, { ...spec, mac_address: a!.mac });
    await driver.configureIscsiBoot(ep, { ...spec, mac_address: b!.mac });
    await driver.clearIscsiBoot(ep, b!.mac);
    const fns = emu.system(id).functions;
    expect(fns.find((f) => f.id === a!.id)!.iSCSIBoot.PrimaryTargetName).toBe(spec.targets[0]!.name);
    expect(fns.find((f) => f.id === b!.id)!.iSCSIBoot.PrimaryTargetName).toBeNull();
  });

  it("then configures again with the secret written anew", async () => {
    const { id, ep } = system();
    await driver.configureIscsiBoot(ep, spec);
    await driver.clearIscsiBoot(ep);
    const out = await driver.configureIscsiBoot(ep, spec);
    expect(out.changed).toBe(true);
    expect(emu.system(id).functions.find((f) => f.uri === out.function_uri)!.iSCSIBoot.CHAPSecret).toBe(spec.auth.method === "CHAP" ? spec.auth.secret : null);
  });
});
