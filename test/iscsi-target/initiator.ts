/**
 * A bare iSCSI initiator for the tests that need to see the wire itself (status classes, text
 * continuation, R2T offsets, task management): it builds request headers byte by byte from the
 * RFC 7143 layouts and reads answers by offset, deliberately sharing no code with the target.
 * The tests that matter most use initiators nobody here wrote (qemu-io/libiscsi, iPXE).
 */
import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";

export interface Answer {
  opcode: number;
  bhs: Buffer;
  data: Buffer;
}

export interface LoginOptions {
  initiatorName?: string;
  targetName?: string;
  discovery?: boolean;
  chap?: { username: string; password: string };
  /** authenticate the target too: what it must answer with */
  mutual?: { username: string; password: string };
  /** operational keys to offer (default: what iPXE offers) */
  operational?: Record<string, string>;
  isid?: Buffer;
}

export interface LoginResult {
  /** Status-Class << 8 | Status-Detail of the last response */
  status: number;
  tsih: number;
  /** every key the target answered, last value wins */
  keys: Map<string, string>;
}

/** What iPXE offers in operational negotiation (no immediate data, R2T for everything). */
export const IPXE_OPERATIONAL: Record<string, string> = {
  HeaderDigest: "None",
  DataDigest: "None",
  MaxConnections: "1",
  InitialR2T: "Yes",
  ImmediateData: "No",
  MaxRecvDataSegmentLength: "8192",
  MaxBurstLength: "262144",
  FirstBurstLength: "65536",
  DefaultTime2Wait: "0",
  DefaultTime2Retain: "0",
  MaxOutstandingR2T: "1",
  DataPDUInOrder: "Yes",
  DataSequenceInOrder: "Yes",
  ErrorRecoveryLevel: "0",
};

