/**
 * The whole stack (service, relay, Cinder emulator) with nodes enrolled at Redfish services
 * nobody here wrote: boot requests through the public API end as an operator would check them.
 * A peer that cannot boot a SAN device fails the request with BMC_CAPABILITY_MISSING as its final
 * error, nothing written on the BMC, power as it was, the volume available; public-tower made
 * able to (RemoteDrive allowed) boots, is `active` without claiming a boot it cannot see, and
 * undeploys back to the tree it was. Runs with `npm run test:redfish-peers`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_SITE, startLocalStack, type LocalStack } from "../../lab/local-stack";
import { apiFor, cinderAdmin, type Api } from "../support/api";
import { crawl, differences, offerRemoteDrive, startPowerFollower, unavailable, upPeers, type Peer, type PeersLab, type PowerFollower } from "./peers-lab";

const why = unavailable();

describe.skipIf(!!why)("boot requests for nodes at Redfish peers, through the whole stack", () => {
  let lab: PeersLab;
  let stack: LocalStack;
  let api: Api;

  beforeAll(async () => {
    lab = await upPeers();
    const login = (p: Peer) => ({ username: p.username || "none", password: p.password || "none", ca: lab.ca });
    stack = await startLocalStack({
      sweepMs: 200,
      extraCredentials: { "peer-tower": login(lab.peers.tower), "peer-acd": login(lab.peers.acd), "peer-sushy": login(lab.peers.sushy) },
    });
    api = apiFor(stack);
  }, 600_000);
  afterAll(() => stack?.close());

  async function enroll(peer: Peer, extra: Record<string, unknown> = {}, address = peer.url): Promise<string> {
    const res = await api.post("/v1/nodes", {
      name: `at-${peer.name}`,
      site: LAB_SITE,
      bmc: { driver: "redfish", address, system_id: peer.systemId, credentials_ref: `peer-${peer.name}` },
      boot_mode: "uefi",
      ...extra,
    });
    expect(res.status).toBe(201);
    return res.body.node_id as string;
  }

  async function boot(nodeId: string, volumeType?: string) {
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true, ...(volumeType ? { volumeType } : {}) });
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    expect(r.status).toBe(202);
    return { volumeId, requestId: r.body.request_id as string, end: await api.waitFor(r.body.request_id, ["active", "failed"], 120_000) };
  }

  async function volumeLeftAlone(volumeId: string) {
    expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
    expect(await cinderAdmin(stack).attachments(volumeId)).toEqual([]);
  }

  it.each<["tower" | "acd" | "sushy", Record<string, unknown>, string | undefined]>([
    ["tower", { mac_address: "00:0C:29:9A:98:ED" }, undefined],
    ["tower", {}, undefined],
    ["acd", {}, "fc"],
    ["acd", {}, undefined],
    ["sushy", {}, undefined],
  ])("%s (%j, volume type %s): failed with BMC_CAPABILITY_MISSING, nothing written, power as it was", async (name, extra, volumeType) => {
    const peer = await lab.restart(name);
    const nodeId = await enroll(peer, extra);
    await new Promise((r) => setTimeout(r, 300)); // the enrollment's inventory read
    const before = await crawl(peer, lab.ca);
    const { volumeId, end } = await boot(nodeId, volumeType);
    expect(end.state).toBe("failed");
    expect(end.error.code).toBe("BMC_CAPABILITY_MISSING");
    // the real cause is the final error, not whatever an undo ran into
    expect(end.history.at(-1).error?.code ?? end.error.code).toBe("BMC_CAPABILITY_MISSING");
    expect(differences(before, await crawl(peer, lab.ca))).toEqual([]);
    await volumeLeftAlone(volumeId);
  }, 180_000);

  describe("public-tower made able to boot a SAN device", () => {
    let tower: Peer;
    let follower: PowerFollower;
    beforeAll(async () => {
      tower = await lab.restart("tower");
      await offerRemoteDrive(tower, lab.ca);
      follower = await startPowerFollower(tower, lab);
    });
    afterAll(() => follower?.close());

    it("boots (active, boot not confirmed: no BootProgress), undeploys, and the tree is as it was", async () => {
      const nodeId = await enroll(tower, { mac_address: "00:0C:29:9A:98:ED" }, follower.url);
      await new Promise((r) => setTimeout(r, 300));
      const before = await crawl(tower, lab.ca);
      const { volumeId, requestId, end } = await boot(nodeId);
      expect(end.error).toBeNull();
      expect(end.state).toBe("active");
      expect(end.boot_confirmed).toBe(false);
      expect(end.boot_evidence).toMatch(/no BootProgress/);

      expect((await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`)).status).toBe(202);
      const detached = await api.waitFor(requestId, ["detached", "failed"], 120_000);
      expect(detached.state).toBe("detached");
      const system = `/redfish/v1/Systems/${tower.systemId}`;
      const after = await crawl(tower, lab.ca);
      expect(differences(before, after, { [system]: ["PowerState"] })).toEqual([]);
      expect(after.get(system)!.PowerState).toBe("Off");
      await volumeLeftAlone(volumeId);
    }, 180_000);
  });
});
