/**
 * One iSCSI connection (and, with MaxConnections=1, its session): framing, the login phase, then
 * full feature phase — command numbering, NOP-Out/NOP-In, Text (SendTargets), Logout, Task
 * Management, SCSI tasks — and the ordered numbering of everything it sends (StatSN, ExpCmdSN,
 * MaxCmdSN, RFC 7143 §4.2.2).
 */
import type { Socket } from "node:net";
import { Login, type LoginContext, type SessionRequest } from "./login";
import { DEFAULT_PARAMS, type SessionParams } from "./negotiation";
import { PduFramer } from "./framer";
import { decodeInitiatorPdu, describePdu, encodeTargetPdu, RESERVED_TAG, type InitiatorPdu, type RawPdu, type TargetPdu } from "./pdu";
import { ScsiTasks, type LogicalUnit, type Outgoing } from "./scsi-tasks";
import { encodeText, parseText, type TextPairs } from "./text";

/** Commands the initiator may have outstanding: the width of the CmdSN window. */
const COMMAND_WINDOW = 128;
const LOGIN_TIMEOUT_MS = 30_000;

export const RejectReason = { SnackReject: 0x03, ProtocolError: 0x04, CommandNotSupported: 0x05, TaskInProgress: 0x07, InvalidPduField: 0x09 } as const;

export const TaskFunction = {
  AbortTask: 1,
  AbortTaskSet: 2,
  ClearAca: 3,
  ClearTaskSet: 4,
  LogicalUnitReset: 5,
  TargetWarmReset: 6,
  TargetColdReset: 7,
  TaskReassign: 8,
} as const;

export const TaskResponse = { Complete: 0, NoSuchTask: 1, NoSuchLun: 2, ReassignNotSupported: 4, NotSupported: 5 } as const;

/** What a connection needs from its server. */
export interface ConnectionHost extends LoginContext {
  /** a logical unit of a target, null when none */
  unit(targetIqn: string, lun: number): LogicalUnit | null;
  luns(targetIqn: string): number[];
  /** targets a SendTargets may name, in order */
  targetNames(): string[];
  closed(conn: Connection): void;
  /** one line per PDU each way, for watching a login or a boot */
  trace?: (line: string) => void;
}

export class Connection {
  /** set once the login has made a session */
  session: (SessionRequest & { tsih: number }) | null = null;
  private readonly framer = new PduFramer();
  private readonly login: Login;
  private readonly tasks: ScsiTasks;
  private phase: "login" | "full-feature" | "closing" = "login";
  private statSN = 1;
  private expCmdSN = 0;
  private maxCmdSN = 0;
  private params: SessionParams = { ...DEFAULT_PARAMS };
  private nextTag = 1;
  private cid = 0;
  private text: { itt: number; ttt: number; rest: Buffer; pending: Buffer[] } | null = null;
  private readonly loginTimer: NodeJS.Timeout;
  private readonly peer: string;

  constructor(
    readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.login = new Login(host);
    this.tasks = new ScsiTasks({
      params: () => this.params,
      send: (pdu) => this.send(pdu),
      drained: () => this.drained(),
      transferTag: () => this.transferTag(),
      unit: (lun) => (this.session?.target ? this.host.unit(this.session.target.iqn, lun) : null),
      luns: () => (this.session?.target ? this.host.luns(this.session.target.iqn) : []),
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      clearTimeout(this.loginTimer);
      this.phase = "closing";
      this.tasks.abort(() => true);
      this.host.closed(this);
    });
    this.loginTimer = setTimeout(() => {
      if (this.phase === "login") this.destroy();
    }, LOGIN_TIMEOUT_MS);
    this.loginTimer.unref();
  }

