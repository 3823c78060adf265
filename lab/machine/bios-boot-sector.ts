/**
 * The lab's BIOS disk image: a 512-byte boot sector assembled here. It writes to COM1 by port
 * I/O, so the text is on the serial log whatever the display is, then halts. First it makes one
 * BIOS teletype call (a backspace at column 0, which moves nothing): SeaBIOS's serial console
 * holds back the last character it was given until the next video call, and without that the
 * end of iPXE's "Booting from SAN device 0x80" line is lost under ours (seen with SeaBIOS 1.16).
 */
import { DEFAULT_OS_MARKER, LAB_BOOT_SECTOR_BANNER } from "./console-milestones";
import { MachineError } from "./machine-errors";

export const SECTOR = 512;
/** Code and text stay clear of the partition table (offset 446), which is left empty. */
export const PARTITION_TABLE = 446;

type Asm = number | { label: string } | { jump: number; to: string };

/** Two passes over 8086 code whose jumps are all short (opcode + rel8). */
function assemble(code: Asm[]): number[] {
  const labels = new Map<string, number>();
  let at = 0;
  for (const item of code) {
    if (typeof item === "number") at += 1;
    else if ("label" in item) labels.set(item.label, at);
    else at += 2;
  }
  const bytes: number[] = [];
  for (const item of code) {
    if (typeof item === "number") bytes.push(item);
    else if ("jump" in item) {
      const target = labels.get(item.to);
      if (target === undefined) throw new Error(`no label ${item.to}`);
      const rel = target - (bytes.length + 2);
      if (rel < -128 || rel > 127) throw new Error(`jump to ${item.to} is not short`);
      bytes.push(item.jump, rel & 0xff);
    }
  }
  return bytes;
}

const JZ = 0x74;
const JMP = 0xeb;

/** Prints the NUL-terminated text at `message` on COM1 (0x3F8), then halts for good. */
function serialPrintCode(message: number): Asm[] {
  return [
    0xb8, 0x08, 0x0e, //                 mov ax, 0x0e08     teletype backspace: flushes SeaBIOS's serial console
    0x31, 0xdb, //                       xor bx, bx         page 0
    0xcd, 0x10, //                       int 0x10
    0x31, 0xc0, //                       xor ax, ax
    0x8e, 0xd8, //                       mov ds, ax         the sector is at 0000:7C00 whatever CS says
    0xbe, message & 0xff, message >> 8, // mov si, message
    0xfc, //                             cld
    { label: "next" },
    0xac, //                             lodsb
    0x84, 0xc0, //                       test al, al
    { jump: JZ, to: "done" },
    0x88, 0xc3, //                       mov bl, al
    { label: "wait" },
    0xba, 0xfd, 0x03, //                 mov dx, 0x3fd      line status register
    0xec, //                             in al, dx
    0xa8, 0x20, //                       test al, 0x20      transmit holding register empty?
    { jump: JZ, to: "wait" },
    0xba, 0xf8, 0x03, //                 mov dx, 0x3f8      data register
    0x88, 0xd8, //                       mov al, bl
    0xee, //                             out dx, al
    { jump: JMP, to: "next" },
    { label: "done" },
    0xfa, //                             cli
    0xf4, //                             hlt
    { jump: JMP, to: "done" },
  ];
}

const LOAD_ADDRESS = 0x7c00;

export function checkMarker(marker: string): void {
  if (!/^[\x20-\x7e]{1,200}$/.test(marker) || marker.includes("'")) {
    throw new MachineError("INVALID_PLAN", `marker ${JSON.stringify(marker)}: 1 to 200 printable ASCII characters, no single quote`);
  }
}

/** A boot sector that prints the lab banner and then `marker` on COM1, and halts. */
export function biosBootSector(marker: string = DEFAULT_OS_MARKER): Buffer {
  checkMarker(marker);
  const text = Buffer.from(`${LAB_BOOT_SECTOR_BANNER}\r\n${marker}\r\n\0`, "latin1");
  // the text follows the code; the code's length does not depend on where the text is
  const code = assemble(serialPrintCode(LOAD_ADDRESS + assemble(serialPrintCode(0)).length));
  if (code.length + text.length > PARTITION_TABLE) throw new MachineError("INVALID_PLAN", `marker too long for a boot sector (${code.length + text.length} > ${PARTITION_TABLE} bytes)`);
  const sector = Buffer.alloc(SECTOR);
  Buffer.from(code).copy(sector, 0);
  text.copy(sector, code.length);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}
