/**
 * iSCSI PDUs on the wire (RFC 7143 §11): the 48-byte Basic Header Segment, framing of a TCP byte
 * stream into PDUs, decoding what an initiator sends and encoding what a target answers.
 * Digests are never negotiated here (HeaderDigest=DataDigest=None), so a PDU is
 * BHS + AHS + data segment padded to a multiple of 4 bytes.
 *
 * Sequence numbers (StatSN, ExpCmdSN, MaxCmdSN) are plain fields: the connection fills them in
 * when it sends, so the order on the wire is the order of the numbers.
 */

export const BHS_LENGTH = 48;
/** "no task" / "no transfer tag" */
export const RESERVED_TAG = 0xffffffff;

export const Op = {
  NopOut: 0x00,
  ScsiCommand: 0x01,
  TaskMgmtRequest: 0x02,
  LoginRequest: 0x03,
  TextRequest: 0x04,
  DataOut: 0x05,
  LogoutRequest: 0x06,
  Snack: 0x10,
  NopIn: 0x20,
  ScsiResponse: 0x21,
  TaskMgmtResponse: 0x22,
  LoginResponse: 0x23,
  TextResponse: 0x24,
  DataIn: 0x25,
  LogoutResponse: 0x26,
  R2T: 0x31,
  AsyncMessage: 0x32,
  Reject: 0x3f,
} as const;

/** Login stages (CSG / NSG, §11.12.3). */
export const Stage = { Security: 0, Operational: 1, FullFeature: 3 } as const;

/** One PDU as framed off the stream, not yet interpreted. */
export interface RawPdu {
  bhs: Buffer;
  ahs: Buffer;
  data: Buffer;
}

// ------------------------------------------------------------------ initiator → target

export type InitiatorPdu =
  | { kind: "nop-out"; immediate: boolean; lun: number; itt: number; ttt: number; cmdSN: number; expStatSN: number; data: Buffer }
  | {
      kind: "scsi-command";
      immediate: boolean;
      final: boolean;
      read: boolean;
      write: boolean;
      /** task attribute: 0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA */
      attr: number;
      lun: number;
      itt: number;
      expectedLength: number;
      cmdSN: number;
      expStatSN: number;
      cdb: Buffer;
      ahsLength: number;
      data: Buffer;
    }
  | {
      kind: "task-mgmt";
      immediate: boolean;
      fn: number;
      lun: number;
      itt: number;
      referencedTag: number;
      cmdSN: number;
      expStatSN: number;
      refCmdSN: number;
    }
  | {
      kind: "login";
      transit: boolean;
      cont: boolean;
      csg: number;
      nsg: number;
      versionMax: number;
      versionMin: number;
      isid: Buffer;
      tsih: number;
      itt: number;
      cid: number;
      cmdSN: number;
      expStatSN: number;
      data: Buffer;
    }
  | { kind: "text"; immediate: boolean; final: boolean; cont: boolean; lun: number; itt: number; ttt: number; cmdSN: number; expStatSN: number; data: Buffer }
  | { kind: "data-out"; final: boolean; lun: number; itt: number; ttt: number; expStatSN: number; dataSN: number; offset: number; data: Buffer }
  | { kind: "logout"; immediate: boolean; reason: number; itt: number; cid: number; cmdSN: number; expStatSN: number }
  | { kind: "snack"; itt: number; bhs: Buffer }
  | { kind: "unknown"; opcode: number; immediate: boolean; itt: number; bhs: Buffer };

export function opcodeOf(bhs: Buffer): number {
  return bhs[0]! & 0x3f;
}

