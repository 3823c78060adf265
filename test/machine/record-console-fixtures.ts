/**
 * Records the raw serial logs console-milestones.test.ts reads (test/machine/fixtures/): the lab
 * machine's firmware (Debian's SeaBIOS, iPXE and OVMF) booting, or failing to boot, from a real
 * Cinder volume exported by tgt with CHAP; the one case Cinder cannot export (mutual CHAP) from the
 * lab's own iSCSI target. Each boot runs until the line that ends its story, then the VM stops.
 *
 *   SANBOOT_TEST_CINDER_URL=http://127.0.0.1:8776 SANBOOT_TEST_CINDER_PROJECT=$(cat /var/tmp/cinder-lab/state/project) \
 *     npx tsx test/machine/record-console-fixtures.ts [name ...]
 *
 * No secret may end up in a fixture: the script refuses to write a log that holds one.
 */
import { randomUUID } from "node:crypto";
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IscsiConnection } from "../../lib/cinder/block-storage";
import { CinderClient } from "../../lib/cinder/cinder-client";
import { startIscsiTarget } from "../../lab/iscsi-target/server";
import { biosBootSector, uefiGrubImage, writeImageToIscsi } from "../../lab/machine/images";
import { QemuMachine, type BootMode, type ConsoleLine, type IscsiBootPlan } from "../../lab/machine/qemu";
import { CinderAdmin } from "../cinder/cinder-admin";

const FIXTURES = join(__dirname, "fixtures");
const INITIATOR = "iqn.2026-11.org.example.sanboot:node-machine-test";
const BOOT_MS = 300_000;

interface Recording {
  name: string;
  mode: BootMode;
  /** what goes on the volume first, if anything */
  image?: () => Promise<Buffer>;
  plan: (good: IscsiBootPlan) => IscsiBootPlan | undefined;
  /** the line after which the firmware has nothing more to say about this boot */
  until: RegExp;
  /** boot from the lab's own target with mutual CHAP instead of Cinder's export */
  mutualChap?: boolean;
}

const unexported = (p: IscsiBootPlan): IscsiBootPlan => ({ ...p, targets: [{ ...p.targets[0], iqn: `iqn.2010-10.org.openstack:volume-${randomUUID()}` }] });

const RECORDINGS: Recording[] = [
  { name: "bios-os-marker", mode: "bios", image: async () => biosBootSector(), plan: (p) => p, until: /^SANBOOT-LAB-OS-RUNNING$/ },
  { name: "uefi-os-marker", mode: "uefi", image: () => uefiGrubImage({ partitionTable: "none" }), plan: (p) => p, until: /^SANBOOT-LAB-OS-RUNNING$/ },
  { name: "bios-unexported-target", mode: "bios", plan: unexported, until: /^No bootable device\.$/ },
  { name: "bios-wrong-chap-secret", mode: "bios", plan: (p) => ({ ...p, chap: { username: p.chap!.username, secret: `${p.chap!.secret}x` } }), until: /^No bootable device\.$/ },
  { name: "bios-wrong-mutual-chap-secret", mode: "bios", mutualChap: true, plan: (p) => ({ ...p, mutualChap: { ...p.mutualChap!, secret: "not-what-the-target-has" } }), until: /^No bootable device\.$/ },
  { name: "bios-no-boot-program", mode: "bios", plan: () => undefined, until: /^No bootable device\.$/ },
  { name: "uefi-no-boot-program", mode: "uefi", plan: () => undefined, until: /^BdsDxe: failed to load Boot0001 / },
  { name: "uefi-unexported-target-to-shell", mode: "uefi", plan: unexported, until: /^BdsDxe: starting Boot0006 "EFI Internal Shell"/ },
];

function planFrom(c: IscsiConnection): IscsiBootPlan {
  const portal = c.target_portal.match(/^\[?(.+?)\]?:(\d+)$/);
  if (!portal) throw new Error(`target_portal '${c.target_portal}' is not address:port`);
  if (c.auth_method !== "CHAP") throw new Error("the lab Cinder exported without CHAP");
  return {
    initiator: INITIATOR,
    targets: [{ iqn: c.target_iqn, address: portal[1]!, port: Number(portal[2]), lun: c.target_lun }],
    chap: { username: c.auth_username!, secret: c.auth_password! },
  };
}

