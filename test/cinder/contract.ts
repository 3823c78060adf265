/**
 * The BlockStorage contract, written once and run against every Cinder we have: the lab emulator
 * (emulator.contract.test.ts) and a real Cinder (real.contract.test.ts). The client under test
 * is always the real CinderClient over HTTP; only what the port does not cover (creating
 * volumes, looking at attachments) goes through CinderAdmin.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AttachInProgress, type AttachRequest, type Connection, type Connector, type FcConnection, type IscsiConnection } from "../../lib/cinder/block-storage";
import { CinderClient } from "../../lib/cinder/cinder-client";
import type { CinderConfig } from "../../lib/cinder/cinder-transport";
import { assertBootableAvailable, assertProtocol, protocolFor } from "../../lib/cinder/volume-checks";
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
  /**
   * The client's own configuration (a Keystone one: endpoint and project from its token's
   * catalog) instead of noauth at `url` / `project`; the admin still works at `url`.
   */
  clientConfig?: CinderConfig;
  /** the project that owns the "another project's volume" (default: a random id) */
  otherProject?: string;
}

export interface TargetTraits {
  /** the target is the lab emulator, whose /_lab/faults can lose answers on demand */
  faults: boolean;
  /** the attach path the client must take there: the attachments API (3.44+) or the legacy actions */
  mode: "attachments" | "legacy";
  /** a volume type on a Fibre Channel backend, and its target WWPNs (the emulator's FC backend) */
  fc?: { volumeType: string; targetWwpns: string[] };
  /**
   * The client's credentials hold no admin role (a member-only Keystone user, the way an operator
   * runs sanboot): the cases named "(needs admin: ...)" skip, the "(member-only: ...)" ones run.
   * Cinder's noauth and the emulator treat every caller as an admin.
   */
  memberOnly?: boolean;
}

export const INITIATOR = "iqn.2026-11.org.example.sanboot:node-contract";
export const NODE_WWPNS = ["10000090fa0d6754", "10000090fa0d6755"];
export const NODE_WWNNS = ["20000090fa0d6754", "20000090fa0d6755"];

export function connector(over: Partial<Connector> = {}): Connector {
  return { initiator: INITIATOR, host: "contract-node", multipath: false, platform: "x86_64", os_type: "baremetal", ...over };
}

export function clientFor(url: string, project: string, over: { service_roles_header?: boolean; maxVersion?: string } = {}): CinderClient {
  return clientOf({
    endpoint: url,
    project_id: project,
    user: "sanboot",
    timeoutMs: 10_000,
    service_roles_header: over.service_roles_header ?? true,
    ...(over.maxVersion ? { max_microversion: over.maxVersion } : {}),
  });
}

export function clientOf(config: CinderConfig): CinderClient {
  // retries without waiting: the tests are about what is retried, not how long it waits
  return new CinderClient(config, { sleep: async () => undefined, random: () => 0.5 });
}

/** An FC node's connector: WWPNs and WWNNs, no initiator. */
export function fcConnector(over: Partial<Connector> = {}): Connector {
  return connector({ initiator: undefined, wwpns: NODE_WWPNS, wwnns: NODE_WWNNS, ...over });
}

export function iscsi(c: Connection): IscsiConnection {
  if (c.driver_volume_type !== "iscsi") throw new Error(`expected an iSCSI connection, got ${c.driver_volume_type}`);
  return c;
}

