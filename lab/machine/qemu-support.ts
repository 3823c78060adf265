/**
 * Whether this host can run a real lab machine, and where its parts are. Everything comes from
 * Debian packages; when one is missing the answer names the file and the package that ships it,
 * and the caller does not boot (the lab never pretends a boot happened).
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export interface QemuParts {
  /** qemu-system-x86_64 */
  qemu: string;
  /** SeaBIOS as QEMU loads it by default (the BIOS mode's firmware) */
  seabios: string;
  /** iPXE legacy option ROM for the e1000 NIC */
  ipxeBiosRom: string;
  /** iPXE ROM with the EFI driver for the e1000 NIC */
  ipxeEfiRom: string;
  /** OVMF firmware code (mapped read-only) and the template of its variable store */
  ovmfCode: string;
  ovmfVars: string;
  /**
   * util-linux's setpriv, when present: QEMU is started through it with --pdeathsig, so the
   * kernel kills QEMU if the Node process that started it dies without closing the machine
   * (setpriv execs QEMU: same PID).
   */
  setpriv?: string;
}

export interface MissingPart {
  what: string;
  /** the paths looked at */
  looked: string[];
  debianPackage: string;
}

export type QemuSupport = ({ ok: true } & QemuParts) | { ok: false; reason: string; missing: MissingPart[] };

export interface QemuSupportOptions {
  /** directories searched for qemu-system-x86_64 (default: $PATH) */
  searchPath?: string[];
  /** where each part is looked for, in order (default: Debian's places) */
  candidates?: Partial<Record<Exclude<keyof QemuParts, "qemu" | "setpriv">, string[]>>;
}

const DEBIAN: Record<Exclude<keyof QemuParts, "qemu" | "setpriv">, { files: string[]; what: string; pkg: string }> = {
  seabios: { files: ["/usr/share/seabios/bios-256k.bin", "/usr/share/qemu/bios-256k.bin"], what: "SeaBIOS (bios-256k.bin)", pkg: "seabios" },
  ipxeBiosRom: { files: ["/usr/lib/ipxe/qemu/pxe-e1000.rom"], what: "iPXE legacy ROM for e1000 (pxe-e1000.rom)", pkg: "ipxe-qemu" },
  ipxeEfiRom: { files: ["/usr/lib/ipxe/qemu/efi-e1000.rom"], what: "iPXE EFI ROM for e1000 (efi-e1000.rom)", pkg: "ipxe-qemu" },
  ovmfCode: { files: ["/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd"], what: "OVMF firmware code (OVMF_CODE_4M.fd)", pkg: "ovmf" },
  ovmfVars: { files: ["/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_VARS.fd"], what: "OVMF variable store template (OVMF_VARS_4M.fd)", pkg: "ovmf" },
};

function usable(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** The first of `dirs` holding an executable `name`, or null. */
export function findExecutable(name: string, dirs: string[]): string | null {
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (usable(candidate, constants.X_OK)) return candidate;
  }
  return null;
}

export function defaultSearchPath(): string[] {
  return (process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter);
}

export function qemuSupport(options: QemuSupportOptions = {}): QemuSupport {
  const missing: MissingPart[] = [];
  const dirs = options.searchPath ?? defaultSearchPath();
  const qemu = findExecutable("qemu-system-x86_64", dirs);
  if (!qemu) missing.push({ what: "qemu-system-x86_64", looked: dirs.map((d) => join(d, "qemu-system-x86_64")), debianPackage: "qemu-system-x86" });

  const found: Partial<QemuParts> = {};
  for (const key of Object.keys(DEBIAN) as Array<keyof typeof DEBIAN>) {
    const { files, what, pkg } = DEBIAN[key];
    const looked = options.candidates?.[key] ?? files;
    const path = looked.find((f) => usable(f, constants.R_OK));
    if (path) found[key] = path;
    else missing.push({ what, looked, debianPackage: pkg });
  }

  if (missing.length > 0 || !qemu) {
    const reason = missing.map((m) => `${m.what} not found (looked at ${m.looked.join(", ")}; Debian package ${m.debianPackage})`).join("; ");
    return { ok: false, reason, missing };
  }
  const setpriv = findExecutable("setpriv", dirs);
  return { ok: true, qemu, ...(found as Omit<QemuParts, "qemu" | "setpriv">), ...(setpriv ? { setpriv } : {}) };
}
