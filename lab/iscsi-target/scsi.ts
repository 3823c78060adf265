/**
 * SCSI commands of a direct-access disk (SPC-4 / SBC-3), decoded into what the transport has to
 * do: send data it computed, read or write blocks, flush, or report CHECK CONDITION with sense
 * data. Pure: no I/O here.
 *
 * Supported: TEST UNIT READY, REQUEST SENSE, INQUIRY (standard, VPD 00h 80h 83h), READ
 * CAPACITY(10), READ CAPACITY(16) (SERVICE ACTION IN(16)), READ/WRITE(6/10/16), REPORT LUNS,
 * MODE SENSE(6/10), SYNCHRONIZE CACHE(10/16), START STOP UNIT. Anything else: ILLEGAL REQUEST,
 * INVALID COMMAND OPERATION CODE.
 */
import {
  BLOCK_SIZE,
  modePages,
  modeSense10,
  modeSense6,
  readCapacity10,
  readCapacity16,
  reportLuns,
  standardInquiry,
  SUPPORTED_VPD_PAGES,
  vpdDeviceIdentification,
  vpdSerialNumber,
  vpdSupportedPages,
  type PageControl,
  type UnitIdentity,
} from "./scsi-pages";

export const ScsiStatus = { Good: 0x00, CheckCondition: 0x02, Busy: 0x08, TaskSetFull: 0x28, TaskAborted: 0x40 } as const;

export const SenseKey = { NoSense: 0x0, NotReady: 0x2, MediumError: 0x3, HardwareError: 0x4, IllegalRequest: 0x5, UnitAttention: 0x6, AbortedCommand: 0xb } as const;

export interface Sense {
  key: number;
  asc: number;
  ascq: number;
}

export const SENSE = {
  invalidOpcode: { key: SenseKey.IllegalRequest, asc: 0x20, ascq: 0x00 },
  lbaOutOfRange: { key: SenseKey.IllegalRequest, asc: 0x21, ascq: 0x00 },
  invalidFieldInCdb: { key: SenseKey.IllegalRequest, asc: 0x24, ascq: 0x00 },
  lunNotSupported: { key: SenseKey.IllegalRequest, asc: 0x25, ascq: 0x00 },
  savingParametersNotSupported: { key: SenseKey.IllegalRequest, asc: 0x39, ascq: 0x00 },
  unrecoveredReadError: { key: SenseKey.MediumError, asc: 0x11, ascq: 0x00 },
  writeError: { key: SenseKey.MediumError, asc: 0x0c, ascq: 0x00 },
  noSense: { key: SenseKey.NoSense, asc: 0x00, ascq: 0x00 },
} as const satisfies Record<string, Sense>;

export const Opcode = {
  TestUnitReady: 0x00,
  RequestSense: 0x03,
  Read6: 0x08,
  Write6: 0x0a,
  Inquiry: 0x12,
  ModeSense6: 0x1a,
  StartStopUnit: 0x1b,
  ReadCapacity10: 0x25,
  Read10: 0x28,
  Write10: 0x2a,
  SynchronizeCache10: 0x35,
  ModeSense10: 0x5a,
  Read16: 0x88,
  Write16: 0x8a,
  SynchronizeCache16: 0x91,
  ServiceActionIn16: 0x9e,
  ReportLuns: 0xa0,
} as const;

const READ_CAPACITY_16 = 0x10;

/** What the transport does for a command. */
export type ScsiPlan =
  | { kind: "data"; data: Buffer }
  | { kind: "good" }
  | { kind: "check"; sense: Sense }
  | { kind: "read"; lba: number; blocks: number }
  | { kind: "write"; lba: number; blocks: number; fua: boolean }
  | { kind: "sync" };

/** Fixed-format sense data (SPC-4 4.5.3), 18 bytes. */
export function fixedSense(s: Sense): Buffer {
  const b = Buffer.alloc(18);
  b[0] = 0x70; // current error, fixed format
  b[2] = s.key & 0x0f;
  b[7] = b.length - 8;
  b[12] = s.asc;
  b[13] = s.ascq;
  return b;
}

/** Descriptor-format sense data (SPC-4 4.5.2) without descriptors, 8 bytes. */
export function descriptorSense(s: Sense): Buffer {
  return Buffer.from([0x72, s.key & 0x0f, s.asc, s.ascq, 0, 0, 0, 0]);
}

/** What an iSCSI SCSI Response carries as its data segment: SenseLength, then the sense data. */
export function senseSegment(s: Sense): Buffer {
  const sense = fixedSense(s);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(sense.length, 0);
  return Buffer.concat([len, sense]);
}

/**
 * Decodes one CDB for `unit` (null: nothing at that LUN). `luns` are the target's LUNs, for
 * REPORT LUNS.
 */