export class TestInitiator {
  private buffered = Buffer.alloc(0);
  private waiting: Array<() => void> = [];
  private ended = false;
  itt = 0x1000;
  cmdSN = 100;
  expStatSN = 0;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (c: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, c]);
      this.wake();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", () => undefined);
  }

  static async connect(portal: string): Promise<TestInitiator> {
    const [host, port] = [portal.slice(0, portal.lastIndexOf(":")), Number(portal.slice(portal.lastIndexOf(":") + 1))];
    const socket = connect({ host, port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new TestInitiator(socket);
  }

  get closed(): boolean {
    return this.ended;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  /** Writes a 48-byte header (its length field set here) and a padded data segment. */
  send(bhs: Buffer, data: Buffer = Buffer.alloc(0)): void {
    bhs.writeUIntBE(data.length, 5, 3);
    const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
    this.socket.write(Buffer.concat([bhs, data, pad]));
  }

  /** The next PDU from the target; null when the connection closed first. */
  async next(timeoutMs = 5_000): Promise<Answer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffered.length >= 48) {
        const ahs = this.buffered[4]! * 4;
        const len = this.buffered.readUIntBE(5, 3);
        const total = 48 + ahs + len + ((4 - (len % 4)) % 4);
        if (this.buffered.length >= total) {
          const bhs = Buffer.from(this.buffered.subarray(0, 48));
          const data = Buffer.from(this.buffered.subarray(48 + ahs, 48 + ahs + len));
          this.buffered = this.buffered.subarray(total);
          const opcode = bhs[0]! & 0x3f;
          // StatSN-carrying answers: remember the next one we expect
          if (opcode !== 0x31 && !(opcode === 0x25 && (bhs[1]! & 0x01) === 0)) this.expStatSN = (bhs.readUInt32BE(24) + 1) >>> 0;
          return { opcode, bhs, data };
        }
      }
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no PDU from the target in time");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiting.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** One Login Request. */
  loginRequest(o: { transit: boolean; csg: number; nsg: number; keys: Record<string, string> | Buffer; isid: Buffer; tsih?: number; cont?: boolean; versionMin?: number }): void {
    const b = Buffer.alloc(48);
    b[0] = 0x40 | 0x03;
    b[1] = (o.transit ? 0x80 : 0) | (o.cont ? 0x40 : 0) | (o.csg << 2) | (o.transit ? o.nsg : 0);
    b[2] = 0;
    b[3] = o.versionMin ?? 0;
    o.isid.copy(b, 8);
    b.writeUInt16BE(o.tsih ?? 0, 14);
    b.writeUInt32BE(this.itt, 16);
    b.writeUInt16BE(1, 20); // CID
    b.writeUInt32BE(this.cmdSN, 24);
    b.writeUInt32BE(this.expStatSN, 28);
    this.send(b, Buffer.isBuffer(o.keys) ? o.keys : text(o.keys));
  }

  /** A whole login, the way iPXE does it; stops at the first refusal. */
  async login(o: LoginOptions): Promise<LoginResult> {
    const isid = o.isid ?? Buffer.from([0x80, 0x12, 0x34, 0x56, 0x00, 0x01]);
    const keys = new Map<string, string>();
    const ask = async (transit: boolean, csg: number, nsg: number, k: Record<string, string>) => {
      this.loginRequest({ transit, csg, nsg, keys: k, isid });
      const r = await this.next();
      if (!r) throw new Error("the target closed the connection during login");
      for (const [key, value] of parseText(r.data)) keys.set(key, value);
      return { status: r.bhs.readUInt16BE(36), transit: (r.bhs[1]! & 0x80) !== 0, nsg: r.bhs[1]! & 3, tsih: r.bhs.readUInt16BE(14) };
    };
    const first: Record<string, string> = {
      InitiatorName: o.initiatorName ?? "iqn.2026-01.org.example:test-initiator",
      ...(o.discovery ? { SessionType: "Discovery" } : { TargetName: o.targetName ?? "", SessionType: "Normal" }),
      AuthMethod: o.chap ? "CHAP,None" : "None",
    };
    let r = await ask(true, 0, 1, first);
    if (r.status !== 0) return { status: r.status, tsih: 0, keys };
    if (keys.get("AuthMethod") === "CHAP") {
      if (!o.chap) throw new Error("the target wants CHAP and the test gave no credentials");
      r = await ask(true, 0, 1, { CHAP_A: "5" });
      if (r.status !== 0) return { status: r.status, tsih: 0, keys };
      const id = Number(keys.get("CHAP_I"));
      const challenge = Buffer.from(keys.get("CHAP_C")!.slice(2), "hex");
      const response = md5(Buffer.from([id]), Buffer.from(o.chap.password), challenge);
      const mutualId = 77;
      const mutualChallenge = Buffer.from("00112233445566778899aabbccddeeff", "hex");
      keys.delete("CHAP_N");
      keys.delete("CHAP_R");
      r = await ask(true, 0, 1, {
        CHAP_N: o.chap.username,
        CHAP_R: `0x${response.toString("hex")}`,
        ...(o.mutual ? { CHAP_I: String(mutualId), CHAP_C: `0x${mutualChallenge.toString("hex")}` } : {}),
      });
      if (r.status !== 0) return { status: r.status, tsih: 0, keys };
      if (o.mutual) {
        const want = md5(Buffer.from([mutualId]), Buffer.from(o.mutual.password), mutualChallenge).toString("hex");
        if (keys.get("CHAP_N") !== o.mutual.username || keys.get("CHAP_R")?.slice(2).toLowerCase() !== want) {
          throw new Error(`the target failed mutual CHAP: CHAP_N=${keys.get("CHAP_N")} CHAP_R=${keys.get("CHAP_R")}`);
        }
      }
    }
    if (!r.transit) throw new Error("the target did not leave security negotiation");
    r = await ask(true, 1, 3, o.operational ?? IPXE_OPERATIONAL);
    return { status: r.status, tsih: r.tsih, keys };
  }

  /** A SCSI Command; `write` data goes unsolicited only as the session allows (here: via R2T). */
  scsiCommand(o: { cdb: number[] | Buffer; lun?: number; read?: number; write?: number; immediateData?: Buffer; final?: boolean; attr?: number }): number {
    const b = Buffer.alloc(48);
    b[0] = 0x01;
    b[1] = (o.final ?? true ? 0x80 : 0) | (o.read !== undefined ? 0x40 : 0) | (o.write !== undefined ? 0x20 : 0) | (o.attr ?? 1);
    b[9] = o.lun ?? 1;
    const itt = ++this.itt;
    b.writeUInt32BE(itt, 16);
    b.writeUInt32BE(o.read ?? o.write ?? 0, 20);
    b.writeUInt32BE(this.cmdSN++, 24);
    b.writeUInt32BE(this.expStatSN, 28);
    Buffer.from(o.cdb).copy(b, 32);
    this.send(b, o.immediateData);
    return itt;
  }

  dataOut(o: { itt: number; ttt: number; offset: number; data: Buffer; final: boolean; dataSN: number; lun?: number }): void {
    const b = Buffer.alloc(48);
    b[0] = 0x05;
    b[1] = o.final ? 0x80 : 0;
    b[9] = o.lun ?? 1;
    b.writeUInt32BE(o.itt, 16);
    b.writeUInt32BE(o.ttt, 20);
    b.writeUInt32BE(this.expStatSN, 28);
    b.writeUInt32BE(o.dataSN, 36);
    b.writeUInt32BE(o.offset, 40);
    this.send(b, o.data);
  }

  /**
   * Runs a command to its SCSI status: collects Data-In, answers R2Ts from `write`. Returns the
   * status, the data read, the sense data, and every PDU seen.
   */
  async scsi(cdb: number[], o: { lun?: number; read?: number; write?: Buffer } = {}): Promise<{ status: number; data: Buffer; sense: Buffer | null; residual: number; pdus: Answer[] }> {
    const itt = this.scsiCommand({ cdb, ...(o.lun !== undefined ? { lun: o.lun } : {}), ...(o.read !== undefined ? { read: o.read } : {}), ...(o.write ? { write: o.write.length } : {}) });
    const chunks: Buffer[] = [];
    const pdus: Answer[] = [];
    for (;;) {
      const r = await this.next();
      if (!r) throw new Error("connection closed during a command");
      pdus.push(r);
      if (r.bhs.readUInt32BE(16) !== itt) continue;
      if (r.opcode === 0x25) {
        chunks.push(r.data);
        if (r.bhs[1]! & 0x01) return { status: r.bhs[3]!, data: Buffer.concat(chunks), sense: null, residual: r.bhs.readUInt32BE(44), pdus };
      } else if (r.opcode === 0x31) {
        const ttt = r.bhs.readUInt32BE(20);
        const offset = r.bhs.readUInt32BE(40);
        const length = r.bhs.readUInt32BE(44);
        const mrdsl = 8192;
        for (let at = 0, sn = 0; at < length; at += mrdsl, sn++) {
          const n = Math.min(mrdsl, length - at);
          this.dataOut({ itt, ttt, offset: offset + at, data: o.write!.subarray(offset + at, offset + at + n), final: at + n >= length, dataSN: sn, ...(o.lun !== undefined ? { lun: o.lun } : {}) });
        }
      } else if (r.opcode === 0x21) {
        const sense = r.data.length >= 2 ? r.data.subarray(2, 2 + r.data.readUInt16BE(0)) : null;
        return { status: r.bhs[3]!, data: Buffer.concat(chunks), sense, residual: r.bhs.readUInt32BE(44), pdus };
      }
    }
  }

  textRequest(o: { keys: Record<string, string> | Buffer; ttt?: number; final?: boolean; cont?: boolean; itt?: number }): number {
    const b = Buffer.alloc(48);
    b[0] = 0x40 | 0x04;
    b[1] = (o.final ?? true ? 0x80 : 0) | (o.cont ? 0x40 : 0);
    const itt = o.itt ?? ++this.itt;
    b.writeUInt32BE(itt, 16);
    b.writeUInt32BE(o.ttt ?? 0xffffffff, 20);
    b.writeUInt32BE(this.cmdSN, 24);
    b.writeUInt32BE(this.expStatSN, 28);
    this.send(b, Buffer.isBuffer(o.keys) ? o.keys : text(o.keys));
    return itt;
  }

  /** Immediate PDU of an opcode with a plain header (NOP-Out, Logout, Task Management). */
  simple(opcode: number, fill: (b: Buffer) => void, data?: Buffer): number {
    const b = Buffer.alloc(48);
    b[0] = 0x40 | opcode;
    b[1] = 0x80;
    const itt = ++this.itt;
    b.writeUInt32BE(itt, 16);
    b.writeUInt32BE(this.cmdSN, 24);
    b.writeUInt32BE(this.expStatSN, 28);
    fill(b);
    this.send(b, data);
    return itt;
  }
}

export function text(keys: Record<string, string>): Buffer {
  return Buffer.from(Object.entries(keys).map(([k, v]) => `${k}=${v}\0`).join(""));
}

export function parseText(data: Buffer): Array<[string, string]> {
  return data
    .toString("utf8")
    .split("\0")
    .filter((s) => s.length > 0)
    .map((s) => [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)] as [string, string]);
}

function md5(...parts: Buffer[]): Buffer {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return h.digest();
}
