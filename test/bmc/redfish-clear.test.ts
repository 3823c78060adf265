/**
 * Undoing a SAN boot target on each BMC flavour, over HTTPS against the emulator, by the claims
 * configure recorded: where the undo only stages (Dell NIC settings, HPE BIOS iSCSI) the driver
 * says what is pending and a reset applies it; where it can (in place, or a settings object
 * offering Immediate) it is in force at once with no reset; a second undo sends nothing and leaves
 * nothing pending.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedfishEmulator, type Flavour, type RedfishEmulator, type SystemSnapshot } from "../../lab/redfish-emulator";
import type { BmcEvidence } from "../../lib/bmc/claims";
import { memoryGuard, type BmcEndpoint, type SanIscsiSpec } from "../../lib/bmc/driver";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";

let emu: RedfishEmulator;
const driver = new RedfishDriver({ timeoutMs: 3_000, pollIntervalMs: 20, settingsApplyTimeoutMs: 5_000, taskTimeoutMs: 2_000 });

beforeAll(async () => {
  emu = await startRedfishEmulator({ port: 0, powerDelayMs: 30, taskDelayMs: 20 });
});
afterAll(async () => {
  await driver.close();
  await emu.close();
});

let n = 0;
function system(flavour: Flavour, extra: { applyTimes?: string[] } = {}): { id: string; ep: BmcEndpoint } {
  const id = `clr-${++n}`;
  // no operator override: "the boot that applies the undo boots nothing" is then about the SAN alone
  emu.addSystem({ id, flavour, bootOverride: { target: "None", enabled: "Disabled" }, ...extra });
  return { id, ep: { address: emu.url, system_id: id, username: "admin", password: "password", tls: { ca: emu.caPem } } };
}

const TARGET = "iqn.2010-10.org.openstack:volume-c1ea";
const spec: SanIscsiSpec = {
  initiator_name: "iqn.2026-11.org.example.sanboot:node-9",
  network: { mode: "dhcp" },
  targets: [{ name: TARGET, address: "192.0.2.10", port: 3260, lun: 0 }],
  auth: { method: "CHAP", username: "chapuser", secret: "chap-secret-999" },
  boot_mode: "uefi",
};

/** Configured, booted from the target, then powered off: where undeploy starts. Answers the evidence. */
async function deployed(ep: BmcEndpoint): Promise<BmcEvidence> {
  const guard = memoryGuard();
  await driver.configureIscsiBoot(ep, spec, guard);
  await driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: [TARGET] }, guard);
  await driver.powerOn(ep);
  await driver.waitForBoot(ep, { timeoutMs: 3_000, claims: guard.evidence.claims });
  await driver.powerOff(ep);
  await driver.waitForPowerOff(ep, 3_000);
  return guard.evidence;
}

const san = (e: BmcEvidence) => e.claims.filter((c) => c.kind !== "boot_override");

/** Does anything on the system, in force or staged, still name the target? */
function holdsTarget(s: SystemSnapshot): { inForce: boolean; staged: boolean } {
  const inForce = s.functions.some((f) => f.iSCSIBoot.PrimaryTargetName === TARGET) || JSON.stringify(s.hpeIscsi?.sources ?? []).includes(TARGET);
  const staged = s.functions.some((f) => JSON.stringify(f.pending ?? {}).includes(TARGET)) || JSON.stringify(s.hpeIscsi?.pending ?? {}).includes(TARGET);
  return { inForce, staged };
}

describe.each<[Flavour, { applyTimes?: string[] }]>([
  ["generic", {}],
  // a settings object that offers only Immediate (the host is off, so no reset)
  ["generic-settings", { applyTimes: ["Immediate"] }],
])("a %s BMC (%j) undoes in force at once", (flavour, extra) => {
  it("leaves nothing pending, does not reset, and a second clear sends nothing", async () => {
    const { id, ep } = system(flavour, extra);
    const evidence = await deployed(ep);
    const before = emu.system(id);

    const undone = await driver.undoSanBoot(ep, san(evidence));
    expect(undone).toMatchObject({ changed: true });
    expect(undone.pending).toBeUndefined();
    const after = emu.system(id);
    expect(holdsTarget(after)).toEqual({ inForce: false, staged: false });
    expect(after.resetCount).toBe(before.resetCount);
    if (flavour === "generic-settings") expect(after.patches.at(-1)!.body).toMatchObject({ "@Redfish.SettingsApplyTime": { ApplyTime: "Immediate" } });

    expect(await driver.undoSanBoot(ep, san(evidence))).toEqual({ changed: false, changes: [] });
    expect(emu.system(id).patchCount).toBe(after.patchCount);
    expect(emu.system(id).resetCount).toBe(before.resetCount);
  });
});

