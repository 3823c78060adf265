/**
 * Fibre Channel over HTTPS against the emulator: inventory of the HBA ports (WWPNs, no MAC),
 * boot targets written once, recorded and restored, on a generic BMC and a Dell-like one.
 */
import { describe, expect, it } from "vitest";
import { useLabBmc } from "./lab-bmc";
import { memoryGuard, type FcBootSpec } from "../../lib/bmc/driver";

const lab = useLabBmc({ prefix: "fc", driver: { timeoutMs: 3_000, pollIntervalMs: 20, settingsApplyTimeoutMs: 5_000 }, emulator: { powerDelayMs: 40 }, defaults: { fcPorts: 2 } });
const { driver, system } = lab;

const targets: FcBootSpec["targets"] = [
  { wwpn: "50:0a:09:82:88:e2:b9:b1", lun: "1" },
  { wwpn: "500a098298e2b9b1", lun: 1 },
];
const TARGETS = targets.map((t) => t.wwpn);

describe("readFcInventory", () => {
  it("lists each HBA port's WWPN and WWNN in Cinder's form, and no NIC", async () => {
    const { id, ep } = system();
    const { ports } = await driver.readFcInventory(ep);
    const fcFns = lab.emu.system(id).functions.filter((f) => f.fc);
    expect(ports).toHaveLength(2);
    expect(ports.map((p) => p.function_uri)).toEqual(fcFns.map((f) => f.uri));
    expect(ports[0]).toMatchObject({
      wwpn: fcFns[0]!.fc!.wwpn.replace(/:/g, "").toLowerCase(),
      wwnn: fcFns[0]!.fc!.wwnn.replace(/:/g, "").toLowerCase(),
      permanent_wwpn: fcFns[0]!.fc!.permanentWwpn.replace(/:/g, "").toLowerCase(),
      wwn_source: "ConfiguredLocally",
      boot_mode: "Disabled",
    });
  });

  it("answers no ports for a server without an HBA", async () => {
    const { ep } = system({ fcPorts: 0 });
    expect(await driver.readFcInventory(ep)).toEqual({ ports: [] });
  });
});

describe("configureFcBoot / undoSanBoot", () => {
  it("writes BootTargets and BootMode on the chosen port, once", async () => {
    const { id, ep, guard } = system();
    const second = (await driver.readFcInventory(ep)).ports[1]!;
    const out = await driver.configureFcBoot(ep, { wwpn: second.wwpn, targets }, guard);
    expect(out).toMatchObject({ changed: true, function_uri: second.function_uri });
    expect(out.claim).toMatchObject({ kind: "nic_fc", uri: second.function_uri, before: { BootMode: "Disabled", "FibreChannel.BootTargets": [] } });
    const fn = lab.emu.system(id).functions.find((f) => f.uri === second.function_uri)!;
    expect(fn.bootMode).toBe("FibreChannel");
    expect(fn.fc!.bootTargets).toEqual([
      { WWPN: "50:0A:09:82:88:E2:B9:B1", LUNID: "1", BootPriority: 0 },
      { WWPN: "50:0A:09:82:98:E2:B9:B1", LUNID: "1", BootPriority: 1 },
    ]);

    const count = lab.emu.system(id).patchCount;
    expect(await driver.configureFcBoot(ep, { wwpn: second.wwpn, targets }, guard)).toEqual({ changed: false, function_uri: second.function_uri });
    expect(guard.evidence.claims).toHaveLength(1);
    expect(lab.emu.system(id).patchCount).toBe(count);
  });

  it("boots the FC target through RemoteDrive and records it", async () => {
    const { id, ep, guard } = system();
    await driver.configureFcBoot(ep, { targets }, guard);
    await driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: TARGETS }, guard);
    await driver.powerOn(ep);
    await driver.waitForBoot(ep, { timeoutMs: 3_000, claims: guard.evidence.claims });
    expect(lab.emu.system(id).boots.at(-1)!.fc![0]!.bootTargets[0]!.WWPN).toBe("50:0A:09:82:88:E2:B9:B1");
  });

  it("puts back what the port held before, on the claimed port only", async () => {
    const { id, ep } = system();
    const [a, b] = (await driver.readFcInventory(ep)).ports;
    await driver.configureFcBoot(ep, { wwpn: a!.wwpn, targets: [{ wwpn: "500a0982aaaaaaaa", lun: "7" }] }, memoryGuard()); // the operator's own
    await driver.configureFcBoot(ep, { wwpn: b!.wwpn, targets: [{ wwpn: "500a0982bbbbbbbb", lun: "2" }] }, memoryGuard()); // and another
    const guard = memoryGuard();
    const ours = await driver.configureFcBoot(ep, { wwpn: a!.wwpn, targets }, guard);
    // BootMode already FibreChannel: only the targets are written, and claimed
    expect(ours.claim).toMatchObject({ before: { "FibreChannel.BootTargets": [{ WWPN: "50:0A:09:82:AA:AA:AA:AA", LUNID: "7" }] } });
    expect(ours.claim!.before).not.toHaveProperty("BootMode");
    const untouched = lab.emu.system(id).functions.find((f) => f.uri === b!.function_uri);

    expect(await driver.undoSanBoot(ep, guard.evidence.claims)).toMatchObject({ changed: true, changes: [{ kind: "function", uri: a!.function_uri }] });
    const fns = lab.emu.system(id).functions;
    expect(fns.find((f) => f.uri === a!.function_uri)!.fc!.bootTargets).toEqual([{ WWPN: "50:0A:09:82:AA:AA:AA:AA", LUNID: "7", BootPriority: 0 }]);
    expect(fns.find((f) => f.uri === b!.function_uri)).toEqual(untouched);

    const count = lab.emu.system(id).patchCount;
    expect(await driver.undoSanBoot(ep, guard.evidence.claims)).toEqual({ changed: false, changes: [] });
    expect(lab.emu.system(id).patchCount).toBe(count);
  });

  it("inventory and boot targets only on FC-typed functions: a NIC is never written as an HBA", async () => {
    const { id, ep, guard } = system({ fcPorts: 0 });
    const nic = lab.emu.system(id).functions.find((f) => f.capabilities.includes("iSCSI") && !f.foreign)!;
    await expect(driver.configureFcBoot(ep, { wwpn: "21000024ff8a7b10", targets }, guard)).rejects.toMatchObject({ code: "BMC_CAPABILITY_MISSING" });
    expect(lab.emu.system(id).functions.find((f) => f.id === nic.id)!.bootMode).toBe(nic.bootMode);
    expect(lab.emu.system(id).patchCount).toBe(0);
  });

  it("reports BMC_CAPABILITY_MISSING for an unknown WWPN and a server without FC", async () => {
    const { ep, guard } = system();
    await expect(driver.configureFcBoot(ep, { wwpn: "2100000000000001", targets }, guard)).rejects.toMatchObject({ code: "BMC_CAPABILITY_MISSING" });
    const none = system({ fcPorts: 0 });
    await expect(driver.configureFcBoot(none.ep, { targets }, none.guard)).rejects.toMatchObject({ code: "BMC_CAPABILITY_MISSING" });
  });

  it("on a Dell-like BMC stages through the job and boots the FibreEx path", async () => {
    const { id, ep, guard } = system({ flavour: "dell" });
    const out = await driver.configureFcBoot(ep, { targets }, guard);
    expect(out.pending?.task_uri).toMatch(/JID_/);
    expect((await driver.configureFcBoot(ep, { targets }, guard)).changed).toBe(false);
    await driver.setSanBootOverride(ep, { mode: "uefi", persistence: "once", targets: TARGETS }, guard);
    expect(lab.emu.system(id).Boot.UefiTargetBootSourceOverride).toMatch(/FibreEx\(0x500A098288E2B9B1,/);
  });
});

