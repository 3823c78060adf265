/**
 * A real QEMU VM booting from a real Cinder volume, the way a bare-metal node behind the lab BMC
 * would: Cinder exports the volume with CHAP for our initiator (lib/cinder's client, the same
 * attach the service does), the image goes onto it over iSCSI, and the VM's NIC ROM (iPXE)
 * boots it. What counts is what the firmware and the image print on the serial console.
 *
 * Runs only with QEMU's parts and the image tools installed (Debian: qemu-system-x86, ipxe-qemu,
 * ovmf, seabios, grub-efi-amd64-bin, dosfstools, mtools, qemu-utils, qemu-block-extra) and a
 * real Cinder: start one with /work/shared/labs/cinder/up.sh, then
 *   SANBOOT_TEST_CINDER_URL=http://127.0.0.1:8776 SANBOOT_TEST_CINDER_PROJECT=$(cat /var/tmp/cinder-lab/state/project) \
 *     npx vitest run test/machine
 * TCG is slow: a boot takes seconds to a minute or two on two busy cores; timeouts are generous.
 * SANBOOT_TEST_MACHINE_RECORD=<dir> keeps each boot's raw console log there (the fixtures of
 * console-milestones.test.ts come from record-console-fixtures.ts).
 */
import { randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Connector, IscsiConnection } from "../../lib/cinder/block-storage";
import { CinderClient } from "../../lib/cinder/cinder-client";
import { biosBootSector, imageToolsSupport, uefiGrubImage, writeImageToIscsi } from "../../lab/machine/images";
import { QemuMachine, qemuSupport, type BootMode, type ConsoleLine, type IscsiBootPlan, type Milestone } from "../../lab/machine/qemu";
import { CinderAdmin } from "../cinder/cinder-admin";

const url = process.env["SANBOOT_TEST_CINDER_URL"]?.replace(/\/+$/, "");
// the lab's default project (labs/cinder/up.sh); any hex id works with noauth
const project = process.env["SANBOOT_TEST_CINDER_PROJECT"] ?? "2b9f9a3c5d6e4f708192a3b4c5d6e7f8";
const recordDir = process.env["SANBOOT_TEST_MACHINE_RECORD"];

const support = qemuSupport();
const tools = imageToolsSupport();
const skipReason = !support.ok
  ? `QEMU cannot run here: ${support.reason}`
  : !tools.ok
    ? `the image tools are missing: ${tools.reason}`
    : !url
      ? "SANBOOT_TEST_CINDER_URL is unset (start a real Cinder with /work/shared/labs/cinder/up.sh)"
      : null;

const INITIATOR = "iqn.2026-11.org.example.sanboot:node-machine-test";
const BOOT_MS = 180_000;
const TEST_MS = 300_000;

function connectorFor(initiator: string): Connector {
  return { initiator, host: "machine-test-node", multipath: false, platform: "x86_64", os_type: "baremetal" };
}

/** The NIC's iSCSIBoot as the BMC would fill it in from Cinder's connection_info. */
function bootPlanFrom(c: IscsiConnection, initiator: string): IscsiBootPlan {
  const portal = c.target_portal.match(/^\[?(.+?)\]?:(\d+)$/);
  if (!portal) throw new Error(`target_portal '${c.target_portal}' is not address:port`);
  return {
    initiator,
    targets: [{ iqn: c.target_iqn, address: portal[1]!, port: Number(portal[2]), lun: c.target_lun }],
    ...(c.auth_method === "CHAP" ? { chap: { username: c.auth_username!, secret: c.auth_password! } } : {}),
  };
}

function firstIndex(lines: readonly ConsoleLine[], m: Milestone): number {
  return lines.findIndex((l) => l.milestone?.milestone === m);
}

