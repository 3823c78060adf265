/**
 * The iSCSI exports of the Cinder lab (../shared/labs/cinder: Cinder's LVM driver with tgt), as an
 * operator checks them with tgtadm: which targets tgtd serves, and taking one away behind
 * Cinder's back (a target that vanished before the server booted). tgtd may run in the lab's
 * private mount namespace (state/tgt_ns), then tgtadm is run inside it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const LAB = process.env.SANBOOT_CINDER_LAB_STATE ?? "/var/tmp/cinder-lab";

function tgtadm(args: string[]): string {
  const pid = readFileSync(`${LAB}/run/tgtd.pid`, "utf8").trim();
  const ns = existsSync(`${LAB}/state/tgt_ns`) && readFileSync(`${LAB}/state/tgt_ns`, "utf8").trim() === "1";
  const [cmd, argv] = ns ? ["nsenter", ["-t", pid, "-m", "--", "tgtadm", ...args]] : ["tgtadm", args];
  return execFileSync(cmd, argv as string[], { encoding: "utf8", timeout: 20_000 });
}

/** Every target tgtd serves: iqn → tid. */
export function tgtTargets(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of tgtadm(["--lld", "iscsi", "--op", "show", "--mode", "target"]).matchAll(/^Target (\d+): (\S+)$/gm)) out.set(m[2]!, Number(m[1]));
  return out;
}

/** Removes a target from tgtd, sessions and all, as if its export had been withdrawn. */
export function withdrawTarget(iqn: string): void {
  const tid = tgtTargets().get(iqn);
  if (tid === undefined) throw new Error(`tgtd serves no target ${iqn}`);
  tgtadm(["--lld", "iscsi", "--op", "delete", "--mode", "target", "--tid", String(tid), "--force"]);
}
