/**
 * PDU layouts byte by byte against RFC 7143 §11, framing of a byte stream, text keys.
 */
import { describe, expect, it } from "vitest";
import { PduFramer } from "../../lab/iscsi-target/framer";
import { decodeInitiatorPdu, decodeLun, encodeLun, encodeTargetPdu, type RawPdu } from "../../lab/iscsi-target/pdu";
import { encodeText, parseNumber, parseText } from "../../lab/iscsi-target/text";

const numbers = { statSN: 0x01020304, expCmdSN: 0x11121314, maxCmdSN: 0x21222324 };

function raw(bhs: Buffer, data = Buffer.alloc(0)): RawPdu {
  return { bhs, ahs: Buffer.alloc(0), data };
}

describe("initiator PDUs", () => {
  it("decodes a Login Request (§11.12): T, C, CSG, NSG, versions, ISID, TSIH, ITT, CID, CmdSN", () => {
    const b = Buffer.alloc(48);
    b[0] = 0x43;
    b[1] = 0x80 | 0x40 | (1 << 2) | 3;
    b[2] = 0;
    b[3] = 0;
    Buffer.from([0x80, 1, 2, 3, 4, 5]).copy(b, 8);
    b.writeUInt16BE(0x0a0b, 14);
    b.writeUInt32BE(0xdeadbeef, 16);
    b.writeUInt16BE(7, 20);
    b.writeUInt32BE(42, 24);
    b.writeUInt32BE(43, 28);
    expect(decodeInitiatorPdu(raw(b))).toMatchObject({
      kind: "login",
      transit: true,
      cont: true,
      csg: 1,
      nsg: 3,
      isid: Buffer.from([0x80, 1, 2, 3, 4, 5]),
      tsih: 0x0a0b,
      itt: 0xdeadbeef,
      cid: 7,
      cmdSN: 42,
      expStatSN: 43,
    });
  });

  it("decodes a SCSI Command (§11.3): flags, LUN, expected length, CDB, immediate data", () => {
    const b = Buffer.alloc(48);
    b[0] = 0x01;
    b[1] = 0x80 | 0x20 | 0x01; // F, W, SIMPLE
    b[9] = 1;
    b.writeUInt32BE(5, 16);
    b.writeUInt32BE(4096, 20);
    b.writeUInt32BE(9, 24);
    Buffer.from([0x2a, 0, 0, 0, 0, 8, 0, 0, 8, 0]).copy(b, 32);
    const pdu = decodeInitiatorPdu(raw(b, Buffer.alloc(512, 7)));
    expect(pdu).toMatchObject({ kind: "scsi-command", immediate: false, final: true, read: false, write: true, attr: 1, lun: 1, itt: 5, expectedLength: 4096, cmdSN: 9 });
    expect(pdu.kind === "scsi-command" && pdu.cdb.subarray(0, 10)).toEqual(Buffer.from([0x2a, 0, 0, 0, 0, 8, 0, 0, 8, 0]));
  });

  it("decodes a Data-Out (§11.7): TTT, DataSN, buffer offset", () => {
    const b = Buffer.alloc(48);
    b[0] = 0x05;
    b[1] = 0x80;
    b.writeUInt32BE(5, 16);
    b.writeUInt32BE(0x77, 20);
    b.writeUInt32BE(3, 36);
    b.writeUInt32BE(24576, 40);
    expect(decodeInitiatorPdu(raw(b))).toMatchObject({ kind: "data-out", final: true, itt: 5, ttt: 0x77, dataSN: 3, offset: 24576 });
  });

  it("decodes the immediate bit and a Logout Request's reason (§11.14)", () => {
    const b = Buffer.alloc(48);
    b[0] = 0x46;
    b[1] = 0x80 | 1;
    b.writeUInt16BE(3, 20);
    expect(decodeInitiatorPdu(raw(b))).toMatchObject({ kind: "logout", immediate: true, reason: 1, cid: 3 });
  });
});