describe.each<[Flavour, { applyTimes?: string[] }, RegExp | undefined]>([
  ["dell", {}, /\/Jobs\/JID_/],
  ["hpe", {}, undefined],
  // a settings object that offers Immediate still stages the undo OnReset: Immediate may reset the host
  ["generic-settings", {}, undefined],
  ["generic-settings", { applyTimes: ["OnReset"] }, undefined],
])("a %s BMC (%j) stages the undo", (flavour, extra, job) => {
  it("answers what is pending; one reset applies it and a second clear sends nothing", async () => {
    const { id, ep } = system(flavour, extra);
    const evidence = await deployed(ep);

    const cleared = await driver.undoSanBoot(ep, san(evidence));
    expect(cleared.changed).toBe(true);
    expect(cleared.pending).toHaveLength(1);
    const pending = cleared.pending![0]!;
    expect(pending.apply_time).toBe("OnReset");
    if (job) expect(pending.task_uri).toMatch(job);
    // staged, not in force: the next power-on would still try the target, so say so
    expect(holdsTarget(emu.system(id)).inForce).toBe(true);
    await expect(driver.awaitSettingsApplied(ep, pending, 60)).rejects.toMatchObject({ code: "BMC_POWER_TIMEOUT" });

    const resets = emu.system(id).resetCount;
    await driver.powerOn(ep);
    await driver.awaitSettingsApplied(ep, pending, 3_000);
    await driver.powerOff(ep);
    await driver.waitForPowerOff(ep, 3_000);
    const applied = emu.system(id);
    expect(applied.resetCount).toBe(resets + 2);
    expect(holdsTarget(applied)).toEqual({ inForce: false, staged: false });
    // the power-on that applied it booted nothing of ours (the Once override was used up by the boot before)
    expect(applied.boots.at(-1)!.override).toBeNull();
    expect(applied.boots.at(-1)!.iscsi.some((i) => i.iscsiBoot.PrimaryTargetName === TARGET)).toBe(false);

    expect(await driver.undoSanBoot(ep, san(evidence))).toEqual({ changed: false, changes: [] });
    expect(emu.system(id).patchCount).toBe(applied.patchCount);
  });

  it("still answers pending when the clear was staged by an earlier call and no reset applied it yet", async () => {
    const { id, ep } = system(flavour, extra);
    const evidence = await deployed(ep);
    const first = await driver.undoSanBoot(ep, san(evidence));
    const patches = emu.system(id).patchCount;

    const retried = await driver.undoSanBoot(ep, san(evidence));
    expect(retried.changed).toBe(false);
    expect(emu.system(id).patchCount).toBe(patches);
    expect(retried.pending).toEqual([expect.objectContaining({ resource_uri: first.pending![0]!.resource_uri, settings_uri: first.pending![0]!.settings_uri })]);

    await driver.powerOn(ep);
    await driver.awaitSettingsApplied(ep, retried.pending![0]!, 3_000);
    expect(holdsTarget(emu.system(id)).inForce).toBe(false);
  });
});

describe("SettingsFailed at the reset that applies a clear", () => {
  it("is reported by awaitSettingsApplied as BMC_SETTINGS_FAILED", async () => {
    const { id, ep } = system("dell");
    const evidence = await deployed(ep);
    const { pending } = await driver.undoSanBoot(ep, san(evidence));
    emu.setFaults(id, { settingsFailOnReset: true });
    await driver.powerOn(ep);
    await expect(driver.awaitSettingsApplied(ep, pending![0]!, 3_000)).rejects.toMatchObject({ code: "BMC_SETTINGS_FAILED" });
  });
});
