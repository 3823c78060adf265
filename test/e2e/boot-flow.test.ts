import { describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { bmcState } from "../support/bmc-state";

let stack: LocalStack;
let api: Api;

useLocalStack({}, (s, a) => ((stack = s), (api = a)));

function iscsiOf(systemId: string, mac: string) {
  return stack.bmc.system(systemId).functions.find((f) => f.mac.toLowerCase() === mac)!;
}

describe("boot from volume, end to end over the local stack", () => {
  it("boots a node from a bootable volume, then undeploy leaves the volume available and the BMC as it was found", async () => {
    const cinder = cinderAdmin(stack);
    const volumeId = await cinder.createVolume({ bootable: true });
    const { nodeId, systemId, mac, found } = await enrollLabNode(stack, api);

    const accepted = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.location).toBe(`/v1/boot-requests/${accepted.body.request_id}`);
    expect(accepted.body.state).toBe("accepted");

    const active = await api.waitFor(accepted.body.request_id, ["active", "failed"]);
    expect(active.state).toBe("active");
    expect(active.history.map((h: { state: string }) => h.state)).toEqual(["accepted", "connector_ready", "attached", "firmware_configured", "booting", "active"]);
    for (const h of active.history) expect(Date.parse(h.at)).not.toBeNaN();
    expect(active.target.auth_method).toBe("CHAP");
    expect(active.target.auth_password).toBe("[redacted]");
    // the lab BMC reports BootProgress with its time: evidence that an OS started after the reset
    expect(active.boot_confirmed).toBe(true);
    expect(active.boot_evidence).toMatch(/BootProgress OS(BootStarted|Running)/);
    expect(active.bmc_changes.map((c: { step: string; kind: string }) => `${c.step}:${c.kind}`)).toEqual(["configure_firmware:function", "power_on:override", "power_on:power"]);

    // Cinder exported the volume to the node's initiator
    const vol = await cinder.volume(volumeId);
    expect(vol.status).toBe("in-use");
    const attachments = await cinder.attachments(volumeId);
    expect(attachments).toHaveLength(1);
    expect(attachments[0]!.instance).toBe(accepted.body.request_id);

    // the BMC holds the Cinder target, and the server is on
    const node = (await api.get(`/v1/nodes/${nodeId}`)).body;
    const fn = iscsiOf(systemId, mac);
    expect(fn.iSCSIBoot.InitiatorName).toBe(node.initiator_iqn);
    expect(fn.iSCSIBoot.PrimaryTargetName).toBe(active.target.paths[0].iqn);
    expect(`${fn.iSCSIBoot.PrimaryTargetIPAddress}:${fn.iSCSIBoot.PrimaryTargetTCPPort}`).toBe(active.target.paths[0].portal);
    expect(fn.iSCSIBoot.PrimaryLUN).toBe(active.target.paths[0].lun);
    expect(fn.iSCSIBoot.AuthenticationMethod).toBe("CHAP");
    expect(stack.bmc.system(systemId).PowerState).toBe("On");
    expect(node.active_request_id).toBe(accepted.body.request_id);

    // undeploy
    const undeploy = await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
    expect(undeploy.status).toBe(202);
    const detached = await api.waitFor(accepted.body.request_id, ["detached", "failed"]);
    expect(detached.state).toBe("detached");
    expect((await cinder.volume(volumeId)).status).toBe("available");
    expect(await cinder.attachments(volumeId)).toEqual([]);
    // every function, the operator's one-time PXE override, power: as found
    expect(bmcState(stack.bmc.system(systemId))).toEqual(bmcState(found));
    expect(detached.bmc_changes.filter((c: { step: string }) => c.step === "clear_firmware").map((c: { kind: string }) => c.kind)).toEqual(["power", "function", "override"]);
    expect((await api.get(`/v1/nodes/${nodeId}`)).body.active_request_id).toBeNull();
  });

  it("a node that asks for a continuous override keeps booting from the SAN until undeploy", async () => {
    const cinder = cinderAdmin(stack);
    const volumeId = await cinder.createVolume({ bootable: true });
    const { nodeId, systemId, found } = await enrollLabNode(stack, api, { boot_override: "continuous" });
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    expect((await api.waitFor(r.body.request_id, ["active", "failed"])).state).toBe("active");
    expect(stack.bmc.system(systemId).Boot.BootSourceOverrideEnabled).toBe("Continuous");
    await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
    expect((await api.waitFor(r.body.request_id, ["detached", "failed"])).state).toBe("detached");
    expect(stack.bmc.system(systemId).Boot).toEqual(found.Boot);
  });

  it("multipath: Cinder's second portal becomes the BMC's secondary iSCSI target", async () => {
    const cinder = cinderAdmin(stack);
    const volumeId = await cinder.createVolume({ bootable: true });
    const { nodeId, systemId, mac } = await enrollLabNode(stack, api);
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, multipath: true });
    const active = await api.waitFor(r.body.request_id, ["active", "failed"]);
    expect(active.state).toBe("active");
    const attachment = (await cinder.raw("GET", `/v3/${stack.project}/attachments/${active.attachment_id}`)).body.attachment;
    expect(attachment.connector?.multipath ?? true).toBe(true);
    expect(active.target.paths.map((p: { portal: string }) => p.portal)).toEqual(["127.0.0.1:3260", "127.0.0.2:3260"]);
    const fn = iscsiOf(systemId, mac).iSCSIBoot;
    expect(fn.PrimaryTargetIPAddress).toBe("127.0.0.1");
    expect(fn.SecondaryTargetIPAddress).toBe("127.0.0.2");
    expect(fn.SecondaryTargetName).toBe(active.target.paths[1].iqn);
    await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
    expect((await api.waitFor(r.body.request_id, ["detached", "failed"])).state).toBe("detached");
  });
});
