/**
 * Bootable disk images that say on the serial console that they run, built from what Debian
 * ships (no download), and the way a user puts one on a volume: written over iSCSI.
 * - BIOS: bios-boot-sector.ts, a boot sector assembled here that prints on COM1.
 * - UEFI: uefi-grub-image.ts, GRUB standalone as EFI/BOOT/BOOTX64.EFI on FAT (bare or in MBR).
 * - iscsi-image-write.ts: the image onto a LUN with qemu-io, CHAP secret from a private file.
 */
export { biosBootSector, checkMarker, SECTOR } from "./bios-boot-sector";
export { uefiGrubImage, labGrubConfig, withMbr, type GrubImageOptions } from "./uefi-grub-image";
export { writeImageToIscsi, type IscsiImageWrite } from "./iscsi-image-write";
export { imageToolsSupport, type ImageTools, type ImageToolsSupport } from "./image-tools";
