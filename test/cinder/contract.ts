/**
 * The BlockStorage contract, written once and run against every Cinder we have: the lab emulator
 * (emulator.contract.test.ts) and a real Cinder (real.contract.test.ts). The client under test
 * is always the real CinderClient over HTTP; only what the port does not cover (creating
 * volumes, looking at attachments) goes through CinderAdmin.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AttachRequest, Connector } from "../../lib/cinder/block-storage";
import { CinderClient } from "../../lib/cinder/cinder-client";
import { assertBootableAvailable } from "../../lib/cinder/volume-checks";
import { SanbootError } from "../../lib/errors";
import { CinderAdmin } from "./cinder-admin";

export interface CinderTarget {
  /** Cinder's endpoint, e.g. http://127.0.0.1:8776 */
  url: string;
  /** hex project id the client works in */
  project: string;
  /** cap the client's microversion (e.g. "3.43": the legacy actions against a newer Cinder) */
  clientMaxVersion?: string;
  /** the microversion the test's admin asks for (default 3.70; a capped emulator needs its cap) */
  adminVersion?: string;
}

export interface TargetTraits {
  /** the target is the lab emulator, whose /_lab/faults can lose answers on demand */
  faults: boolean;
  /** the attach path the client must take there: the attachments API (3.44+) or the legacy actions */
  mode: "attachments" | "legacy";
}

export const INITIATOR = "iqn.2026-11.org.example.sanboot:node-contract";

export function connector(over: Partial<Connector> = {}): Connector {
  return { initiator: INITIATOR, host: "contract-node", multipath: false, platform: "x86_64", os_type: "baremetal", ...over };
}

export function clientFor(url: string, project: string, over: { service_roles_header?: boolean; maxVersion?: string } = {}): CinderClient {
  return new CinderClient(
    {
      endpoint: url,
      project_id: project,
      user: "sanboot",
      timeoutMs: 10_000,
      service_roles_header: over.service_roles_header ?? true,
      ...(over.maxVersion ? { max_microversion: over.maxVersion } : {}),
    },
    // retries without waiting: the tests are about what is retried, not how long it waits
    { sleep: async () => undefined, random: () => 0.5 },
  );
}

export async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    if (err instanceof SanbootError) return err.code;
    throw err;
  }
  return "no error";
}

/**
 * A real Cinder has a volume quota (10 by default) and the lab's volume group holds ~9 GiB, so
 * the suite makes three volumes and reuses them: every test starts from `boot` available
 * with no attachment (afterEach puts it back).
 */
