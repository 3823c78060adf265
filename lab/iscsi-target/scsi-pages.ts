/**
 * The parameter data SCSI commands answer for a 512-byte-block disk (SPC-4, SBC-3): INQUIRY and
 * its VPD pages, READ CAPACITY, MODE SENSE pages, REPORT LUNS. Pure functions of what the
 * logical unit is.
 */

export const BLOCK_SIZE = 512;

/** What the pages say about one logical unit. */
export interface UnitIdentity {
  lun: number;
  blocks: number;
  /** VPD 0x80: any ASCII */
  serial: string;
  /** NAA "locally assigned" (3h) designator, 8 bytes, stable for the unit */
  naa: Buffer;
  targetIqn: string;
}

const VENDOR = "SANBOOT ";
const PRODUCT = "LAB ISCSI DISK  ";
const REVISION = "0001";
const DIRECT_ACCESS = 0x00;
/** peripheral qualifier 011b, type 1Fh: "no logical unit here" */
const NO_UNIT = 0x7f;
const SPC4 = 0x06;
export const SUPPORTED_VPD_PAGES = [0x00, 0x80, 0x83];

/** Standard INQUIRY data; `unit` null for a LUN that has nothing behind it. */
export function standardInquiry(unit: UnitIdentity | null): Buffer {
  const b = Buffer.alloc(36, 0x20);
  b[0] = unit ? DIRECT_ACCESS : NO_UNIT;
  b[1] = 0; // not removable
  b[2] = SPC4;
  b[3] = 0x02 | 0x10; // response data format 2, HiSup (hierarchical LUN addressing)
  b[4] = b.length - 5;
  b[5] = 0;
  b[6] = 0;
  b[7] = 0x02; // CmdQue: tagged commands are queued
  b.write(VENDOR, 8, "ascii");
  b.write(PRODUCT, 16, "ascii");
  b.write(REVISION, 32, "ascii");
  return b;
}

export function vpdSupportedPages(): Buffer {
  return vpdPage(0x00, Buffer.from(SUPPORTED_VPD_PAGES));
}

export function vpdSerialNumber(unit: UnitIdentity): Buffer {
  return vpdPage(0x80, Buffer.from(unit.serial, "ascii"));
}

/**
 * Device identification: the unit's NAA name and a T10 vendor id (association: logical unit),
 * the relative target port and the target port group (association: target port, iSCSI), and the
 * target's iSCSI name (association: target device).
 */
export function vpdDeviceIdentification(unit: UnitIdentity): Buffer {
  const ISCSI = 0x5;
  const PIV = 0x80;
  const designators = [
    designator({ protocol: 0, codeSet: 1, piv: 0, association: 0, type: 0x3, value: unit.naa }),
    designator({ protocol: 0, codeSet: 2, piv: 0, association: 0, type: 0x1, value: Buffer.from(`${VENDOR}${unit.serial}`, "ascii") }),
    designator({ protocol: ISCSI, codeSet: 1, piv: PIV, association: 1, type: 0x4, value: u32(1) }),
    designator({ protocol: ISCSI, codeSet: 1, piv: PIV, association: 1, type: 0x5, value: u32(1) }),
    designator({ protocol: ISCSI, codeSet: 3, piv: PIV, association: 2, type: 0x8, value: scsiNameString(unit.targetIqn) }),
  ];
  return vpdPage(0x83, Buffer.concat(designators));
}

function designator(d: { protocol: number; codeSet: number; piv: number; association: number; type: number; value: Buffer }): Buffer {
  const head = Buffer.from([(d.protocol << 4) | d.codeSet, d.piv | (d.association << 4) | d.type, 0, d.value.length]);
  return Buffer.concat([head, d.value]);
}

/** SCSI name string: UTF-8, NUL-terminated, padded to a multiple of 4 (SPC-4 7.8.6.11). */
function scsiNameString(name: string): Buffer {
  const raw = Buffer.from(`${name}\0`, "utf8");
  const padded = Buffer.alloc(Math.ceil(raw.length / 4) * 4);
  raw.copy(padded);
  return padded;
}

function vpdPage(code: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = DIRECT_ACCESS;
  head[1] = code;
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}

export function readCapacity10(unit: UnitIdentity): Buffer {
  const b = Buffer.alloc(8);
  // past 2^32 blocks the answer is "use READ CAPACITY(16)"
  b.writeUInt32BE(Math.min(unit.blocks - 1, 0xffffffff), 0);
  b.writeUInt32BE(BLOCK_SIZE, 4);
  return b;
}

