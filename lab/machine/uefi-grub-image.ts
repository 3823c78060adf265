/**
 * The lab's UEFI disk image: GRUB built by grub-mkstandalone with an embedded grub.cfg that
 * prints on the serial port, as EFI/BOOT/BOOTX64.EFI on a FAT file system. iPXE's EFI sanboot
 * (Debian's 2019 build) with OVMF 2022.11 boots it from a bare FAT volume (no partition table)
 * and from an EFI system partition in an MBR table alike: both tried, both offered.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkMarker, PARTITION_TABLE, SECTOR } from "./bios-boot-sector";
import { DEFAULT_OS_MARKER, LAB_GRUB_BANNER } from "./console-milestones";
import { mustRun, toolsOrThrow, type ImageTools } from "./image-tools";
import { MachineError } from "./machine-errors";

export interface GrubImageOptions {
  marker?: string;
  /** "none": FAT on the whole disk; "mbr": an EFI system partition at 1 MiB in an MBR table */
  partitionTable?: "none" | "mbr";
  /** size of the FAT file system */
  fatMiB?: number;
  tools?: ImageTools;
  tmpRoot?: string;
}

/** grub.cfg of the lab's UEFI image: the serial port as GRUB's terminal, banner, marker, then idle. */
export function labGrubConfig(marker: string = DEFAULT_OS_MARKER): string {
  checkMarker(marker);
  return [
    "serial --unit=0 --speed=115200",
    "terminal_input serial",
    "terminal_output serial",
    `echo '${LAB_GRUB_BANNER}'`,
    `echo '${marker}'`,
    "while true; do sleep 3600; done",
    "",
  ].join("\n");
}

const GRUB_MODULES = ["normal", "echo", "serial", "terminal", "sleep", "true"];

/** The lab's UEFI disk image: GRUB as EFI/BOOT/BOOTX64.EFI on FAT. */
export async function uefiGrubImage(options: GrubImageOptions = {}): Promise<Buffer> {
  const tools = toolsOrThrow(options.tools);
  const fatMiB = options.fatMiB ?? 4;
  if (!Number.isInteger(fatMiB) || fatMiB < 2 || fatMiB > 512) throw new MachineError("INVALID_PLAN", `fatMiB ${fatMiB} is not in 2..512`);
  const dir = mkdtempSync(join(options.tmpRoot ?? tmpdir(), "sanboot-image-"));
  try {
    const cfg = join(dir, "grub.cfg");
    const efi = join(dir, "BOOTX64.EFI");
    const fat = join(dir, "esp.img");
    writeFileSync(cfg, labGrubConfig(options.marker ?? DEFAULT_OS_MARKER));
    const limit = { timeoutMs: 60_000, cwd: dir };
    await mustRun("IMAGE_BUILD_FAILED", tools.grubMkstandalone, [
      "-O",
      "x86_64-efi",
      "--locales=",
      "--fonts=",
      "--themes=",
      `--install-modules=${GRUB_MODULES.join(" ")}`,
      "--modules=serial terminal",
      "-o",
      efi,
      `boot/grub/grub.cfg=${cfg}`,
    ], limit);
    await mustRun("IMAGE_BUILD_FAILED", tools.mkfsVfat, ["-C", "-n", "SANBOOTLAB", fat, String(fatMiB * 1024)], limit);
    // mtools checks the geometry of real floppies; an image file has none to check
    const env = { ...process.env, MTOOLS_SKIP_CHECK: "1" };
    await mustRun("IMAGE_BUILD_FAILED", tools.mmd, ["-i", fat, "::/EFI", "::/EFI/BOOT"], { ...limit, env });
    await mustRun("IMAGE_BUILD_FAILED", tools.mcopy, ["-i", fat, efi, "::/EFI/BOOT/BOOTX64.EFI"], { ...limit, env });
    const fs = readFileSync(fat);
    return options.partitionTable === "mbr" ? withMbr(fs) : fs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ESP_START_LBA = 2048;
const MBR_TYPE_EFI_SYSTEM = 0xef;

/** `fs` as the one partition (type EF, at 1 MiB) of an MBR-partitioned disk. */
export function withMbr(fs: Buffer): Buffer {
  const sectors = Math.ceil(fs.length / SECTOR);
  const disk = Buffer.alloc((ESP_START_LBA + sectors) * SECTOR);
  const entry = disk.subarray(PARTITION_TABLE, PARTITION_TABLE + 16);
  entry[0] = 0x00; // not active: UEFI does not look
  entry.set([0xfe, 0xff, 0xff], 1); // CHS of the start: "use LBA"
  entry[4] = MBR_TYPE_EFI_SYSTEM;
  entry.set([0xfe, 0xff, 0xff], 5); // CHS of the end
  entry.writeUInt32LE(ESP_START_LBA, 8);
  entry.writeUInt32LE(sectors, 12);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  fs.copy(disk, ESP_START_LBA * SECTOR);
  return disk;
}
