/**
 * The iPXE script a NIC's iSCSI boot ROM runs for what a Redfish NetworkDeviceFunction's
 * iSCSIBoot holds: initiator name, primary and optional secondary target, CHAP and mutual CHAP.
 *
 * How the values reach iPXE (Debian's ipxe-qemu, a 2019 build; each point tried here):
 * - The guest reaches each target only through a QEMU user-net guestfwd: target i is
 *   10.0.2.(100+i) port 3260+i inside the VM. The ports differ because QEMU names a guestfwd's
 *   device after its guest port ("guestfwd.tcp.3260"): two forwards on one port refuse to start.
 * - The URI is `iscsi:<server>::<port>:<lun>:<target iqn>`. iPXE reads the LUN as SAM hex
 *   groups (scsi_parse_lun: strtoul base 16), so LUN 10 is written "a", and LUNs from 256 use
 *   flat addressing (0x4000 | lun).
 * - iPXE's command line has no quoting at all: words split at whitespace, `${...}` expands
 *   anywhere, `&&`, `||` and `;` as words chain commands. So usernames and secrets are never
 *   written as text: `set password:hex 70:61:...` stores the same bytes through iPXE's hex
 *   setting type, whatever they are (spaces, quotes, `${`, `;`, non-ASCII).
 * - Names that go into a URI (IQNs, addresses) are checked instead: they are narrow by
 *   definition, and a `?` or `#` would end iPXE's URI parsing early.
 * - Several URIs on one `sanboot` line are paths to one disk: iPXE opens the first that answers
 *   (tried: a wrong primary and a good secondary boots from the secondary).
 */
import { MachineError } from "./machine-errors";

export interface IscsiTarget {
  iqn: string;
  /** where the target really is, as the host sees it (IPv4, hostname or IPv6) */
  address: string;
  port: number;
  lun: number;
}

export interface ChapCredentials {
  username: string;
  secret: string;
}

/** iSCSIBoot as the NIC's ROM sees it: a primary target and, for multipath, a secondary. */
export interface IscsiBootPlan {
  initiator: string;
  targets: [IscsiTarget] | [IscsiTarget, IscsiTarget];
  /** one-way CHAP: the initiator proves itself to the target */
  chap?: ChapCredentials;
  /** the target proves itself back (iPXE's reverse-username / reverse-password); needs `chap` */
  mutualChap?: ChapCredentials;
}

/** One target as the guest reaches it, and where QEMU forwards that to. */
export interface GuestForward {
  guestAddress: string;
  guestPort: number;
  target: IscsiTarget;
}

const GUEST_FIRST_HOST = 100;
const GUEST_FIRST_PORT = 3260;

// iSCSI names (RFC 3720 §3.2.6): iqn./eui./naa. forms; '_' allowed as some initiators use it.
const ISCSI_NAME = /^(iqn\.\d{4}-\d{2}\.[A-Za-z0-9][A-Za-z0-9.-]*(:[A-Za-z0-9._:-]+)?|eui\.[0-9A-Fa-f]{16}|naa\.([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32}))$/;
const HOST_ADDRESS = /^([A-Za-z0-9][A-Za-z0-9.-]*|\[?[0-9A-Fa-f:.]+\]?)$/;

function invalid(message: string): MachineError {
  return new MachineError("INVALID_PLAN", message);
}

export function checkIscsiName(name: string, what: string): void {
  if (!ISCSI_NAME.test(name) || name.length > 223) throw invalid(`${what} '${name}' is not an iSCSI name (iqn.YYYY-MM.authority[:id], eui. or naa.)`);
}

function checkTarget(t: IscsiTarget, which: string): void {
  checkIscsiName(t.iqn, `${which} target`);
  if (!HOST_ADDRESS.test(t.address)) throw invalid(`${which} target address '${t.address}' is not an IP address or host name`);
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw invalid(`${which} target port ${t.port} is not in 1..65535`);
  if (!Number.isInteger(t.lun) || t.lun < 0 || t.lun > 0x3fff) throw invalid(`${which} target LUN ${t.lun} is not in 0..16383`);
}

function checkCredentials(c: ChapCredentials, what: string): void {
  if (c.username === "" || c.secret === "") throw invalid(`${what}: username and secret must not be empty`);
  if (/\0/.test(c.username + c.secret)) throw invalid(`${what}: NUL cannot be part of a CHAP name or secret`);
}

/** Every check ipxeScript makes, for a caller that wants to refuse a plan before booting. */
export function checkIscsiPlan(plan: IscsiBootPlan): void {
  checkIscsiName(plan.initiator, "initiator");
  if (plan.targets.length < 1 || plan.targets.length > 2) throw invalid(`${plan.targets.length} targets: iSCSIBoot has a primary and at most a secondary`);
  plan.targets.forEach((t, i) => checkTarget(t, i === 0 ? "primary" : "secondary"));
  if (plan.chap) checkCredentials(plan.chap, "CHAP");
  if (plan.mutualChap) {
    if (!plan.chap) throw invalid("mutual CHAP needs one-way CHAP as well (the target answers the initiator's challenge)");
    checkCredentials(plan.mutualChap, "mutual CHAP");
  }
}

/** Target i inside the VM: 10.0.2.(100+i), port 3260+i. */
export function guestForwards(plan: IscsiBootPlan): GuestForward[] {
  return plan.targets.map((target, i) => ({ guestAddress: `10.0.2.${GUEST_FIRST_HOST + i}`, guestPort: GUEST_FIRST_PORT + i, target }));
}

/** A LUN the way iPXE's scsi_parse_lun reads it: the first SAM level, in hex. */
export function ipxeLun(lun: number): string {
  const level = lun < 256 ? lun : 0x4000 | lun;
  return level.toString(16);
}

export function sanUri(fwd: GuestForward): string {
  return `iscsi:${fwd.guestAddress}::${fwd.guestPort}:${ipxeLun(fwd.target.lun)}:${fwd.target.iqn}`;
}

/** A value as iPXE's hex setting type reads it: bytes as two hex digits, colon-separated. */
export function ipxeHex(value: string): string {
  return [...Buffer.from(value, "utf8")].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export function ipxeScript(plan: IscsiBootPlan): string {
  checkIscsiPlan(plan);
  const lines = ["#!ipxe", "# iSCSI boot the way a NIC's boot ROM does it from iSCSIBoot", `set initiator-iqn ${plan.initiator}`];
  if (plan.chap) lines.push(`set username:hex ${ipxeHex(plan.chap.username)}`, `set password:hex ${ipxeHex(plan.chap.secret)}`);
  if (plan.mutualChap) lines.push(`set reverse-username:hex ${ipxeHex(plan.mutualChap.username)}`, `set reverse-password:hex ${ipxeHex(plan.mutualChap.secret)}`);
  lines.push(`sanboot ${guestForwards(plan).map(sanUri).join(" ")}`);
  return lines.join("\n") + "\n";
}
