/**
 * SCSI command decoding (SPC-4, SBC-3) for a 512-byte-block disk: what each CDB asks the
 * transport to do, and the parameter data it answers.
 */
import { describe, expect, it } from "vitest";
import { planCommand, SENSE, fixedSense, descriptorSense } from "../../lab/iscsi-target/scsi";
import type { UnitIdentity } from "../../lab/iscsi-target/scsi-pages";

const unit: UnitIdentity = { lun: 1, blocks: 2097152, serial: "0c5f2e4a", naa: Buffer.from("3011223344556677", "hex"), targetIqn: "iqn.2010-10.org.openstack:volume-1" };

function cdb(...bytes: number[]): Buffer {
  const b = Buffer.alloc(16);
  Buffer.from(bytes).copy(b);
  return b;
}

function data(plan: ReturnType<typeof planCommand>): Buffer {
  if (plan.kind !== "data") throw new Error(`expected data, got ${JSON.stringify(plan)}`);
  return plan.data;
}

describe("block I/O", () => {
  it.each([
    ["READ(6)", cdb(0x08, 0x01, 0x02, 0x03, 4), { kind: "read", lba: 0x010203, blocks: 4 }],
    ["READ(6) with length 0 (256 blocks)", cdb(0x08, 0, 0, 0, 0), { kind: "read", lba: 0, blocks: 256 }],
    ["WRITE(6)", cdb(0x0a, 0, 0, 8, 1), { kind: "write", lba: 8, blocks: 1, fua: false }],
    ["READ(10)", cdb(0x28, 0, 0, 0, 1, 0, 0, 0, 8, 0), { kind: "read", lba: 256, blocks: 8 }],
    ["WRITE(10) with FUA", cdb(0x2a, 0x08, 0, 0, 0, 2, 0, 0, 1, 0), { kind: "write", lba: 2, blocks: 1, fua: true }],
    ["READ(16)", cdb(0x88, 0, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0, 0, 0, 1, 0, 0), { kind: "read", lba: 0x1fffff, blocks: 1 }],
    ["WRITE(16)", cdb(0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0), { kind: "write", lba: 0, blocks: 256, fua: false }],
    ["a zero-length READ(10)", cdb(0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0), { kind: "good" }],
    ["SYNCHRONIZE CACHE(10)", cdb(0x35), { kind: "sync" }],
    ["SYNCHRONIZE CACHE(16)", cdb(0x91), { kind: "sync" }],
    ["TEST UNIT READY", cdb(0x00), { kind: "good" }],
    ["START STOP UNIT", cdb(0x1b, 0, 0, 0, 1), { kind: "good" }],
  ])("%s", (_name, c, plan) => {
    expect(planCommand(c, unit, [1])).toEqual(plan);
  });

  it.each([
    ["READ(10) past the end", cdb(0x28, 0, 0, 0x20, 0, 0, 0, 0, 1, 0)],
    ["WRITE(16) ending past the end", cdb(0x8a, 0, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0, 0, 0, 2, 0, 0)],
    ["READ(16) with an LBA beyond 2^53", cdb(0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0)],
  ])("%s: LOGICAL BLOCK ADDRESS OUT OF RANGE", (_name, c) => {
    expect(planCommand(c, unit, [1])).toEqual({ kind: "check", sense: SENSE.lbaOutOfRange });
  });
});

