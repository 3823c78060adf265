/**
 * A machine-backed system through the driver: BootProgress from the machine's console (the OS
 * loader, the OS running), a boot error read from the event log with the console's last lines,
 * the wait for OSRunning after the loader, and systems refused when no machine can back them.
 * The machine here is a scripted console (the QEMU one is tested in test/machine and end to end in
 * test/e2e/real-boot): what is under test is how the BMC and the driver read a console.
 */
import { describe, expect, it } from "vitest";
import { startRedfishEmulator } from "../../lab/redfish-emulator";
import type { MachineBackend, MachineEvents, MachinePlan, Milestone } from "../../lab/redfish-emulator/machine";
import { memoryGuard } from "../../lib/bmc/driver";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import type { SanbootError } from "../../lib/errors";

type Script = (plan: MachinePlan) => Array<[text: string, milestone?: Milestone]>;

/** A console that prints what `script` says for each start, a few ms apart. */
function scripted(script: Script, starts: MachinePlan[] = [], stops: string[] = []): MachineBackend {
  return {
    support: () => ({ ok: true }),
    create: (id, _opts, events: MachineEvents) => {
      let timers: NodeJS.Timeout[] = [];
      let running = false;
      const stop = async () => {
        timers.forEach(clearTimeout);
        timers = [];
        running = false;
        stops.push(id);
      };
      return {
        get running() {
          return running;
        },
        start: async (plan) => {
          await stop();
          running = true;
          starts.push(plan);
          script(plan).forEach(([text, milestone], i) => {
            timers.push(setTimeout(() => {
              events.line(text);
              if (milestone) events.milestone(milestone, text);
            }, 10 * (i + 1)));
          });
        },
        stop,
        close: stop,
      };
    },
  };
}

const BOOTS: Script = (plan) =>
  plan.iscsi
    ? [["SeaBIOS (version lab)", "firmware"], ["iPXE initialising devices...ok"], [`Registered SAN device 0x80`, "loader"], ["SANBOOT-LAB-OS-RUNNING", "os"]]
    : [["SeaBIOS (version lab)", "firmware"], ["No bootable device.", "failed"]];

const TARGET = "iqn.2010-10.org.openstack:volume-machine";

async function lab(backend: MachineBackend, driverOpts: ConstructorParameters<typeof RedfishDriver>[0] = {}) {
  const emu = await startRedfishEmulator({ port: 0, powerDelayMs: 10, postDelayMs: 10, machines: backend });
  const driver = new RedfishDriver({ timeoutMs: 3_000, pollIntervalMs: 10, bootLogIntervalMs: 20, ...driverOpts });
  const ep = (id: string) => ({ address: emu.url, system_id: id, username: "admin", password: "password", tls: { ca: emu.caPem } });
  return { emu, driver, ep, close: async () => (await driver.close(), await emu.close()) };
}

async function armAndBoot(l: Awaited<ReturnType<typeof lab>>, id: string, targetIp = "127.0.0.1") {
  const guard = memoryGuard();
  const found = l.emu.system(id);
  const mac = found.functions.find((f) => f.capabilities.includes("iSCSI") && !f.foreign && !f.iSCSIBoot.PrimaryTargetName)!.mac;
  await l.driver.configureIscsiBoot(l.ep(id), {
    mac_address: mac,
    initiator_name: "iqn.2026-12.org.example.sanboot:machine",
    network: { mode: "dhcp" },
    targets: [{ name: TARGET, address: targetIp, port: 3260, lun: 0 }],
    auth: { method: "CHAP", username: "u", secret: "chap-secret-machine" },
    boot_mode: "uefi",
  }, guard);
  await l.driver.setSanBootOverride(l.ep(id), { mode: "uefi", persistence: "once", targets: [TARGET] }, guard);
  const before = (await l.driver.getBootStatus(l.ep(id))).marks;
  await l.driver.powerOn(l.ep(id));
  return { guard, before };
}

