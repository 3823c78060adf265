/**
 * SCSI tasks of one connection (RFC 7143 §4.2.2, §11.3–11.8): a command's data going out as
 * Data-In (status collapsed into the last one when GOOD), data coming in as immediate data,
 * unsolicited Data-Out and Data-Out solicited by R2Ts, and the SCSI Response.
 *
 * Tasks run concurrently (SIMPLE task attribute: any order). Written data goes to the file as
 * each Data-Out arrives; the response waits until every byte is on its way to the page cache
 * (and, with FUA, on disk).
 */
import type { BackingFile } from "./backing-file";
import type { SessionParams } from "./negotiation";
import { NO_RESIDUAL, RESERVED_TAG, type InitiatorPdu, type Numbering, type Residual, type TargetPdu } from "./pdu";
import { BLOCK_SIZE, type UnitIdentity } from "./scsi-pages";
import { planCommand, ScsiStatus, SENSE, senseSegment, type Sense } from "./scsi";

/** A target PDU before the connection numbers it. */
export type Outgoing = Unnumbered<TargetPdu>;
type Unnumbered<P> = P extends unknown ? Omit<P, keyof Numbering> : never;

export interface LogicalUnit {
  identity: UnitIdentity;
  file: BackingFile;
}

/** What tasks need from their connection. */
export interface TaskPort {
  params(): SessionParams;
  send(pdu: Outgoing): void;
  /** resolves once the socket's send buffer has room again */
  drained(): Promise<void>;
  transferTag(): number;
  unit(lun: number): LogicalUnit | null;
  luns(): number[];
}

type ScsiCommand = Extract<InitiatorPdu, { kind: "scsi-command" }>;
type DataOut = Extract<InitiatorPdu, { kind: "data-out" }>;

/** Bytes read from the file at a time for one task. */
const READ_CHUNK = 1 << 20;

interface WriteState {
  unit: LogicalUnit | null;
  /** byte offset of the first block on the unit */
  base: number;
  /** the bytes the command writes (what is kept of what arrives) */
  length: number;
  /** the bytes the initiator sends: unsolicited, then solicited up to `length` */
  expected: number;
  unsolicitedEnd: number;
  received: number;
  nextOffset: number;
  r2tSN: number;
  bursts: Map<number, { offset: number; end: number }>;
  writes: Promise<void>[];
  fua: boolean;
  /** a command refused up front still takes its unsolicited data, then answers this */
  refused: Sense | null;
  residual: Residual;
}

export interface Task {
  itt: number;
  lun: number;
  cmdSN: number;
  aborted: boolean;
  write: WriteState | null;
  /** settles when the task has answered or was aborted */
  done: Promise<void>;
  finish: () => void;
}

export class ScsiTasks {
  private readonly tasks = new Map<number, Task>();

  constructor(private readonly port: TaskPort) {}

  get active(): number {
    return this.tasks.size;
  }

  has(itt: number): boolean {
    return this.tasks.has(itt);
  }

  all(): Task[] {
    return [...this.tasks.values()];
  }

