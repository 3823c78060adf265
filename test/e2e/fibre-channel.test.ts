/**
 * Boot from a Fibre Channel volume: the node's HBA WWPNs come from its BMC (read through the relay
 * at enrollment), Cinder's FC backend exports the volume to them, and the HBA's boot targets are
 * programmed with the storage ports' WWPNs and the LUN.
 */
import { describe, expect, it } from "vitest";
import { LAB_CREDENTIALS_REF, LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { cinderAdmin, useLocalStack, type Api } from "../support/api";

let stack: LocalStack;
let api: Api;
let n = 0;

useLocalStack({}, (s, a) => ((stack = s), (api = a)));

async function enrollFcNode(fcPorts = 2) {
  n++;
  const systemId = `fc-${n}`;
  stack.bmc.addSystem({ id: systemId, mac: `02:00:5e:fc:00:${n.toString(16).padStart(2, "0")}`, fcPorts, powerState: "Off" });
  const res = await api.post("/v1/nodes", {
    site: LAB_SITE,
    bmc: { address: stack.bmc.url, system_id: systemId, credentials_ref: LAB_CREDENTIALS_REF },
  });
  expect(res.status).toBe(201);
  return { nodeId: res.body.node_id as string, systemId };
}

async function waitForInventory(nodeId: string): Promise<Array<{ wwpn: string }>> {
  for (let i = 0; i < 200; i++) {
    const node = (await api.get(`/v1/nodes/${nodeId}`)).body;
    if (node.fc_ports) return node.fc_ports;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the inventory read at enrollment never arrived");
}

const hbaPorts = (systemId: string) => stack.bmc.system(systemId).functions.filter((f) => f.fc);
const plain = (w: string) => w.replace(/[:-]/g, "").toLowerCase();

describe("Fibre Channel boot from volume", () => {
  it("enrollment reads the node's HBA ports through the relay", async () => {
    const { nodeId, systemId } = await enrollFcNode(2);
    const ports = await waitForInventory(nodeId);
    expect(ports.map((p) => p.wwpn).sort()).toEqual(hbaPorts(systemId).map((f) => plain(f.fc!.wwpn)).sort());
  });

  it("a node whose BMC the relay cannot log in to says so right after enrollment", async () => {
    const systemId = "fc-badcreds";
    stack.bmc.addSystem({ id: systemId, fcPorts: 1, powerState: "Off" });
    const res = await api.post("/v1/nodes", {
      site: LAB_SITE,
      bmc: { address: stack.bmc.url, system_id: systemId, credentials_ref: "no-such-credentials" },
    });
    let node: any;
    for (let i = 0; i < 200; i++) {
      node = (await api.get(`/v1/nodes/${res.body.node_id}`)).body;
      if (node.inventory_error) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(node.inventory_error?.code).toBe("BMC_CREDENTIALS_MISSING");
    expect(node.inventory_error?.message).toMatch(/no-such-credentials/);
    expect(node.fc_ports).toBeNull();
  });

  it("protocol auto on an FC volume: Cinder exports to the HBA WWPNs, the HBA boots from the storage ports; undeploy clears it", async () => {
    const cinder = cinderAdmin(stack);
    const volumeId = await cinder.createVolume({ bootable: true, volumeType: "fc" });
    const { nodeId, systemId } = await enrollFcNode(2);
    await waitForInventory(nodeId);
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "auto" });
    const done = await api.waitFor(r.body.request_id, ["active", "failed"], 30_000);
    expect(done.error).toBeNull();
    expect(done.state).toBe("active");
    expect(done.protocol).toBe("fibre_channel");
    expect(done.target.driver_volume_type).toBe("fibre_channel");

    const raw = await cinder.raw("GET", `/v3/${stack.project}/attachments/${done.attachment_id}`);
    const connector = raw.body.attachment.connector ?? {};
    if (connector.wwpns) expect(connector.wwpns.map(plain).sort()).toEqual(hbaPorts(systemId).map((f) => plain(f.fc!.wwpn)).sort());

    const booted = stack.bmc.system(systemId).boots.at(-1)!;
    const programmed = (booted.fc ?? []).flatMap((f) => f.bootTargets);
    expect(programmed.length).toBeGreaterThanOrEqual(1);
    expect(plain(programmed[0]!.WWPN)).toBe(done.target.wwns[0]);
    expect(programmed[0]!.LUNID).toBe(String(done.target.lun));

    expect((await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`)).status).toBe(202);
    expect((await api.waitFor(r.body.request_id, ["detached", "failed"], 30_000)).state).toBe("detached");
    expect((await cinder.volume(volumeId)).status).toBe("available");
    for (const f of hbaPorts(systemId)) expect(f.fc!.bootTargets).toEqual([]);
  });

  it("asking for iSCSI on an FC volume fails at once with VOLUME_WRONG_PROTOCOL and leaves the volume available", async () => {
    const cinder = cinderAdmin(stack);
    const volumeId = await cinder.createVolume({ bootable: true, volumeType: "fc" });
    const { nodeId } = await enrollFcNode(1);
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
    const end = await api.waitFor(r.body.request_id, ["failed", "active"]);
    expect(end.state).toBe("failed");
    expect(end.error.code).toBe("VOLUME_WRONG_PROTOCOL");
    expect(end.error.message).toMatch(/fibre_channel/);
    expect((await cinder.volume(volumeId)).status).toBe("available");
    expect(await cinder.attachments(volumeId)).toEqual([]);
  });

  it("an FC boot on a node without an HBA fails with BMC_CAPABILITY_MISSING and leaves nothing attached", async () => {
    const cinder = cinderAdmin(stack);
    const volumeId = await cinder.createVolume({ bootable: true, volumeType: "fc" });
    const { nodeId } = await enrollFcNode(0);
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "fibre_channel" });
    const end = await api.waitFor(r.body.request_id, ["failed", "active"], 30_000);
    expect(end.state).toBe("failed");
    expect(end.error.code).toBe("BMC_CAPABILITY_MISSING");
    expect((await cinder.volume(volumeId)).status).toBe("available");
  });
});
