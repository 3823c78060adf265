/**
 * The driver against each emulator flavour over HTTPS: generic with a settings object and task
 * monitors, Dell-like (settings objects, jobs completing at the next reset, UefiTarget only),
 * HPE-like (BIOS UEFI iSCSI initiator), chosen from the Manager or the node's setting.
 */
import { describe, expect, it } from "vitest";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import { startRedfishEmulator } from "../../lab/redfish-emulator";
import { useLabBmc } from "./lab-bmc";
import type { BmcEndpoint, SanIscsiSpec } from "../../lib/bmc/driver";
import { createBmcDriver } from "../../lib/bmc/factory";

const lab = useLabBmc({ prefix: "fl", driver: { timeoutMs: 3_000, pollIntervalMs: 20, settingsApplyTimeoutMs: 5_000, taskTimeoutMs: 2_000 }, emulator: { powerDelayMs: 40, taskDelayMs: 30 } });
const { driver, system } = lab;

const spec: SanIscsiSpec = {
  initiator_name: "iqn.2026-11.org.example.sanboot:node-3",
  network: { mode: "static", address: "192.0.2.31", netmask: "255.255.255.0", gateway: "192.0.2.1" },
  targets: [{ name: "iqn.2010-10.org.openstack:volume-0003", address: "192.0.2.10", port: 3260, lun: 2 }],
  auth: { method: "CHAP", username: "chapuser", secret: "chap-secret-333" },
  boot_mode: "uefi",
};

const TARGETS = [spec.targets[0]!.name];
const fnOf = (id: string, uri: string) => lab.emu.system(id).functions.find((f) => f.uri === uri)!;

describe("vendor selection", () => {
  it("detects Dell and HPE from each system's Manager in a mixed lab, generic otherwise", async () => {
    const g = system();
    const d = system({ flavour: "dell" });
    const h = system({ flavour: "hpe" });
    expect(await driver.vendorOf(g.ep)).toBe("generic");
    expect(await driver.vendorOf(d.ep)).toBe("dell");
    expect(await driver.vendorOf(h.ep)).toBe("hpe");
  });

  it("honours the node's bmc.driver over detection", async () => {
    const h = system({ flavour: "hpe" });
    expect(await driver.vendorOf({ ...h.ep, driver: "redfish" })).toBe("generic");
  });

  it("reads the ServiceRoot's Vendor where one BMC is one vendor", async () => {
    const dellOnly = await startRedfishEmulator({ port: 0, systems: [{ id: "only", flavour: "dell" }] });
    const d = createBmcDriver({ timeoutMs: 3_000 });
    try {
      const ep = { address: dellOnly.url, system_id: "only", username: "admin", password: "password", tls: { ca: dellOnly.caPem } };
      expect(await (d as RedfishDriver).vendorOf(ep)).toBe("dell");
    } finally {
      await d.close();
      await dellOnly.close();
    }
  });
});

describe("generic BMC with a settings object", () => {
  it("follows the 202 task monitor, then reports the write pending until the reset", async () => {
    const { id, ep, guard } = system({ flavour: "generic-settings" });
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    expect(out.changed).toBe(true);
    expect(out.pending).toMatchObject({ apply_time: "OnReset", settings_uri: `${out.function_uri}/Settings` });
    expect(lab.emu.system(id).patches.at(-1)).toMatchObject({ status: 202, body: { "@Redfish.SettingsApplyTime": { ApplyTime: "OnReset" } } });
    expect(lab.emu.system(id).jobs[0]).toMatchObject({ kind: "task", state: "Completed" });
    expect(fnOf(id, out.function_uri)).toMatchObject({ bootMode: "Disabled", pending: { bootMode: "iSCSI" } });

    const count = lab.emu.system(id).patchCount;
    expect((await driver.configureIscsiBoot(ep, spec, guard)).changed).toBe(false);
    expect(lab.emu.system(id).patchCount).toBe(count);

    await driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: TARGETS }, guard);
    await driver.powerOn(ep);
    expect(await driver.waitForBoot(ep, { timeoutMs: 3_000, claims: guard.evidence.claims })).toMatchObject({ power_state: "On", boot_progress: expect.stringMatching(/^OS/), confirmed: true });
    await driver.awaitSettingsApplied(ep, out.pending!, 1_000);
    expect(lab.emu.system(id).boots.at(-1)!.iscsi[0]!.iscsiBoot).toMatchObject({ PrimaryTargetName: spec.targets[0]!.name, CHAPSecret: "chap-secret-333" });
  });

  it("applies Immediate settings when the task ends: nothing pending", async () => {
    const { id, ep, guard } = system({ flavour: "generic-settings", applyTimes: ["Immediate"] });
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    expect(out.pending).toBeUndefined();
    expect(fnOf(id, out.function_uri)).toMatchObject({ bootMode: "iSCSI", pending: null, iSCSIBoot: { PrimaryLUN: 2 } });
  });

  it("writes MutualCHAP, multipath and VLAN in place", async () => {
    const { id, ep, guard } = system();
    const out = await driver.configureIscsiBoot(ep, {
      ...spec,
      network: { mode: "static", address: "192.0.2.31", netmask: "255.255.255.0", vlan_id: 120 },
      targets: [spec.targets[0]!, { ...spec.targets[0]!, address: "192.0.2.11" }],
      auth: { method: "MutualCHAP", username: "u1", secret: "s1-secret-xx", mutual_username: "t1", mutual_secret: "t1-secret-yy" },
    }, guard);
    expect(fnOf(id, out.function_uri).iSCSIBoot).toMatchObject({
      AuthenticationMethod: "MutualCHAP",
      MutualCHAPUsername: "t1",
      MutualCHAPSecret: "t1-secret-yy",
      SecondaryTargetIPAddress: "192.0.2.11",
      PrimaryVLANEnable: true,
      PrimaryVLANId: 120,
      SecondaryVLANId: 120,
    });
  });
});

