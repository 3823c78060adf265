/**
 * qemu-io with QEMU's libiscsi block driver (Debian's qemu-block-extra): an iSCSI initiator
 * nobody here wrote, driven from the tests.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Whether qemu-io and its iscsi driver are here; the reason to skip when not. */
export const qemuIo: { available: boolean; reason: string } = probe();

function probe(): { available: boolean; reason: string } {
  const version = spawnSync("qemu-io", ["--version"], { encoding: "utf8", timeout: 10_000 });
  if (version.error || version.status !== 0) return { available: false, reason: "qemu-io is not installed (Debian: qemu-utils, qemu-block-extra)" };
  // a portal nobody listens on: with the driver the error is libiscsi's, without it "Unknown driver"
  const r = spawnSync("qemu-io", ["--image-opts", "driver=iscsi,transport=tcp,portal=127.0.0.1:1,target=iqn.2000-01.org.example:probe,lun=0", "-c", "length"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  if (/Unknown driver|Unknown protocol|not whitelisted/i.test(out)) return { available: false, reason: "qemu-io has no iscsi driver (Debian: qemu-block-extra)" };
  return { available: true, reason: "" };
}

export interface QemuIoTarget {
  portal: string;
  iqn: string;
  lun: number;
  initiatorName?: string;
  chap?: { username: string; password: string };
}

export interface QemuIoResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs qemu-io commands (`write -P 0x5a 0 1M`, `read -P 0x5a 0 1M`, `length`) against a LUN. */
export async function runQemuIo(target: QemuIoTarget, commands: string[], timeoutMs = 60_000): Promise<QemuIoResult> {
  const dir = mkdtempSync(join(tmpdir(), "qemu-io-"));
  try {
    const opts = [
      "driver=iscsi",
      "transport=tcp",
      `portal=${target.portal}`,
      `target=${target.iqn}`,
      `lun=${target.lun}`,
      `initiator-name=${target.initiatorName ?? "iqn.2026-01.org.example:qemu-io"}`,
    ];
    const args: string[] = [];
    if (target.chap) {
      const secret = join(dir, "secret");
      writeFileSync(secret, target.chap.password, { mode: 0o600 });
      opts.push(`user=${target.chap.username}`, "password-secret=s0");
      args.push("--object", `secret,id=s0,file=${secret}`);
    }
    args.push("--image-opts", opts.join(","));
    for (const c of commands) args.push("-c", c);
    return await new Promise<QemuIoResult>((resolve) => {
      execFile("qemu-io", args, { timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** qemu-io reports "wrote N/N bytes" and "read N/N bytes" and, with -P, "Pattern verification failed". */
export function verified(r: QemuIoResult): boolean {
  return r.code === 0 && !/verification failed|error|failed/i.test(r.stdout + r.stderr);
}
