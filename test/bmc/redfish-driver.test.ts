/**
 * The Redfish driver against the generic emulator flavour over HTTPS: which function it writes,
 * that it records its evidence before every write and undoes only by that evidence, power and the
 * boot override. The emulator's default systems carry someone else's configuration (an operator's
 * iSCSI target on port 2, a one-time PXE override, a DPU in the chassis), as real BMCs do.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type RedfishEmulator } from "../../lab/redfish-emulator";
import { memoryGuard, type BmcEndpoint, type WriteGuard } from "../../lib/bmc/driver";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import type { IscsiBootSpec } from "../../lib/relay/protocol";
import { SanbootError } from "../../lib/errors";
import { operatorClient } from "./lab-bmc";

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

const fnById = (id: string, fnId: string) => emu.system(id).functions.find((f) => f.id === fnId)!;

describe("RedfishDriver.configureIscsiBoot", () => {
  it("writes the first iSCSI-capable function nobody configured, never the operator's port 2 nor the DPU's", async () => {
    const { id, ep } = system();
    const before = emu.system(id);
    const operators = before.functions.find((f) => f.iSCSIBoot.PrimaryTargetName)!;
    const dpu = before.functions.find((f) => f.foreign)!;
    const out = await driver.configureIscsiBoot(ep, spec, memoryGuard());
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
    expect(fnById(id, operators.id)).toEqual(operators);
    expect(fnById(id, dpu.id)).toEqual(dpu);
  });

  it("records its claim before the PATCH: a claim that cannot be stored writes nothing", async () => {
    const { id, ep } = system();
    const refusing: WriteGuard = { prior: { claims: [] }, record: async () => Promise.reject(new SanbootError("RELAY_TIMEOUT", "service down", { retryable: true })) };
    const err = await failure(driver.configureIscsiBoot(ep, spec, refusing));
    expect(err.code).toBe("RELAY_TIMEOUT");
    expect(emu.system(id).patchCount).toBe(0);
  });

  it("claims exactly what it wrote and what was there before", async () => {
    const { ep } = system();
    const guard = memoryGuard();
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    const claim = guard.evidence.claims[0]!;
    expect(claim).toMatchObject({ kind: "nic_iscsi", uri: out.function_uri, secrets: ["iSCSIBoot.CHAPSecret"] });
    expect(claim.wrote).toMatchObject({ BootMode: "iSCSI", "iSCSIBoot.PrimaryTargetName": spec.targets[0]!.name });
    expect(claim.before).toMatchObject({ BootMode: "Disabled", "iSCSIBoot.PrimaryTargetName": null });
    expect(JSON.stringify(claim)).not.toContain("chap-secret-123456");
    expect(claim.identity).toContain("iSCSIBoot.PrimaryTargetName");
  });

  it("run again with its evidence: no PATCH, no secret re-sent (a BMC without ETags cannot vouch for it)", async () => {
    const { id, ep } = system();
    const guard = memoryGuard();
    await driver.configureIscsiBoot(ep, spec, guard);
    const count = emu.system(id).patchCount;
    const again = await driver.configureIscsiBoot(ep, spec, memoryGuard(guard.evidence));
    expect(again).toMatchObject({ changed: false });
    expect(again.claim).toBeUndefined();
    expect(emu.system(id).patchCount).toBe(count);
  });

  it("without evidence the secret cannot be vouched for: it is sent again", async () => {
    const { id, ep } = system();
    await driver.configureIscsiBoot(ep, spec, memoryGuard());
    const out = await driver.configureIscsiBoot(ep, spec, memoryGuard());
    expect(out.changed).toBe(true);
    expect(emu.system(id).patches.at(-1)!.body).toEqual({ iSCSIBoot: { CHAPSecret: "chap-secret-123456" } });
  });

  it("with a MAC, writes that port even where an operator configured it, and claims what was there", async () => {
    const { id, ep } = system();
    const port2 = emu.system(id).functions.find((f) => f.iSCSIBoot.PrimaryTargetName)!;
    const guard = memoryGuard();
    const out = await driver.configureIscsiBoot(ep, { ...spec, mac_address: port2.mac.toLowerCase() }, guard);
    expect(out.function_uri).toBe(port2.uri);
    expect(guard.evidence.claims[0]!.before).toMatchObject({ "iSCSIBoot.PrimaryTargetName": port2.iSCSIBoot.PrimaryTargetName, "iSCSIBoot.PrimaryLUN": 7 });
  });

  it("refuses, writing nothing, when every iSCSI port holds someone's configuration and none is named", async () => {
    const { id, ep } = system();
    await driver.configureIscsiBoot(ep, { ...spec, initiator_name: "iqn.2000-01.org.example:other" }, memoryGuard());
    const count = emu.system(id).patchCount;
    const err = await failure(driver.configureIscsiBoot(ep, spec, memoryGuard()));
    expect(err.code).toBe("BMC_CAPABILITY_MISSING");
    expect(err.message).toMatch(/mac_address/);
    expect(emu.system(id).patchCount).toBe(count);
  });

  it("finds the NIC through NetworkInterfaces when the system links no chassis either way", async () => {
    const { id, ep } = system({ links: "interfaces" });
    emu.addSystem({ id: `${id}-neighbour` }); // two chassis: the chassis collection says nothing
    const out = await driver.configureIscsiBoot(ep, spec, memoryGuard());
    expect(out.function_uri).toMatch(new RegExp(`^/redfish/v1/Chassis/${id}/NetworkAdapters/NIC\\.Slot`));
  });

  it("finds the NIC through the Chassis collection when the system publishes neither interfaces nor a chassis link", async () => {
    const { id, ep } = system({ links: "chassis", linkChassis: false });
    const out = await driver.configureIscsiBoot(ep, spec, memoryGuard());
    expect(out.function_uri.startsWith(`/redfish/v1/Chassis/${id}/`)).toBe(true);
  });

  it("reports BMC_CAPABILITY_MISSING for a MAC that cannot boot iSCSI", async () => {
    const { id, ep } = system();
    const lom = emu.system(id).functions.find((f) => !f.capabilities.includes("iSCSI"))!;
    const err = await failure(driver.configureIscsiBoot(ep, { ...spec, mac_address: lom.mac }, memoryGuard()));
    expect(err.code).toBe("BMC_CAPABILITY_MISSING");
  });

  it("never considers a function the system does not call its own, even by MAC", async () => {
    const { id, ep } = system();
    const dpu = emu.system(id).functions.find((f) => f.foreign)!;
    const err = await failure(driver.configureIscsiBoot(ep, { ...spec, mac_address: dpu.mac }, memoryGuard()));
    expect(err.code).toBe("BMC_CAPABILITY_MISSING");
    expect(emu.system(id).patchCount).toBe(0);
  });

  it("writes nothing on a system that cannot be told to boot a SAN device", async () => {
    const { id, ep } = system({ bootTargets: ["None", "Pxe", "Hdd", "Cd"] });
    const err = await failure(driver.configureIscsiBoot(ep, spec, memoryGuard()));
    expect(err.code).toBe("BMC_CAPABILITY_MISSING");
    expect(err.message).toMatch(/UEFI device paths|RemoteDrive/);
    expect(emu.system(id).patchCount).toBe(0);
  });

  it("re-reads and retries when another client wrote first (412)", async () => {
    const { id, ep } = system();
    emu.setFaults(id, { etagMismatchOnce: true });
    const out = await driver.configureIscsiBoot(ep, spec, memoryGuard());
    expect(out.changed).toBe(true);
    expect(emu.system(id).patches.map((p) => p.status)).toEqual([412, 200]);
  });

  it("gives up with retryable BMC_ETAG_MISMATCH when 412s persist", async () => {
    const { id, ep } = system();
    const stubborn = new RedfishDriver({ timeoutMs: 3_000, etagRetries: 0 });
    try {
      emu.setFaults(id, { etagMismatchOnce: true });
      const err = await failure(stubborn.configureIscsiBoot(ep, spec, memoryGuard()));
      expect(err).toMatchObject({ code: "BMC_ETAG_MISMATCH", retryable: true });
    } finally {
      await stubborn.close();
    }
  });

  it("answers a BMC 5xx with retryable BMC_UNREACHABLE", async () => {
    const { id, ep } = system();
    emu.setFaults(id, { failNext: 1, failStatus: 500 });
    const err = await failure(driver.configureIscsiBoot(ep, spec, memoryGuard()));
    expect(err).toMatchObject({ code: "BMC_UNREACHABLE", retryable: true });
  });

  it("answers a bad password with BMC_AUTH_FAILED and never shows it", async () => {
    const { ep } = system();
    const bad = { ...ep, password: "not-the-Pa55word" };
    const err = await failure(driver.configureIscsiBoot(bad, spec, memoryGuard()));
    expect(err.code).toBe("BMC_AUTH_FAILED");
    expect(`${err.message} ${JSON.stringify(err.details)}`).not.toContain("not-the-Pa55word");
  });

  it("accepts per-system credentials", async () => {
    const { ep } = system({ username: "root", password: "calvin-lab" });
    await expect(driver.getPowerState({ ...ep, username: "root", password: "calvin-lab" })).resolves.toBe("Off");
    expect((await failure(driver.getPowerState(ep))).code).toBe("BMC_AUTH_FAILED");
  });
});

describe("RedfishDriver.undoSanBoot", () => {
  it("puts back exactly what the claim found, and blanks the secret it wrote", async () => {
    const { id, ep } = system();
    const before = emu.system(id).functions;
    const guard = memoryGuard();
    const { function_uri } = await driver.configureIscsiBoot(ep, spec, guard);

    const undone = await driver.undoSanBoot(ep, guard.evidence.claims);
    expect(undone).toMatchObject({ changed: true, changes: [{ kind: "function", uri: function_uri, action: "restored" }] });
    const fn = emu.system(id).functions.find((f) => f.uri === function_uri)!;
    const was = before.find((f) => f.uri === function_uri)!;
    expect(fn.bootMode).toBe(was.bootMode);
    expect(fn.iSCSIBoot).toEqual({ ...was.iSCSIBoot, CHAPSecret: null });
    // everything else is as it was
    expect(emu.system(id).functions.filter((f) => f.uri !== function_uri)).toEqual(before.filter((f) => f.uri !== function_uri));
  });

  it("restores an operator's configuration it overwrote (its secret, unreadable, stays blank)", async () => {
    const { id, ep } = system();
    const port2 = emu.system(id).functions.find((f) => f.iSCSIBoot.PrimaryTargetName)!;
    const guard = memoryGuard();
    await driver.configureIscsiBoot(ep, { ...spec, mac_address: port2.mac }, guard);
    await driver.undoSanBoot(ep, guard.evidence.claims);
    expect(fnById(id, port2.id).iSCSIBoot).toEqual({ ...port2.iSCSIBoot, CHAPSecret: null });
  });

  it("with no claim, writes nothing (even though a target is there)", async () => {
    const { id, ep } = system();
    await driver.configureIscsiBoot(ep, spec, memoryGuard());
    const count = emu.system(id).patchCount;
    expect(await driver.undoSanBoot(ep, [])).toEqual({ changed: false, changes: [] });
    expect(emu.system(id).patchCount).toBe(count);
  });

  it("leaves a function someone reconfigured since: it is theirs now", async () => {
    const { id, ep } = system();
    const guard = memoryGuard();
    const { function_uri } = await driver.configureIscsiBoot(ep, spec, guard);
    await driver.configureIscsiBoot(ep, { ...spec, targets: [{ ...spec.targets[0]!, name: "iqn.2000-01.org.example:theirs" }] }, memoryGuard(guard.evidence));
    const count = emu.system(id).patchCount;
    // the claim of the first write: its target is no longer there
    const first = { ...guard.evidence.claims[0]! };
    expect(await driver.undoSanBoot(ep, [first])).toEqual({ changed: false, changes: [] });
    expect(emu.system(id).patchCount).toBe(count);
    expect(emu.system(id).functions.find((f) => f.uri === function_uri)!.iSCSIBoot.PrimaryTargetName).toBe("iqn.2000-01.org.example:theirs");
  });

  it("is idempotent: a second undo sends no PATCH", async () => {
    const { id, ep } = system();
    const guard = memoryGuard();
    await driver.configureIscsiBoot(ep, spec, guard);
    await driver.undoSanBoot(ep, guard.evidence.claims);
    const count = emu.system(id).patchCount;
    expect(await driver.undoSanBoot(ep, guard.evidence.claims)).toEqual({ changed: false, changes: [] });
    expect(emu.system(id).patchCount).toBe(count);
  });
});

describe("RedfishDriver power and boot override", () => {
  const want = { mode: "uefi" as const, persistence: "once" as const, targets: [spec.targets[0]!.name] };

  it("powers on a system that is off, and it reports On after the delay", async () => {
    const { id, ep } = system();
    await driver.powerOn(ep);
    expect(emu.system(id).resets.map((r) => r.resetType)).toEqual(["On"]);
    expect(await driver.waitForPowerOn(ep, 2_000)).toBe("On");
    // On comes at the start of POST; the OS later
    expect(emu.system(id).PowerState).toBe("On");
    expect(await driver.waitForBoot(ep, { timeoutMs: 2_000 })).toMatchObject({ boot_progress: expect.stringMatching(/^OS(BootStarted|Running)$/), confirmed: true });
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

  it("ends every wait at the caller's deadline", async () => {
    const { ep } = system();
    let t = 0;
    const patient = new RedfishDriver({ pollIntervalMs: 1_000, now: () => t, sleep: async (ms) => void (t += ms) });
    try {
      // asked for 10 minutes, but the budget ends in 2.5 s
      const err = await failure(patient.waitForPowerOn({ ...ep, budget: { deadline: 2_500 } }, 600_000));
      expect(err.code).toBe("BMC_POWER_TIMEOUT");
      expect(t).toBe(2_500);
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

  it("names the SAN device by its UEFI boot option (BootNext with UefiBootNext), the DMTF way", async () => {
    const { id, ep } = system({ bootOverride: { target: "None", enabled: "Disabled" } });
    const guard = memoryGuard();
    await driver.configureIscsiBoot(ep, spec, guard);
    const set = await driver.setSanBootOverride(ep, want, guard);
    const option = emu.system(id).bootOptions.find((o) => o.path.includes(`iSCSI(${spec.targets[0]!.name},`))!;
    expect(emu.system(id).Boot).toMatchObject({ BootSourceOverrideTarget: "UefiBootNext", BootNext: option.id, BootSourceOverrideEnabled: "Once" });
    expect(set.claim!.identity).toEqual(["Boot.BootSourceOverrideTarget"]);
    await driver.powerOn(ep);
    await driver.waitForBoot(ep, { timeoutMs: 3_000, claims: guard.evidence.claims });
    expect(emu.system(id).boots.at(-1)!.booted).toMatchObject({ kind: "iscsi", target: spec.targets[0]!.name });
  });

  it("refuses, writing nothing, when no boot option names the SAN device yet and nothing of ours waits to apply", async () => {
    const { id, ep } = system();
    const err = await failure(driver.setSanBootOverride(ep, want, memoryGuard()));
    expect(err.code).toBe("BMC_CAPABILITY_MISSING");
    expect(emu.system(id).patchCount).toBe(0);
  });

  it("sets a one-time RemoteDrive override over the operator's PXE one, claiming what it found", async () => {
    const { id, ep } = system({ remoteDrive: true });
    const guard = memoryGuard();
    const set = await driver.setSanBootOverride(ep, want, guard);
    expect(set.changed).toBe(true);
    expect(emu.system(id).Boot).toMatchObject({ BootSourceOverrideTarget: "RemoteDrive", BootSourceOverrideEnabled: "Once", BootSourceOverrideMode: "UEFI" });
    expect(set.claim!.before).toMatchObject({ "Boot.BootSourceOverrideTarget": "Pxe", "Boot.BootSourceOverrideEnabled": "Once" });
    const count = emu.system(id).patchCount;
    expect((await driver.setSanBootOverride(ep, want, guard)).changed).toBe(false);
    expect(emu.system(id).patchCount).toBe(count);

    await driver.powerOn(ep);
    await driver.waitForBoot(ep, { timeoutMs: 2_000 });
    const after = emu.system(id);
    expect(after.Boot.BootSourceOverrideEnabled).toBe("Disabled");
    expect(after.boots.at(-1)!.override).toEqual({ target: "RemoteDrive", mode: "UEFI" });
  });

  it("sets Legacy mode for a BIOS SAN boot", async () => {
    const { id, ep } = system({ remoteDrive: true });
    await driver.setSanBootOverride(ep, { ...want, mode: "bios" }, memoryGuard());
    expect(emu.system(id).Boot).toMatchObject({ BootSourceOverrideTarget: "RemoteDrive", BootSourceOverrideMode: "Legacy" });
  });

  it("reports BMC_CAPABILITY_MISSING when the BMC allows no SAN override target, writing nothing", async () => {
    const { id, ep } = system({ bootTargets: ["None", "Pxe", "Hdd"] });
    expect((await failure(driver.setSanBootOverride(ep, { ...want, mode: "bios" }, memoryGuard()))).code).toBe("BMC_CAPABILITY_MISSING");
    expect(emu.system(id).patchCount).toBe(0);
  });

  it("puts the override back as it found it: the operator's one-time PXE boot survives", async () => {
    const { id, ep } = system({ remoteDrive: true });
    const found = emu.system(id).Boot;
    const { claim } = await driver.setSanBootOverride(ep, want, memoryGuard());
    await driver.powerOn(ep);
    await driver.waitForBoot(ep, { timeoutMs: 2_000 });
    expect((await driver.restoreBootOverride(ep, claim!)).changed).toBe(true);
    expect(emu.system(id).Boot).toEqual(found);
  });

  it("leaves an override someone set after it: it is not sanboot's any more", async () => {
    const { id, ep } = system({ bootOverride: { target: "None", enabled: "Disabled" }, remoteDrive: true });
    const { claim } = await driver.setSanBootOverride(ep, want, memoryGuard());
    const operator = operatorClient(emu, PASSWORD);
    expect(await operator.patch(`/redfish/v1/Systems/${id}`, { Boot: { BootSourceOverrideTarget: "Cd", BootSourceOverrideEnabled: "Once" } })).toBe(200);
    await operator.close();
    const count = emu.system(id).patchCount;
    expect(await driver.restoreBootOverride(ep, claim!)).toEqual({ changed: false, changes: [] });
    expect(await driver.disableBootOverride(ep, claim!)).toEqual({ changed: false, changes: [] });
    expect(emu.system(id).patchCount).toBe(count);
    expect(emu.system(id).Boot).toMatchObject({ BootSourceOverrideTarget: "Cd", BootSourceOverrideEnabled: "Once" });
  });
});