  /** Drops the connection at once (target withdrawn, session reinstated, server closing). */
  destroy(): void {
    this.phase = "closing";
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    let pdus: RawPdu[];
    try {
      pdus = this.framer.push(chunk);
    } catch {
      return this.destroy();
    }
    for (const raw of pdus) {
      if (this.phase === "closing") return;
      try {
        this.dispatch(raw);
      } catch (err) {
        this.host.trace?.(`${this.peer} ✗ ${(err as Error).stack ?? String(err)}`);
        // a PDU we cannot make sense of: ERL 0 recovery is closing the connection
        return this.destroy();
      }
    }
  }

  private dispatch(raw: RawPdu): void {
    const pdu = decodeInitiatorPdu(raw);
    this.host.trace?.(`${this.peer} → ${describePdu(pdu)}`);
    if (this.phase === "login") {
      if (pdu.kind !== "login") return this.destroy(); // anything else before the login is a protocol error
      return this.onLogin(pdu);
    }
    switch (pdu.kind) {
      case "scsi-command":
        if (!this.accept(pdu)) return;
        if (this.session?.discovery) return this.reject(RejectReason.CommandNotSupported, raw.bhs);
        if (this.tasks.has(pdu.itt)) return this.reject(RejectReason.TaskInProgress, raw.bhs);
        return this.tasks.command(pdu);
      case "data-out":
        return this.tasks.dataOut(pdu);
      case "nop-out":
        if (!this.accept(pdu)) return;
        // ITT 0xffffffff: an answer to a NOP-In of ours, or just an ExpStatSN update
        if (pdu.itt === RESERVED_TAG) return;
        return this.send({ kind: "nop-in", lun: pdu.lun, itt: pdu.itt, ttt: RESERVED_TAG, data: pdu.data.subarray(0, this.params.initiatorMaxRecvDataSegmentLength) });
      case "text":
        if (!this.accept(pdu)) return;
        return this.onText(pdu, raw.bhs);
      case "logout":
        if (!this.accept(pdu)) return;
        return void this.onLogout(pdu);
      case "task-mgmt":
        if (!this.accept(pdu)) return;
        return this.onTaskManagement(pdu);
      case "snack":
        return this.reject(RejectReason.SnackReject, raw.bhs); // ERL 0: no SNACK
      case "login":
        return this.reject(RejectReason.ProtocolError, raw.bhs);
      case "unknown":
        return this.reject(RejectReason.CommandNotSupported, raw.bhs);
    }
  }

  // ------------------------------------------------------------------ login

  private onLogin(pdu: Extract<InitiatorPdu, { kind: "login" }>): void {
    // login requests are immediate: the window starts at the CmdSN they carry
    this.expCmdSN = pdu.cmdSN >>> 0;
    this.cid = pdu.cid;
    const step = this.login.handle(pdu);
    if (step.next === "full-feature") {
      this.session = step.session;
      this.params = step.session.params;
      this.phase = "full-feature";
      clearTimeout(this.loginTimer);
    }
    this.send(step.response);
    if (step.next === "close") this.endAfterFlush();
  }

  // ------------------------------------------------------------------ command numbering

  /**
   * A non-immediate command takes the next CmdSN; one outside the window we opened is ignored
   * (§4.2.2.1). One connection delivers in order, so arrival order is CmdSN order.
   */
  private accept(pdu: { immediate: boolean; cmdSN: number }): boolean {
    if (pdu.immediate) return true;
    const ahead = (pdu.cmdSN - this.expCmdSN) >>> 0; // 0: the one expected
    const room = (this.maxCmdSN + 1 - this.expCmdSN) >>> 0;
    if (room > COMMAND_WINDOW || ahead >= room) return false;
    this.expCmdSN = (pdu.cmdSN + 1) >>> 0;
    return true;
  }

