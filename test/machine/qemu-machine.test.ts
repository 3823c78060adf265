/**
 * QemuMachine's own behaviour (power on/off, console capture, waiting, clean-up) with a stand-in
 * for qemu-system-x86_64: a small script that writes given console output to stdout, as QEMU's
 * stdio serial console does, and then behaves as asked (keeps running, ignores SIGTERM, dies).
 * The real QEMU is in qemu.test.ts; this runs everywhere, in well under a second per case.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { QemuMachine, type IscsiBootPlan, type QemuParts } from "../../lab/machine/qemu";

const dir = mkdtempSync(join(tmpdir(), "sanboot-fake-qemu-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface FakeBehaviour {
  /** written to stdout at start, as the serial console */
  console: string;
  /** more console output after a pause */
  later?: { afterMs: number; console: string };
  ignoreSigterm?: boolean;
  /** exits by itself after this long, with this on stderr */
  exitAfterMs?: number;
  stderr?: string;
}

let fakes = 0;
function fakeQemu(b: FakeBehaviour): QemuParts {
  const script = join(dir, `qemu-${++fakes}.js`);
  writeFileSync(
    script,
    [
      `#!${process.execPath}`,
      `const b = ${JSON.stringify(b)};`,
      `require("node:fs").writeFileSync(${JSON.stringify(script + ".args")}, JSON.stringify(process.argv.slice(2)));`,
      "if (b.ignoreSigterm) process.on('SIGTERM', () => undefined);",
      "process.stdout.write(b.console);",
      "if (b.later) setTimeout(() => process.stdout.write(b.later.console), b.later.afterMs);",
      "if (b.exitAfterMs !== undefined) setTimeout(() => { process.stderr.write(b.stderr ?? ''); process.exit(1); }, b.exitAfterMs);",
      "setInterval(() => undefined, 1000);",
    ].join("\n"),
    { mode: 0o755 },
  );
  // the stand-in is started directly (no setpriv), so its PID is the one we see
  return { qemu: script, seabios: "/bios.bin", ipxeBiosRom: "/pxe.rom", ipxeEfiRom: "/efi.rom", ovmfCode: "/code.fd", ovmfVars: script };
}

const BIOS_BOOT = "\u001bcSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n\r\nRegistered SAN device 0x80\r\nBooting from SAN device 0x80\r\nSANBOOT-LAB-OS-RUNNING\r\n";
const plan: IscsiBootPlan = {
  initiator: "iqn.2026-11.org.example.sanboot:node-1",
  targets: [{ iqn: "iqn.2010-10.org.openstack:volume-1", address: "127.0.0.1", port: 3260, lun: 1 }],
  chap: { username: "user", secret: "s3cret with spaces" },
};

