/**
 * Conformance against Redfish services nobody here wrote: the relay's real executor and driver,
 * command by command, on DMTF's public-tower and public-acd mockups and on sushy-tools. After
 * every sequence the whole tree is read again and compared resource by resource with what it was:
 * what sanboot did not write is untouched, what it wrote is back as found after the undo (secrets
 * aside: a BMC never answers one, so an overwritten secret cannot come back), and a missing
 * capability ends clean with nothing written. Runs with `npm run test:redfish-peers`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BmcEvidence } from "../../lib/bmc/claims";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import type { BmcTarget, CommandBody, CommandOutcome, IscsiBootSpec } from "../../lib/relay/protocol";
import type { BmcCredential } from "../../relay/config";
import { CommandExecutor } from "../../relay/executor";
import { crawl, differences, getJson, offerRemoteDrive, patchJson, startPowerFollower, unavailable, upPeers, type Peer, type PeersLab, type PowerFollower } from "./peers-lab";

const why = unavailable();
if (why) console.log(`Redfish peers conformance skipped: ${why}`);

const TARGET = "iqn.2010-10.org.openstack:volume-peers-0001";
const iscsi = (mac?: string): IscsiBootSpec => ({
  ...(mac ? { mac_address: mac } : {}),
  initiator_name: "iqn.2026-12.org.example.sanboot:peer-node",
  network: { mode: "dhcp" },
  targets: [{ name: TARGET, address: "192.0.2.50", port: 3260, lun: 1 }],
  auth: { method: "CHAP", username: "sanboot-user", secret: "sanboot-chap-secret-1" },
  boot_mode: "uefi",
});
const fcSpec = (wwpn?: string) => ({ ...(wwpn ? { wwpn } : {}), boot_mode: "uefi" as const, targets: [{ wwpn: "500a098288e2b9b1", lun: "1", priority: 0 }] });

describe.skipIf(!!why)("the relay's executor against Redfish peers", () => {
  let lab: PeersLab;
  const driver = new RedfishDriver({ timeoutMs: 5_000, pollIntervalMs: 50, taskTimeoutMs: 2_000, settingsApplyTimeoutMs: 10_000 }); // discovery cached as a relay caches it
  const creds = new Map<string, BmcCredential>();
  const executor = new CommandExecutor({ driver, credentials: creds, defaultBudgetMs: 30_000 });

  beforeAll(async () => {
    lab = await upPeers();
  }, 600_000);
  afterAll(() => driver.close());

  /** A command run as the relay runs it, its evidence kept as the service keeps it. */
  async function run(body: CommandBody, keep: { evidence: BmcEvidence }): Promise<CommandOutcome> {
    return executor.execute(body, { record: async (e) => void (keep.evidence = e) });
  }

  function target(peer: Peer, via?: PowerFollower): BmcTarget {
    const ref = `peer-${peer.name}`;
    creds.set(ref, { username: peer.username || "none", password: peer.password || "none", ca: lab.ca });
    return { driver: "redfish", address: via?.url ?? peer.url, system_id: peer.systemId, credentials_ref: ref, tls: { verify: true } };
  }

  const systemUri = (p: Peer) => `/redfish/v1/Systems/${p.systemId}`;
  const missing = (out: CommandOutcome) => expect(out).toMatchObject({ ok: false, error: { code: "BMC_CAPABILITY_MISSING", retryable: false } });

  describe("public-tower as it comes (two NIC functions holding an operator's iSCSI and FC boot targets)", () => {
    let tower: Peer;
    beforeAll(async () => {
      tower = await lab.restart("tower");
    });

    it.each([
      ["with the node's MAC", "00:0C:29:9A:98:ED"],
      ["without a MAC", undefined],
    ])("configure %s ends BMC_CAPABILITY_MISSING (no way to name the SAN device), the tree untouched", async (_n, mac) => {
      const before = await crawl(tower, lab.ca);
      const keep = { evidence: { claims: [] } as BmcEvidence };
      const out = await run({ type: "configure_san_boot", bmc: target(tower), iscsi: iscsi(mac), evidence: keep.evidence }, keep);
      missing(out);
      expect(!out.ok && out.error.message).toMatch(/UEFI device paths|RemoteDrive/);
      expect(keep.evidence.claims).toEqual([]);
      // and the rollback that follows finds nothing of sanboot's: nothing written, power as it was
      expect(await run({ type: "clear_san_boot", bmc: target(tower), evidence: keep.evidence }, keep)).toEqual({ ok: true, result: { changed: false, changes: [] } });
      expect(differences(before, await crawl(tower, lab.ca))).toEqual([]);
    });

    it("reads no Fibre Channel ports (its functions are Ethernet-typed) and writes no FC target", async () => {
      const before = await crawl(tower, lab.ca);
      const keep = { evidence: { claims: [] } as BmcEvidence };
      expect(await run({ type: "read_fc_inventory", bmc: target(tower) }, keep)).toEqual({ ok: true, result: { ports: [] } });
      missing(await run({ type: "configure_fc_boot", bmc: target(tower), fc: fcSpec("10:00:B0:5A:DD:BB:74:E0") }, keep));
      expect(differences(before, await crawl(tower, lab.ca))).toEqual([]);
    });
  });

  describe("public-tower made a BMC that can boot a SAN device (RemoteDrive allowed)", () => {
    let tower: Peer;
    let follower: PowerFollower;
    let before: Map<string, Record<string, unknown>>;
    const fn1 = "/redfish/v1/Chassis/Tower/NetworkAdapters/NIC1/NetworkDeviceFunctions/1";

    beforeAll(async () => {
      tower = await lab.restart("tower");
      await offerRemoteDrive(tower, lab.ca);
      follower = await startPowerFollower(tower, lab);
      before = await crawl(tower, lab.ca);
    });
    afterAll(() => follower?.close());

    it("deploy on the named port, then undeploy: the operator's configuration comes back, nothing else ever changed", async () => {
      const keep = { evidence: { claims: [] } as BmcEvidence };
      const bmc = target(tower, follower);
      const configured = await run({ type: "configure_san_boot", bmc, iscsi: iscsi("00:0C:29:9A:98:ED"), evidence: keep.evidence }, keep);
      expect(configured).toMatchObject({ ok: true, result: { changed: true, function_uri: fn1 } });
      expect(differences(before, await crawl(tower, lab.ca))).toEqual([fn1]);
      const written = (await getJson(tower.url, fn1, lab.ca, tower)).iSCSIBoot as Record<string, unknown>;
      expect(written).toMatchObject({ PrimaryTargetName: TARGET, InitiatorName: iscsi().initiator_name, PrimaryDNS: "16.0.10.21" });

      // run again (a lost result, no ETags on this BMC): nothing is sent, no secret again
      const patches = follower.requests.filter((r) => r.startsWith("PATCH")).length;
      expect(await run({ type: "configure_san_boot", bmc, iscsi: iscsi("00:0C:29:9A:98:ED"), evidence: keep.evidence }, keep)).toMatchObject({ ok: true, result: { changed: false } });
      expect(follower.requests.filter((r) => r.startsWith("PATCH")).length).toBe(patches);

      const on = await run({ type: "power_on", bmc, boot_mode: "uefi", boot_override: "once", san_targets: [TARGET], evidence: keep.evidence }, keep);
      expect(on).toMatchObject({ ok: true, result: { changed: true } });
      expect(follower.resets).toEqual(["ForceRestart"]); // it was On
      // run again with what it recorded: no second reset
      expect(await executor.execute({ type: "power_on", bmc, boot_mode: "uefi", boot_override: "once", san_targets: [TARGET] }, { checkpoint: keep.evidence })).toMatchObject({ ok: true, result: { changed: false } });
      expect(follower.resets).toEqual(["ForceRestart"]);
      expect(differences(before, await crawl(tower, lab.ca)).sort()).toEqual([fn1, systemUri(tower)].sort());

      // no BootProgress on this tree: PowerState On is no evidence that anything booted
      const up = await run({ type: "await_power_on", bmc, evidence: keep.evidence }, keep);
      expect(up).toMatchObject({ ok: true, result: { boot_confirmed: false, boot_evidence: expect.stringMatching(/no BootProgress/) } });

      const undone = await run({ type: "clear_san_boot", bmc, evidence: keep.evidence }, keep);
      expect(undone).toMatchObject({ ok: true, result: { changed: true } });
      expect((undone as unknown as { result: { changes: Array<{ kind: string }> } }).result.changes.map((c) => c.kind)).toEqual(["power", "function", "override"]);
      const after = await crawl(tower, lab.ca);
      expect(differences(before, after, { [systemUri(tower)]: ["PowerState"] })).toEqual([]);
      expect(after.get(systemUri(tower))!.PowerState).toBe("Off");

      // run again: nothing to do, nothing sent
      const sent = follower.requests.filter((r) => !r.startsWith("GET")).length;
      expect(await run({ type: "clear_san_boot", bmc, evidence: keep.evidence }, keep)).toEqual({ ok: true, result: { changed: false, changes: [] } });
      expect(follower.requests.filter((r) => !r.startsWith("GET")).length).toBe(sent);
    });

    it("without a MAC it takes no configured port: BMC_CAPABILITY_MISSING naming mac_address, nothing written", async () => {
      const now = await crawl(tower, lab.ca);
      const keep = { evidence: { claims: [] } as BmcEvidence };
      const out = await run({ type: "configure_san_boot", bmc: target(tower, follower), iscsi: iscsi(), evidence: keep.evidence }, keep);
      missing(out);
      expect(!out.ok && out.error.message).toMatch(/mac_address/);
      expect(differences(now, await crawl(tower, lab.ca))).toEqual([]);
    });

    it("with no snapshot of what was there (no evidence), undo leaves even sanboot's own target alone", async () => {
      const keep = { evidence: { claims: [] } as BmcEvidence };
      const bmc = target(tower, follower);
      expect(await run({ type: "configure_san_boot", bmc, iscsi: iscsi("00:0C:29:9A:98:EF"), evidence: keep.evidence }, keep)).toMatchObject({ ok: true });
      const now = await crawl(tower, lab.ca);
      expect(await run({ type: "clear_san_boot", bmc, evidence: { claims: [] } }, { evidence: { claims: [] } })).toEqual({ ok: true, result: { changed: false, changes: [] } });
      expect(differences(now, await crawl(tower, lab.ca))).toEqual([]);
      // with it, the port comes back as found
      expect(await run({ type: "clear_san_boot", bmc, evidence: keep.evidence }, keep)).toMatchObject({ ok: true, result: { changed: true } });
      expect(differences(before, await crawl(tower, lab.ca), { [systemUri(tower)]: ["PowerState"] })).toEqual([]);
    });

    it("the boot as one sequence (configure, power on, await), then undeploy: each write after the checkpoint that names it, everything back as found", async () => {
      const keep = { evidence: { claims: [] } as BmcEvidence };
      const bmc = target(tower, follower);
      const was = (await getJson(tower.url, systemUri(tower), lab.ca, tower)).PowerState;
      const from = follower.requests.length;
      /** how many requests the BMC had seen when each checkpoint was stored */
      const marks: number[] = [];
      const done: string[] = [];
      const out = await executor.execute(
        {
          type: "boot_sequence",
          bmc,
          steps: [
            { step: "configure_firmware", body: { type: "configure_san_boot", bmc, iscsi: iscsi("00:0C:29:9A:98:ED") } },
            { step: "power_on", body: { type: "power_on", bmc, boot_mode: "uefi", boot_override: "once", san_targets: [TARGET] } },
            { step: "await_boot", body: { type: "await_power_on", bmc } },
          ],
          evidence: keep.evidence,
        },
        {
          record: async (e) => {
            keep.evidence = e;
            marks.push(follower.requests.length);
          },
          onStepDone: (d) => done.push(d.step),
        },
      );
      expect(out).toMatchObject({ ok: true });
      expect(done).toEqual(["configure_firmware", "power_on", "await_boot"]);
      const writes = follower.requests.map((r, i) => [r, i] as const).slice(from).filter(([r]) => !r.startsWith("GET"));
      expect(writes.map(([r]) => r.split(" ")[0])).toEqual(["PATCH", "PATCH", "POST"]);
      const [fnPatch, overridePatch, reset] = writes.map(([, i]) => i) as [number, number, number];
      // the NIC's claim before its PATCH; the override's claim, with the power state as found, after
      // that and before the override's PATCH and the reset; the reset recorded once it went out
      expect(marks).toHaveLength(3);
      expect(marks[0]).toBeLessThanOrEqual(fnPatch);
      expect(marks[1]).toBeGreaterThan(fnPatch);
      expect(marks[1]).toBeLessThanOrEqual(overridePatch);
      expect(marks[2]).toBeGreaterThan(reset);
      expect(keep.evidence.power).toMatchObject({ before: was, reset_at: expect.any(String) });
      expect(differences(before, await crawl(tower, lab.ca)).sort()).toEqual([fn1, systemUri(tower)].sort());

      expect(await run({ type: "clear_san_boot", bmc, evidence: keep.evidence }, keep)).toMatchObject({ ok: true, result: { changed: true } });
      expect(differences(before, await crawl(tower, lab.ca), { [systemUri(tower)]: ["PowerState"] })).toEqual([]);
    });

    it("Fibre Channel: no function is FC-typed and none may be switched: BMC_CAPABILITY_MISSING, nothing written", async () => {
      const now = await crawl(tower, lab.ca);
      const out = await run({ type: "configure_fc_boot", bmc: target(tower, follower), fc: fcSpec("10:00:B0:5A:DD:BB:74:E0") }, { evidence: { claims: [] } });
      missing(out);
      expect(!out.ok && out.error.message).toMatch(/not FibreChannel/);
      expect(differences(now, await crawl(tower, lab.ca))).toEqual([]);
    });
  });

  describe("public-acd (an FC HBA the system names through NetworkInterfaces, an operator's one-time PXE override)", () => {
    let acd: Peer;
    const hba = "/redfish/v1/Chassis/1U/NetworkAdapters/Slot2/NetworkDeviceFunctions/SCFCP1F0";
    beforeAll(async () => {
      acd = await lab.restart("acd");
    });

    it("reads only the system's FC-typed port", async () => {
      const out = await run({ type: "read_fc_inventory", bmc: target(acd) }, { evidence: { claims: [] } });
      expect(out).toEqual({ ok: true, result: { ports: [{ wwpn: "2345234523452345", wwnn: "1234123412341234", id: "SCFCP1F0" }] } });
    });

    it("as it comes: FC and iSCSI configure end BMC_CAPABILITY_MISSING with the tree untouched", async () => {
      const before = await crawl(acd, lab.ca);
      missing(await run({ type: "configure_fc_boot", bmc: target(acd), fc: fcSpec() }, { evidence: { claims: [] } }));
      missing(await run({ type: "configure_san_boot", bmc: target(acd), iscsi: iscsi() }, { evidence: { claims: [] } }));
      expect(differences(before, await crawl(acd, lab.ca))).toEqual([]);
    });

    it("made able to name the SAN device: FC deploy and undeploy put the HBA and the operator's PXE override back", async () => {
      await offerRemoteDrive(acd, lab.ca);
      // A real BMC renders an unset list as []; the mockup leaves it out, and no PATCH can make a
      // property absent again: start from how a BMC would show it.
      expect(await patchJson(acd.url, hba, { FibreChannel: { BootTargets: [] } }, lab.ca, acd)).toBeLessThan(300);
      const follower = await startPowerFollower(acd, lab);
      try {
        const before = await crawl(acd, lab.ca);
        const keep = { evidence: { claims: [] } as BmcEvidence };
        const bmc = target(acd, follower);
        expect(await run({ type: "configure_fc_boot", bmc, fc: fcSpec(), evidence: keep.evidence }, keep)).toMatchObject({ ok: true, result: { changed: true, function_uri: hba } });
        expect(differences(before, await crawl(acd, lab.ca))).toEqual([hba]);
        expect(await run({ type: "power_on", bmc, boot_mode: "uefi", boot_override: "once", san_targets: ["500a098288e2b9b1"], evidence: keep.evidence }, keep)).toMatchObject({ ok: true });
        const boot = (await getJson(acd.url, systemUri(acd), lab.ca, acd)).Boot as Record<string, unknown>;
        expect(boot).toMatchObject({ BootSourceOverrideTarget: "RemoteDrive", BootSourceOverrideEnabled: "Once" });
        expect(await run({ type: "clear_san_boot", bmc, evidence: keep.evidence }, keep)).toMatchObject({ ok: true, result: { changed: true } });
        const after = await crawl(acd, lab.ca);
        expect(differences(before, after, { [systemUri(acd)]: ["PowerState"] })).toEqual([]);
        expect((after.get(systemUri(acd))!.Boot as Record<string, unknown>)).toMatchObject({ BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once" });
      } finally {
        await follower.close();
      }
    });
  });

  describe("sushy-tools (Boot override and power only, no NICs)", () => {
    let sushy: Peer;
    beforeAll(async () => {
      sushy = await lab.restart("sushy");
    });

    it("every SAN command ends BMC_CAPABILITY_MISSING, with nothing written and power as it was", async () => {
      const before = await crawl(sushy, lab.ca);
      const bmc = target(sushy);
      const keep = { evidence: { claims: [] } as BmcEvidence };
      missing(await run({ type: "configure_san_boot", bmc, iscsi: iscsi(), evidence: keep.evidence }, keep));
      missing(await run({ type: "configure_fc_boot", bmc, fc: fcSpec() }, keep));
      missing(await run({ type: "power_on", bmc, boot_mode: "uefi", boot_override: "once", san_targets: [TARGET], evidence: keep.evidence }, keep));
      expect(await run({ type: "read_fc_inventory", bmc }, keep)).toEqual({ ok: true, result: { ports: [] } });
      // the rollback: the operator's continuous Hdd override and power stay as they are
      expect(await run({ type: "clear_san_boot", bmc, evidence: keep.evidence }, keep)).toEqual({ ok: true, result: { changed: false, changes: [] } });
      expect(differences(before, await crawl(sushy, lab.ca))).toEqual([]);
    });
  });
});
