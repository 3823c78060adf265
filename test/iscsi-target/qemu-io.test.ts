/**
 * The target against an initiator nobody here wrote: QEMU's iscsi block driver (libiscsi) via
 * qemu-io. Skipped, with the reason, where qemu-io or its iscsi driver is missing.
 */
import { openSync, closeSync, ftruncateSync, mkdtempSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIscsiTarget, type IscsiTarget } from "../../lab/iscsi-target/server";
import { qemuIo, runQemuIo, verified } from "./qemu-io";

const IQN = "iqn.2010-10.org.openstack:volume-qemu-io";
const CHAP = { username: "BQGnyX9PMYN6AqGqKcSC", password: "wGAkPgRBGFBJ36WW" };
const SIZE = 64 * 1024 * 1024;

describe.skipIf(!qemuIo.available)(`the iSCSI target with qemu-io (libiscsi) as the initiator${qemuIo.available ? "" : ` — skipped: ${qemuIo.reason}`}`, () => {
  let dir: string;
  let file: string;
  let target: IscsiTarget;
  const at = () => ({ portal: target.portal, iqn: IQN, lun: 1, chap: CHAP });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "iscsi-qemu-io-"));
    file = join(dir, "volume");
    const fd = openSync(file, "w");
    ftruncateSync(fd, SIZE);
    closeSync(fd);
    target = await startIscsiTarget({ port: 0 });
    target.export({ iqn: IQN, lun: 1, file, chap: CHAP });
  });
  afterAll(async () => {
    await target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("logs in with CHAP, writes a pattern and reads it back, and the bytes are in the backing file", async () => {
    const r = await runQemuIo(at(), ["write -P 0x5a 1M 64k", "read -P 0x5a 1M 64k", "read -P 0 0 1M"]);
    expect(verified(r), r.stdout + r.stderr).toBe(true);
    expect(r.stdout).toContain("wrote 65536/65536 bytes at offset 1048576");
    const fd = openSync(file, "r");
    const back = Buffer.alloc(65536);
    readSync(fd, back, 0, back.length, 1024 * 1024);
    closeSync(fd);
    expect(back.every((b) => b === 0x5a)).toBe(true);
  });

  it("reports the backing file's size as the capacity", async () => {
    const r = await runQemuIo(at(), ["length"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("64 MiB");
  });

  it("moves 16 MiB each way: writes beyond the first burst go through R2T, reads come back whole", async () => {
    const r = await runQemuIo(at(), ["write -P 0xa5 8M 16M", "read -P 0xa5 8M 16M", "read -P 0 24M 1M"]);
    expect(verified(r), r.stdout + r.stderr).toBe(true);
    expect(r.stdout).toContain("wrote 16777216/16777216 bytes at offset 8388608");
    expect(r.stdout).toContain("read 16777216/16777216 bytes at offset 8388608");
  });

  it("refuses a wrong CHAP password with 0x0201 (authentication failure)", async () => {
    const r = await runQemuIo({ ...at(), chap: { ...CHAP, password: "not-the-password" } }, ["length"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Authentication failure(513)");
  });

  it("refuses a login without CHAP to a target that has CHAP credentials", async () => {
    const { chap: _none, ...noChap } = at();
    const r = await runQemuIo(noChap, ["length"]);
    expect(r.stderr).toContain("Authentication failure(513)");
  });

  it("refuses an unknown target with 0x0203 (not found)", async () => {
    const r = await runQemuIo({ ...at(), iqn: "iqn.2010-10.org.openstack:volume-nobody" }, ["length"]);
    expect(r.stderr).toContain("Target not found(515)");
  });

  it("refuses a withdrawn target with 0x0204 (target removed), and serves it again once re-exported", async () => {
    const iqn = "iqn.2010-10.org.openstack:volume-withdrawn";
    const other = join(dir, "other");
    const fd = openSync(other, "w");
    ftruncateSync(fd, 1024 * 1024);
    closeSync(fd);
    target.export({ iqn, lun: 1, file: other, chap: CHAP });
    expect((await runQemuIo({ ...at(), iqn }, ["length"])).stdout.trim()).toBe("1 MiB");
    await target.withdraw(iqn);
    const refused = await runQemuIo({ ...at(), iqn }, ["length"]);
    expect(refused.stderr).toContain("Target removed(516)");
    target.export({ iqn, lun: 1, file: other, chap: CHAP });
    expect((await runQemuIo({ ...at(), iqn }, ["length"])).stdout.trim()).toBe("1 MiB");
    await target.withdraw(iqn);
  });

  it("answers a LUN the target does not have with ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED", async () => {
    const r = await runQemuIo({ ...at(), lun: 3 }, ["length"]);
    expect(r.stderr).toContain("LOGICAL_UNIT_NOT_SUPPORTED");
  });
});