describe("target PDUs", () => {
  it("encodes a Login Response (§11.13) with its status class and detail at bytes 36-37", () => {
    const [b, data, pad] = encodeTargetPdu({
      kind: "login-response",
      transit: true,
      cont: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionActive: 0,
      isid: Buffer.from([0x80, 1, 2, 3, 4, 5]),
      tsih: 9,
      itt: 0xabcdef01,
      statusClass: 2,
      statusDetail: 3,
      data: Buffer.from("A=B\0"),
      ...numbers,
    });
    expect(b![0]).toBe(0x23);
    expect(b![1]).toBe(0x80 | (1 << 2) | 3);
    expect(b!.readUIntBE(5, 3)).toBe(4);
    expect(b!.subarray(8, 14)).toEqual(Buffer.from([0x80, 1, 2, 3, 4, 5]));
    expect(b!.readUInt16BE(14)).toBe(9);
    expect(b!.readUInt32BE(16)).toBe(0xabcdef01);
    expect([b!.readUInt32BE(24), b!.readUInt32BE(28), b!.readUInt32BE(32)]).toEqual([numbers.statSN, numbers.expCmdSN, numbers.maxCmdSN]);
    expect([b![36], b![37]]).toEqual([2, 3]);
    expect(data).toEqual(Buffer.from("A=B\0"));
    expect(pad).toBeUndefined();
  });

  it("clears NSG in a Login Response without the T bit", () => {
    const [b] = encodeTargetPdu({ kind: "login-response", transit: false, cont: false, csg: 0, nsg: 1, versionMax: 0, versionActive: 0, isid: Buffer.alloc(6), tsih: 0, itt: 1, statusClass: 0, statusDetail: 0, ...numbers });
    expect(b![1]).toBe(0);
  });

  it("encodes a Data-In with status (§11.7): F and S, the status byte, residual underflow, StatSN", () => {
    const [b, data, pad] = encodeTargetPdu({
      kind: "data-in",
      final: true,
      status: 0,
      residual: { overflow: false, underflow: true, count: 219 },
      lun: 1,
      itt: 5,
      dataSN: 2,
      offset: 16384,
      data: Buffer.alloc(37),
      ...numbers,
    });
    expect(b![0]).toBe(0x25);
    expect(b![1]).toBe(0x80 | 0x02 | 0x01);
    expect(b![3]).toBe(0);
    expect(b![9]).toBe(1);
    expect(b!.readUInt32BE(20)).toBe(0xffffffff);
    expect(b!.readUInt32BE(24)).toBe(numbers.statSN);
    expect([b!.readUInt32BE(36), b!.readUInt32BE(40), b!.readUInt32BE(44)]).toEqual([2, 16384, 219]);
    expect(data!.length).toBe(37);
    expect(pad).toEqual(Buffer.alloc(3)); // padded to a multiple of 4
  });

  it("leaves StatSN and the residual out of a Data-In without status", () => {
    const [b] = encodeTargetPdu({ kind: "data-in", final: false, residual: { overflow: false, underflow: true, count: 5 }, lun: 1, itt: 5, dataSN: 0, offset: 0, data: Buffer.alloc(8), ...numbers });
    expect(b![1]).toBe(0);
    expect(b!.readUInt32BE(24)).toBe(0);
    expect(b!.readUInt32BE(44)).toBe(0);
  });

  it("encodes an R2T (§11.8): TTT, R2TSN, offset, desired length", () => {
    const [b] = encodeTargetPdu({ kind: "r2t", lun: 1, itt: 5, ttt: 0x42, r2tSN: 1, offset: 65536, length: 262144, ...numbers });
    expect([b![0], b![1]]).toEqual([0x31, 0x80]);
    expect([b!.readUInt32BE(20), b!.readUInt32BE(36), b!.readUInt32BE(40), b!.readUInt32BE(44)]).toEqual([0x42, 1, 65536, 262144]);
    expect(b!.readUIntBE(5, 3)).toBe(0);
  });

  it("encodes a SCSI Response (§11.4) with CHECK CONDITION and sense in its data segment", () => {
    const sense = Buffer.concat([Buffer.from([0, 18]), Buffer.alloc(18)]);
    const [b] = encodeTargetPdu({ kind: "scsi-response", response: 0, status: 2, itt: 5, expDataSN: 3, residual: { overflow: true, underflow: false, count: 512 }, data: sense, ...numbers });
    expect([b![0], b![1], b![2], b![3]]).toEqual([0x21, 0x80 | 0x04, 0, 2]);
    expect([b!.readUInt32BE(36), b!.readUInt32BE(44)]).toEqual([3, 512]);
    expect(b!.readUIntBE(5, 3)).toBe(20);
  });

  it("encodes a Reject (§11.17) with the rejected header as data and ITT 0xffffffff", () => {
    const header = Buffer.alloc(48, 9);
    const [b, data] = encodeTargetPdu({ kind: "reject", reason: 4, header, ...numbers });
    expect([b![0], b![2], b!.readUInt32BE(16)]).toEqual([0x3f, 4, 0xffffffff]);
    expect(data).toBe(header);
  });
});

