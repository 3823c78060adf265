/**
 * A virtual machine boots from the target through iPXE's iSCSI initiator (the firmware a
 * SAN-booting server runs), with mutual CHAP. Skipped, with the reason, without QEMU or iPXE.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIscsiTarget, type IscsiTarget } from "../../lab/iscsi-target/server";
import { bootVm, ipxeVm, serialBootSector } from "./ipxe-vm";

const IQN = "iqn.2010-10.org.openstack:volume-ipxe-boot";
const CHAP = { username: "ipxe-initiator", password: "initiator-secret-1" };
const REVERSE = { username: "ipxe-target", password: "target-secret-22" };

describe.skipIf(!ipxeVm.available)(`booting a VM through iPXE${ipxeVm.available ? "" : ` — skipped: ${ipxeVm.reason}`}`, () => {
  let dir: string;
  let target: IscsiTarget;
  const initiators: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "iscsi-ipxe-"));
    const file = join(dir, "volume");
    const fd = openSync(file, "w");
    ftruncateSync(fd, 64 * 1024 * 1024);
    writeSync(fd, serialBootSector("SANBOOT-LAB: booted over iSCSI with mutual CHAP"), 0, 512, 0);
    closeSync(fd);
    target = await startIscsiTarget({ port: 0, trace: (line) => line.includes("login-response") && initiators.push(line) });
    target.export({ iqn: IQN, lun: 1, file, chap: CHAP, mutualChap: REVERSE });
  });
  afterAll(async () => {
    await target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("iPXE logs in with mutual CHAP, the BIOS boots the volume's boot sector", { timeout: 180_000 }, async () => {
    const r = await bootVm({ portal: target.portal, iqn: IQN, lun: 1, chap: CHAP, reverseChap: REVERSE }, "SANBOOT-LAB: booted over iSCSI with mutual CHAP");
    expect(r.booted, r.console).toBe(true);
    expect(r.console).toContain("Booting from SAN device");
    // the target answered iPXE's challenge: its CHAP_N went back in a login response
    expect(initiators.some((l) => l.includes(`CHAP_N=${REVERSE.username}`))).toBe(true);
  });

  it("iPXE refuses a target that cannot prove itself (wrong reverse secret)", { timeout: 180_000 }, async () => {
    const r = await bootVm({ portal: target.portal, iqn: IQN, lun: 1, chap: CHAP, reverseChap: { ...REVERSE, password: "not-what-the-target-has" } }, "SANBOOT-LAB:", 90_000);
    expect(r.booted).toBe(false);
    // iPXE's own check of the target's CHAP_R failed
    expect(r.console).toContain("Could not open SAN device: Permission denied");
  });
});