export function decodeInitiatorPdu(pdu: RawPdu): InitiatorPdu {
  const b = pdu.bhs;
  const immediate = (b[0]! & 0x40) !== 0;
  const final = (b[1]! & 0x80) !== 0;
  const itt = b.readUInt32BE(16);
  switch (opcodeOf(b)) {
    case Op.NopOut:
      return { kind: "nop-out", immediate, lun: decodeLun(b, 8), itt, ttt: b.readUInt32BE(20), cmdSN: b.readUInt32BE(24), expStatSN: b.readUInt32BE(28), data: pdu.data };
    case Op.ScsiCommand:
      return {
        kind: "scsi-command",
        immediate,
        final,
        read: (b[1]! & 0x40) !== 0,
        write: (b[1]! & 0x20) !== 0,
        attr: b[1]! & 0x07,
        lun: decodeLun(b, 8),
        itt,
        expectedLength: b.readUInt32BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
        cdb: Buffer.from(b.subarray(32, 48)),
        ahsLength: pdu.ahs.length,
        data: pdu.data,
      };
    case Op.TaskMgmtRequest:
      return {
        kind: "task-mgmt",
        immediate,
        fn: b[1]! & 0x7f,
        lun: decodeLun(b, 8),
        itt,
        referencedTag: b.readUInt32BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
        refCmdSN: b.readUInt32BE(32),
      };
    case Op.LoginRequest:
      return {
        kind: "login",
        transit: (b[1]! & 0x80) !== 0,
        cont: (b[1]! & 0x40) !== 0,
        csg: (b[1]! >> 2) & 0x03,
        nsg: b[1]! & 0x03,
        versionMax: b[2]!,
        versionMin: b[3]!,
        isid: Buffer.from(b.subarray(8, 14)),
        tsih: b.readUInt16BE(14),
        itt,
        cid: b.readUInt16BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
        data: pdu.data,
      };
    case Op.TextRequest:
      return {
        kind: "text",
        immediate,
        final,
        cont: (b[1]! & 0x40) !== 0,
        lun: decodeLun(b, 8),
        itt,
        ttt: b.readUInt32BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
        data: pdu.data,
      };
    case Op.DataOut:
      return {
        kind: "data-out",
        final,
        lun: decodeLun(b, 8),
        itt,
        ttt: b.readUInt32BE(20),
        expStatSN: b.readUInt32BE(28),
        dataSN: b.readUInt32BE(36),
        offset: b.readUInt32BE(40),
        data: pdu.data,
      };
    case Op.LogoutRequest:
      return { kind: "logout", immediate, reason: b[1]! & 0x7f, itt, cid: b.readUInt16BE(20), cmdSN: b.readUInt32BE(24), expStatSN: b.readUInt32BE(28) };
    case Op.Snack:
      return { kind: "snack", itt, bhs: b };
    default:
      return { kind: "unknown", opcode: opcodeOf(b), immediate, itt, bhs: b };
  }
}

// ------------------------------------------------------------------ target → initiator

