/**
 * The Debian tools the lab images are built and written with, found or named as missing with
 * the package that ships them; and how they are run (no shell, a time limit, errors as
 * MachineError).
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { MachineError } from "./machine-errors";
import { defaultSearchPath, findExecutable, type MissingPart } from "./qemu-support";

export interface ImageTools {
  grubMkstandalone: string;
  mkfsVfat: string;
  mmd: string;
  mcopy: string;
  qemuIo: string;
}

export type ImageToolsSupport = ({ ok: true } & ImageTools) | { ok: false; reason: string; missing: MissingPart[] };

const GRUB_EFI_MODULES = "/usr/lib/grub/x86_64-efi";
const QEMU_ISCSI_DRIVER = ["/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so", "/usr/lib/qemu/block-iscsi.so"];

/** grub-mkstandalone with GRUB's x86_64-efi modules, mkfs.vfat, mtools, qemu-io with its iSCSI driver. */
export function imageToolsSupport(searchPath: string[] = [...defaultSearchPath(), "/usr/sbin", "/sbin"]): ImageToolsSupport {
  const missing: MissingPart[] = [];
  const need = (name: string, pkg: string): string => {
    const found = findExecutable(name, searchPath);
    if (!found) missing.push({ what: name, looked: searchPath.map((d) => join(d, name)), debianPackage: pkg });
    return found ?? "";
  };
  const readable = (what: string, paths: string[], pkg: string): void => {
    if (!paths.some((p) => exists(p))) missing.push({ what, looked: paths, debianPackage: pkg });
  };
  const tools: ImageTools = {
    grubMkstandalone: need("grub-mkstandalone", "grub-common"),
    mkfsVfat: need("mkfs.vfat", "dosfstools"),
    mmd: need("mmd", "mtools"),
    mcopy: need("mcopy", "mtools"),
    qemuIo: need("qemu-io", "qemu-utils"),
  };
  readable("GRUB x86_64-efi modules", [join(GRUB_EFI_MODULES, "normal.mod")], "grub-efi-amd64-bin");
  readable("QEMU's iSCSI block driver (block-iscsi.so)", QEMU_ISCSI_DRIVER, "qemu-block-extra");
  if (missing.length > 0) {
    return { ok: false, reason: missing.map((m) => `${m.what} not found (looked at ${m.looked.join(", ")}; Debian package ${m.debianPackage})`).join("; "), missing };
  }
  return { ok: true, ...tools };
}

function exists(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export function toolsOrThrow(tools?: ImageTools): ImageTools {
  if (tools) return tools;
  const support = imageToolsSupport();
  if (!support.ok) throw new MachineError("UNSUPPORTED", `cannot build lab images: ${support.reason}`);
  const { ok: _ok, ...found } = support;
  return found;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A tool run without a shell; killed (by its PID) when it takes longer than timeoutMs. */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: opts.env, cwd: opts.cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function mustRun(code: "IMAGE_BUILD_FAILED" | "ISCSI_WRITE_FAILED", cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<RunResult> {
  const r = await run(cmd, args, opts).catch((err: unknown) => {
    throw new MachineError(code, `${cmd} did not run: ${String(err)}`, { cause: err });
  });
  if (r.code !== 0) throw new MachineError(code, `${cmd} ${args[0] ?? ""} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r;
}
