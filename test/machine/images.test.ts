import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { biosBootSector, imageToolsSupport, labGrubConfig, withMbr } from "../../lab/machine/images";
import { qemuSupport } from "../../lab/machine/qemu-support";

describe("biosBootSector", () => {
  const sector = biosBootSector();

  it("is one 512-byte sector with the boot signature", () => {
    expect(sector.length).toBe(512);
    expect([sector[510], sector[511]]).toEqual([0x55, 0xaa]);
  });

  it("first flushes SeaBIOS's serial console with a teletype backspace (mov ax,0x0e08; xor bx,bx; int 0x10)", () => {
    expect([...sector.subarray(0, 7)]).toEqual([0xb8, 0x08, 0x0e, 0x31, 0xdb, 0xcd, 0x10]);
  });

  it("points SI at its text, which follows the code: the lab banner, then the marker", () => {
    // mov si, imm16 right after xor ax,ax / mov ds,ax
    expect(sector[11]).toBe(0xbe);
    const text = sector.readUInt16LE(12) - 0x7c00;
    const end = sector.indexOf(0, text);
    expect(sector.toString("latin1", text, end)).toBe("sanboot-lab: boot sector running\r\nSANBOOT-LAB-OS-RUNNING\r\n");
  });

  it("writes to COM1 by port I/O (out dx, al with dx = 0x3f8) and halts", () => {
    expect(sector.includes(Buffer.from([0xba, 0xf8, 0x03]))).toBe(true);
    expect(sector.includes(Buffer.from([0xee]))).toBe(true);
    expect(sector.includes(Buffer.from([0xfa, 0xf4, 0xeb, 0xfc]))).toBe(true); // cli; hlt; jmp back to cli
  });

  it("leaves the partition table empty", () => {
    expect(sector.subarray(446, 510).every((b) => b === 0)).toBe(true);
  });

  it("prints the marker it is given, and refuses one it cannot carry", () => {
    expect(biosBootSector("NODE-7 UP").includes(Buffer.from("\r\nNODE-7 UP\r\n\0"))).toBe(true);
    expect(() => biosBootSector("tab\there")).toThrow(/printable ASCII/);
    expect(() => biosBootSector("x".repeat(201))).toThrow(/printable ASCII/);
  });
});

describe("labGrubConfig", () => {
  it("makes the serial port GRUB's terminal, echoes the banner and the marker, then idles", () => {
    expect(labGrubConfig("NODE-7 UP").split("\n")).toEqual([
      "serial --unit=0 --speed=115200",
      "terminal_input serial",
      "terminal_output serial",
      "echo 'sanboot-lab: GRUB running'",
      "echo 'NODE-7 UP'",
      "while true; do sleep 3600; done",
      "",
    ]);
  });

  it("refuses a marker that would end GRUB's quoting", () => {
    expect(() => labGrubConfig("it's")).toThrow(/single quote/);
  });
});

describe("withMbr", () => {
  it("puts the file system at 1 MiB as the one partition, type EF (EFI system)", () => {
    const fs = Buffer.alloc(4 * 1024 * 1024, 0xab);
    const disk = withMbr(fs);
    expect(disk.length).toBe(1024 * 1024 + fs.length);
    expect(disk[446 + 4]).toBe(0xef);
    expect(disk.readUInt32LE(446 + 8)).toBe(2048);
    expect(disk.readUInt32LE(446 + 12)).toBe(fs.length / 512);
    expect(disk.subarray(462, 510).every((b) => b === 0)).toBe(true);
    expect([disk[510], disk[511]]).toEqual([0x55, 0xaa]);
    expect(disk.subarray(2048 * 512).equals(fs)).toBe(true);
  });
});

describe("what is missing, and which Debian package ships it", () => {
  const dir = mkdtempSync(join(tmpdir(), "sanboot-support-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names every missing QEMU part with its package", () => {
    const none = join(dir, "nothing-here");
    const s = qemuSupport({
      searchPath: [dir],
      candidates: { seabios: [none], ipxeBiosRom: [none], ipxeEfiRom: [none], ovmfCode: [none], ovmfVars: [none] },
    });
    expect(s.ok).toBe(false);
    if (s.ok) return;
    expect(s.missing.map((m) => [m.what, m.debianPackage])).toEqual([
      ["qemu-system-x86_64", "qemu-system-x86"],
      ["SeaBIOS (bios-256k.bin)", "seabios"],
      ["iPXE legacy ROM for e1000 (pxe-e1000.rom)", "ipxe-qemu"],
      ["iPXE EFI ROM for e1000 (efi-e1000.rom)", "ipxe-qemu"],
      ["OVMF firmware code (OVMF_CODE_4M.fd)", "ovmf"],
      ["OVMF variable store template (OVMF_VARS_4M.fd)", "ovmf"],
    ]);
    expect(s.reason).toContain(`qemu-system-x86_64 not found (looked at ${join(dir, "qemu-system-x86_64")}; Debian package qemu-system-x86)`);
  });

  it("is ok, with every path, when all parts are there", () => {
    const file = (name: string) => {
      const p = join(dir, name);
      writeFileSync(p, "", { mode: 0o755 });
      return p;
    };
    const qemu = file("qemu-system-x86_64");
    const s = qemuSupport({
      searchPath: [dir],
      candidates: { seabios: [file("bios.bin")], ipxeBiosRom: [file("pxe.rom")], ipxeEfiRom: [file("efi.rom")], ovmfCode: [file("code.fd")], ovmfVars: [file("vars.fd")] },
    });
    expect(s).toMatchObject({ ok: true, qemu, seabios: join(dir, "bios.bin"), ovmfVars: join(dir, "vars.fd") });
  });

  it("names the image tools that are missing", () => {
    const s = imageToolsSupport([dir]);
    expect(s.ok).toBe(false);
    if (s.ok) return;
    expect(s.missing.map((m) => m.debianPackage)).toEqual(expect.arrayContaining(["grub-common", "dosfstools", "mtools", "qemu-utils"]));
  });
});