export function readCapacity16(unit: UnitIdentity): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigUInt64BE(BigInt(unit.blocks - 1), 0);
  b.writeUInt32BE(BLOCK_SIZE, 8);
  return b;
}

/** REPORT LUNS parameter data: the LUN list length, then 8 bytes a LUN. */
export function reportLuns(luns: number[]): Buffer {
  const b = Buffer.alloc(8 + luns.length * 8);
  b.writeUInt32BE(luns.length * 8, 0);
  luns.forEach((lun, i) => {
    const at = 8 + i * 8;
    if (lun < 256) b[at + 1] = lun;
    else {
      b[at] = 0x40 | ((lun >> 8) & 0x3f);
      b[at + 1] = lun & 0xff;
    }
  });
  return b;
}

// ------------------------------------------------------------------ MODE SENSE

export const MODE_PAGE_CACHING = 0x08;
export const MODE_PAGE_CONTROL = 0x0a;
export const MODE_PAGE_ALL = 0x3f;

/** page control (CDB byte 2 bits 7-6): current, changeable, default (saved is refused earlier) */
export type PageControl = 0 | 1 | 2;

/**
 * The mode pages, in page-code order. Writes land in the page cache until SYNCHRONIZE CACHE
 * (or FUA), so the caching page says so: WCE=1. Commands run concurrently: QAM=1. Nothing is
 * changeable.
 */
function modePage(code: number, pc: PageControl): Buffer | null {
  const changeable = pc === 1;
  if (code === MODE_PAGE_CACHING) {
    const p = Buffer.alloc(20);
    p[0] = MODE_PAGE_CACHING;
    p[1] = 0x12;
    if (!changeable) p[2] = 0x04; // WCE
    return p;
  }
  if (code === MODE_PAGE_CONTROL) {
    const p = Buffer.alloc(12);
    p[0] = MODE_PAGE_CONTROL;
    p[1] = 0x0a;
    if (!changeable) {
      p[3] = 0x10; // queue algorithm modifier 1: unrestricted reordering
      p.writeUInt16BE(0xffff, 8); // busy timeout period: unlimited
    }
    return p;
  }
  return null;
}

export function modePages(code: number, pc: PageControl): Buffer | null {
  if (code === MODE_PAGE_ALL) return Buffer.concat([modePage(MODE_PAGE_CACHING, pc)!, modePage(MODE_PAGE_CONTROL, pc)!]);
  return modePage(code, pc);
}

/** DPOFUA: we honour FUA on writes. */
const DEVICE_SPECIFIC = 0x10;

export function modeSense6(unit: UnitIdentity, pages: Buffer, withBlockDescriptor: boolean): Buffer {
  const descriptor = withBlockDescriptor ? shortBlockDescriptor(unit) : Buffer.alloc(0);
  const head = Buffer.alloc(4);
  head[0] = head.length + descriptor.length + pages.length - 1;
  head[2] = DEVICE_SPECIFIC;
  head[3] = descriptor.length;
  return Buffer.concat([head, descriptor, pages]);
}

export function modeSense10(unit: UnitIdentity, pages: Buffer, withBlockDescriptor: boolean, longLba: boolean): Buffer {
  const descriptor = !withBlockDescriptor ? Buffer.alloc(0) : longLba ? longBlockDescriptor(unit) : shortBlockDescriptor(unit);
  const head = Buffer.alloc(8);
  head.writeUInt16BE(head.length + descriptor.length + pages.length - 2, 0);
  head[3] = DEVICE_SPECIFIC;
  head[4] = longLba && withBlockDescriptor ? 0x01 : 0;
  head.writeUInt16BE(descriptor.length, 6);
  return Buffer.concat([head, descriptor, pages]);
}

function shortBlockDescriptor(unit: UnitIdentity): Buffer {
  const d = Buffer.alloc(8);
  d.writeUIntBE(Math.min(unit.blocks, 0xffffff), 1, 3);
  d.writeUIntBE(BLOCK_SIZE, 5, 3);
  return d;
}

function longBlockDescriptor(unit: UnitIdentity): Buffer {
  const d = Buffer.alloc(16);
  d.writeBigUInt64BE(BigInt(unit.blocks), 0);
  d.writeUInt32BE(BLOCK_SIZE, 12);
  return d;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