describe("LUN field", () => {
  it.each([
    [1, [0x00, 0x01]],
    [255, [0x00, 0xff]],
    [256, [0x41, 0x00]],
    [16383, [0x7f, 0xff]],
  ])("LUN %s is %j (peripheral below 256, flat space above)", (lun, bytes) => {
    const b = Buffer.alloc(8);
    encodeLun(b, 0, lun);
    expect([b[0], b[1]]).toEqual(bytes);
    expect(decodeLun(b, 0)).toBe(lun);
  });
});

describe("framing", () => {
  function pdu(opcode: number, data: Buffer): Buffer {
    const b = Buffer.alloc(48);
    b[0] = opcode;
    b.writeUIntBE(data.length, 5, 3);
    return Buffer.concat([b, data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
  }

  it("cuts PDUs out of a stream however it is chunked, skipping padding", () => {
    const stream = Buffer.concat([pdu(0x00, Buffer.from("abcde")), pdu(0x04, Buffer.alloc(0)), pdu(0x01, Buffer.alloc(9000, 1))]);
    for (const size of [1, 3, 47, 48, 49, 1000, stream.length]) {
      const f = new PduFramer();
      const out: RawPdu[] = [];
      for (let at = 0; at < stream.length; at += size) out.push(...f.push(stream.subarray(at, at + size)));
      expect(out.map((p) => [p.bhs[0], p.data.length])).toEqual([
        [0x00, 5],
        [0x04, 0],
        [0x01, 9000],
      ]);
      expect(out[0]!.data.toString()).toBe("abcde");
      expect(f.pending).toBe(0);
    }
  });

  it("skips additional header segments", () => {
    const b = Buffer.alloc(48);
    b[4] = 2; // 8 bytes of AHS
    b.writeUIntBE(4, 5, 3);
    const out = new PduFramer().push(Buffer.concat([b, Buffer.alloc(8, 0xee), Buffer.from("data")]));
    expect(out[0]!.ahs.length).toBe(8);
    expect(out[0]!.data.toString()).toBe("data");
  });
});

describe("text keys", () => {
  it("parses key=value pairs in order, values may hold '='", () => {
    expect(parseText(Buffer.from("A=1\0B=x=y\0C=\0"))).toEqual([
      ["A", "1"],
      ["B", "x=y"],
      ["C", ""],
    ]);
  });

  it("rejects an item without '='", () => {
    expect(() => parseText(Buffer.from("A=1\0junk\0"))).toThrow(/key=value/);
  });

  it("encodes each pair NUL-terminated", () => {
    expect(encodeText([["SendTargets", "All"]])).toEqual(Buffer.from("SendTargets=All\0"));
  });

  it.each([
    ["8192", 8192],
    ["0x2000", 8192],
    ["", null],
    ["12k", null],
  ])("reads the number %j as %s", (text, n) => {
    expect(parseNumber(text)).toBe(n);
  });
});
