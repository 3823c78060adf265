/**
 * The real boot: a QEMU virtual machine behind the lab BMC boots from a volume that a real Cinder
 * exported, through sanboot's public API. The OS is put on the volume the way a user would: over
 * the volume's own export (an attachment for the writer's initiator), before the boot. The
 * request must go `active` with `boot_confirmed` only after the OS marker appeared on the VM's
 * serial console; undeploy must leave the VM off, the BMC as found, the volume `available` with
 * no attachment and no tgt target. A target withdrawn before the power-on must fail the request
 * with the console's evidence, and roll it all back.
 *
 * Runs with QEMU, the image tools and a real Cinder (Debian packages qemu-system-x86, ipxe-qemu,
 * ovmf, grub-efi-amd64-bin, mtools, dosfstools, qemu-utils, qemu-block-extra; start Cinder with
 * ../shared/labs/cinder/up.sh):
 *   SANBOOT_TEST_CINDER_URL=http://127.0.0.1:8776 SANBOOT_TEST_CINDER_PROJECT=$(cat /var/tmp/cinder-lab/state/project) npm run test:real-boot
 * Skipped otherwise, saying what is missing.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_CREDENTIALS_REF, LAB_SITE, startLocalStack, type LocalStack } from "../../lab/local-stack";
import { qemuBackend } from "../../lab/machine/backend";
import { biosBootSector, imageToolsSupport, uefiGrubImage, writeImageToIscsi } from "../../lab/machine/images";
import { DEFAULT_OS_MARKER, qemuSupport } from "../../lab/machine/qemu";
import { CinderClient } from "../../lib/cinder/cinder-client";
import { CinderAdmin } from "../cinder/cinder-admin";
import { Api } from "../support/api";
import { bmcState } from "../support/bmc-state";
import { tgtTargets, withdrawTarget } from "../support/tgt-lab";

const url = process.env["SANBOOT_TEST_CINDER_URL"]?.replace(/\/+$/, "");
const project = process.env["SANBOOT_TEST_CINDER_PROJECT"] ?? "2b9f9a3c5d6e4f708192a3b4c5d6e7f8";
const support = qemuSupport();
const tools = imageToolsSupport();
const skip = !url
  ? "SANBOOT_TEST_CINDER_URL is unset (start a real Cinder with ../shared/labs/cinder/up.sh)"
  : !support.ok
    ? `QEMU cannot run here: ${support.reason}`
    : !tools.ok
      ? `the image tools are missing: ${tools.reason}`
      : null;

const WRITER = "iqn.2026-12.org.example.sanboot:image-writer";
const BOOT_MS = 240_000;

let stack: LocalStack;
let api: Api;
let admin: CinderAdmin;
let cinder: CinderClient;
const volumes: string[] = [];

/** A bootable volume with `image` on it, written over its export as a user would, export gone after. */
async function volumeWith(image: Buffer): Promise<string> {
  const volumeId = await admin.createVolume({ bootable: true, name: `sanboot-real-boot-${randomUUID().slice(0, 8)}` });
  volumes.push(volumeId);
  const instance = randomUUID();
  const att = await cinder.attach({ volumeId, instanceUuid: instance, connector: { initiator: WRITER, host: "image-writer", multipath: false, platform: "x86_64", os_type: "baremetal" }, protocol: "iscsi" });
  if (att.connection.driver_volume_type !== "iscsi") throw new Error("the lab's Cinder exported over something other than iSCSI");
  const c = att.connection;
  await writeImageToIscsi({
    portal: c.target_portal,
    iqn: c.target_iqn,
    lun: c.target_lun,
    initiator: WRITER,
    ...(c.auth_method === "CHAP" ? { chap: { username: c.auth_username!, secret: c.auth_password! } } : {}),
    image,
  });
  await cinder.detach(volumeId, instance);
  await admin.waitForStatus(volumeId, "available");
  return volumeId;
}

let n = 0;
async function enrollMachine(mode: "bios" | "uefi") {
  n++;
  const systemId = `vm-${mode}-${n}`;
  // Legacy BIOS names the SAN device with RemoteDrive; UEFI by its boot option
  const found = stack.bmc.addSystem({ id: systemId, flavour: "generic", powerState: "Off", machine: true, ...(mode === "bios" ? { remoteDrive: true } : {}) });
  const mac = found.functions.find((f) => f.capabilities.includes("iSCSI") && !f.foreign && !f.iSCSIBoot.PrimaryTargetName)!.mac;
  const res = await api.post("/v1/nodes", {
    site: LAB_SITE,
    bmc: { driver: "auto", address: stack.bmc.url, system_id: systemId, credentials_ref: LAB_CREDENTIALS_REF },
    mac_address: mac,
    boot_mode: mode,
  });
  expect(res.status, res.text).toBe(201);
  return { nodeId: res.body.node_id as string, systemId, found };
}

const iqnOf = (volumeId: string) => `iqn.2010-10.org.openstack:volume-${volumeId}`;

