/**
 * A QEMU virtual machine that SAN-boots through iPXE's iSCSI initiator, the way a bare-metal
 * server's NIC firmware does: SeaBIOS runs the virtio NIC's iPXE ROM, iPXE gets a script from
 * QEMU's user-mode network (DHCP + TFTP, all inside QEMU), the script `sanboot`s the target,
 * and the BIOS boots the volume's first sector. A boot sector that writes a line to the serial
 * port shows the boot worked.
 *
 * The guest is isolated (user network with restrict=on): its one way out is a guestfwd from
 * 10.0.2.100:3260 to the target on 127.0.0.1, through guest-relay.mjs. TCG, not KVM: nested KVM
 * fails on iPXE here.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const ROM_DIRS = ["/usr/lib/ipxe/qemu", "/usr/share/qemu"];
const RELAY = join(__dirname, "guest-relay.mjs");
/** where the guest sees the target */
const GUEST_PORTAL = { ip: "10.0.2.100", port: 3260 };

export const ipxeVm: { available: boolean; reason: string } = probe();

function probe(): { available: boolean; reason: string } {
  const r = spawnSync("qemu-system-x86_64", ["--version"], { encoding: "utf8", timeout: 10_000 });
  if (r.error || r.status !== 0) return { available: false, reason: "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)" };
  if (!ROM_DIRS.some((d) => existsSync(join(d, "efi-virtio.rom")))) return { available: false, reason: "no iPXE ROM for virtio-net (Debian: ipxe-qemu)" };
  return { available: true, reason: "" };
}

/**
 * A 512-byte MBR: real-mode code that writes `message` to COM1 and halts.
 *   cli; xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8
 *   next: lodsb; or al,al; jz done; out dx,al; jmp next
 *   done: hlt; jmp done
 */
export function serialBootSector(message: string): Buffer {
  const code = [0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x16, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x08, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xf4, 0xeb, 0xfd];
  const text = Buffer.from(`\r\n${message}\r\n\0`, "ascii");
  if (code.length + text.length > 446) throw new Error("message too long for a boot sector");
  const mbr = Buffer.alloc(512);
  Buffer.from(code).copy(mbr, 0);
  text.copy(mbr, code.length); // at 0x16: where `mov si` points (0x7c16)
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

export interface SanBoot {
  /** "127.0.0.1:PORT" as connection_info says */
  portal: string;
  iqn: string;
  lun: number;
  chap?: { username: string; password: string };
  /** the target must authenticate itself with these (iPXE's reverse-username / reverse-password) */
  reverseChap?: { username: string; password: string };
  initiatorIqn?: string;
}

export interface BootResult {
  booted: boolean;
  /** what the firmware, iPXE and the boot sector wrote to the serial console (escapes stripped) */
  console: string;
  seconds: number;
}

/** Boots a VM from the target and waits for `expect` on its console (or a boot failure). */
export async function bootVm(sb: SanBoot, expect: string, timeoutMs = 120_000): Promise<BootResult> {
  const dir = mkdtempSync(join(tmpdir(), "ipxe-vm-"));
  const tftp = join(dir, "tftp");
  mkdirSync(tftp);
  const host = sb.portal.slice(0, sb.portal.lastIndexOf(":"));
  const port = sb.portal.slice(sb.portal.lastIndexOf(":") + 1);
  const set = (name: string, value: string) => `set ${name} ${value}\n`;
  writeFileSync(
    join(tftp, "boot.ipxe"),
    "#!ipxe\n" +
      set("initiator-iqn", sb.initiatorIqn ?? "iqn.2010-04.org.ipxe:sanboot-lab-vm") +
      (sb.chap ? set("username", sb.chap.username) + set("password", sb.chap.password) : "") +
      (sb.reverseChap ? set("reverse-username", sb.reverseChap.username) + set("reverse-password", sb.reverseChap.password) : "") +
      // iscsi:<server>:<protocol>:<port>:<LUN>:<target name>
      `sanboot iscsi:${GUEST_PORTAL.ip}::${GUEST_PORTAL.port}:${sb.lun}:${sb.iqn}\n`,
  );
  const serial = join(dir, "serial.log");
  const t0 = Date.now();
  const vm = spawn(
    "qemu-system-x86_64",
    [
      "-machine", "pc,accel=tcg,graphics=off",
      "-m", "128",
      "-display", "none",
      "-vga", "none",
      "-monitor", "none",
      "-serial", `file:${serial}`,
      "-netdev",
      `user,id=n0,ipv6=off,restrict=on,tftp=${tftp},bootfile=boot.ipxe,guestfwd=tcp:${GUEST_PORTAL.ip}:${GUEST_PORTAL.port}-cmd:${process.execPath} ${RELAY} ${host} ${port}`,
      "-device", "virtio-net-pci,netdev=n0",
      "-boot", "n",
      "-no-reboot",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  vm.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => vm.once("exit", () => resolve()));
  const read = () => (existsSync(serial) ? readFileSync(serial, "latin1").replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/.\x08/g, "") : "");
  try {
    const deadline = Date.now() + timeoutMs;
    let running = true;
    void exited.then(() => (running = false));
    while (Date.now() < deadline && running) {
      const out = read();
      if (out.includes(expect)) return { booted: true, console: out, seconds: (Date.now() - t0) / 1000 };
      if (/Could not boot|Boot failed|No bootable device/.test(out)) break;
      await sleep(250);
    }
    return { booted: false, console: `${read()}\n--- qemu stderr:\n${stderr}`, seconds: (Date.now() - t0) / 1000 };
  } finally {
    vm.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
