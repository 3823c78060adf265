/**
 * The emulator with a data plane: its iSCSI volumes are real block devices, exported by a real
 * iSCSI target exactly while Cinder (LVM + tgt) would have a tgt target for them. sanboot's own
 * Cinder client attaches and detaches; qemu-io (libiscsi) and an iPXE virtual machine use the
 * connection_info it gets.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCinderEmulator, type CinderEmulator } from "../../lab/cinder-emulator/server";
import type { IscsiConnection } from "../../lib/cinder/block-storage";
import { TestInitiator } from "../iscsi-target/initiator";
import { bootVm, ipxeVm, serialBootSector } from "../iscsi-target/ipxe-vm";
import { qemuIo, runQemuIo, verified } from "../iscsi-target/qemu-io";
import { CinderAdmin } from "./cinder-admin";
import { clientFor, connector, iscsi } from "./contract";

const project = randomBytes(16).toString("hex");
const GIB = 1024 ** 3;

let dir: string;
let emulator: CinderEmulator;
let legacyEmulator: CinderEmulator;
let admin: CinderAdmin;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cinder-data-plane-"));
  emulator = await startCinderEmulator({ port: 0, createDelayMs: 10, dataPlane: { dir: join(dir, "current") } });
  // a Cinder before the attachments API: the legacy actions only
  legacyEmulator = await startCinderEmulator({ port: 0, createDelayMs: 10, maxVersion: "3.26", dataPlane: { dir: join(dir, "legacy") } });
  admin = new CinderAdmin(emulator.url, project);
});
afterAll(async () => {
  await emulator?.close();
  await legacyEmulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** the connector as CinderAdmin's raw calls take it */
function rawConnector(): Record<string, unknown> {
  return { ...connector() };
}

function exportOf(e: CinderEmulator, volumeId: string) {
  return e.exports().find((x) => x.volumeId === volumeId);
}

function qemuTarget(c: IscsiConnection) {
  return { portal: c.target_portal, iqn: c.target_iqn, lun: c.target_lun, chap: { username: c.auth_username!, password: c.auth_password! } };
}

async function deleted(e: CinderEmulator, a: CinderAdmin, id: string): Promise<void> {
  expect((await a.raw("DELETE", `/v3/${project}/volumes/${id}`)).status).toBe(202);
  for (let n = 0; n < 100 && (await a.raw("GET", `/v3/${project}/volumes/${id}`)).status !== 404; n++) await sleep(20);
}

describe("volumes", () => {
  it("are sparse files of their size, gone when the volume is deleted", async () => {
    const id = await admin.createVolume();
    const file = emulator.volumeFile(id)!;
    const st = statSync(file);
    expect(st.size).toBe(1 * GIB);
    expect(st.blocks * 512).toBeLessThan(1024 * 1024); // nothing allocated yet
    await deleted(emulator, admin, id);
    expect(existsSync(file)).toBe(false);
  });

  it("are not exported while nothing is attached", async () => {
    const id = await admin.createVolume();
    expect(exportOf(emulator, id)).toBeUndefined();
    await deleted(emulator, admin, id);
  });
});