describe.skipIf(skip !== null)(`a real boot from a real Cinder volume${skip ? ` (skipped: ${skip})` : ""}`, () => {
  beforeAll(async () => {
    admin = new CinderAdmin(url!, project);
    cinder = new CinderClient({ endpoint: url!, project_id: project, user: "sanboot", timeoutMs: 30_000, service_roles_header: true });
    stack = await startLocalStack({ realCinder: { url: url!, project }, machines: qemuBackend(), powerDelayMs: 100, leaseSeconds: 30, sweepMs: 500 });
    api = new Api(stack.service.url, stack.apiToken);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    for (const v of volumes) await admin?.destroyVolume(v).catch(() => undefined);
    await cinder?.close();
  }, 180_000);

  it.each([
    ["bios", "a boot sector", () => Promise.resolve(biosBootSector())],
    ["uefi", "GRUB as EFI/BOOT/BOOTX64.EFI", () => uefiGrubImage()],
  ] as const)(
    "%s: boots %s from the volume with CHAP, active only after the OS marker, and undeploy leaves nothing behind",
    async (mode, _what, image) => {
      const volumeId = await volumeWith(await image());
      const { nodeId, systemId, found } = await enrollMachine(mode);
      const t0 = Date.now();
      const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
      expect(r.status).toBe(202);
      const done = await api.waitFor(r.body.request_id, ["active", "failed"], BOOT_MS);
      expect(done.error, JSON.stringify(done.error)).toBeNull();
      expect(done.state).toBe("active");
      console.info(`[real-boot] ${mode}: request active ${((Date.now() - t0) / 1000).toFixed(1)} s after the API call`);

      const sys = stack.bmc.system(systemId);
      const marker = sys.machine!.console.find((l) => l.text.includes(DEFAULT_OS_MARKER));
      expect(marker, sys.machine!.console.map((l) => l.text).join("\n")).toBeDefined();
      // the firmware logged in with what Cinder gave (CHAP), to the volume's target
      expect(sys.machine!.plan).toMatchObject({ mode, iscsi: { targets: [{ iqn: iqnOf(volumeId) }], chap: { username: done.target.auth_username } } });
      expect(done.target.auth_method).toBe("CHAP");
      expect(done.boot_confirmed).toBe(true);
      expect(done.boot_evidence).toMatch(/OSRunning/);
      const activeAt = done.history.find((h: { state: string }) => h.state === "active").at as string;
      expect(Date.parse(marker!.at)).toBeLessThanOrEqual(Date.parse(activeAt));
      expect(sys.BootProgress.LastState).toBe("OSRunning");

      expect((await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`)).status).toBe(202);
      expect((await api.waitFor(r.body.request_id, ["detached", "failed"], BOOT_MS)).state).toBe("detached");
      const after = stack.bmc.system(systemId);
      expect(after.PowerState).toBe("Off");
      expect(after.machine!.running).toBe(false);
      expect(bmcState(after)).toEqual(bmcState(found));
      expect((await admin.volume(volumeId)).status).toBe("available");
      expect(await admin.attachments(volumeId)).toEqual([]);
      expect(tgtTargets().has(iqnOf(volumeId))).toBe(false);
    },
    BOOT_MS * 2,
  );

  it(
    "a target withdrawn before the power-on fails the request with the console's evidence, and rolls everything back",
    async () => {
      const volumeId = await volumeWith(biosBootSector());
      const { nodeId, systemId, found } = await enrollMachine("bios");
      const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
      expect(r.status).toBe(202);
      // once Cinder exported the volume to the node, and before the VM's firmware logs in (seconds after power-on)
      let state = "";
      for (let i = 0; i < 2_000 && !["attached", "firmware_configured", "booting", "failed"].includes(state); i++) {
        state = (await api.get(`/v1/boot-requests/${r.body.request_id}`)).body.state;
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(tgtTargets().has(iqnOf(volumeId))).toBe(true);
      withdrawTarget(iqnOf(volumeId));

      const done = await api.waitFor(r.body.request_id, ["active", "failed"], BOOT_MS);
      expect(done.state).toBe("failed");
      expect(done.error.code).toBe("BMC_BOOT_FAILED");
      expect(done.error.message).toMatch(/Could not open SAN device/);
      // the firmware's own words, from the BMC's event log and its capture of the console
      expect(done.error.message).toMatch(/^system \S+ did not boot from the SAN target: Boot failed: Could not open SAN device: .*; the console showed: .*tftp:\/\/10\.0\.2\.2\/boot\.ipxe\.\.\. ok \| .*Could not open SAN device/);
      const after = stack.bmc.system(systemId);
      expect(after.PowerState).toBe("Off");
      expect(after.machine!.running).toBe(false);
      expect(bmcState(after)).toEqual(bmcState(found));
      expect((await admin.volume(volumeId)).status).toBe("available");
      expect(await admin.attachments(volumeId)).toEqual([]);
      expect(tgtTargets().has(iqnOf(volumeId))).toBe(false);
    },
    BOOT_MS * 2,
  );
});
