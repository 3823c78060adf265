/**
 * Putting an image on a volume the way a user would: written over the volume's iSCSI export.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SECTOR } from "./bios-boot-sector";
import { mustRun, toolsOrThrow, type ImageTools } from "./image-tools";
import { checkIscsiName } from "./ipxe-script";
import { MachineError } from "./machine-errors";
import { qemuOptValue } from "./qemu-args";

export interface IscsiImageWrite {
  /** "address:port" as Cinder's target_portal gives it */
  portal: string;
  iqn: string;
  lun: number;
  initiator: string;
  chap?: { username: string; secret: string };
  image: Buffer;
  tools?: ImageTools;
  timeoutMs?: number;
  tmpRoot?: string;
}

/**
 * Writes `image` at offset 0 of the LUN with qemu-io over libiscsi, logging in as `initiator`
 * with CHAP. The secret goes to qemu-io as a `--object secret` read from a 0600 file in a
 * private temp dir: never on a command line, where `ps` and logs would show it.
 */
export async function writeImageToIscsi(w: IscsiImageWrite): Promise<{ bytes: number; ms: number }> {
  const tools = toolsOrThrow(w.tools);
  checkIscsiName(w.iqn, "target");
  checkIscsiName(w.initiator, "initiator");
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(w.portal)) throw new MachineError("INVALID_PLAN", `portal '${w.portal}' is not address:port`);
  if (!Number.isInteger(w.lun) || w.lun < 0) throw new MachineError("INVALID_PLAN", `LUN ${w.lun} is not a LUN number`);
  const padded = Buffer.alloc(Math.ceil(w.image.length / SECTOR) * SECTOR);
  w.image.copy(padded);

  const dir = mkdtempSync(join(w.tmpRoot ?? tmpdir(), "sanboot-write-"));
  const started = Date.now();
  try {
    const imageFile = join(dir, "image.raw");
    // qemu-io splits its -c command at whitespace
    if (/\s/.test(imageFile)) throw new MachineError("INVALID_PLAN", `temp dir '${dir}' has whitespace in its path`);
    writeFileSync(imageFile, padded, { mode: 0o600 });
    const opts = ["driver=iscsi", "transport=tcp", `portal=${w.portal}`, `target=${w.iqn}`, `lun=${w.lun}`, `initiator-name=${w.initiator}`];
    const args: string[] = [];
    if (w.chap) {
      const secretFile = join(dir, "chap.secret");
      writeFileSync(secretFile, w.chap.secret, { mode: 0o600 });
      args.push("--object", `secret,id=chap0,file=${qemuOptValue(secretFile)}`);
      opts.push(`user=${qemuOptValue(w.chap.username)}`, "password-secret=chap0");
    }
    args.push("--image-opts", opts.join(","), "-c", `write -s ${imageFile} 0 ${padded.length}`, "-c", "flush");
    const r = await mustRun("ISCSI_WRITE_FAILED", tools.qemuIo, args, { timeoutMs: w.timeoutMs ?? 120_000, cwd: dir });
    // older qemu-io exits 0 after a failed command: its report is the proof
    if (!new RegExp(`wrote ${padded.length}/${padded.length} bytes`).test(r.stdout)) {
      throw new MachineError("ISCSI_WRITE_FAILED", `qemu-io did not report the write: ${(r.stdout + r.stderr).trim()}`);
    }
    return { bytes: padded.length, ms: Date.now() - started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