  private send(pdu: Outgoing): void {
    if (this.socket.destroyed) return;
    const advances =
      pdu.kind === "r2t" ? false : pdu.kind === "nop-in" ? pdu.itt !== RESERVED_TAG : pdu.kind === "data-in" ? pdu.status !== undefined : true;
    const statSN = this.statSN;
    if (advances) this.statSN = (this.statSN + 1) >>> 0;
    const maxCmdSN = (this.expCmdSN + COMMAND_WINDOW - 1) >>> 0;
    // never shrink the window we have opened (an initiator ignores a lower MaxCmdSN anyway)
    if (((maxCmdSN - this.maxCmdSN) >>> 0) < 0x80000000) this.maxCmdSN = maxCmdSN;
    const numbered = { ...pdu, statSN, expCmdSN: this.expCmdSN, maxCmdSN: this.maxCmdSN } as TargetPdu;
    this.host.trace?.(`${this.peer} ← ${describePdu(numbered)}`);
    for (const part of encodeTargetPdu(numbered)) this.socket.write(part);
  }

  private drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.once("drain", done);
      this.socket.once("close", done);
    });
  }

  private transferTag(): number {
    const tag = this.nextTag;
    this.nextTag = this.nextTag >= 0x7fffffff ? 1 : this.nextTag + 1;
    return tag;
  }

  private reject(reason: number, header: Buffer): void {
    this.send({ kind: "reject", reason, header: Buffer.from(header) });
  }

  private endAfterFlush(): void {
    this.phase = "closing";
    this.socket.end();
  }

  // ------------------------------------------------------------------ Text (SendTargets)

  private onText(pdu: Extract<InitiatorPdu, { kind: "text" }>, header: Buffer): void {
    const reply = (data: Buffer, more: boolean, ttt: number) =>
      this.send({ kind: "text-response", final: !more, cont: more, lun: pdu.lun, itt: pdu.itt, ttt: more ? ttt : RESERVED_TAG, data });
    // the initiator asks for the next part of a long answer (§11.11.1)
    if (this.text && pdu.ttt !== RESERVED_TAG && pdu.ttt === this.text.ttt && pdu.itt === this.text.itt && this.text.rest.length > 0) {
      return this.sendTextPart(reply);
    }
    if (pdu.ttt === RESERVED_TAG) this.text = null; // a new exchange resets an unfinished one
    // a request split over several PDUs (C bit): acknowledge each part, answer the whole
    const pending = this.text?.itt === pdu.itt ? this.text.pending : [];
    pending.push(pdu.data);
    if (pdu.cont) {
      const ttt = this.transferTag();
      this.text = { itt: pdu.itt, ttt, rest: Buffer.alloc(0), pending };
      return this.send({ kind: "text-response", final: false, cont: false, lun: pdu.lun, itt: pdu.itt, ttt, data: Buffer.alloc(0) });
    }
    let pairs: TextPairs;
    try {
      pairs = parseText(Buffer.concat(pending));
    } catch {
      this.text = null;
      return this.reject(RejectReason.ProtocolError, header);
    }
    const answer = encodeText(this.answerText(pairs));
    this.text = { itt: pdu.itt, ttt: this.transferTag(), rest: answer, pending: [] };
    this.sendTextPart(reply);
  }

  private sendTextPart(reply: (data: Buffer, more: boolean, ttt: number) => void): void {
    const t = this.text!;
    const max = this.params.initiatorMaxRecvDataSegmentLength;
    const part = t.rest.subarray(0, max);
    t.rest = t.rest.subarray(part.length);
    const more = t.rest.length > 0;
    reply(part, more, t.ttt);
    if (!more) this.text = null;
  }

  private answerText(pairs: TextPairs): TextPairs {
    const out: TextPairs = [];
    for (const [key, value] of pairs) {
      if (key === "SendTargets") out.push(...this.sendTargets(value));
      else if (key === "MaxRecvDataSegmentLength") {
        // declarative, may be declared again in full feature phase
        const n = Number(value);
        if (Number.isInteger(n) && n >= 512 && n <= 16777215) this.params = { ...this.params, initiatorMaxRecvDataSegmentLength: n };
      } else if (key.startsWith("X-") || key.startsWith("X#")) out.push([key, "NotUnderstood"]);
      else out.push([key, "Reject"]); // login-only keys: not renegotiable here
    }
    return out;
  }

  /** SendTargets (§13.3, RFC 7143 appendix C): "All" in a discovery session, else one target. */
  private sendTargets(value: string): TextPairs {
    const own = this.session?.target?.iqn;
    const known = this.host.targetNames();
    let names: string[];
    if (value === "All") names = this.session?.discovery ? known : own ? [own] : [];
    else if (value === "") names = own ? [own] : [];
    else names = known.includes(value) ? [value] : [];
    const address = this.portalAddress();
    return names.flatMap((iqn): TextPairs => [
      ["TargetName", iqn],
      ["TargetAddress", address],
    ]);
  }

  /** The address the initiator reached us at, with the portal group tag. */
  private portalAddress(): string {
    const ip = this.socket.localAddress ?? "127.0.0.1";
    const host = ip.includes(":") ? (ip.startsWith("::ffff:") ? ip.slice(7) : `[${ip}]`) : ip;
    return `${host}:${this.socket.localPort},1`;
  }

  // ------------------------------------------------------------------ Logout

  private async onLogout(pdu: Extract<InitiatorPdu, { kind: "logout" }>): Promise<void> {
    const CLOSE_SESSION = 0;
    const CLOSE_CONNECTION = 1;
    const respond = (response: number) => this.send({ kind: "logout-response", response, itt: pdu.itt, time2Wait: 0, time2Retain: 0 });
    if (pdu.reason === CLOSE_CONNECTION && pdu.cid !== this.cid) return respond(1); // CID not found
    if (pdu.reason !== CLOSE_SESSION && pdu.reason !== CLOSE_CONNECTION) return respond(2); // no connection recovery at ERL 0
    // what is under way finishes first: its responses come before the logout response
    await Promise.all(this.tasks.all().map((t) => t.done));
    respond(0);
    this.endAfterFlush();
  }

  // ------------------------------------------------------------------ Task Management

  private onTaskManagement(pdu: Extract<InitiatorPdu, { kind: "task-mgmt" }>): void {
    const respond = (response: number) => this.send({ kind: "task-mgmt-response", response, itt: pdu.itt });
    const target = this.session?.target?.iqn;
    switch (pdu.fn) {
      case TaskFunction.AbortTask: {
        const aborted = this.tasks.abort((t) => t.itt === pdu.referencedTag);
        if (aborted > 0) return respond(TaskResponse.Complete);
        // already answered, or never seen but inside the window: done as far as we are concerned (§11.5.1)
        const before = ((pdu.cmdSN - pdu.refCmdSN) >>> 0) < 0x80000000 && pdu.refCmdSN !== pdu.cmdSN;
        return respond(before ? TaskResponse.Complete : TaskResponse.NoSuchTask);
      }
      case TaskFunction.AbortTaskSet:
      case TaskFunction.ClearTaskSet:
      case TaskFunction.ClearAca:
      case TaskFunction.LogicalUnitReset:
        if (!target || !this.host.unit(target, pdu.lun)) return respond(TaskResponse.NoSuchLun);
        if (pdu.fn !== TaskFunction.ClearAca) this.tasks.abort((t) => t.lun === pdu.lun);
        return respond(TaskResponse.Complete);
      case TaskFunction.TargetWarmReset:
      case TaskFunction.TargetColdReset:
        this.tasks.abort(() => true);
        respond(TaskResponse.Complete);
        // a cold reset drops the connections too (§11.5.1)
        if (pdu.fn === TaskFunction.TargetColdReset) this.endAfterFlush();
        return;
      case TaskFunction.TaskReassign:
        return respond(TaskResponse.ReassignNotSupported);
      default:
        return respond(TaskResponse.NotSupported);
    }
  }
}
