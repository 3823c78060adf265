/**
 * The console lines the lab machine's firmware really writes, and the milestones they mark.
 * The fixtures are raw serial logs recorded from Debian's SeaBIOS 1.16.2, iPXE
 * 1.0.0+git-20190125 and OVMF 2022.11 booting (or failing to boot) from a real Cinder volume
 * (record-console-fixtures.ts, which refuses to write a log holding a CHAP secret).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConsoleLines, consoleMilestone, type Milestone } from "../../lab/machine/qemu";

const FIXTURES = join(__dirname, "fixtures");

/** A recorded log through the line assembler in 7-byte pieces (chunking must not matter). */
function milestonesOf(fixture: string): Array<[Milestone, string]> {
  const raw = readFileSync(join(FIXTURES, fixture));
  const found: Array<[Milestone, string]> = [];
  const lines = new ConsoleLines((line) => {
    const m = consoleMilestone(line);
    if (m) found.push([m.milestone, m.line]);
  });
  for (let i = 0; i < raw.length; i += 7) lines.write(raw.subarray(i, i + 7));
  lines.flush();
  return found;
}

const SEABIOS = "SeaBIOS (version 1.16.2-debian-1.16.2-1)";
const IPXE_ROM = "iPXE (http://ipxe.org) 00:02.0 C000 PCI2.10 PnP PMM+0EFCF110+0EF0F110 C000";
// SeaBIOS's serial console is 80 columns wide: the banner wraps
const IPXE_BANNER_BIOS = "iPXE 1.0.0+git-20190125.36a4c85-5.1 -- Open Source Network Boot Firmware -- http";
const IPXE_BANNER_UEFI = "iPXE 1.0.0+git-20190125.36a4c85-5.1 -- Open Source Network Boot Firmware -- http://ipxe.org";
const BIOS_FIRMWARE: Array<[Milestone, string]> = [
  ["firmware", SEABIOS],
  ["firmware", IPXE_ROM],
  ["firmware", IPXE_BANNER_BIOS],
];
const SEABIOS_GIVES_UP: Array<[Milestone, string]> = [
  ["failed", "No more network devices"],
  ["failed", "Boot failed: could not read the boot disk"],
  ["failed", "Boot failed: could not read the boot disk"],
  ["failed", "No bootable device."],
];