describe("a converged port (Ethernet, iSCSI and FC capable)", () => {
  it("is no FC port while Ethernet-typed; named by WWPN, is switched to FibreChannel (the BMC allows it) and switched back on undo", async () => {
    const { id, ep, guard } = system({ fcPorts: 0, converged: true });
    expect((await driver.readFcInventory(ep)).ports).toEqual([]);
    const port = lab.emu.system(id).functions.find((f) => f.fc && !f.foreign && f.netDevFuncType === "Ethernet" && !f.iSCSIBoot.PrimaryTargetName)!;
    const before = lab.emu.system(id).functions.find((f) => f.id === port.id);
    const out = await driver.configureFcBoot(ep, { wwpn: port.fc!.wwpn, targets }, guard);
    expect(out).toMatchObject({ changed: true, function_uri: port.uri, claim: { wrote: { NetDevFuncType: "FibreChannel", BootMode: "FibreChannel" }, before: { NetDevFuncType: "Ethernet" } } });
    expect(lab.emu.system(id).functions.find((f) => f.id === port.id)).toMatchObject({ netDevFuncType: "FibreChannel", bootMode: "FibreChannel" });
    expect((await driver.readFcInventory(ep)).ports.map((p) => p.function_uri)).toEqual([port.uri]);

    await driver.undoSanBoot(ep, guard.evidence.claims);
    expect(lab.emu.system(id).functions.find((f) => f.id === port.id)).toEqual(before);
  });

  it("is refused, writing nothing, where the BMC does not list FibreChannel among its personalities", async () => {
    const { id, ep, guard } = system({ fcPorts: 0 });
    const nic = lab.emu.system(id).functions.find((f) => f.capabilities.includes("iSCSI") && !f.foreign)!;
    await expect(driver.configureFcBoot(ep, { wwpn: "2100000000000099", targets }, guard)).rejects.toMatchObject({ code: "BMC_CAPABILITY_MISSING" });
    expect(lab.emu.system(id).functions.find((f) => f.id === nic.id)!.netDevFuncType).toBe("Ethernet");
    expect(lab.emu.system(id).patchCount).toBe(0);
  });
});
