/**
 * SendTargets discovery by initiators nobody here wrote: libiscsi's iscsi-ls (Debian:
 * libiscsi-bin) and open-iscsi's iscsiadm. Each is skipped, with the reason, where it cannot run:
 * iscsiadm needs the kernel's iscsi_tcp module (and iscsid), which a kernel without modules
 * does not have.
 */
import { execFile, spawnSync } from "node:child_process";
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIscsiTarget, type IscsiTarget } from "../../lab/iscsi-target/server";

const CHAP = { username: "discovery-user", password: "discovery-secret" };
const TARGETS = ["iqn.2010-10.org.openstack:volume-aaaa", "iqn.2010-10.org.openstack:volume-bbbb"];

const iscsiLs = spawnSync("iscsi-ls", ["--help"], { encoding: "utf8" }).error
  ? { available: false, reason: "iscsi-ls is not installed (Debian: libiscsi-bin)" }
  : { available: true, reason: "" };
const iscsiadm = spawnSync("iscsiadm", ["--version"], { encoding: "utf8" }).error
  ? { available: false, reason: "iscsiadm is not installed (Debian: open-iscsi)" }
  : !existsSync("/sys/module/iscsi_tcp") && !existsSync("/sys/class/iscsi_transport")
    ? { available: false, reason: "this kernel has no iscsi_tcp, which iscsiadm needs even for discovery" }
    : { available: true, reason: "" };

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, encoding: "utf8" }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

let dir: string;
let target: IscsiTarget;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "iscsi-discovery-"));
  target = await startIscsiTarget({ port: 0 });
  for (const iqn of TARGETS) {
    const file = join(dir, iqn.slice(-4));
    const fd = openSync(file, "w");
    ftruncateSync(fd, 8 * 1024 * 1024);
    closeSync(fd);
    target.export({ iqn, lun: 1, file, chap: CHAP });
  }
});
afterAll(async () => {
  await target?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!iscsiLs.available)(`SendTargets with libiscsi's iscsi-ls${iscsiLs.available ? "" : ` — skipped: ${iscsiLs.reason}`}`, () => {
  it("discovers every target at the portal, logs in to each with CHAP and lists its LUN", async () => {
    const r = await run("iscsi-ls", ["-s", "-i", "iqn.2026-01.org.example:discovery", `iscsi://${CHAP.username}%${CHAP.password}@${target.portal}`]);
    expect(r.code, r.out).toBe(0);
    for (const iqn of TARGETS) expect(r.out).toContain(`Target:${iqn} Portal:${target.portal},1`);
    // libiscsi prints the size from the last LBA, rounded down: 8 MiB shows as 7M
    expect(r.out.match(/Lun:1\s+Type:DIRECT_ACCESS \(Size:7M\)/g)).toHaveLength(TARGETS.length);
  });

  it("discovers without CHAP (none for discovery, as tgt), then cannot log in to the target (as tgt)", async () => {
    const r = await run("iscsi-ls", ["-s", `iscsi://${target.portal}`]);
    expect(r.out).toMatch(new RegExp(`Target:iqn.2010-10.org.openstack:volume-(aaaa|bbbb) Portal:${target.portal},1`));
    expect(r.out).toContain("Failed to log in to target. Status: Authentication failure(513)");
  });
});

describe.skipIf(!iscsiadm.available)(`SendTargets with open-iscsi's iscsiadm${iscsiadm.available ? "" : ` — skipped: ${iscsiadm.reason}`}`, () => {
  it("discovers every target at the portal", async () => {
    const r = await run("iscsiadm", ["-m", "discovery", "-t", "sendtargets", "-p", target.portal, "-o", "nonpersistent"]);
    expect(r.code, r.out).toBe(0);
    for (const iqn of TARGETS) expect(r.out).toContain(`${target.portal},1 ${iqn}`);
  });
});