export function fibreChannel(c: Connection): FcConnection {
  if (c.driver_volume_type !== "fibre_channel") throw new Error(`expected a Fibre Channel connection, got ${c.driver_volume_type}`);
  return c;
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
    /** bootable, ours, on the Fibre Channel backend (when the target has one) */
    let fcVolume: string;
    let other = randomBytes(16).toString("hex");
    const memberOnly = traits.memberOnly === true;

    beforeAll(async () => {
      target = getTarget();
      other = target.otherProject ?? other;
      admin = new CinderAdmin(target.url, target.project, target.adminVersion);
      client = target.clientConfig
        ? clientOf(target.clientConfig)
        : clientFor(target.url, target.project, target.clientMaxVersion ? { maxVersion: target.clientMaxVersion } : {});
      expect(await client.mode()).toBe(traits.mode);
      // one at a time: the lab's real Cinder (SQLite) answers 500 to concurrent creates
      boot = await admin.createVolume();
      plain = await admin.createVolume({ bootable: false });
      foreign = await admin.createVolume({ project: other });
      if (traits.fc) fcVolume = await admin.createVolume({ volumeType: traits.fc.volumeType });
    });

    afterEach(async () => {
      await admin.clearAttachments(boot);
      if (fcVolume) await admin.clearAttachments(fcVolume);
    });

    afterAll(async () => {
      for (const [id, project] of [[boot, target.project], [plain, target.project], [foreign, other], [fcVolume, target.project]] as const) {
        if (id) await admin.destroyVolume(id, project).catch(() => undefined);
      }
      await client?.close();
    });

    function request(volumeId: string, over: Partial<AttachRequest> = {}): AttachRequest {
      return { volumeId, instanceUuid: randomUUID(), connector: connector(), ...over };
    }

    it("reads a volume: bootable as a boolean, the owning project, its status", async () => {
      const id = boot;
      const v = await client.getVolume(id);
      expect(v).toMatchObject({ id, status: "available", bootable: true, project_id: target.project, size: 1, multiattach: false });
    });

    // os-vol-host-attr:host and GET /scheduler-stats/get_pools are admin-only in Cinder's policy
    it.skipIf(!memberOnly)("member-only: Cinder hides a volume's host and the scheduler's pools, so its backend protocol is unknown (null) and refuses nothing", async () => {
      const v = await client.getVolume(boot);
      expect(v).toMatchObject({ id: boot, status: "available", bootable: true, project_id: target.project, backend_protocol: null });
      expect(() => assertBootableAvailable(v, target.project)).not.toThrow();
      // auto then means iscsi, and the export itself says what the backend serves
      expect(protocolFor(v, "auto")).toBe("iscsi");
      expect(() => assertProtocol(v, "fibre_channel")).not.toThrow();
    });

    it("attach answers the iSCSI target with CHAP credentials and leaves the volume in-use", async () => {
      const id = boot;
      const req = request(id);
      const att = await client.attach(req);
      const c = iscsi(att.connection);
      expect(c).toMatchObject({
        driver_volume_type: "iscsi",
        target_iqn: `iqn.2010-10.org.openstack:volume-${id}`,
        target_lun: 1,
        auth_method: "CHAP",
      });
      expect(c.target_portal).toMatch(/^[\d.]+:\d+$/);
      expect(c.auth_username).toEqual(expect.any(String));
      expect(c.auth_password).toEqual(expect.any(String));
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
      expect(iscsi(second.connection).auth_password).toBe(iscsi(first.connection).auth_password);
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
      await client.detach(id, req.instanceUuid, req.connector);
      await admin.expectNothingLeft(id);
    });

    // attachments API: the create's outcome is unknown and Cinder may still be making it, so it is
    // neither undone nor made again now; the next attempt finishes what it finds
    it.skipIf(!traits.faults || !attachmentsApi)("a create whose answer was lost and whose attachment cannot be read is left to Cinder: pending, then finished once", async () => {
      const id = boot;
      const req = request(id);
      await admin.failNext({ method: "POST", path_regex: "/attachments$", status: 500, after_effect: true });
      await admin.failNext({ method: "GET", path_regex: "/attachments/[0-9a-f-]+$", status: 503, times: 4 });
      const pending = await client.attach(req).then(() => null, (err: unknown) => err);
      expect(pending).toBeInstanceOf(AttachInProgress);
      expect((pending as AttachInProgress).recheckAfterMs).toBeGreaterThan(0);
      expect(await admin.attachments(id)).toHaveLength(1);
      const att = await client.attach(req);
      expect(await admin.attachments(id)).toEqual([expect.objectContaining({ id: att.attachment_id, status: "attached", instance: req.instanceUuid })]);
      await client.detach(id, req.instanceUuid, req.connector);
      await admin.expectNothingLeft(id);
    });

    it.skipIf(!traits.faults || attachmentsApi)("legacy: an export that fails for good leaves nothing behind", async () => {
      const id = boot;
      const req = request(id);
      // reserved; exporting fails for good
      await admin.failNext({ method: "POST", path_regex: "/action$", body_regex: "os-initialize_connection", status: 500, times: 4 });
      expect(await codeOf(client.attach(req))).toBe("CINDER_UNAVAILABLE");
      await admin.expectNothingLeft(id);
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

    // a member sees only its own project's volumes (below: VOLUME_NOT_FOUND), and no owner
    it.skipIf(memberOnly)("another project's volume fails the pre-attach check with VOLUME_WRONG_PROJECT (needs admin: only an admin sees another project's volume and its owner)", async () => {
      const id = foreign;
      const v = await client.getVolume(id);
      expect(v.project_id).toBe(other);
      expect(await codeOf(() => assertBootableAvailable(v, target.project))).toBe("VOLUME_WRONG_PROJECT");
    });

    it.skipIf(!memberOnly)("member-only: another project's volume is not visible at all: VOLUME_NOT_FOUND, for getVolume and attach", async () => {
      expect(await codeOf(client.getVolume(foreign))).toBe("VOLUME_NOT_FOUND");
      expect(await codeOf(client.attach(request(foreign)))).toBe("VOLUME_NOT_FOUND");
      expect(await admin.attachments(foreign, other)).toEqual([]);
      expect((await admin.volume(foreign, other)).status).toBe("available");
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
      const c = iscsi(att.connection);
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
      expect((err as Error).message).toContain("ask for protocol iscsi");
      // including the `reserved` attachment Cinder itself leaves after its 500
      await admin.expectNothingLeft(id);
    });

    it("an export over a protocol the request did not ask for is VOLUME_WRONG_PROTOCOL, and is undone", async () => {
      const id = boot;
      // a node with both an initiator and HBAs, asking for Fibre Channel: this backend exports iSCSI
      const both = connector({ wwpns: NODE_WWPNS, wwnns: NODE_WWNNS });
      const err = await client.attach(request(id, { connector: both, protocol: "fibre_channel" })).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "VOLUME_WRONG_PROTOCOL", retryable: false });
      expect((err as Error).message).toMatch(/over iSCSI, not Fibre Channel/);
      await admin.expectNothingLeft(id);
    });

    // the volume's os-vol-host-attr:host and GET /scheduler-stats/get_pools are admin-only in Cinder's policy
    it.skipIf(memberOnly)("reads the storage protocol of the volume's backend, and checks the requested one against it (needs admin: the volume's host and the scheduler's pools)", async () => {
      const v = await client.getVolume(boot);
      expect(v.backend_protocol).toBe("iSCSI");
      expect(protocolFor(v, "auto")).toBe("iscsi");
      expect(() => assertProtocol(v, "iscsi")).not.toThrow();
      const err = await codeOf(() => assertProtocol(v, "fibre_channel"));
      expect(err).toBe("VOLUME_WRONG_PROTOCOL");
      expect(() => assertProtocol(v, "fibre_channel")).toThrow(/is on an iSCSI backend \(iSCSI\), not Fibre Channel: ask for protocol iscsi/);
    });

    it.skipIf(!traits.faults || attachmentsApi)("legacy: a failure after the volume was reserved leaves it available, with nothing attached", async () => {
      const id = boot;
      const req = request(id);
      await admin.failNext({ method: "POST", path_regex: "/action$", status: 500, body_regex: "os-attach" });
      expect(await codeOf(client.attach(req))).toBe("CINDER_UNAVAILABLE");
      // the client undid what it made before reporting
      await admin.expectNothingLeft(id);
      // and the workflow's rollback detach finds nothing to do
      await client.detach(id, req.instanceUuid, req.connector);
      await admin.expectNothingLeft(id);
    });

    it.skipIf(!traits.faults || !attachmentsApi)("an export whose os-complete fails every retry is kept: the next attempt completes it, the rollback's detach removes it", async () => {
      const id = boot;
      const req = request(id);
      await admin.failNext({ method: "POST", path_regex: "/action$", status: 500, body_regex: "os-complete", times: 4 });
      expect(await codeOf(client.attach(req))).toBe("CINDER_UNAVAILABLE");
      const [left] = await admin.attachments(id);
      expect(left).toMatchObject({ instance: req.instanceUuid, status: "attaching" });
      const again = await client.attach(req);
      expect(again.attachment_id).toBe(left!.id);
      expect(await admin.attachments(id)).toEqual([expect.objectContaining({ id: left!.id, status: "attached" })]);
      await client.detach(id, req.instanceUuid, req.connector);
      await admin.expectNothingLeft(id);
    });

    it("detach of a volume reserved but never attached (a run that died half way) leaves it available", async () => {
      const id = boot;
      const req = request(id);
      if (attachmentsApi) await admin.createAttachment(id, req.instanceUuid);
      else await admin.action(id, { "os-reserve": null });
      expect((await admin.volume(id)).status).toBe(attachmentsApi ? "reserved" : "attaching");
      await client.detach(id, req.instanceUuid, req.connector);
      await admin.expectNothingLeft(id);
    });

    describe.skipIf(!traits.fc)("Fibre Channel", () => {
      it("reads the FC backend's protocol: auto resolves to fibre_channel, iscsi is refused with what to do", async () => {
        const v = await client.getVolume(fcVolume);
        expect(v).toMatchObject({ volume_type: traits.fc!.volumeType, backend_protocol: "FC" });
        expect(protocolFor(v, "auto")).toBe("fibre_channel");
        expect(() => assertProtocol(v, "fibre_channel")).not.toThrow();
        expect(() => assertProtocol(v, "iscsi")).toThrow(
          new RegExp(`volume type ${traits.fc!.volumeType} is on an FC backend .*ask for protocol fibre_channel .*or retype the volume`),
        );
      });

      it("attach with the node's WWPNs answers the target WWPNs and LUN, and detach leaves nothing", async () => {
        const req = request(fcVolume, { connector: fcConnector(), protocol: "fibre_channel" });
        const att = await client.attach(req);
        const c = fibreChannel(att.connection);
        expect(c.target_wwn).toEqual(traits.fc!.targetWwpns);
        expect(c.target_lun).toEqual(expect.any(Number));
        for (const wwpn of NODE_WWPNS) expect(c.initiator_target_map?.[wwpn]).toEqual(traits.fc!.targetWwpns);
        expect((await admin.volume(fcVolume)).status).toBe("in-use");
        expect(await admin.attachments(fcVolume)).toEqual([expect.objectContaining({ id: att.attachment_id, status: "attached" })]);
        // run again: the same attachment
        expect((await client.attach(req)).attachment_id).toBe(att.attachment_id);
        await client.detach(fcVolume, req.instanceUuid, req.connector);
        await admin.expectNothingLeft(fcVolume);
      });

      it("an iSCSI-only connector is VOLUME_WRONG_PROTOCOL, and what the FC driver's failure left is removed", async () => {
        const err = await client.attach(request(fcVolume)).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "VOLUME_WRONG_PROTOCOL", retryable: false });
        expect((err as Error).message).toContain("ask for protocol fibre_channel");
        await admin.expectNothingLeft(fcVolume);
      });

      it("an FC export to a request for iSCSI is VOLUME_WRONG_PROTOCOL, and is undone", async () => {
        const both = connector({ wwpns: NODE_WWPNS, wwnns: NODE_WWNNS });
        const err = await client.attach(request(fcVolume, { connector: both, protocol: "iscsi" })).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "VOLUME_WRONG_PROTOCOL" });
        expect((err as Error).message).toMatch(/over Fibre Channel, not iSCSI/);
        await admin.expectNothingLeft(fcVolume);
      });
    });
  });
}