describe("parameter data", () => {
  it("standard INQUIRY: a direct-access SPC-4 disk that queues commands, cut to the allocation length", () => {
    const d = data(planCommand(cdb(0x12, 0, 0, 0, 36), unit, [1]));
    expect([d[0], d[2], d[3]! & 0x0f, d[4], d[7]! & 0x02]).toEqual([0x00, 0x06, 2, 31, 0x02]);
    expect(d.subarray(8, 36).toString("ascii")).toBe("SANBOOT LAB ISCSI DISK  0001");
    expect(data(planCommand(cdb(0x12, 0, 0, 0, 5), unit, [1])).length).toBe(5);
  });

  it("INQUIRY at a LUN with nothing behind it: peripheral qualifier 011b, type 1Fh", () => {
    expect(data(planCommand(cdb(0x12, 0, 0, 0, 36), null, [1]))[0]).toBe(0x7f);
  });

  it("VPD 00h lists 00h, 80h, 83h; VPD 80h is the serial", () => {
    expect([...data(planCommand(cdb(0x12, 1, 0x00, 0, 255), unit, [1]))]).toEqual([0, 0, 0, 3, 0x00, 0x80, 0x83]);
    expect(data(planCommand(cdb(0x12, 1, 0x80, 0, 255), unit, [1])).subarray(4).toString()).toBe("0c5f2e4a");
  });

  it("VPD 83h: the NAA name first, and the target's iSCSI name as a SCSI name string", () => {
    const d = data(planCommand(cdb(0x12, 1, 0x83, 0, 255), unit, [1]));
    expect(d.readUInt16BE(2)).toBe(d.length - 4);
    expect([d[4], d[5], d[7]]).toEqual([0x01, 0x03, 8]);
    expect(d.subarray(8, 16)).toEqual(unit.naa);
    const iqnAt = d.indexOf(unit.targetIqn);
    expect(d[iqnAt - 4]).toBe(0x53); // iSCSI protocol, UTF-8
    expect(d[iqnAt - 3]).toBe(0x80 | 0x20 | 0x08); // PIV, target device, SCSI name string
  });

  it.each([
    ["EVPD 0 with a page code", cdb(0x12, 0, 0x80, 0, 255)],
    ["a VPD page it does not have", cdb(0x12, 1, 0xb0, 0, 255)],
    ["SERVICE ACTION IN(16) other than READ CAPACITY(16)", cdb(0x9e, 0x12)],
    ["MODE SENSE of a page it does not have", cdb(0x1a, 0, 0x1c, 0, 255)],
    ["MODE SENSE of a subpage", cdb(0x1a, 0, 0x08, 0x01, 255)],
  ])("%s: INVALID FIELD IN CDB", (_name, c) => {
    expect(planCommand(c, unit, [1])).toEqual({ kind: "check", sense: SENSE.invalidFieldInCdb });
  });

  it("READ CAPACITY(10) and (16): the last LBA and 512-byte blocks", () => {
    expect([...data(planCommand(cdb(0x25), unit, [1]))]).toEqual([0x00, 0x1f, 0xff, 0xff, 0, 0, 2, 0]);
    const d16 = data(planCommand(cdb(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32), unit, [1]));
    expect([d16.length, d16.readBigUInt64BE(0), d16.readUInt32BE(8)]).toEqual([32, 2097151n, 512]);
  });

  it("READ CAPACITY(10) of a disk past 2^32 blocks says FFFFFFFFh: ask READ CAPACITY(16)", () => {
    expect(data(planCommand(cdb(0x25), { ...unit, blocks: 2 ** 33 }, [1])).readUInt32BE(0)).toBe(0xffffffff);
  });

  it("REPORT LUNS lists the target's LUNs in order", () => {
    const d = data(planCommand(cdb(0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0), null, [300, 1]));
    expect(d.readUInt32BE(0)).toBe(16);
    expect([d[8], d[9], d[16], d[17]]).toEqual([0x00, 0x01, 0x41, 0x2c]);
  });

  it("MODE SENSE(6) all pages: header, block descriptor, caching page with WCE, control page", () => {
    const d = data(planCommand(cdb(0x1a, 0, 0x3f, 0, 255), unit, [1]));
    expect([d[0], d[2], d[3]]).toEqual([d.length - 1, 0x10, 8]);
    expect(d.readUIntBE(4 + 5, 3)).toBe(512);
    expect([d[12], d[13], d[14]! & 0x04]).toEqual([0x08, 0x12, 0x04]);
    expect([d[32], d[33]]).toEqual([0x0a, 0x0a]);
  });

  it("MODE SENSE(10) with LLBAA and no DBD: a long block descriptor", () => {
    const d = data(planCommand(cdb(0x5a, 0x10, 0x08, 0, 0, 0, 0, 0, 255), unit, [1]));
    expect([d.readUInt16BE(0), d[4], d.readUInt16BE(6)]).toEqual([d.length - 2, 1, 16]);
    expect(d.readBigUInt64BE(8)).toBe(BigInt(unit.blocks));
  });

  it("MODE SENSE of saved values: SAVING PARAMETERS NOT SUPPORTED", () => {
    expect(planCommand(cdb(0x1a, 0, 0xc0 | 0x08, 0, 255), unit, [1])).toEqual({ kind: "check", sense: SENSE.savingParametersNotSupported });
  });

  it("REQUEST SENSE: no sense, fixed or descriptor format as asked", () => {
    expect(data(planCommand(cdb(0x03, 0, 0, 0, 252), unit, [1]))).toEqual(fixedSense(SENSE.noSense));
    expect(data(planCommand(cdb(0x03, 1, 0, 0, 252), unit, [1]))).toEqual(descriptorSense(SENSE.noSense));
  });
});

describe("what it does not do", () => {
  it.each([
    ["UNMAP", 0x42],
    ["REPORT SUPPORTED OPERATION CODES", 0xa3],
    ["WRITE SAME(16)", 0x93],
    ["PERSISTENT RESERVE IN", 0x5e],
    ["READ(12)", 0xa8],
  ])("%s: ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE", (_name, op) => {
    expect(planCommand(cdb(op), unit, [1])).toEqual({ kind: "check", sense: SENSE.invalidOpcode });
  });

  it("any command but INQUIRY, REPORT LUNS and REQUEST SENSE at an empty LUN: LOGICAL UNIT NOT SUPPORTED", () => {
    expect(planCommand(cdb(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), null, [1])).toEqual({ kind: "check", sense: SENSE.lunNotSupported });
  });

  it("fixed-format sense: response code 70h, the key, additional length 10, ASC and ASCQ", () => {
    expect([...fixedSense(SENSE.invalidOpcode)]).toEqual([0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0]);
  });
});