export function describeCinderContract(name: string, getTarget: () => CinderTarget, traits: TargetTraits): void {
  describe(`BlockStorage contract (${traits.mode}) against ${name}`, () => {
    const attachmentsApi = traits.mode === "attachments";
    let target: CinderTarget;
    let admin: CinderAdmin;
    let client: CinderClient;
    /** bootable, available, ours */
    let boot: string;
    /** not bootable, ours */
    let plain: string;
    /** bootable, another project's */
    let foreign: string;
    const other = randomBytes(16).toString("hex");

    beforeAll(async () => {
      target = getTarget();
      admin = new CinderAdmin(target.url, target.project, target.adminVersion);
      client = clientFor(target.url, target.project, target.clientMaxVersion ? { maxVersion: target.clientMaxVersion } : {});
      expect(await client.mode()).toBe(traits.mode);
      // one at a time: the lab's real Cinder (SQLite) answers 500 to concurrent creates
      boot = await admin.createVolume();
      plain = await admin.createVolume({ bootable: false });
      foreign = await admin.createVolume({ project: other });
    });

    afterEach(async () => {
      await admin.clearAttachments(boot);
    });

    afterAll(async () => {
      for (const [id, project] of [[boot, target.project], [plain, target.project], [foreign, other]] as const) {
        if (id) await admin.destroyVolume(id, project).catch(() => undefined);
      }
    });

    function request(volumeId: string, over: Partial<AttachRequest> = {}): AttachRequest {
      return { volumeId, instanceUuid: randomUUID(), connector: connector(), ...over };
    }

    it("reads a volume: bootable as a boolean, the owning project, its status", async () => {
      const id = boot;
      const v = await client.getVolume(id);
      expect(v).toMatchObject({ id, status: "available", bootable: true, project_id: target.project, size: 1, multiattach: false });
    });

    it("attach answers the iSCSI target with CHAP credentials and leaves the volume in-use", async () => {
      const id = boot;
      const req = request(id);
      const att = await client.attach(req);
      expect(att.connection).toMatchObject({
        driver_volume_type: "iscsi",
        target_iqn: `iqn.2010-10.org.openstack:volume-${id}`,
        target_lun: 1,
        auth_method: "CHAP",
      });
      expect(att.connection.target_portal).toMatch(/^[\d.]+:\d+$/);
      expect(att.connection.auth_username).toEqual(expect.any(String));
      expect(att.connection.auth_password).toEqual(expect.any(String));
      expect((await admin.volume(id)).status).toBe("in-use");
      expect(await admin.attachments(id)).toEqual([
        { id: att.attachment_id, status: "attached", instance: req.instanceUuid, volume_id: id },
      ]);
      const v = await client.getVolume(id);
      expect(v.attached_to).toEqual([req.instanceUuid]);
    });

    it("attach run twice for one instance returns the same attachment, never a second", async () => {
      const id = boot;
      const req = request(id);
      const first = await client.attach(req);
      const second = await client.attach(req);
      expect(second.attachment_id).toBe(first.attachment_id);
      expect(second.connection.auth_password).toBe(first.connection.auth_password);
      expect(await admin.attachments(id)).toHaveLength(1);
    });

    // the attachments API's own states; a legacy reservation has no record to find
    it.skipIf(!attachmentsApi)("attach finishes an attachment Cinder only reserved for the instance (connector, then complete)", async () => {
      const id = boot;
      const req = request(id);
      const reserved = await admin.createAttachment(id, req.instanceUuid);
      expect(reserved.status).toBe(200);
      const att = await client.attach(req);
      expect(att.attachment_id).toBe(reserved.body.attachment.id);
      expect(await admin.attachments(id)).toEqual([expect.objectContaining({ id: att.attachment_id, status: "attached" })]);
      expect((await admin.volume(id)).status).toBe("in-use");
    });

    // Losing an answer on demand needs the emulator's fault switch; a real Cinder only does it under load.
    it.skipIf(!traits.faults).each([
      ["answered 500", { status: 500 }],
      ["dropped", { drop: true }],
    ])("a create whose answer was lost (%s) is found again, not made twice", async (_label, how) => {
      const id = boot;
      const req = request(id);
      // the call that creates the attachment: POST /attachments, or legacy os-attach
      const creating = attachmentsApi ? { path_regex: "/attachments$" } : { path_regex: "/action$", body_regex: "os-attach" };
      await admin.failNext({ method: "POST", after_effect: true, ...creating, ...how });
      const att = await client.attach(req);
      const list = await admin.attachments(id);
      expect(list).toEqual([expect.objectContaining({ id: att.attachment_id, status: "attached", instance: req.instanceUuid })]);
      expect((await admin.volume(id)).status).toBe("in-use");
    });

    it("detach deletes the attachment and the volume is available again", async () => {
      const id = boot;
      const req = request(id);
      await client.attach(req);
      await client.detach(id, req.instanceUuid);
      expect(await admin.attachments(id)).toEqual([]);
      await admin.waitForStatus(id, "available", target.project, 15_000);
    });

    it("detach twice, or with nothing attached, is success", async () => {
      const id = boot;
      const req = request(id);
      await client.attach(req);
      await client.detach(id, req.instanceUuid);
      await client.detach(id, req.instanceUuid);
      await client.detach(id, randomUUID());
      expect(await admin.attachments(id)).toEqual([]);
    });

    it("detach leaves other instances' attachments alone", async () => {
      const id = boot;
      const req = request(id);
      await client.attach(req);
      await client.detach(id, randomUUID());
      expect(await admin.attachments(id)).toHaveLength(1);
    });

    it("a volume that does not exist is VOLUME_NOT_FOUND, for getVolume and attach", async () => {
      const missing = "00000000-0000-4000-8000-000000000000";
      expect(await codeOf(client.getVolume(missing))).toBe("VOLUME_NOT_FOUND");
      expect(await codeOf(client.attach(request(missing)))).toBe("VOLUME_NOT_FOUND");
    });

    it("a volume not marked bootable fails the pre-attach check with VOLUME_NOT_BOOTABLE", async () => {
      const id = plain;
      const v = await client.getVolume(id);
      expect(v.bootable).toBe(false);
      expect(await codeOf(() => assertBootableAvailable(v, target.project))).toBe("VOLUME_NOT_BOOTABLE");
    });

    it("another project's volume fails the pre-attach check with VOLUME_WRONG_PROJECT", async () => {
      const id = foreign;
      const v = await client.getVolume(id);
      expect(v.project_id).toBe(other);
      expect(await codeOf(() => assertBootableAvailable(v, target.project))).toBe("VOLUME_WRONG_PROJECT");
    });

    it("a volume in use by another instance is VOLUME_NOT_AVAILABLE, for the check and for attach", async () => {
      const id = boot;
      const first = request(id);
      await client.attach(first);
      const v = await client.getVolume(id);
      expect(await codeOf(() => assertBootableAvailable(v, target.project, { allowAttachedTo: randomUUID() }))).toBe("VOLUME_NOT_AVAILABLE");
      // the instance that holds it passes: its step may simply be running again
      expect(() => assertBootableAvailable(v, target.project, { allowAttachedTo: first.instanceUuid })).not.toThrow();
      const err = await client.attach(request(id)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "VOLUME_NOT_AVAILABLE", retryable: false });
      expect(await admin.attachments(id)).toHaveLength(1);
    });

    it("a multipath connector gets the plural target keys, one entry per portal", async () => {
      const id = boot;
      const att = await client.attach(request(id, { connector: connector({ multipath: true }) }));
      const c = att.connection;
      expect(c.target_portals).toContain(c.target_portal);
      expect(c.target_iqns).toHaveLength(c.target_portals!.length);
      expect(c.target_luns).toHaveLength(c.target_portals!.length);
      expect(new Set(c.target_iqns)).toEqual(new Set([c.target_iqn]));
    });

    it("a connector the iSCSI backend cannot use is VOLUME_WRONG_PROTOCOL and leaves nothing reserved", async () => {
      const id = boot;
      const fcOnly = connector({ initiator: undefined, wwpns: ["10000090fa0d6754"], wwnns: ["20000090fa0d6754"] });
      const err = await client.attach(request(id, { connector: fcOnly })).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "VOLUME_WRONG_PROTOCOL", retryable: false });
      expect(await admin.attachments(id)).toEqual([]);
      await admin.waitForStatus(id, "available", target.project, 15_000);
    });

    it.skipIf(!traits.faults)("a failure after the volume was reserved leaves it available, with nothing attached", async () => {
      const id = boot;
      const req = request(id);
      // the last step of each path fails for good: os-complete (every retry of it), or legacy os-attach
      const last = attachmentsApi ? { body_regex: "os-complete", times: 4 } : { body_regex: "os-attach" };
      await admin.failNext({ method: "POST", path_regex: "/action$", status: 500, ...last });
      expect(await codeOf(client.attach(req))).toBe("CINDER_UNAVAILABLE");
      // the workflow's rollback (the legacy path already undid its reservation itself)
      await client.detach(id, req.instanceUuid, req.connector);
      expect(await admin.attachments(id)).toEqual([]);
      await admin.waitForStatus(id, "available", target.project, 15_000);
    });

    it("detach of a volume reserved but never attached (a run that died half way) leaves it available", async () => {
      const id = boot;
      const req = request(id);
      if (attachmentsApi) await admin.createAttachment(id, req.instanceUuid);
      else await admin.action(id, { "os-reserve": null });
      expect((await admin.volume(id)).status).toBe(attachmentsApi ? "reserved" : "attaching");
      await client.detach(id, req.instanceUuid, req.connector);
      await admin.waitForStatus(id, "available", target.project, 15_000);
      expect(await admin.attachments(id)).toEqual([]);
    });
  });
}