describe.skipIf(skipReason !== null)(`a QEMU machine booting from a real Cinder volume${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let admin: CinderAdmin;
  let cinder: CinderClient;
  let volumeId: string;
  let instanceUuid: string;
  let connection: IscsiConnection;
  let plan: IscsiBootPlan;
  const machines: QemuMachine[] = [];
  const labels = new Map<QemuMachine, string>();

  function machine(): QemuMachine {
    const m = new QemuMachine();
    machines.push(m);
    return m;
  }

  async function putOnVolume(image: Buffer): Promise<void> {
    const w = await writeImageToIscsi({
      portal: connection.target_portal,
      iqn: connection.target_iqn,
      lun: connection.target_lun,
      initiator: INITIATOR,
      ...(plan.chap ? { chap: plan.chap } : {}),
      image,
    });
    expect(w.bytes).toBeGreaterThanOrEqual(image.length);
  }

  /** Boots and waits for the first of `until`; prints how long it took. */
  async function boot(m: QemuMachine, mode: BootMode, iscsi: IscsiBootPlan | undefined, until: Milestone[], label: string): Promise<ConsoleLine> {
    const started = Date.now();
    await m.start({ mode, ...(iscsi ? { iscsi } : {}) });
    const line = await m.waitForMilestone(until, BOOT_MS);
    console.info(`[machine] ${label}: '${line.text}' after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    labels.set(m, label);
    return line;
  }

  beforeAll(async () => {
    admin = new CinderAdmin(url!, project);
    cinder = new CinderClient({ endpoint: url!, project_id: project, user: "sanboot", timeoutMs: 20_000, service_roles_header: true });
    volumeId = await admin.createVolume({ name: "sanboot-machine-test" });
    instanceUuid = randomUUID();
    const attachment = await cinder.attach({ volumeId, instanceUuid, connector: connectorFor(INITIATOR), protocol: "iscsi" });
    if (attachment.connection.driver_volume_type !== "iscsi") throw new Error("the lab Cinder exported over something other than iSCSI");
    connection = attachment.connection;
    plan = bootPlanFrom(connection, INITIATOR);
  }, 120_000);

  afterEach(async () => {
    for (const [m, label] of labels) {
      if (!recordDir || !m.consoleLogPath) continue;
      mkdirSync(recordDir, { recursive: true });
      copyFileSync(m.consoleLogPath, join(recordDir, `${label.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.serial.log`));
    }
    labels.clear();
    await Promise.all(machines.splice(0).map((m) => m.close()));
  });

  // a safety net: the last test below does the same and checks it
  afterAll(async () => {
    await Promise.all(machines.splice(0).map((m) => m.close()));
    if (volumeId) {
      await cinder?.detach(volumeId, instanceUuid).catch(() => undefined);
      await admin?.destroyVolume(volumeId).catch(() => undefined);
    }
    await cinder?.close();
  }, 120_000);

  it("exports the volume with CHAP, so the boot below logs in as the BMC would", () => {
    expect(connection.auth_method).toBe("CHAP");
    expect(plan.chap?.secret).toBeTruthy();
  });

  it(
    "BIOS: the boot sector on the volume prints its marker, after SeaBIOS, iPXE and the SAN boot, in that order",
    async () => {
      await putOnVolume(biosBootSector());
      const m = machine();
      const reached = await boot(m, "bios", plan, ["os", "failed"], "BIOS boot to the OS marker");
      expect(reached.milestone).toMatchObject({ milestone: "os" });
      const lines = m.console;
      expect(lines.map((l) => l.text)).toEqual(expect.arrayContaining([expect.stringMatching(/^SeaBIOS \(version /), "Registered SAN device 0x80", "Booting from SAN device 0x80"]));
      expect(firstIndex(lines, "firmware")).toBeGreaterThanOrEqual(0);
      expect(firstIndex(lines, "firmware")).toBeLessThan(firstIndex(lines, "loader"));
      expect(firstIndex(lines, "loader")).toBeLessThan(firstIndex(lines, "os"));
      expect(readFileSync(m.consoleLogPath!, "latin1")).toContain("SANBOOT-LAB-OS-RUNNING");
    },
    TEST_MS,
  );

  it(
    "keeps the CHAP secret off QEMU's command line (it is in the machine's private boot script only)",
    async () => {
      await putOnVolume(biosBootSector());
      const m = machine();
      await m.start({ mode: "bios", iscsi: plan });
      const cmdline = readFileSync(`/proc/${m.pid}/cmdline`, "utf8");
      expect(cmdline).not.toContain(plan.chap!.secret);
      await m.stop();
    },
    TEST_MS,
  );

  it.each([
    { layout: "none" as const, label: "UEFI boot (bare FAT) to the OS marker" },
    { layout: "mbr" as const, label: "UEFI boot (ESP in MBR) to the OS marker" },
  ])(
    "UEFI: GRUB as EFI/BOOT/BOOTX64.EFI prints its marker, partition table: $layout",
    async ({ layout, label }) => {
      await putOnVolume(await uefiGrubImage({ partitionTable: layout }));
      const m = machine();
      const reached = await boot(m, "uefi", plan, ["os", "failed"], label);
      expect(reached.milestone).toMatchObject({ milestone: "os" });
      expect(m.console.map((l) => l.text)).toEqual(expect.arrayContaining(["Booting from SAN device 0x80", "Welcome to GRUB!"]));
      expect(firstIndex(m.console, "loader")).toBeLessThan(firstIndex(m.console, "os"));
    },
    TEST_MS,
  );

  it.each(["bios", "uefi"] as const)(
    "%s: a target that is not exported fails with iPXE's own line",
    async (mode) => {
      const wrong: IscsiBootPlan = { ...plan, targets: [{ ...plan.targets[0], iqn: `iqn.2010-10.org.openstack:volume-${randomUUID()}` }] };
      const m = machine();
      const reached = await boot(m, mode, wrong, ["failed", "loader", "os"], `${mode} boot from an unexported target`);
      expect(reached.milestone).toMatchObject({ milestone: "failed", rule: "iPXE: SAN device not opened" });
      expect(reached.text).toMatch(/^Could not open SAN device: No such device \(http:\/\/ipxe\.org\/[0-9a-f]+\)$/);
    },
    TEST_MS,
  );

  it(
    "BIOS: a wrong CHAP secret is refused by the target, and iPXE says so",
    async () => {
      const m = machine();
      const badChap: IscsiBootPlan = { ...plan, chap: { username: plan.chap!.username, secret: `${plan.chap!.secret}x` } };
      const reached = await boot(m, "bios", badChap, ["failed", "loader", "os"], "BIOS boot with a wrong CHAP secret");
      // the target refuses the login (iSCSI status "authentication failure"): EPERM in iPXE
      expect(reached.text).toMatch(/^Could not open SAN device: Operation not permitted \(http:\/\/ipxe\.org\/[0-9a-f]+\)$/);
    },
    TEST_MS,
  );

  it(
    "BIOS: with a primary target that is not exported, iPXE boots from the secondary (multipath)",
    async () => {
      await putOnVolume(biosBootSector());
      const good = plan.targets[0];
      const multipath: IscsiBootPlan = { ...plan, targets: [{ ...good, iqn: `iqn.2010-10.org.openstack:volume-${randomUUID()}` }, good] };
      const m = machine();
      const reached = await boot(m, "bios", multipath, ["os", "failed"], "BIOS boot through the secondary target");
      expect(reached.milestone).toMatchObject({ milestone: "os" });
    },
    TEST_MS,
  );

  it(
    "start() on a running machine restarts it: a new QEMU process, the old one gone, the console from the start",
    async () => {
      await putOnVolume(biosBootSector());
      const m = machine();
      await m.start({ mode: "bios", iscsi: plan });
      await m.waitForMilestone("loader", BOOT_MS);
      const firstPid = m.pid!;
      await m.start({ mode: "bios", iscsi: plan });
      expect(m.pid).not.toBe(firstPid);
      expect(() => process.kill(firstPid, 0)).toThrow();
      expect(m.console.some((l) => l.milestone?.milestone === "loader")).toBe(false);
      await boot(m, "bios", plan, ["os", "failed"], "BIOS boot after a restart");
    },
    TEST_MS,
  );

  it.each([
    { mode: "bios" as const, rule: "SeaBIOS: no bootable device", text: /^No bootable device\.$/ },
    { mode: "uefi" as const, rule: "OVMF: boot option failed", text: /^BdsDxe: failed to load Boot0001 "UEFI PXEv4 \(MAC:525400123456\)"/ },
  ])(
    "$mode without iSCSI settings: the firmware says it found nothing to boot",
    async ({ mode, rule, text }) => {
      const m = machine();
      const line = await boot(m, mode, undefined, ["failed", "loader", "os"], `${mode} boot with no boot program`);
      // iPXE first: DHCP names no boot file
      expect(line.text).toMatch(/^Nothing to boot: No such file or directory/);
      const firmwareSays = await m.waitForLine((l) => l.milestone?.rule === rule, BOOT_MS);
      expect(firmwareSays.text).toMatch(text);
      expect(m.console.some((l) => l.milestone?.milestone === "loader" || l.milestone?.milestone === "os")).toBe(false);
    },
    TEST_MS,
  );

  it(
    "cleans up: close() ends QEMU and removes its temp dir; the attachment and the volume are deleted",
    async () => {
      const m = machine();
      await m.start({ mode: "bios" });
      const pid = m.pid!;
      const dir = m.workDir!;
      await m.close();
      expect(m.running).toBe(false);
      expect(() => process.kill(pid, 0)).toThrow();
      expect(existsSync(dir)).toBe(false);
      await expect(m.start({ mode: "bios" })).rejects.toMatchObject({ code: "CLOSED" });

      await cinder.detach(volumeId, instanceUuid);
      expect(await admin.attachments(volumeId)).toEqual([]);
      await admin.destroyVolume(volumeId);
      const gone = Date.now() + 60_000;
      while ((await admin.raw("GET", `/v3/${project}/volumes/${volumeId}`)).status !== 404) {
        if (Date.now() > gone) throw new Error(`volume ${volumeId} still there a minute after its delete`);
        await new Promise((r) => setTimeout(r, 500));
      }
      volumeId = "";
    },
    TEST_MS,
  );
});