describe("milestones in recorded boots", () => {
  it("BIOS boot from the volume: SeaBIOS and iPXE, the SAN boot, the boot sector, the OS marker", () => {
    expect(milestonesOf("bios-os-marker.serial.log")).toEqual([
      ...BIOS_FIRMWARE,
      ["loader", "Registered SAN device 0x80"],
      ["loader", "Booting from SAN device 0x80"],
      ["loader", "sanboot-lab: boot sector running"],
      ["os", "SANBOOT-LAB-OS-RUNNING"],
    ]);
  });

  it("UEFI boot from the volume: OVMF prints no banner of its own, iPXE's comes first, then GRUB", () => {
    expect(milestonesOf("uefi-os-marker.serial.log")).toEqual([
      ["firmware", IPXE_BANNER_UEFI],
      ["loader", "Registered SAN device 0x80"],
      ["loader", "Booting from SAN device 0x80"],
      ["loader", "Welcome to GRUB!"],
      ["loader", "sanboot-lab: GRUB running"],
      ["os", "SANBOOT-LAB-OS-RUNNING"],
    ]);
  });

  it("BIOS, target not exported: iPXE cannot open the SAN device, then SeaBIOS runs out of devices", () => {
    expect(milestonesOf("bios-unexported-target.serial.log")).toEqual([
      ...BIOS_FIRMWARE,
      ["failed", "Could not open SAN device: No such device (http://ipxe.org/2c0d603b)"],
      ["failed", "Could not boot image: No such device (http://ipxe.org/2c0d603b)"],
      ...SEABIOS_GIVES_UP,
    ]);
  });

  it("BIOS, wrong CHAP secret: the target refuses the login (Operation not permitted)", () => {
    expect(milestonesOf("bios-wrong-chap-secret.serial.log")).toEqual([
      ...BIOS_FIRMWARE,
      ["failed", "Could not open SAN device: Operation not permitted (http://ipxe.org/410d613c)"],
      ["failed", "Could not boot image: Operation not permitted (http://ipxe.org/410d613c)"],
      ...SEABIOS_GIVES_UP,
    ]);
  });

  it("BIOS, wrong mutual CHAP secret: iPXE refuses the target's answer (Permission denied)", () => {
    expect(milestonesOf("bios-wrong-mutual-chap-secret.serial.log")).toEqual([
      ...BIOS_FIRMWARE,
      ["failed", "Could not open SAN device: Permission denied (http://ipxe.org/020d623c)"],
      ["failed", "Could not boot image: Permission denied (http://ipxe.org/020d623c)"],
      ...SEABIOS_GIVES_UP,
    ]);
  });

  it("BIOS, no boot program: iPXE has nothing to boot, SeaBIOS says No bootable device", () => {
    expect(milestonesOf("bios-no-boot-program.serial.log")).toEqual([
      ...BIOS_FIRMWARE,
      ["failed", "Nothing to boot: No such file or directory (http://ipxe.org/2d03e13b)"],
      ...SEABIOS_GIVES_UP,
    ]);
  });

  it("UEFI, no boot program: iPXE has nothing to boot, OVMF's first boot option fails", () => {
    expect(milestonesOf("uefi-no-boot-program.serial.log")).toEqual([
      ["firmware", IPXE_BANNER_UEFI],
      ["failed", "Nothing to boot: No such file or directory (http://ipxe.org/2d03e18e)"],
      ["failed", 'BdsDxe: failed to load Boot0001 "UEFI PXEv4 (MAC:525400123456)" from PciRoot(0x0)/Pci(0x1,0x0)/MAC(525400123456,0x1): Not Found'],
    ]);
  });

  it("UEFI, target not exported: every OVMF boot option fails, and it falls back to its shell", () => {
    const found = milestonesOf("uefi-unexported-target-to-shell.serial.log");
    expect(found.slice(0, 3)).toEqual([
      ["firmware", IPXE_BANNER_UEFI],
      ["failed", "Could not open SAN device: No such device (http://ipxe.org/2c0d6087)"],
      ["failed", "Could not boot image: No such device (http://ipxe.org/2c0d6087)"],
    ]);
    expect(found.slice(3).map(([m, line]) => [m, line.replace(/" from .*/, '"')])).toEqual([
      ["failed", 'BdsDxe: failed to load Boot0001 "UEFI PXEv4 (MAC:525400123456)"'],
      ["failed", 'BdsDxe: failed to load Boot0002 "UEFI PXEv4 (MAC:525400123456) 2"'],
      ["failed", 'BdsDxe: failed to load Boot0003 "UEFI PXEv6 (MAC:525400123456)"'],
      ["failed", 'BdsDxe: failed to load Boot0004 "UEFI HTTPv4 (MAC:525400123456)"'],
      // OVMF's lines can run together on the serial port: in this recording Boot0005's device path is
      // cut short by the shell's "loading" line, so that one is not a line of its own
      ["failed", 'BdsDxe: failed to load Boot0005 "UEFI HTTPv6 (MAC:525400123456)"'],
      ["failed", 'BdsDxe: starting Boot0006 "EFI Internal Shell"'],
    ]);
  });
});

describe("consoleMilestone", () => {
  it.each([
    ["Booting from ROM...", null],
    ["iPXE initialising devices...ok", null],
    ["Configuring (net0 52:54:00:12:34:56)...... ok", null],
    ["tftp://10.0.2.2/boot.ipxe... ok", null],
    [">>Start PXE over IPv4.", null],
    ["", null],
    ["This is not a bootable disk.  Please insert a bootable floppy and", "failed"],
    ["Could not boot: No such file or directory (http://ipxe.org/2d03e13b)", "failed"],
  ] as const)("%j → %s", (line, milestone) => {
    expect(consoleMilestone(line)?.milestone ?? null).toBe(milestone);
  });

  it("keeps the line and names the rule, as evidence for the BMC's log", () => {
    expect(consoleMilestone("Could not open SAN device: No such device (http://ipxe.org/2c0d603b)")).toEqual({
      milestone: "failed",
      line: "Could not open SAN device: No such device (http://ipxe.org/2c0d603b)",
      rule: "iPXE: SAN device not opened",
    });
  });

  it("takes the OS marker the caller passes, as a string or a pattern", () => {
    expect(consoleMilestone("Debian GNU/Linux 12 node ttyS0")).toBeNull();
    expect(consoleMilestone("Debian GNU/Linux 12 node ttyS0", /^Debian GNU\/Linux \d+ \S+ ttyS0$/)?.milestone).toBe("os");
    expect(consoleMilestone("login: READY", "READY")?.milestone).toBe("os");
    expect(consoleMilestone("SANBOOT-LAB-OS-RUNNING", "READY")).toBeNull();
  });
});