describe("Dell iDRAC-like", () => {
  it("stages through /Settings OnReset, answers the job, and boots the target through UefiTarget", async () => {
    const { id, ep, guard } = system({ flavour: "dell" });
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    expect(out.pending?.task_uri).toMatch(/^\/redfish\/v1\/Managers\/iDRAC\.Embedded\.1\/Jobs\/JID_[0-9A-F]+$/);
    expect(lab.emu.system(id).jobs).toEqual([expect.objectContaining({ kind: "dell-job", state: "Scheduled" })]);
    await expect(driver.awaitSettingsApplied(ep, out.pending!, 100)).rejects.toMatchObject({ code: "BMC_POWER_TIMEOUT", retryable: true });

    // No RemoteDrive: the NIC's iSCSI device path appears once the job ran at a POST.
    await driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: TARGETS }, guard);
    const snap = lab.emu.system(id);
    expect(snap.jobs[0]!.state).toBe("Completed");
    expect(snap.Boot).toMatchObject({ BootSourceOverrideTarget: "UefiTarget", BootSourceOverrideEnabled: "Once" });
    expect(snap.Boot.UefiTargetBootSourceOverride).toContain(`iSCSI(${spec.targets[0]!.name},`);
    await driver.awaitSettingsApplied(ep, out.pending!, 1_000);

    await driver.powerOn(ep);
    await driver.waitForBoot(ep, { timeoutMs: 3_000, claims: guard.evidence.claims });
    const boot = lab.emu.system(id).boots.at(-1)!;
    expect(boot.override).toMatchObject({ target: "UefiTarget" });
    expect(boot.iscsi[0]!.iscsiBoot.PrimaryTargetName).toBe(spec.targets[0]!.name);
  });

  it("creates the config job itself where the BMC takes no apply time", async () => {
    const { id, ep, guard } = system({ flavour: "dell", applyTimes: [] });
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    expect(out.pending?.task_uri).toMatch(/JID_/);
    expect(lab.emu.system(id).patches.at(-1)!.body).not.toHaveProperty("@Redfish.SettingsApplyTime");
  });

  it("refuses a PATCH of the function itself: changes go to the settings object", async () => {
    const { id, ep, guard } = system({ flavour: "dell" });
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    expect(lab.emu.system(id).patches.every((p) => p.path.endsWith("/Settings"))).toBe(true);
    expect(out.function_uri).not.toMatch(/Settings$/);
  });
});

describe("HPE iLO-like", () => {
  it("programs the BIOS UEFI iSCSI initiator, then boots the attempt through UefiTarget", async () => {
    const { id, ep, guard } = system({ flavour: "hpe" });
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    expect(out).toMatchObject({ changed: true, function_uri: `/redfish/v1/Systems/${id}/Bios/iScsi`, pending: { apply_time: "OnReset" } });
    expect(out.claim).toMatchObject({ kind: "hpe_bios_iscsi", before: { iSCSIInitiatorName: null } });
    expect(lab.emu.system(id).functions.every((f) => f.bootMode !== "iSCSI")).toBe(true);

    const count = lab.emu.system(id).patchCount;
    expect((await driver.configureIscsiBoot(ep, spec, guard)).changed).toBe(false);
    expect(lab.emu.system(id).patchCount).toBe(count);

    await driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: TARGETS }, guard);
    const attempt = lab.emu.system(id).hpeIscsi!.sources[0]!;
    expect(attempt).toMatchObject({ iSCSIAttemptName: "sanboot-1", iSCSINicSource: "NicBoot1", iSCSIChapSecret: "chap-secret-333" });
    expect(lab.emu.system(id).Boot.UefiTargetBootSourceOverride).toBe(attempt.UEFIDevicePath);

    await driver.powerOn(ep);
    await driver.waitForBoot(ep, { timeoutMs: 3_000, claims: guard.evidence.claims });
    expect(lab.emu.system(id).boots.at(-1)!.iscsi[0]!.iscsiBoot).toMatchObject({
      InitiatorName: spec.initiator_name,
      PrimaryTargetName: spec.targets[0]!.name,
      PrimaryLUN: 2,
      CHAPSecret: "chap-secret-333",
    });
  });

  it("undeploy frees our attempt and puts the initiator name back", async () => {
    const { id, ep, guard } = system({ flavour: "hpe" });
    const out = await driver.configureIscsiBoot(ep, spec, guard);
    await driver.powerOn(ep);
    await driver.waitForBoot(ep, { timeoutMs: 3_000, claims: guard.evidence.claims });
    await driver.powerOff(ep);
    expect(out.changed).toBe(true);
    expect(await driver.undoSanBoot(ep, guard.evidence.claims)).toEqual({
      changed: true,
      changes: [{ kind: "bios_iscsi", uri: `/redfish/v1/Systems/${id}/Bios/iScsi`, action: "restored" }],
      pending: [expect.objectContaining({ resource_uri: `/redfish/v1/Systems/${id}/Bios/iScsi`, settings_uri: `/redfish/v1/Systems/${id}/Bios/iScsi/Settings`, apply_time: "OnReset" })],
    });
    await driver.powerOn(ep);
    await driver.waitForBoot(ep, { timeoutMs: 3_000, claims: guard.evidence.claims });
    const hpe = lab.emu.system(id).hpeIscsi!;
    expect(hpe.initiatorName).toBeNull();
    expect(hpe.sources[0]).toMatchObject({ iSCSIAttemptInstance: 0, iSCSIConnection: "Disabled", iSCSITargetName: "", iSCSIChapSecret: null });
  });
});