const machines: QemuMachine[] = [];
function machine(parts: QemuParts, over: { stopGraceMs?: number } = {}): QemuMachine {
  const m = new QemuMachine({ parts, tmpRoot: dir, stopGraceMs: over.stopGraceMs ?? 2_000, now: () => 1_000 });
  machines.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(machines.splice(0).map((m) => m.close()));
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("QemuMachine", () => {
  it("is running once the firmware wrote its first byte, and keeps the console lines with their milestones", async () => {
    const m = machine(fakeQemu({ console: BIOS_BOOT }));
    await m.start({ mode: "bios" });
    expect(m.running).toBe(true);
    await m.waitForMilestone("os", 5_000);
    expect(m.console.map((l) => [l.text, l.milestone?.milestone ?? null, l.at])).toEqual([
      ["SeaBIOS (version 1.16.2-debian-1.16.2-1)", "firmware", 1_000],
      ["", null, 1_000],
      ["Registered SAN device 0x80", "loader", 1_000],
      ["Booting from SAN device 0x80", "loader", 1_000],
      ["SANBOOT-LAB-OS-RUNNING", "os", 1_000],
    ]);
    expect(m.milestones.map((x) => x.milestone)).toEqual(["firmware", "loader", "loader", "os"]);
  });

  it("tells every line to its listeners as it completes", async () => {
    const m = machine(fakeQemu({ console: "one\r\n", later: { afterMs: 50, console: "two\r\n" } }));
    const heard: string[] = [];
    m.onLine((l) => heard.push(l.text));
    await m.start({ mode: "bios" });
    await m.waitForLine(/^two$/, 5_000);
    expect(heard).toEqual(["one", "two"]);
  });

  it("stop() ends the process it started, and the machine is off", async () => {
    const m = machine(fakeQemu({ console: BIOS_BOOT }));
    const exits: boolean[] = [];
    m.onExit((e) => exits.push(e.requested));
    await m.start({ mode: "bios" });
    const pid = m.pid!;
    await m.stop();
    expect(m.running).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(exits).toEqual([true]);
  });

  it("stop() kills a QEMU that ignores SIGTERM once the grace period is over", async () => {
    const m = machine(fakeQemu({ console: BIOS_BOOT, ignoreSigterm: true }), { stopGraceMs: 300 });
    await m.start({ mode: "bios" });
    const pid = m.pid!;
    const started = Date.now();
    await m.stop();
    expect(alive(pid)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("start() on a running machine is a power cycle: a new process, the console from the start", async () => {
    const m = machine(fakeQemu({ console: BIOS_BOOT }));
    await m.start({ mode: "bios" });
    await m.waitForMilestone("os", 5_000);
    const first = m.pid!;
    await m.start({ mode: "bios" });
    expect(alive(first)).toBe(false);
    expect(m.pid).not.toBe(first);
    await m.waitForMilestone("os", 5_000);
    expect(m.console.filter((l) => l.milestone?.milestone === "os")).toHaveLength(1);
  });

  it("rejects start() with QEMU's own message when QEMU ends before the firmware wrote anything", async () => {
    const m = machine(fakeQemu({ console: "", exitAfterMs: 10, stderr: "qemu-system-x86_64: -drive ...: Could not open '/x.fd'" }));
    await expect(m.start({ mode: "uefi" })).rejects.toMatchObject({ code: "QEMU_FAILED", message: expect.stringContaining("Could not open '/x.fd'") });
    expect(m.running).toBe(false);
  });

  it("tells its listeners when QEMU goes away by itself, and a wait for a line fails at once", async () => {
    const m = machine(fakeQemu({ console: "SeaBIOS (version 1)\r\n", exitAfterMs: 100, stderr: "guest crashed" }));
    const exits: Array<{ requested: boolean; stderr: string }> = [];
    m.onExit((e) => exits.push({ requested: e.requested, stderr: e.stderr }));
    await m.start({ mode: "bios" });
    await expect(m.waitForMilestone("os", 10_000)).rejects.toMatchObject({ code: "QEMU_FAILED" });
    expect(exits).toEqual([{ requested: false, stderr: "guest crashed" }]);
    expect(m.running).toBe(false);
  });

  it("gives up waiting with TIMEOUT, showing the last lines", async () => {
    const m = machine(fakeQemu({ console: "Booting from ROM...\r\n" }));
    await m.start({ mode: "bios" });
    await expect(m.waitForMilestone("os", 100)).rejects.toMatchObject({ code: "TIMEOUT", message: expect.stringContaining("| Booting from ROM...") });
  });

  it("writes the boot script into its own TFTP dir, readable by the owner only, and drops it for a plan without iSCSI", async () => {
    const m = machine(fakeQemu({ console: BIOS_BOOT }));
    await m.start({ mode: "bios", iscsi: plan });
    const script = join(m.workDir!, "tftp", "boot.ipxe");
    expect(readFileSync(script, "utf8")).toMatch(/^sanboot iscsi:10\.0\.2\.100::3260:1:iqn\.2010-10\.org\.openstack:volume-1$/m);
    expect(statSync(script).mode & 0o777).toBe(0o600);
    expect(statSync(m.workDir!).mode & 0o077).toBe(0);
    await m.start({ mode: "bios" });
    expect(existsSync(script)).toBe(false);
  });

  it("keeps the UEFI variable store across power cycles, as NVRAM", async () => {
    const m = machine(fakeQemu({ console: BIOS_BOOT }));
    await m.start({ mode: "uefi" });
    const vars = join(m.workDir!, "OVMF_VARS.fd");
    writeFileSync(vars, "changed by the firmware");
    await m.start({ mode: "uefi" });
    expect(readFileSync(vars, "utf8")).toBe("changed by the firmware");
  });

  it("close() stops the machine and removes its temp dir; it cannot start again", async () => {
    const m = machine(fakeQemu({ console: BIOS_BOOT }));
    await m.start({ mode: "bios", iscsi: plan });
    const pid = m.pid!;
    const work = m.workDir!;
    await m.close();
    expect(alive(pid)).toBe(false);
    expect(existsSync(work)).toBe(false);
    await expect(m.start({ mode: "bios" })).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("refuses a plan it cannot boot before starting anything", async () => {
    const parts = fakeQemu({ console: BIOS_BOOT });
    const m = machine(parts);
    await expect(m.start({ mode: "bios", iscsi: { ...plan, initiator: "not an iqn" } })).rejects.toMatchObject({ code: "INVALID_PLAN" });
    expect(existsSync(`${parts.qemu}.args`)).toBe(false);
  });
});