  command(cmd: ScsiCommand): void {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const task: Task = { itt: cmd.itt, lun: cmd.lun, cmdSN: cmd.cmdSN, aborted: false, write: null, done, finish };
    this.tasks.set(cmd.itt, task);
    const unit = this.port.unit(cmd.lun);
    // a CDB longer than 16 bytes comes in an AHS: none of ours is
    const plan = cmd.ahsLength > 0 ? ({ kind: "check", sense: SENSE.invalidOpcode } as const) : planCommand(cmd.cdb, unit?.identity ?? null, this.port.luns());
    const edtl = cmd.expectedLength;

    switch (plan.kind) {
      case "good":
        return this.respond(task, ScsiStatus.Good, residualOf(0, edtl));
      case "check":
        if (cmd.write) return this.startWrite(task, cmd, null, 0, 0, plan.sense);
        return this.respond(task, ScsiStatus.CheckCondition, NO_RESIDUAL, plan.sense);
      case "data":
        void this.dataIn(task, plan.data.length, edtl, async (offset, length) => plan.data.subarray(offset, offset + length));
        return;
      case "read": {
        const base = plan.lba * BLOCK_SIZE;
        void this.dataIn(task, plan.blocks * BLOCK_SIZE, edtl, (offset, length) => unit!.file.read(base + offset, length));
        return;
      }
      case "sync":
        void unit!.file.sync().then(
          () => this.respond(task, ScsiStatus.Good, residualOf(0, edtl)),
          () => this.respond(task, ScsiStatus.CheckCondition, NO_RESIDUAL, SENSE.writeError),
        );
        return;
      case "write": {
        const length = plan.blocks * BLOCK_SIZE;
        // the initiator sending less than the command writes: refuse rather than write half
        const refused = !cmd.write || edtl < length ? SENSE.invalidFieldInCdb : null;
        return this.startWrite(task, cmd, unit, plan.lba * BLOCK_SIZE, length, refused, plan.fua);
      }
    }
  }

  dataOut(pdu: DataOut): void {
    const task = this.tasks.get(pdu.itt);
    const w = task?.write;
    if (!task || !w) return; // a task already answered or aborted: nothing to do with its data
    const end = pdu.offset + pdu.data.length;
    if (pdu.ttt === RESERVED_TAG) {
      if (end > w.unsolicitedEnd) return;
    } else {
      const burst = w.bursts.get(pdu.ttt);
      if (!burst || pdu.offset < burst.offset || end > burst.end) return;
    }
    if (w.unit && !w.refused && pdu.offset < w.length) {
      const kept = pdu.data.subarray(0, Math.min(pdu.data.length, w.length - pdu.offset));
      const p = w.unit.file.write(w.base + pdu.offset, kept);
      p.catch(() => undefined);
      w.writes.push(p);
    }
    w.received += pdu.data.length;
    if (pdu.ttt !== RESERVED_TAG && pdu.final) {
      w.bursts.delete(pdu.ttt);
      this.solicit(task);
    }
    this.maybeFinishWrite(task);
  }

  /** Aborts tasks (task management): no further Data-In, R2T or response for them. */
  abort(filter: (t: Task) => boolean): number {
    let n = 0;
    for (const t of this.tasks.values()) {
      if (!filter(t)) continue;
      t.aborted = true;
      this.tasks.delete(t.itt);
      t.finish();
      n += 1;
    }
    return n;
  }

  private startWrite(task: Task, cmd: ScsiCommand, unit: LogicalUnit | null, base: number, length: number, refused: Sense | null, fua = false): void {
    const p = this.port.params();
    const edtl = cmd.expectedLength;
    const immediate = cmd.data.length;
    // F=0 on a write announces unsolicited Data-Out, up to FirstBurstLength (§4.2.5.2)
    const unsolicitedEnd = cmd.final || p.initialR2T ? immediate : Math.min(p.firstBurstLength, edtl);
    const w: WriteState = {
      unit,
      base,
      length,
      expected: refused ? unsolicitedEnd : Math.max(length, unsolicitedEnd),
      unsolicitedEnd,
      received: 0,
      nextOffset: unsolicitedEnd,
      r2tSN: 0,
      bursts: new Map(),
      writes: [],
      fua,
      refused,
      residual: refused && edtl < length ? { overflow: true, underflow: false, count: length - edtl } : residualOf(length, edtl),
    };
    task.write = w;
    if (immediate > 0) {
      this.dataOut({ kind: "data-out", final: cmd.final, lun: cmd.lun, itt: cmd.itt, ttt: RESERVED_TAG, expStatSN: 0, dataSN: 0, offset: 0, data: cmd.data });
      if (task.write !== w) return; // that was all of it: answered or under way
    }
    this.solicit(task);
    this.maybeFinishWrite(task);
  }

