/**
 * Each vendor and generation through the whole stack (the service, a relay agent, a BMC emulator
 * flavour over HTTPS, each on its own BMC as the vendors' manager URIs are fixed): a boot, an
 * undeploy, and a boot whose reboot the BMC refuses (the rollback before the reboot), each
 * asserting the writes the vendor documents in order, that the boot used the Cinder target, and
 * that the BMC ends as it was found.
 */
import { afterAll, describe, expect, it } from "vitest";
import { LAB_CREDENTIALS_REF, LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { startRedfishEmulator, type RedfishEmulator, type SystemSpec } from "../../lab/redfish-emulator";
import { cinderAdmin, useLocalStack, type Api } from "../support/api";
import { bmcState } from "../support/bmc-state";
import { ISCSI_WRITES, RESET_REFUSED, writesSince, type IscsiFlavour } from "../support/vendor-writes";

let stack: LocalStack;
let api: Api;
let n = 0;
const bmcs: RedfishEmulator[] = [];
afterAll(async () => {
  for (const b of bmcs) await b.close();
});

useLocalStack({ powerDelayMs: 20, leaseSeconds: 20, sweepMs: 200 }, (s, a) => ((stack = s), (api = a)));

/** XCC takes no initiator DHCP: its nodes carry a static address. */
const NODE: Partial<Record<IscsiFlavour | "supermicro", Record<string, unknown>>> = {
  hpe: { bios_changes: "allow" },
  lenovo: { network: { mode: "static", address: "192.0.2.31", netmask: "255.255.255.0", gateway: "192.0.2.1" } },
};

async function enroll(flavour: IscsiFlavour | "supermicro", spec: Partial<SystemSpec> = {}) {
  const bmc = await startRedfishEmulator({ port: 0, powerDelayMs: 20, taskDelayMs: 10 });
  bmcs.push(bmc);
  const systemId = `${flavour}-${++n}`;
  const found = bmc.addSystem({ id: systemId, flavour, powerState: "Off", ...spec });
  const mac = found.functions.find((f) => f.capabilities.includes("iSCSI") && !f.foreign && !f.iSCSIBoot.PrimaryTargetName)?.mac;
  const res = await api.post("/v1/nodes", {
    site: LAB_SITE,
    bmc: { driver: "auto", address: bmc.url, system_id: systemId, credentials_ref: LAB_CREDENTIALS_REF },
    ...(mac ? { mac_address: mac } : {}),
    ...NODE[flavour],
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  // the enrollment's inventory read is done before the boot's writes are counted
  await new Promise((r) => setTimeout(r, 300));
  return { bmc, nodeId: res.body.node_id as string, systemId, found };
}

async function boot(nodeId: string) {
  const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
  const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
  expect(r.status).toBe(202);
  const done = await api.waitFor(r.body.request_id, ["active", "failed"], 60_000);
  return { volumeId, requestId: r.body.request_id as string, done };
}

describe.each(Object.keys(ISCSI_WRITES) as IscsiFlavour[])("a %s BMC through the whole stack", (flavour) => {
  const documented = ISCSI_WRITES[flavour];

  it("boots from the Cinder target with the writes the vendor documents, and undeploy puts everything back", async () => {
    const { bmc, nodeId, systemId, found } = await enroll(flavour);
    const from = bmc.requests().length;
    const { volumeId, requestId, done } = await boot(nodeId);
    expect(done.error, JSON.stringify(done.error)).toBeNull();
    expect(done.state).toBe("active");
    expect(writesSince(bmc, from, systemId)).toEqual([...documented.configure, ...documented.power]);
    // what the firmware booted: the Cinder target, at its portal and LUN, with the CHAP login Cinder gave
    const path = done.target.paths[0];
    const booted = bmc.system(systemId).boots.at(-1)!.booted;
    expect(booted).toMatchObject({ kind: "iscsi", target: path.iqn, lun: path.lun });
    if (booted.kind === "iscsi") {
      expect(`${booted.targetIp}:${booted.port}`).toBe(path.portal);
      expect(booted.chap?.username).toEqual(expect.any(String));
      expect(booted.chap?.secret).toEqual(expect.any(String));
    }
    expect(bmc.system(systemId).PowerState).toBe("On");

    const before = bmc.requests().length;
    expect((await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`)).status).toBe(202);
    expect((await api.waitFor(requestId, ["detached", "failed"], 60_000)).state).toBe("detached");
    expect(writesSince(bmc, before, systemId)).toEqual(documented.undeploy);
    expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
    expect(bmcState(bmc.system(systemId))).toEqual(bmcState(found));
  }, 90_000);

  it("a reboot the BMC refuses fails the boot and rolls back before any reboot: the volume free, the BMC as it was", async () => {
    const { bmc, nodeId, systemId, found } = await enroll(flavour);
    bmc.setFaults(systemId, { resetRefused: 1 });
    const from = bmc.requests().length;
    const { volumeId, done } = await boot(nodeId);
    expect(done.state).toBe("failed");
    expect(done.error.code).toBe("BMC_REJECTED");
    const writes = writesSince(bmc, from, systemId);
    const override = documented.power[0]!;
    expect(writes).toEqual([...documented.configure, override, RESET_REFUSED, ...documented.rollback, override]);
    expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
    expect(await cinderAdmin(stack).attachments(volumeId)).toEqual([]);
    expect(bmcState(bmc.system(systemId))).toEqual(bmcState(found));
  }, 90_000);
});

describe("a BMC with no way to program SAN boot (Supermicro)", () => {
  it("fails the boot with BMC_CAPABILITY_MISSING saying what is missing, nothing written, the volume free", async () => {
    const { bmc, nodeId, systemId, found } = await enroll("supermicro");
    const from = bmc.requests().length;
    const { volumeId, done } = await boot(nodeId);
    expect(done.state).toBe("failed");
    expect(done.error.code).toBe("BMC_CAPABILITY_MISSING");
    expect(done.error.message).toMatch(/iSCSI/);
    expect(writesSince(bmc, from, systemId)).toEqual([]);
    expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
    expect(bmcState(bmc.system(systemId))).toEqual(bmcState(found));
  }, 90_000);
});
