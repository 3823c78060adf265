/**
 * The QEMU command line of a lab machine: one vCPU, 256 MiB, TCG (with KVM, iPXE resets the
 * guest right after its banner on these hosts), no display, the serial console on stdio, one
 * e1000 NIC on a user-mode network that reaches nothing but TFTP and the iSCSI forwards.
 *
 * - BIOS: SeaBIOS with the iPXE legacy ROM; `graphics=off` makes SeaBIOS put its screen (and
 *   iPXE's, which writes through the BIOS) on the serial port.
 * - UEFI: q35 with OVMF, the code read-only and a private copy of the variable store, and the
 *   iPXE ROM that carries the EFI driver.
 * - `restrict=on`: the guest cannot reach the host or beyond; TFTP and the guestfwd targets
 *   are served by QEMU itself.
 */
import type { QemuParts } from "./qemu-support";
import { guestForwards, type IscsiBootPlan } from "./ipxe-script";

export type BootMode = "bios" | "uefi";

export interface MachinePlan {
  mode: BootMode;
  /** the NIC's iSCSI boot settings; without them the NIC has no boot program to run */
  iscsi?: IscsiBootPlan;
}

export interface MachinePaths {
  /** TFTP root holding BOOT_SCRIPT */
  tftpDir: string;
  /** QEMU writes the raw serial output here as well */
  consoleLog: string;
  /** the machine's own copy of OVMF_VARS (UEFI) */
  ovmfVars: string;
  /** the relay started for each guest connection to a target */
  relayScript: string;
  /** node, to run the relay */
  node: string;
}

export interface MachineHardware {
  memoryMiB: number;
  mac: string;
  name: string;
}

export const BOOT_SCRIPT = "boot.ipxe";

/** A value inside a QEMU option list: a comma is written twice. */
export function qemuOptValue(value: string): string {
  return value.replace(/,/g, ",,");
}

/** Quoted for the argument splitting QEMU's user-net does on a guestfwd `cmd:`. */
function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function netdevOption(plan: MachinePlan, paths: MachinePaths): string {
  const opts = ["user", "id=net0", "restrict=on"];
  if (plan.iscsi) {
    opts.push(`tftp=${qemuOptValue(paths.tftpDir)}`, `bootfile=${BOOT_SCRIPT}`);
    for (const fwd of guestForwards(plan.iscsi)) {
      const relay = [shellWord(paths.node), "--no-warnings", shellWord(paths.relayScript), shellWord(fwd.target.address), String(fwd.target.port)].join(" ");
      opts.push(`guestfwd=${qemuOptValue(`tcp:${fwd.guestAddress}:${fwd.guestPort}-cmd:${relay}`)}`);
    }
  }
  return opts.join(",");
}

export function qemuArgs(parts: QemuParts, plan: MachinePlan, paths: MachinePaths, hw: MachineHardware): string[] {
  const firmware =
    plan.mode === "bios"
      ? ["-machine", "pc,graphics=off", "-bios", parts.seabios]
      : [
          "-machine",
          "q35,graphics=off",
          "-drive",
          `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptValue(parts.ovmfCode)}`,
          "-drive",
          `if=pflash,format=raw,unit=1,file=${qemuOptValue(paths.ovmfVars)}`,
        ];
  const rom = plan.mode === "bios" ? parts.ipxeBiosRom : parts.ipxeEfiRom;
  return [
    "-nodefaults",
    "-no-user-config",
    "-name",
    qemuOptValue(hw.name),
    "-accel",
    "tcg",
    ...firmware,
    "-m",
    String(hw.memoryMiB),
    "-smp",
    "1",
    "-display",
    "none",
    "-monitor",
    "none",
    "-chardev",
    `stdio,id=console0,signal=off,logfile=${qemuOptValue(paths.consoleLog)},logappend=off`,
    "-serial",
    "chardev:console0",
    "-netdev",
    netdevOption(plan, paths),
    "-device",
    `e1000,netdev=net0,mac=${hw.mac},romfile=${qemuOptValue(rom)},bootindex=1`,
  ];
}