export function planCommand(cdb: Buffer, unit: UnitIdentity | null, luns: number[]): ScsiPlan {
  const op = cdb[0]!;
  // the commands every LUN answers, with a unit behind it or not (SPC-4 §4.4.3)
  if (op === Opcode.Inquiry) return inquiry(cdb, unit);
  if (op === Opcode.ReportLuns) return reportLunsCommand(cdb, luns);
  if (op === Opcode.RequestSense) {
    const desc = (cdb[1]! & 0x01) !== 0;
    const sense = unit ? SENSE.noSense : SENSE.lunNotSupported;
    return data(desc ? descriptorSense(sense) : fixedSense(sense), cdb[4]!);
  }
  if (!unit) return check(SENSE.lunNotSupported);

  switch (op) {
    case Opcode.TestUnitReady:
    case Opcode.StartStopUnit:
      return { kind: "good" };
    case Opcode.ReadCapacity10:
      return { kind: "data", data: readCapacity10(unit) };
    case Opcode.ServiceActionIn16:
      if ((cdb[1]! & 0x1f) !== READ_CAPACITY_16) return check(SENSE.invalidFieldInCdb);
      return data(readCapacity16(unit), cdb.readUInt32BE(10));
    case Opcode.Read6:
    case Opcode.Write6: {
      const lba = ((cdb[1]! & 0x1f) << 16) | cdb.readUInt16BE(2);
      // READ(6)/WRITE(6): a transfer length of 0 means 256 blocks (SBC-3 5.7)
      const blocks = cdb[4]! === 0 ? 256 : cdb[4]!;
      return io(op === Opcode.Write6, lba, blocks, false, unit);
    }
    case Opcode.Read10:
    case Opcode.Write10:
      return io(op === Opcode.Write10, cdb.readUInt32BE(2), cdb.readUInt16BE(7), (cdb[1]! & 0x08) !== 0, unit);
    case Opcode.Read16:
    case Opcode.Write16: {
      const lba = cdb.readBigUInt64BE(2);
      if (lba > BigInt(Number.MAX_SAFE_INTEGER)) return check(SENSE.lbaOutOfRange);
      return io(op === Opcode.Write16, Number(lba), cdb.readUInt32BE(10), (cdb[1]! & 0x08) !== 0, unit);
    }
    case Opcode.SynchronizeCache10:
    case Opcode.SynchronizeCache16: {
      const lba = op === Opcode.SynchronizeCache10 ? cdb.readUInt32BE(2) : Number(cdb.readBigUInt64BE(2));
      const blocks = op === Opcode.SynchronizeCache10 ? cdb.readUInt16BE(7) : cdb.readUInt32BE(10);
      // 0 blocks: to the end of the medium
      if (lba + blocks > unit.blocks) return check(SENSE.lbaOutOfRange);
      return { kind: "sync" };
    }
    case Opcode.ModeSense6:
    case Opcode.ModeSense10:
      return modeSense(cdb, unit);
    default:
      return check(SENSE.invalidOpcode);
  }
}

function inquiry(cdb: Buffer, unit: UnitIdentity | null): ScsiPlan {
  const evpd = (cdb[1]! & 0x01) !== 0;
  const page = cdb[2]!;
  const allocation = cdb.readUInt16BE(3);
  if (!evpd) return page === 0 ? data(standardInquiry(unit), allocation) : check(SENSE.invalidFieldInCdb);
  if (!unit) return check(SENSE.lunNotSupported);
  if (!SUPPORTED_VPD_PAGES.includes(page)) return check(SENSE.invalidFieldInCdb);
  const body = page === 0x00 ? vpdSupportedPages() : page === 0x80 ? vpdSerialNumber(unit) : vpdDeviceIdentification(unit);
  return data(body, allocation);
}

function reportLunsCommand(cdb: Buffer, luns: number[]): ScsiPlan {
  const select = cdb[2]!;
  const allocation = cdb.readUInt32BE(6);
  // select 0: all LUNs; 1 (well-known LUNs only): we have none; 2: all
  if (select > 2) return check(SENSE.invalidFieldInCdb);
  return data(reportLuns(select === 1 ? [] : [...luns].sort((a, b) => a - b)), allocation);
}

function modeSense(cdb: Buffer, unit: UnitIdentity): ScsiPlan {
  const six = cdb[0] === Opcode.ModeSense6;
  const dbd = (cdb[1]! & 0x08) !== 0;
  const longLba = !six && (cdb[1]! & 0x10) !== 0;
  const pc = cdb[2]! >> 6;
  const code = cdb[2]! & 0x3f;
  const subpage = cdb[3]!;
  if (pc === 3) return check(SENSE.savingParametersNotSupported);
  // subpages: only "page 3Fh, all subpages" means something here (as page 3Fh)
  if (subpage !== 0 && !(subpage === 0xff && code === 0x3f)) return check(SENSE.invalidFieldInCdb);
  const pages = modePages(code, pc as PageControl);
  if (!pages) return check(SENSE.invalidFieldInCdb);
  return six ? data(modeSense6(unit, pages, !dbd), cdb[4]!) : data(modeSense10(unit, pages, !dbd, longLba), cdb.readUInt16BE(7));
}

function io(write: boolean, lba: number, blocks: number, fua: boolean, unit: UnitIdentity): ScsiPlan {
  if (lba + blocks > unit.blocks) return check(SENSE.lbaOutOfRange);
  if (blocks === 0) return { kind: "good" };
  return write ? { kind: "write", lba, blocks, fua } : { kind: "read", lba, blocks };
}

/** Parameter data cut to the CDB's allocation length. */
function data(body: Buffer, allocation: number): ScsiPlan {
  return { kind: "data", data: body.length > allocation ? body.subarray(0, allocation) : body };
}

function check(sense: Sense): ScsiPlan {
  return { kind: "check", sense };
}

export { BLOCK_SIZE };