describe("a machine-backed system", () => {
  it("hands the booted iSCSI device to the machine and moves BootProgress with its console", async () => {
    const starts: MachinePlan[] = [];
    const l = await lab(scripted(BOOTS, starts));
    try {
      l.emu.addSystem({ id: "m1", powerState: "Off", machine: true });
      const { guard, before } = await armAndBoot(l, "m1");
      const seen = await l.driver.waitForBoot(l.ep("m1"), { before, claims: guard.evidence.claims, timeoutMs: 5_000 });
      expect(seen).toMatchObject({ confirmed: true, evidence: expect.stringMatching(/OSRunning/) });
      expect(starts.at(-1)).toEqual({
        mode: "uefi",
        iscsi: { initiator: "iqn.2026-12.org.example.sanboot:machine", targets: [{ iqn: TARGET, address: "127.0.0.1", port: 3260, lun: 0 }], chap: { username: "u", secret: "chap-secret-machine" } },
      });
      const snap = l.emu.system("m1");
      expect(snap.BootProgress.LastState).toBe("OSRunning");
      expect(snap.machine!.console.map((c) => c.text)).toContain("SANBOOT-LAB-OS-RUNNING");
    } finally {
      await l.close();
    }
  });

  it("a boot the firmware reports failed ends the wait with BMC_BOOT_FAILED and the console's lines", async () => {
    // the BMC holds a target the NIC cannot boot: the lab firmware gets nothing to boot
    const l = await lab(scripted(() => [["SeaBIOS (version lab)", "firmware"], ["iPXE initialising devices...ok"], ["Could not open SAN device: Connection refused (http://ipxe.org/0f0c6039)", "failed"]]));
    try {
      l.emu.addSystem({ id: "m2", powerState: "Off", machine: true });
      const { guard, before } = await armAndBoot(l, "m2");
      const err = (await l.driver.waitForBoot(l.ep("m2"), { before, claims: guard.evidence.claims, timeoutMs: 5_000 }).catch((e: unknown) => e)) as SanbootError;
      expect(err.code).toBe("BMC_BOOT_FAILED");
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/Could not open SAN device: Connection refused/);
      expect(err.message).toMatch(/console showed: SeaBIOS \(version lab\) \| iPXE initialising devices/);
      expect(err.message).not.toContain("chap-secret-machine");
    } finally {
      await l.close();
    }
  });

  it("an OS that comes up after the SAN device failed is not the volume's: the boot still fails", async () => {
    const l = await lab(scripted(() => [["Could not open SAN device: No such device (http://ipxe.org/2c0d603b)", "failed"], ["Booting from Hard Disk...", "loader"], ["some other OS", "os"]]));
    try {
      l.emu.addSystem({ id: "m5", powerState: "Off", machine: true });
      const { guard, before } = await armAndBoot(l, "m5");
      const err = (await l.driver.waitForBoot(l.ep("m5"), { before, claims: guard.evidence.claims, timeoutMs: 5_000 }).catch((e: unknown) => e)) as SanbootError;
      expect(err.code).toBe("BMC_BOOT_FAILED");
    } finally {
      await l.close();
    }
  });

  it("waits for OSRunning after the loader started, and takes the loader when the BMC never reports it", async () => {
    const l = await lab(scripted(() => [["SeaBIOS (version lab)", "firmware"], ["Booting from SAN device 0x80", "loader"]]), { osRunningGraceMs: 300 });
    try {
      l.emu.addSystem({ id: "m3", powerState: "Off", machine: true });
      const { guard, before } = await armAndBoot(l, "m3");
      const t0 = Date.now();
      const seen = await l.driver.waitForBoot(l.ep("m3"), { before, claims: guard.evidence.claims, timeoutMs: 5_000 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
      expect(seen).toMatchObject({ confirmed: true, evidence: expect.stringMatching(/OSBootStarted.*no OSRunning within/) });
    } finally {
      await l.close();
    }
  });

  it("power off stops the machine; the event log and console are served as log services", async () => {
    const stops: string[] = [];
    const l = await lab(scripted(BOOTS, [], stops));
    try {
      l.emu.addSystem({ id: "m4", powerState: "Off", machine: true });
      await l.driver.powerOn(l.ep("m4"));
      await l.driver.waitForPowerOn(l.ep("m4"));
      await new Promise((r) => setTimeout(r, 150));
      // nothing armed: the firmware found nothing to boot, and said so
      expect(l.emu.system("m4").machine!.events).toEqual([expect.objectContaining({ sensorType: "Boot Error", message: "Boot failed: No bootable device." })]);
      const before = stops.length;
      expect(l.emu.system("m4").machine!.running).toBe(true);
      await l.driver.powerOff(l.ep("m4"));
      expect(stops.length).toBeGreaterThan(before);
      expect(l.emu.system("m4").machine!.running).toBe(false);
    } finally {
      await l.close();
    }
  });

  it("is refused, with the reason, when no machine can back it", async () => {
    const none = await startRedfishEmulator({ port: 0 });
    const cannot = await startRedfishEmulator({ port: 0, machines: { support: () => ({ ok: false, reason: "qemu-system-x86_64 not found (Debian package qemu-system-x86)" }), create: () => { throw new Error("unreachable"); } } });
    try {
      expect(() => none.addSystem({ machine: true })).toThrow(/no machine backend/);
      expect(() => cannot.addSystem({ machine: true })).toThrow(/qemu-system-x86_64 not found \(Debian package qemu-system-x86\)/);
      expect(none.systemIds()).toEqual([]);
      expect(cannot.systemIds()).toEqual([]);
    } finally {
      await none.close();
      await cannot.close();
    }
  });
});
