/**
 * The target on the wire, seen through a bare test initiator (initiator.ts): login status
 * classes, negotiation answers, mutual CHAP, SendTargets with continuation, the full feature
 * phase PDUs, SCSI sense, task management, withdrawal and reinstatement.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startIscsiTarget, type IscsiTarget } from "../../lab/iscsi-target/server";
import { IPXE_OPERATIONAL, parseText, TestInitiator, text } from "./initiator";

const CHAP = { username: "node-user", password: "node-secret-123" };
const REVERSE = { username: "target-user", password: "target-secret-456" };
const PLAIN = "iqn.2026-01.org.example:plain";
const GUARDED = "iqn.2026-01.org.example:guarded";
const MUTUAL = "iqn.2026-01.org.example:mutual";
const BLOCKS = 8192; // 4 MiB

let dir: string;
let target: IscsiTarget;
const open: TestInitiator[] = [];

async function initiator(): Promise<TestInitiator> {
  const i = await TestInitiator.connect(target.portal);
  open.push(i);
  return i;
}

async function loggedIn(targetName = PLAIN, extra: Parameters<TestInitiator["login"]>[0] = {}): Promise<TestInitiator> {
  const i = await initiator();
  const r = await i.login({ targetName, ...extra });
  expect(r.status).toBe(0);
  return i;
}

function volume(name: string, blocks = BLOCKS): string {
  const file = join(dir, name);
  const fd = openSync(file, "w");
  ftruncateSync(fd, blocks * 512);
  closeSync(fd);
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "iscsi-protocol-"));
  target = await startIscsiTarget({ port: 0 });
  target.export({ iqn: PLAIN, lun: 1, file: volume("plain"), serial: "volume-serial-1" });
  target.export({ iqn: GUARDED, lun: 1, file: volume("guarded"), chap: CHAP });
  target.export({ iqn: MUTUAL, lun: 1, file: volume("mutual"), chap: CHAP, mutualChap: REVERSE });
});
afterEach(() => {
  for (const i of open.splice(0)) i.close();
});
afterAll(async () => {
  await target.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("login", () => {
  it.each([
    ["an unknown target", { targetName: "iqn.2026-01.org.example:nobody" }, 0x0203],
    ["a target that requires CHAP, without credentials", { targetName: GUARDED }, 0x0201],
    ["a wrong CHAP password", { targetName: GUARDED, chap: { ...CHAP, password: "wrong" } }, 0x0201],
    ["an unknown CHAP user", { targetName: GUARDED, chap: { ...CHAP, username: "someone" } }, 0x0201],
    ["mutual CHAP against a target with no credentials of its own", { targetName: GUARDED, chap: CHAP, mutual: REVERSE }, 0x0201],
    ["a normal session without TargetName", { targetName: "" }, 0x0207],
  ] as const)("refuses %s with status 0x%s and closes the connection", async (_what, opts, status) => {
    const i = await initiator();
    const r = await i.login(opts);
    expect(r.status).toBe(status);
    expect(await i.next()).toBeNull();
  });

  it.each([
    ["a first request without InitiatorName", { keys: { TargetName: PLAIN } }, 0x0207],
    ["an unsupported version", { keys: { InitiatorName: "iqn.2026-01.org.example:x", TargetName: PLAIN }, versionMin: 1 }, 0x0205],
    ["a connection added to a session that does not exist", { keys: { InitiatorName: "iqn.2026-01.org.example:x", TargetName: PLAIN }, tsih: 77 }, 0x020a],
    ["an unknown SessionType", { keys: { InitiatorName: "iqn.2026-01.org.example:x", SessionType: "Bulk" } }, 0x0209],
  ] as const)("refuses %s with status 0x%s", async (_what, o, status) => {
    const i = await initiator();
    i.loginRequest({ transit: true, csg: 0, nsg: 1, isid: Buffer.alloc(6, 1), ...o });
    const r = await i.next();
    expect(r!.opcode).toBe(0x23);
    expect(r!.bhs.readUInt16BE(36)).toBe(status);
  });

  it("refuses a withdrawn target with 0x0204 (target removed)", async () => {
    const iqn = "iqn.2026-01.org.example:gone";
    target.export({ iqn, lun: 1, file: volume("gone") });
    await target.withdraw(iqn);
    const r = await (await initiator()).login({ targetName: iqn });
    expect(r.status).toBe(0x0204);
  });

  it("answers iPXE's operational offer key by key, declares its receive length and hands out a TSIH", async () => {
    const i = await initiator();
    const r = await i.login({ targetName: PLAIN });
    expect(r.status).toBe(0);
    expect(r.tsih).not.toBe(0);
    expect(Object.fromEntries(r.keys)).toMatchObject({
      AuthMethod: "None",
      TargetPortalGroupTag: "1",
      HeaderDigest: "None",
      DataDigest: "None",
      MaxConnections: "1",
      InitialR2T: "Yes",
      ImmediateData: "No",
      MaxBurstLength: "262144",
      FirstBurstLength: "65536",
      DefaultTime2Wait: "0",
      DefaultTime2Retain: "0",
      MaxOutstandingR2T: "1",
      DataPDUInOrder: "Yes",
      DataSequenceInOrder: "Yes",
      ErrorRecoveryLevel: "0",
      MaxRecvDataSegmentLength: "262144",
    });
  });

  it("answers keys it does not know NotUnderstood and offers it cannot take Reject", async () => {
    const i = await initiator();
    const r = await i.login({ targetName: PLAIN, operational: { ...IPXE_OPERATIONAL, HeaderDigest: "CRC32C", "X-com.example.Foo": "1", MaxBurstLength: "12" } });
    expect(r.status).toBe(0);
    expect(r.keys.get("HeaderDigest")).toBe("Reject");
    expect(r.keys.get("X-com.example.Foo")).toBe("NotUnderstood");
    expect(r.keys.get("MaxBurstLength")).toBe("Reject");
  });

  it("authenticates one way with CHAP", async () => {
    const r = await (await initiator()).login({ targetName: GUARDED, chap: CHAP });
    expect(r.status).toBe(0);
    expect(r.keys.get("CHAP_A")).toBe("5");
  });

  it("authenticates itself to an initiator that asks (mutual CHAP)", async () => {
    // the test initiator throws unless the target's CHAP_N / CHAP_R are right
    const r = await (await initiator()).login({ targetName: MUTUAL, chap: CHAP, mutual: REVERSE });
    expect(r.status).toBe(0);
    expect(r.keys.get("CHAP_N")).toBe(REVERSE.username);
  });

  it("collects a login text split over several requests (C bit) before answering", async () => {
    const i = await initiator();
    const isid = Buffer.from([0x80, 0, 0, 0, 0, 9]);
    const whole = text({ InitiatorName: "iqn.2026-01.org.example:split", TargetName: PLAIN, AuthMethod: "None" });
    const cut = whole.indexOf("TargetName") + 4; // in the middle of a key
    i.loginRequest({ transit: false, cont: true, csg: 0, nsg: 0, isid, keys: whole.subarray(0, cut) });
    const first = await i.next(); // an empty answer: go on
    expect([first!.bhs.readUInt16BE(36), first!.data.length]).toEqual([0, 0]);
    i.loginRequest({ transit: true, csg: 0, nsg: 1, isid, keys: whole.subarray(cut) });
    const answer = await i.next();
    expect(answer!.bhs.readUInt16BE(36)).toBe(0);
    expect(Object.fromEntries(parseText(answer!.data))).toMatchObject({ AuthMethod: "None", TargetPortalGroupTag: "1" });
    expect(answer!.bhs[1]! & 0x80).toBe(0x80); // transit to operational
  });

  it("closes the old session when the same initiator and ISID log in again (reinstatement)", async () => {
    const first = await loggedIn();
    await loggedIn();
    expect(await first.next()).toBeNull();
  });
});

describe("discovery", () => {
  it("lists every exported target with the portal it was reached at", async () => {
    const i = await initiator();
    expect((await i.login({ discovery: true })).status).toBe(0);
    i.textRequest({ keys: { SendTargets: "All" } });
    const r = await i.next();
    expect(r!.opcode).toBe(0x24);
    expect(r!.bhs[1]! & 0x80).toBe(0x80);
    const pairs = parseText(r!.data);
    const names = pairs.filter(([k]) => k === "TargetName").map(([, v]) => v);
    expect(names).toEqual(expect.arrayContaining([PLAIN, GUARDED, MUTUAL]));
    expect(pairs.find(([k]) => k === "TargetAddress")![1]).toBe(`${target.portal},1`);
  });

  it("answers Irrelevant to the keys a discovery session does not use", async () => {
    const r = await (await initiator()).login({ discovery: true });
    expect(r.keys.get("InitialR2T")).toBe("Irrelevant");
    expect(r.keys.get("MaxBurstLength")).toBe("Irrelevant");
    expect(r.keys.get("HeaderDigest")).toBe("None");
  });

  it("sends a long answer in parts when the initiator takes little at a time (C bit and TTT)", async () => {
    const many = Array.from({ length: 12 }, (_, n) => `iqn.2026-01.org.example:many-${String(n).padStart(2, "0")}-${"x".repeat(40)}`);
    for (const iqn of many) target.export({ iqn, lun: 1, file: volume(iqn.slice(-45)) });
    try {
      const i = await initiator();
      expect((await i.login({ discovery: true, operational: { ...IPXE_OPERATIONAL, MaxRecvDataSegmentLength: "512" } })).status).toBe(0);
      const itt = i.textRequest({ keys: { SendTargets: "All" } });
      const parts: Buffer[] = [];
      for (;;) {
        const r = await i.next();
        expect(r!.data.length).toBeLessThanOrEqual(512);
        parts.push(r!.data);
        if (r!.bhs[1]! & 0x80) break;
        expect(r!.bhs[1]! & 0x40).toBe(0x40); // C: more to come
        i.textRequest({ keys: Buffer.alloc(0), itt, ttt: r!.bhs.readUInt32BE(20) });
      }
      expect(parts.length).toBeGreaterThan(1);
      const names = parseText(Buffer.concat(parts)).filter(([k]) => k === "TargetName").map(([, v]) => v);
      expect(names).toEqual(expect.arrayContaining(many));
    } finally {
      for (const iqn of many) await target.withdraw(iqn);
    }
  });

  it("rejects SCSI commands in a discovery session", async () => {
    const i = await initiator();
    await i.login({ discovery: true });
    i.scsiCommand({ cdb: [0x00] });
    const r = await i.next();
    expect(r!.opcode).toBe(0x3f);
    expect(r!.bhs[2]).toBe(0x05);
  });
});

describe("full feature phase", () => {
  it("answers a NOP-Out ping with a NOP-In carrying the same tag and data", async () => {
    const i = await loggedIn();
    const ping = Buffer.from("are you there?");
    const itt = i.simple(0x00, (b) => b.writeUInt32BE(0xffffffff, 20), ping);
    const r = await i.next();
    expect(r!.opcode).toBe(0x20);
    expect(r!.bhs.readUInt32BE(16)).toBe(itt);
    expect(r!.bhs.readUInt32BE(20)).toBe(0xffffffff);
    expect(r!.data.subarray(0, ping.length)).toEqual(ping);
  });

  it("takes a write through R2T and returns it in Data-In PDUs no larger than the initiator takes, status in the last", async () => {
    const i = await loggedIn();
    const data = Buffer.alloc(64 * 1024);
    for (let n = 0; n < data.length; n++) data[n] = n % 251;
    const w = await i.scsi([0x2a, 0, 0, 0, 0, 16, 0, 0, 128, 0], { write: data });
    expect(w.status).toBe(0);
    const r2t = w.pdus.filter((p) => p.opcode === 0x31);
    expect(r2t.map((p) => [p.bhs.readUInt32BE(36), p.bhs.readUInt32BE(40), p.bhs.readUInt32BE(44)])).toEqual([[0, 0, 65536]]);
    const r = await i.scsi([0x28, 0, 0, 0, 0, 16, 0, 0, 128, 0], { read: data.length });
    expect(r.status).toBe(0);
    expect(r.data.equals(data)).toBe(true); // (toEqual walks a Buffer byte by byte: slow)
    const dataIn = r.pdus.filter((p) => p.opcode === 0x25);
    expect(dataIn).toHaveLength(8);
    expect(dataIn.every((p) => p.data.length === 8192)).toBe(true);
    expect(dataIn.map((p) => p.bhs.readUInt32BE(36))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(dataIn.slice(0, -1).every((p) => (p.bhs[1]! & 0x01) === 0)).toBe(true);
    expect(dataIn.at(-1)!.bhs[1]! & 0x81).toBe(0x81);
    const fd = openSync(join(dir, "plain"), "r");
    const back = Buffer.alloc(data.length);
    readSync(fd, back, 0, back.length, 16 * 512);
    closeSync(fd);
    expect(back.equals(data)).toBe(true);
  });

  it("solicits in bursts of MaxBurstLength, as many at once as MaxOutstandingR2T allows, and ends Data-In sequences there", async () => {
    const i = await loggedIn(PLAIN, { operational: { ...IPXE_OPERATIONAL, MaxBurstLength: "16384", FirstBurstLength: "16384", MaxOutstandingR2T: "2" } });
    const data = Buffer.alloc(64 * 1024, 0x3c);
    const w = await i.scsi([0x2a, 0, 0, 0, 1, 0, 0, 0, 128, 0], { write: data });
    expect(w.status).toBe(0);
    const r2t = w.pdus.filter((p) => p.opcode === 0x31).map((p) => [p.bhs.readUInt32BE(36), p.bhs.readUInt32BE(40), p.bhs.readUInt32BE(44)]);
    expect(r2t).toEqual([
      [0, 0, 16384],
      [1, 16384, 16384],
      [2, 32768, 16384],
      [3, 49152, 16384],
    ]);
    // the first two came together, before any Data-Out was sent
    expect(w.pdus[0]!.opcode).toBe(0x31);
    expect(w.pdus[1]!.opcode).toBe(0x31);
    const r = await i.scsi([0x28, 0, 0, 0, 1, 0, 0, 0, 128, 0], { read: data.length });
    expect(r.data.equals(data)).toBe(true);
    const finals = r.pdus.filter((p) => p.opcode === 0x25).map((p) => (p.bhs[1]! & 0x80) !== 0);
    expect(finals).toEqual([false, true, false, true, false, true, false, true]);
  });

  it("answers the identity and geometry commands an initiator asks when it opens a disk", async () => {
    const i = await loggedIn();
    const inquiry = await i.scsi([0x12, 0, 0, 0, 96, 0], { read: 96 });
    expect(inquiry.data[0]).toBe(0x00); // direct access block device
    expect(inquiry.data.subarray(8, 16).toString()).toBe("SANBOOT ");
    expect(inquiry.residual).toBe(96 - inquiry.data.length);
    const serial = await i.scsi([0x12, 1, 0x80, 0, 255, 0], { read: 255 });
    expect(serial.data.subarray(4).toString()).toBe("volume-serial-1");
    const ids = await i.scsi([0x12, 1, 0x83, 1, 0, 0], { read: 256 });
    expect(ids.data.toString("latin1")).toContain(PLAIN);
    const cap10 = await i.scsi([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { read: 8 });
    expect([cap10.data.readUInt32BE(0), cap10.data.readUInt32BE(4)]).toEqual([BLOCKS - 1, 512]);
    const cap16 = await i.scsi([0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], { read: 32 });
    expect(cap16.data.readBigUInt64BE(0)).toBe(BigInt(BLOCKS - 1));
    const luns = await i.scsi([0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], { read: 256, lun: 0 });
    expect([...luns.data]).toEqual([0, 0, 0, 8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const mode = await i.scsi([0x1a, 0, 0x3f, 0, 255, 0], { read: 255 });
    expect(mode.status).toBe(0);
    expect(mode.data[0]).toBe(mode.data.length - 1);
    expect((await i.scsi([0x00, 0, 0, 0, 0, 0])).status).toBe(0);
    expect((await i.scsi([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status).toBe(0);
  });

  it.each([
    ["an operation code it does not implement (UNMAP)", [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], 1, [0x05, 0x20]],
    ["a read past the last block", [0x28, 0, 0, 0, 0x20, 0, 0, 0, 1, 0], 1, [0x05, 0x21]],
    ["a VPD page it does not have", [0x12, 1, 0xb0, 0, 64, 0], 1, [0x05, 0x24]],
    ["a command to a LUN with nothing behind it", [0x00, 0, 0, 0, 0, 0], 5, [0x05, 0x25]],
  ] as const)("answers %s with CHECK CONDITION and fixed-format sense", async (_what, cdb, lun, [key, asc]) => {
    const i = await loggedIn();
    const r = await i.scsi([...cdb], { lun, read: 512 });
    expect(r.status).toBe(0x02);
    expect(r.sense![0]).toBe(0x70);
    expect([r.sense![2]! & 0x0f, r.sense![12]]).toEqual([key, asc]);
  });

  it("aborts a write waiting for its data: function complete, and no response for the task", async () => {
    const i = await loggedIn();
    const itt = i.scsiCommand({ cdb: [0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0], write: 4096 });
    const r2t = await i.next();
    expect(r2t!.opcode).toBe(0x31);
    const tmf = i.simple(0x02, (b) => {
      b[1] = 0x80 | 1; // ABORT TASK
      b[9] = 1;
      b.writeUInt32BE(itt, 20);
      b.writeUInt32BE(i.cmdSN - 1, 32);
    });
    const answer = await i.next();
    expect([answer!.opcode, answer!.bhs.readUInt32BE(16), answer!.bhs[2]]).toEqual([0x22, tmf, 0]);
    const ping = i.simple(0x00, (b) => b.writeUInt32BE(0xffffffff, 20));
    const next = await i.next();
    expect([next!.opcode, next!.bhs.readUInt32BE(16)]).toEqual([0x20, ping]);
  });

  it.each([
    ["LOGICAL UNIT RESET", 5, 0],
    ["TARGET WARM RESET", 6, 0],
    ["TASK REASSIGN (no ERL 2 here)", 8, 4],
    ["a function that does not exist", 14, 5],
  ] as const)("answers task management %s with response %s", async (_what, fn, response) => {
    const i = await loggedIn();
    i.simple(0x02, (b) => {
      b[1] = 0x80 | fn;
      b[9] = 1;
      b.writeUInt32BE(0xffffffff, 20);
    });
    const r = await i.next();
    expect([r!.opcode, r!.bhs[2]]).toEqual([0x22, response]);
  });

  it("numbers its status: every answer carries the next StatSN", async () => {
    const i = await loggedIn();
    const seen: number[] = [];
    for (let n = 0; n < 3; n++) seen.push((await i.scsi([0x00, 0, 0, 0, 0, 0])).pdus.at(-1)!.bhs.readUInt32BE(24));
    expect(seen[1]).toBe(seen[0]! + 1);
    expect(seen[2]).toBe(seen[0]! + 2);
  });

  it("logs out: response 0, then closes the connection", async () => {
    const i = await loggedIn();
    const itt = i.simple(0x06, (b) => (b[1] = 0x80));
    const r = await i.next();
    expect([r!.opcode, r!.bhs.readUInt32BE(16), r!.bhs[2]]).toEqual([0x26, itt, 0]);
    expect(await i.next()).toBeNull();
  });
});

describe("withdrawal and close", () => {
  it("drops the sessions of a target when it is withdrawn", async () => {
    const iqn = "iqn.2026-01.org.example:withdrawn-live";
    target.export({ iqn, lun: 1, file: volume("live") });
    const i = await loggedIn(iqn);
    expect(target.exports().find((e) => e.iqn === iqn)!.sessions).toBe(1);
    await target.withdraw(iqn);
    expect(await i.next()).toBeNull();
    expect(target.exports().map((e) => e.iqn)).not.toContain(iqn);
  });

  it("drops every connection when it closes", async () => {
    const own = await startIscsiTarget({ port: 0 });
    own.export({ iqn: PLAIN, lun: 1, file: volume("own") });
    const i = await TestInitiator.connect(own.portal);
    expect((await i.login({ targetName: PLAIN })).status).toBe(0);
    await own.close();
    expect(await i.next()).toBeNull();
    await expect(TestInitiator.connect(own.portal)).rejects.toThrow();
  });
});