async function record(r: Recording, plan: IscsiBootPlan | undefined, secrets: string[]): Promise<void> {
  const m = new QemuMachine();
  const started = Date.now();
  try {
    await m.start({ mode: r.mode, ...(plan ? { iscsi: plan } : {}) });
    const last: ConsoleLine = await m.waitForLine(r.until, BOOT_MS);
    await m.stop();
    const log = readFileSync(m.consoleLogPath!);
    const leaked = secrets.filter((s) => log.includes(s));
    if (leaked.length) throw new Error(`${r.name}: the console log holds a CHAP secret; not written`);
    writeFileSync(join(FIXTURES, `${r.name}.serial.log`), log);
    console.info(`${r.name}: '${last.text}' after ${((Date.now() - started) / 1000).toFixed(1)} s, ${log.length} bytes`);
  } finally {
    await m.close();
  }
}

async function main(): Promise<void> {
  const url = process.env["SANBOOT_TEST_CINDER_URL"]?.replace(/\/+$/, "");
  const project = process.env["SANBOOT_TEST_CINDER_PROJECT"];
  if (!url || !project) throw new Error("set SANBOOT_TEST_CINDER_URL and SANBOOT_TEST_CINDER_PROJECT (a real Cinder: /work/shared/labs/cinder/up.sh)");
  const wanted = process.argv.slice(2);
  const todo = RECORDINGS.filter((r) => wanted.length === 0 || wanted.includes(r.name));
  if (todo.length === 0) throw new Error(`nothing to record; names: ${RECORDINGS.map((r) => r.name).join(", ")}`);
  mkdirSync(FIXTURES, { recursive: true });

  const admin = new CinderAdmin(url, project);
  const cinder = new CinderClient({ endpoint: url, project_id: project, user: "sanboot", timeoutMs: 20_000, service_roles_header: true });
  const volumeId = await admin.createVolume({ name: "sanboot-console-fixtures" });
  const instanceUuid = randomUUID();
  const dir = mkdtempSync(join(tmpdir(), "console-fixtures-"));
  const target = await startIscsiTarget({ port: 0 });
  try {
    const attachment = await cinder.attach({
      volumeId,
      instanceUuid,
      connector: { initiator: INITIATOR, host: "machine-test-node", multipath: false, platform: "x86_64", os_type: "baremetal" },
      protocol: "iscsi",
    });
    if (attachment.connection.driver_volume_type !== "iscsi") throw new Error("the lab Cinder exported over something other than iSCSI");
    const cinderPlan = planFrom(attachment.connection);

    // the lab target: a volume with the BIOS boot sector, mutual CHAP
    const file = join(dir, "volume");
    const fd = openSync(file, "w");
    ftruncateSync(fd, 64 * 1024 * 1024);
    writeSync(fd, biosBootSector(), 0, 512, 0);
    closeSync(fd);
    const chap = { username: "fixture-initiator", password: "fixture-initiator-secret" };
    const reverse = { username: "fixture-target", password: "fixture-target-secret" };
    const iqn = "iqn.2010-10.org.openstack:volume-console-fixtures";
    target.export({ iqn, lun: 1, file, chap, mutualChap: reverse });
    const [host, port] = target.portal.split(":");
    const labPlan: IscsiBootPlan = {
      initiator: INITIATOR,
      targets: [{ iqn, address: host!, port: Number(port), lun: 1 }],
      chap: { username: chap.username, secret: chap.password },
      mutualChap: { username: reverse.username, secret: reverse.password },
    };
    const secrets = [cinderPlan.chap!.secret, chap.password, reverse.password];

    for (const r of todo) {
      const good = r.mutualChap ? labPlan : cinderPlan;
      if (r.image) {
        const image = await r.image();
        await writeImageToIscsi({
          portal: attachment.connection.target_portal,
          iqn: attachment.connection.target_iqn,
          lun: attachment.connection.target_lun,
          initiator: INITIATOR,
          chap: cinderPlan.chap!,
          image,
        });
      }
      await record(r, r.plan(good), secrets);
    }
  } finally {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
    await cinder.detach(volumeId, instanceUuid).catch(() => undefined);
    await admin.destroyVolume(volumeId).catch(() => undefined);
    await cinder.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