  /** Sends R2Ts for what is still missing, as many at once as MaxOutstandingR2T allows. */
  private solicit(task: Task): void {
    const w = task.write;
    if (!w || w.refused || task.aborted) return;
    const p = this.port.params();
    while (w.bursts.size < p.maxOutstandingR2T && w.nextOffset < w.length) {
      const length = Math.min(p.maxBurstLength, w.length - w.nextOffset);
      const ttt = this.port.transferTag();
      w.bursts.set(ttt, { offset: w.nextOffset, end: w.nextOffset + length });
      this.port.send({ kind: "r2t", lun: task.lun, itt: task.itt, ttt, r2tSN: w.r2tSN++, offset: w.nextOffset, length });
      w.nextOffset += length;
    }
  }

  private maybeFinishWrite(task: Task): void {
    const w = task.write;
    if (!w || task.aborted || w.received < w.expected || w.bursts.size > 0 || (w.nextOffset < w.length && !w.refused)) return;
    task.write = null; // later Data-Out for it is ignored
    if (w.refused) return this.respond(task, ScsiStatus.CheckCondition, w.residual, w.refused, w.r2tSN);
    void (async () => {
      try {
        await Promise.all(w.writes);
        if (w.fua) await w.unit!.file.sync();
        this.respond(task, ScsiStatus.Good, w.residual, undefined, w.r2tSN);
      } catch {
        this.respond(task, ScsiStatus.CheckCondition, w.residual, SENSE.writeError, w.r2tSN);
      }
    })();
  }

  /**
   * `available` bytes of a command's data, of which the initiator takes at most `edtl`, in Data-In
   * PDUs of at most its MaxRecvDataSegmentLength, in sequences of at most MaxBurstLength.
   */
  private async dataIn(task: Task, available: number, edtl: number, source: (offset: number, length: number) => Promise<Buffer>): Promise<void> {
    const p = this.port.params();
    const total = Math.min(available, edtl);
    const residual = residualOf(available, edtl);
    const pduMax = p.initiatorMaxRecvDataSegmentLength;
    let dataSN = 0;
    let offset = 0;
    let inBurst = 0;
    try {
      while (offset < total) {
        const chunk = await source(offset, Math.min(READ_CHUNK, total - offset));
        if (task.aborted) return;
        for (let at = 0; at < chunk.length; ) {
          const length = Math.min(pduMax, chunk.length - at, p.maxBurstLength - inBurst);
          const last = offset + at + length === total;
          inBurst += length;
          const endOfBurst = last || inBurst === p.maxBurstLength;
          this.port.send({
            kind: "data-in",
            final: endOfBurst,
            ...(last ? { status: ScsiStatus.Good } : {}),
            residual: last ? residual : NO_RESIDUAL,
            lun: task.lun,
            itt: task.itt,
            dataSN: dataSN++,
            offset: offset + at,
            data: chunk.subarray(at, at + length),
          });
          if (endOfBurst) inBurst = 0;
          at += length;
        }
        offset += chunk.length;
        await this.port.drained();
      }
    } catch {
      return this.respond(task, ScsiStatus.CheckCondition, residual, SENSE.unrecoveredReadError, dataSN);
    }
    if (total === 0) return this.respond(task, ScsiStatus.Good, residual);
    this.forget(task);
  }

  private respond(task: Task, status: number, residual: Residual, sense?: Sense, expDataSN = 0): void {
    if (task.aborted) return;
    this.port.send({
      kind: "scsi-response",
      response: 0x00, // command completed at target
      status,
      itt: task.itt,
      expDataSN,
      residual,
      ...(sense ? { data: senseSegment(sense) } : {}),
    });
    this.forget(task);
  }

  private forget(task: Task): void {
    if (this.tasks.get(task.itt) === task) this.tasks.delete(task.itt);
    task.finish();
  }
}

/** Residual of a transfer of `actual` bytes when the initiator expected `expected`. */
export function residualOf(actual: number, expected: number): Residual {
  if (actual > expected) return { overflow: true, underflow: false, count: actual - expected };
  if (actual < expected) return { overflow: false, underflow: true, count: expected - actual };
  return NO_RESIDUAL;
}