describe("attach and detach through sanboot's Cinder client (attachments API)", () => {
  it("attach exports the volume at the portal connection_info names, with its CHAP user", async () => {
    const id = await admin.createVolume();
    const client = clientFor(emulator.url, project);
    const req = { volumeId: id, instanceUuid: randomUUID(), connector: connector() };
    const c = iscsi((await client.attach(req)).connection);
    expect(c.target_portal).toBe(emulator.iscsiPortal);
    expect(c.target_portal).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(exportOf(emulator, id)).toMatchObject({ iqn: c.target_iqn, lun: 1, file: emulator.volumeFile(id), sessions: 0 });
    // a login with the credentials connection_info carries gets in; a wrong password does not
    const ok = await TestInitiator.connect(c.target_portal);
    expect((await ok.login({ targetName: c.target_iqn, chap: { username: c.auth_username!, password: c.auth_password! } })).status).toBe(0);
    expect(exportOf(emulator, id)!.sessions).toBe(1);
    const bad = await TestInitiator.connect(c.target_portal);
    expect((await bad.login({ targetName: c.target_iqn, chap: { username: c.auth_username!, password: "guess" } })).status).toBe(0x0201);
    // detach withdraws the export and drops the session on it
    await client.detach(id, req.instanceUuid, req.connector);
    expect(emulator.exports()).toEqual([]);
    expect(await ok.next()).toBeNull();
    const late = await TestInitiator.connect(c.target_portal);
    expect((await late.login({ targetName: c.target_iqn, chap: { username: c.auth_username!, password: c.auth_password! } })).status).toBe(0x0204);
    for (const i of [ok, bad, late]) i.close();
    await deleted(emulator, admin, id);
  });

  it.skipIf(!qemuIo.available)(`qemu-io reads and writes the attached volume with connection_info's CHAP${qemuIo.available ? "" : ` — skipped: ${qemuIo.reason}`}`, async () => {
    const id = await admin.createVolume();
    const client = clientFor(emulator.url, project);
    const req = { volumeId: id, instanceUuid: randomUUID(), connector: connector() };
    const c = iscsi((await client.attach(req)).connection);
    const r = await runQemuIo(qemuTarget(c), ["length", "write -P 0x6b 4M 1M", "read -P 0x6b 4M 1M"]);
    expect(verified(r), r.stdout + r.stderr).toBe(true);
    expect(r.stdout).toContain("1 GiB");
    // the bytes are in the volume's file
    const fd = openSync(emulator.volumeFile(id)!, "r");
    const back = Buffer.alloc(4096);
    readSync(fd, back, 0, back.length, 4 * 1024 * 1024);
    closeSync(fd);
    expect(back.every((b) => b === 0x6b)).toBe(true);
    await client.detach(id, req.instanceUuid, req.connector);
    expect(emulator.exports()).toEqual([]);
    const after = await runQemuIo(qemuTarget(c), ["length"]);
    expect(after.stderr).toContain("Target removed(516)");
    // what was written outlives the export: attach again, read it back
    const again = iscsi((await client.attach({ ...req, instanceUuid: randomUUID() })).connection);
    expect(again.auth_password).toBe(c.auth_password);
    expect(verified(await runQemuIo(qemuTarget(again), ["read -P 0x6b 4M 1M"]))).toBe(true);
    await client.detach(id, req.instanceUuid);
    await admin.clearAttachments(id);
    await deleted(emulator, admin, id);
  });
});

describe("when the export is created and removed (as Cinder LVM + tgt does)", () => {
  it("a reservation without a connector exports nothing; the PUT with one does (Nova's flow)", async () => {
    const id = await admin.createVolume();
    const created = await admin.createAttachment(id, randomUUID());
    expect(exportOf(emulator, id)).toBeUndefined();
    const put = await admin.raw("PUT", `/v3/${project}/attachments/${created.body.attachment.id}`, { body: { attachment: { connector: connector() } } });
    expect(put.status).toBe(200);
    expect(exportOf(emulator, id)?.iqn).toBe(put.body.attachment.connection_info.target_iqn);
    await admin.raw("DELETE", `/v3/${project}/attachments/${created.body.attachment.id}`, { headers: { "X-Service-Roles": "service" } });
    expect(exportOf(emulator, id)).toBeUndefined();
    await deleted(emulator, admin, id);
  });

  it("deleting one of two attachments keeps the export; deleting the last removes it", async () => {
    const id = await admin.createVolume();
    const instance = randomUUID();
    const first = await admin.createAttachment(id, instance, rawConnector());
    await admin.raw("POST", `/v3/${project}/attachments/${first.body.attachment.id}/action`, { body: { "os-complete": null } });
    const second = await admin.createAttachment(id, instance, rawConnector());
    expect(second.status).toBe(200);
    await admin.raw("DELETE", `/v3/${project}/attachments/${second.body.attachment.id}`, { headers: { "X-Service-Roles": "service" } });
    expect(exportOf(emulator, id)).toBeDefined();
    await admin.raw("DELETE", `/v3/${project}/attachments/${first.body.attachment.id}`, { headers: { "X-Service-Roles": "service" } });
    expect(exportOf(emulator, id)).toBeUndefined();
    await deleted(emulator, admin, id);
  });

  it("a connector without an initiator exports nothing, and the reserved attachment it leaves removes nothing", async () => {
    const id = await admin.createVolume();
    const failed = await admin.createAttachment(id, randomUUID(), { host: "node1" });
    expect(failed.status).toBe(500);
    expect(exportOf(emulator, id)).toBeUndefined();
    await admin.clearAttachments(id);
    await deleted(emulator, admin, id);
  });

  it("legacy: os-initialize_connection exports, os-terminate_connection keeps it, os-detach removes it", async () => {
    const legacy = new CinderAdmin(legacyEmulator.url, project, "3.26");
    const id = await legacy.createVolume();
    const conn = connector();
    expect((await legacy.action(id, { "os-reserve": null })).status).toBe(202);
    const init = await legacy.action(id, { "os-initialize_connection": { connector: conn } });
    expect(init.body.connection_info.data.target_portal).toBe(legacyEmulator.iscsiPortal);
    expect(exportOf(legacyEmulator, id)).toBeDefined();
    await legacy.action(id, { "os-attach": { instance_uuid: randomUUID(), mountpoint: "/dev/sda", mode: "rw" } });
    await legacy.action(id, { "os-begin_detaching": null });
    await legacy.action(id, { "os-terminate_connection": { connector: conn } }, { service: true });
    expect(exportOf(legacyEmulator, id)).toBeDefined();
    const [att] = await legacy.attachments(id);
    expect((await legacy.action(id, { "os-detach": { attachment_id: att!.id } }, { service: true })).status).toBe(202);
    expect(legacyEmulator.exports()).toEqual([]);
    await deleted(legacyEmulator, legacy, id);
  });

  it("sanboot's client on the legacy path leaves no export behind", async () => {
    const legacy = new CinderAdmin(legacyEmulator.url, project, "3.26");
    const id = await legacy.createVolume();
    const client = clientFor(legacyEmulator.url, project);
    const req = { volumeId: id, instanceUuid: randomUUID(), connector: connector() };
    const c = iscsi((await client.attach(req)).connection);
    expect(exportOf(legacyEmulator, id)?.iqn).toBe(c.target_iqn);
    await client.detach(id, req.instanceUuid, req.connector);
    expect(legacyEmulator.exports()).toEqual([]);
    await deleted(legacyEmulator, legacy, id);
  });

  it("deleting a volume removes an export left behind (initialize_connection, then unreserve)", async () => {
    const legacy = new CinderAdmin(legacyEmulator.url, project, "3.26");
    const id = await legacy.createVolume();
    await legacy.action(id, { "os-reserve": null });
    await legacy.action(id, { "os-initialize_connection": { connector: connector() } });
    await legacy.action(id, { "os-unreserve": null });
    expect(exportOf(legacyEmulator, id)).toBeDefined();
    const file = legacyEmulator.volumeFile(id)!;
    await deleted(legacyEmulator, legacy, id);
    expect(legacyEmulator.exports()).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });
});

