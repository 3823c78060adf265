/**
 * What a console line says about how far the boot got, for the BMC to turn into Redfish
 * BootProgress (a suggestion: firmware → PCIResourceConfigStarted / SystemHardwareInitialization-
 * Complete, loader → OSBootStarted, os → OSRunning, failed → the last state stays and the line
 * goes into the log as the reason).
 *
 * The patterns are the lines Debian's SeaBIOS 1.16, iPXE 1.0.0+git-20190125 and OVMF 2022.11 put
 * on the serial console here (recorded in test/machine/console-milestones.test.ts), after
 * console-lines.ts has taken out colours and cursor moves.
 *
 * "failed" is not always the end: SeaBIOS and OVMF go on to their next boot device after one
 * fails, and OVMF ends in its shell when none is left (the UEFI way of saying "No bootable
 * device"). A line is classified on its own; what follows is the caller's to judge.
 */
export type Milestone = "firmware" | "loader" | "os" | "failed";

export interface ConsoleMilestone {
  milestone: Milestone;
  /** the console line, as evidence */
  line: string;
  /** which rule matched, e.g. "iPXE: SAN device not opened" */
  rule: string;
}

/** What the lab's images print when the "operating system" is up (images.ts). */
export const DEFAULT_OS_MARKER = "SANBOOT-LAB-OS-RUNNING";
/** What the lab's images print first, so their start shows as "loader". */
export const LAB_BOOT_SECTOR_BANNER = "sanboot-lab: boot sector running";
export const LAB_GRUB_BANNER = "sanboot-lab: GRUB running";

interface Rule {
  milestone: Exclude<Milestone, "os">;
  rule: string;
  pattern: RegExp;
}

// Checked in order: failures first, since a failure line may name a boot stage.
const RULES: readonly Rule[] = [
  // iPXE, e.g. "Could not open SAN device: No such device (http://ipxe.org/2c0d603b)"
  { milestone: "failed", rule: "iPXE: SAN device not opened", pattern: /^Could not open SAN device:/ },
  // "Could not boot image: ..." (a script that failed), "Could not boot: ..." (autoboot)
  { milestone: "failed", rule: "iPXE: could not boot", pattern: /^Could not boot\b/ },
  // DHCP gave no boot file: "Nothing to boot: No such file or directory (http://ipxe.org/2d03e13b)"
  { milestone: "failed", rule: "iPXE: nothing to boot", pattern: /^Nothing to boot:/ },
  { milestone: "failed", rule: "iPXE: no more network devices", pattern: /^No more network devices/ },
  // SeaBIOS, per device and at the end of its list
  { milestone: "failed", rule: "SeaBIOS: boot failed", pattern: /^Boot failed: / },
  { milestone: "failed", rule: "SeaBIOS: no bootable device", pattern: /^No bootable device\./ },
  // OVMF, per boot option: 'BdsDxe: failed to load Boot0001 "UEFI PXEv4 (MAC:...)" from ...: Not Found'
  { milestone: "failed", rule: "OVMF: boot option failed", pattern: /^BdsDxe: failed to load Boot[0-9A-F]{4}\b/ },
  // OVMF falling back to its shell: no boot option left
  { milestone: "failed", rule: "OVMF: fell back to the shell", pattern: /^BdsDxe: (loading|starting) Boot[0-9A-F]{4} "EFI Internal Shell"/ },
  // the boot code mkfs.vfat puts on a FAT volume (a UEFI-only disk booted in BIOS mode)
  { milestone: "failed", rule: "FAT boot code: not a bootable disk", pattern: /^This is not a bootable disk\./ },

  { milestone: "loader", rule: "iPXE: SAN device registered", pattern: /^Registered SAN device 0x[0-9a-f]+/ },
  { milestone: "loader", rule: "iPXE: booting from SAN", pattern: /^Booting from SAN device 0x[0-9a-f]+/ },
  { milestone: "loader", rule: "lab boot sector started", pattern: new RegExp(`^${LAB_BOOT_SECTOR_BANNER}`) },
  { milestone: "loader", rule: "GRUB started", pattern: /^Welcome to GRUB!/ },
  { milestone: "loader", rule: "lab GRUB image started", pattern: new RegExp(`^${LAB_GRUB_BANNER}`) },

  { milestone: "firmware", rule: "SeaBIOS banner", pattern: /^SeaBIOS \(version / },
  // the option ROM's POST line in BIOS mode: "iPXE (http://ipxe.org) 00:02.0 C000 PCI2.10 PnP PMM..."
  { milestone: "firmware", rule: "iPXE option ROM", pattern: /^iPXE \(http:\/\/ipxe\.org\) / },
  // "iPXE 1.0.0+git-20190125.36a4c85-5.1 -- Open Source Network Boot Firmware -- http://ipxe.org"
  { milestone: "firmware", rule: "iPXE banner", pattern: /^iPXE \S+ -- Open Source Network Boot Firmware/ },
];

/**
 * The milestone a console line marks, or null for the lines in between. `osMarker`: the line the
 * operating system prints once it runs (default: the lab images' DEFAULT_OS_MARKER).
 */
export function consoleMilestone(line: string, osMarker: RegExp | string = DEFAULT_OS_MARKER): ConsoleMilestone | null {
  const text = line.trim();
  if (text === "") return null;
  const os = typeof osMarker === "string" ? text.includes(osMarker) : osMarker.test(text);
  if (os) return { milestone: "os", line, rule: "OS marker" };
  for (const r of RULES) {
    if (r.pattern.test(text)) return { milestone: r.milestone, line, rule: r.rule };
  }
  return null;
}