/** What every status-carrying target PDU says about the command window. */
export interface Numbering {
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

/** Residual of a transfer (§11.4.5): overflow when the initiator expected less than there was. */
export interface Residual {
  overflow: boolean;
  underflow: boolean;
  count: number;
}

export const NO_RESIDUAL: Residual = { overflow: false, underflow: false, count: 0 };

export type TargetPdu =
  | ({ kind: "nop-in"; lun: number; itt: number; ttt: number; data?: Buffer } & Numbering)
  | ({ kind: "scsi-response"; response: number; status: number; itt: number; expDataSN: number; residual: Residual; data?: Buffer } & Numbering)
  | ({ kind: "task-mgmt-response"; response: number; itt: number } & Numbering)
  | ({
      kind: "login-response";
      transit: boolean;
      cont: boolean;
      csg: number;
      nsg: number;
      versionMax: number;
      versionActive: number;
      isid: Buffer;
      tsih: number;
      itt: number;
      statusClass: number;
      statusDetail: number;
      data?: Buffer;
    } & Numbering)
  | ({ kind: "text-response"; final: boolean; cont: boolean; lun: number; itt: number; ttt: number; data?: Buffer } & Numbering)
  | ({
      kind: "data-in";
      final: boolean;
      /** SCSI status carried in this PDU (the S bit), for phase collapse */
      status?: number;
      residual: Residual;
      lun: number;
      itt: number;
      dataSN: number;
      offset: number;
      data: Buffer;
    } & Numbering)
  | ({ kind: "logout-response"; response: number; itt: number; time2Wait: number; time2Retain: number } & Numbering)
  | ({ kind: "r2t"; lun: number; itt: number; ttt: number; r2tSN: number; offset: number; length: number } & Numbering)
  | ({ kind: "async-message"; event: number; lun: number; parameter1?: number; parameter2?: number; parameter3?: number } & Numbering)
  | ({ kind: "reject"; reason: number; header: Buffer } & Numbering);

/** Header, data and padding, ready to be written in that order. */
export function encodeTargetPdu(pdu: TargetPdu): Buffer[] {
  const b = Buffer.alloc(BHS_LENGTH);
  let data: Buffer | undefined;
  const numbers = (statSN: number | null) => {
    if (statSN !== null) b.writeUInt32BE(statSN >>> 0, 24);
    b.writeUInt32BE(pdu.expCmdSN >>> 0, 28);
    b.writeUInt32BE(pdu.maxCmdSN >>> 0, 32);
  };
  switch (pdu.kind) {
    case "nop-in":
      b[0] = Op.NopIn;
      b[1] = 0x80;
      encodeLun(b, 8, pdu.lun);
      b.writeUInt32BE(pdu.itt >>> 0, 16);
      b.writeUInt32BE(pdu.ttt >>> 0, 20);
      numbers(pdu.statSN);
      data = pdu.data;
      break;
    case "scsi-response":
      b[0] = Op.ScsiResponse;
      b[1] = 0x80 | residualFlags(pdu.residual);
      b[2] = pdu.response;
      b[3] = pdu.status;
      b.writeUInt32BE(pdu.itt >>> 0, 16);
      numbers(pdu.statSN);
      b.writeUInt32BE(pdu.expDataSN >>> 0, 36);
      b.writeUInt32BE(pdu.residual.count >>> 0, 44);
      data = pdu.data;
      break;
    case "task-mgmt-response":
      b[0] = Op.TaskMgmtResponse;
      b[1] = 0x80;
      b[2] = pdu.response;
      b.writeUInt32BE(pdu.itt >>> 0, 16);
      numbers(pdu.statSN);
      break;
    case "login-response":
      b[0] = Op.LoginResponse;
      b[1] = (pdu.transit ? 0x80 : 0) | (pdu.cont ? 0x40 : 0) | ((pdu.csg & 3) << 2) | (pdu.transit ? pdu.nsg & 3 : 0);
      b[2] = pdu.versionMax;
      b[3] = pdu.versionActive;
      pdu.isid.copy(b, 8, 0, 6);
      b.writeUInt16BE(pdu.tsih, 14);
      b.writeUInt32BE(pdu.itt >>> 0, 16);
      numbers(pdu.statSN);
      b[36] = pdu.statusClass;
      b[37] = pdu.statusDetail;
      data = pdu.data;
      break;
    case "text-response":
      b[0] = Op.TextResponse;
      b[1] = (pdu.final ? 0x80 : 0) | (pdu.cont ? 0x40 : 0);
      encodeLun(b, 8, pdu.lun);
      b.writeUInt32BE(pdu.itt >>> 0, 16);
      b.writeUInt32BE(pdu.ttt >>> 0, 20);
      numbers(pdu.statSN);
      data = pdu.data;
      break;
    case "data-in": {
      const withStatus = pdu.status !== undefined;
      b[0] = Op.DataIn;
      b[1] = (pdu.final || withStatus ? 0x80 : 0) | (withStatus ? residualFlags(pdu.residual) | 0x01 : 0);
      b[3] = withStatus ? pdu.status! : 0;
      encodeLun(b, 8, pdu.lun);
      b.writeUInt32BE(pdu.itt >>> 0, 16);
      b.writeUInt32BE(RESERVED_TAG, 20);
      // StatSN only means something with the S bit; the window always does
      numbers(withStatus ? pdu.statSN : null);
      b.writeUInt32BE(pdu.dataSN >>> 0, 36);
      b.writeUInt32BE(pdu.offset >>> 0, 40);
      if (withStatus) b.writeUInt32BE(pdu.residual.count >>> 0, 44);
      data = pdu.data;
      break;
    }
    case "logout-response":
      b[0] = Op.LogoutResponse;
      b[1] = 0x80;
      b[2] = pdu.response;
      b.writeUInt32BE(pdu.itt >>> 0, 16);
      numbers(pdu.statSN);
      b.writeUInt16BE(pdu.time2Wait, 40);
      b.writeUInt16BE(pdu.time2Retain, 42);
      break;
    case "r2t":
      b[0] = Op.R2T;
      b[1] = 0x80;
      encodeLun(b, 8, pdu.lun);
      b.writeUInt32BE(pdu.itt >>> 0, 16);
      b.writeUInt32BE(pdu.ttt >>> 0, 20);
      numbers(pdu.statSN);
      b.writeUInt32BE(pdu.r2tSN >>> 0, 36);
      b.writeUInt32BE(pdu.offset >>> 0, 40);
      b.writeUInt32BE(pdu.length >>> 0, 44);
      break;
    case "async-message":
      b[0] = Op.AsyncMessage;
      b[1] = 0x80;
      encodeLun(b, 8, pdu.lun);
      b.writeUInt32BE(RESERVED_TAG, 16);
      numbers(pdu.statSN);
      b[36] = pdu.event;
      b.writeUInt16BE(pdu.parameter1 ?? 0, 38);
      b.writeUInt16BE(pdu.parameter2 ?? 0, 40);
      b.writeUInt16BE(pdu.parameter3 ?? 0, 42);
      break;
    case "reject":
      b[0] = Op.Reject;
      b[1] = 0x80;
      b[2] = pdu.reason;
      b.writeUInt32BE(RESERVED_TAG, 16);
      numbers(pdu.statSN);
      data = pdu.header;
      break;
  }
  const length = data?.length ?? 0;
  b.writeUIntBE(length, 5, 3);
  if (!data || length === 0) return [b];
  const pad = padding(length);
  return pad === 0 ? [b, data] : [b, data, Buffer.alloc(pad)];
}

function residualFlags(r: Residual): number {
  return (r.overflow ? 0x04 : 0) | (r.underflow ? 0x02 : 0);
}

export function padding(length: number): number {
  return (4 - (length % 4)) % 4;
}

const TAGS = new Set(["itt", "ttt", "referencedTag"]);

/** One line about a PDU for a trace: its kind, tags and numbers, and the text keys it carries. */
export function describePdu(pdu: InitiatorPdu | TargetPdu): string {
  const skip = new Set(["kind", "data", "bhs", "header", "isid", "cdb"]);
  const fields = Object.entries(pdu)
    .filter(([k, v]) => !skip.has(k) && v !== undefined && typeof v !== "object")
    .map(([k, v]) => `${k}=${typeof v === "number" && TAGS.has(k) ? `0x${v.toString(16)}` : v}`);
  if ("cdb" in pdu) fields.push(`cdb=${pdu.cdb.toString("hex")}`);
  if ("residual" in pdu && pdu.residual.count > 0) fields.push(`residual=${pdu.residual.overflow ? "+" : "-"}${pdu.residual.count}`);
  const data = "data" in pdu ? pdu.data : undefined;
  const textual = pdu.kind === "login" || pdu.kind === "login-response" || pdu.kind === "text" || pdu.kind === "text-response";
  if (data && data.length > 0) fields.push(textual ? `[${data.toString("utf8").split("\0").filter(Boolean).join(" ")}]` : `(${data.length} bytes)`);
  return `${pdu.kind} ${fields.join(" ")}`;
}

// ------------------------------------------------------------------ LUN field (SAM, §11.2.1)

/**
 * The 8-byte LUN field: peripheral device addressing (00b) for LUNs below 256, flat space
 * addressing (01b) up to 16383, the two forms every initiator uses for single-level LUNs.
 */
export function decodeLun(b: Buffer, offset: number): number {
  const method = b[offset]! >> 6;
  if (method === 1) return ((b[offset]! & 0x3f) << 8) | b[offset + 1]!;
  return b[offset + 1]!;
}

export function encodeLun(b: Buffer, offset: number, lun: number): void {
  if (lun < 256) {
    b[offset] = 0;
    b[offset + 1] = lun;
  } else {
    b[offset] = 0x40 | ((lun >> 8) & 0x3f);
    b[offset + 1] = lun & 0xff;
  }
}