describe("without a data plane", () => {
  it("nothing changes: the configured portal, no exports, no files", async () => {
    const plain = await startCinderEmulator({ port: 0, createDelayMs: 10 });
    try {
      const a = new CinderAdmin(plain.url, project);
      const id = await a.createVolume();
      const r = await a.createAttachment(id, randomUUID(), rawConnector());
      expect(r.body.attachment.connection_info.target_portal).toBe("127.0.0.1:3260");
      expect([plain.iscsiPortal, plain.exports(), plain.volumeFile(id)]).toEqual([null, [], null]);
    } finally {
      await plain.close();
    }
  });
});

describe("closing", () => {
  it("stops the target and removes the volumes' files", async () => {
    const own = await startCinderEmulator({ port: 0, createDelayMs: 10, dataPlane: { dir: join(dir, "closing") } });
    const a = new CinderAdmin(own.url, project);
    const id = await a.createVolume();
    await a.createAttachment(id, randomUUID(), rawConnector());
    const file = own.volumeFile(id)!;
    const portal = own.iscsiPortal!;
    await own.close();
    expect(existsSync(file)).toBe(false);
    await expect(TestInitiator.connect(portal)).rejects.toThrow();
  });
});

describe.skipIf(!ipxeVm.available)(`a VM boots from a Cinder volume${ipxeVm.available ? "" : ` — skipped: ${ipxeVm.reason}`}`, () => {
  it("attached by sanboot's client, booted by iPXE with the CHAP connection_info carries", { timeout: 180_000 }, async () => {
    const id = await admin.createVolume();
    const banner = `SANBOOT-LAB: booted Cinder volume ${id.slice(0, 8)}`;
    // the image: a boot sector in the volume (what a glance image copied to it would hold)
    const fd = openSync(emulator.volumeFile(id)!, "r+");
    const mbr = serialBootSector(banner);
    writeFileSync(fd, mbr);
    closeSync(fd);
    const client = clientFor(emulator.url, project);
    const initiator = "iqn.2010-04.org.ipxe:sanboot-lab-vm";
    const req = { volumeId: id, instanceUuid: randomUUID(), connector: connector({ initiator }) };
    const c = iscsi((await client.attach(req)).connection);
    const r = await bootVm({ portal: c.target_portal, iqn: c.target_iqn, lun: c.target_lun, chap: { username: c.auth_username!, password: c.auth_password! }, initiatorIqn: initiator }, banner);
    expect(r.booted, r.console).toBe(true);
    await client.detach(id, req.instanceUuid, req.connector);
    expect(emulator.exports()).toEqual([]);
    await deleted(emulator, admin, id);
  });
});
