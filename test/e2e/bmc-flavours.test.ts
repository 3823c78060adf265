/**
 * BMC faults through the real service and a relay agent, against the Redfish emulator over HTTPS:
 * the faults the workflow rides out, settings that fail at the reset, a prerequisite the node
 * does not let sanboot set. Each vendor's own boot and undeploy: bmc-vendors.test.ts.
 */
import { describe, expect, it } from "vitest";
import { LAB_CREDENTIALS_REF, LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { cinderAdmin, useLocalStack, type Api } from "../support/api";
import { bmcState } from "../support/bmc-state";

let stack: LocalStack;
let api: Api;
let n = 0;

useLocalStack({ powerDelayMs: 20, leaseSeconds: 20, sweepMs: 200 }, (s, a) => ((stack = s), (api = a)));

type Flavour = "generic" | "generic-settings" | "dell" | "hpe";

async function enroll(flavour: Flavour, extra: Record<string, unknown> = {}, node: Record<string, unknown> = {}) {
  n++;
  const systemId = `${flavour}-${n}`;
  const mac = `02:00:5e:77:00:${n.toString(16).padStart(2, "0")}`;
  const found = stack.bmc.addSystem({ id: systemId, mac, flavour, powerState: "Off", ...extra });
  const res = await api.post("/v1/nodes", {
    site: LAB_SITE,
    bmc: { driver: "auto", address: stack.bmc.url, system_id: systemId, credentials_ref: LAB_CREDENTIALS_REF },
    mac_address: mac,
    ...node,
  });
  expect(res.status).toBe(201);
  return { nodeId: res.body.node_id as string, systemId, mac, found };
}

async function bootAndCheck(nodeId: string, systemId: string) {
  const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
  const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
  expect(r.status).toBe(202);
  const done = await api.waitFor(r.body.request_id, ["active", "failed"], 60_000);
  return { volumeId, requestId: r.body.request_id as string, done, sys: stack.bmc.system(systemId) };
}

describe("BMC faults the workflow rides out (one retry layer: the step's next attempt)", () => {
  it.each<[string, Record<string, unknown>]>([
    ["a 5xx on the next requests", { failNext: 2, failStatus: 503 }],
    ["a dropped connection", { dropNext: 1 }],
    ["a 412 race on the next write", { etagMismatchOnce: true }],
    ["one session at a time", { maxSessions: 1, sessionLimitStatus: 503 }],
  ])("%s: the request still becomes active", async (_name, faults) => {
    const { nodeId, systemId } = await enroll("generic");
    // let the enrollment's inventory read finish, then arm the fault for the boot
    await new Promise((r) => setTimeout(r, 300));
    stack.bmc.setFaults(systemId, faults);
    const { done } = await bootAndCheck(nodeId, systemId);
    expect(done.state).toBe("active");
    // a fault that was retried stays visible as the request's last error
    if (done.error) expect(done.error.code).toMatch(/^BMC_(UNREACHABLE|ETAG_MISMATCH)$/);
    stack.bmc.clearFaults(systemId);
  }, 90_000);

  it("settings that fail to apply at reset fail the request and roll everything back", async () => {
    const { nodeId, systemId, found } = await enroll("generic-settings");
    stack.bmc.setFaults(systemId, { settingsFailOnReset: true });
    const { done, volumeId } = await bootAndCheck(nodeId, systemId);
    expect(done.state).toBe("failed");
    expect(done.error.code).toBe("BMC_SETTINGS_FAILED");
    expect(done.error.message).toMatch(/SettingsFailed/);
    expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
    expect(await cinderAdmin(stack).attachments(volumeId)).toEqual([]);
    expect(bmcState(stack.bmc.system(systemId))).toEqual(bmcState(found));
  }, 90_000);
});

describe("a BIOS prerequisite the node does not let sanboot set", () => {
  it("fails the request naming the attribute, with nothing written on the BMC", async () => {
    const { nodeId, systemId, found } = await enroll("hpe");
    await new Promise((r) => setTimeout(r, 300));
    const { done, volumeId } = await bootAndCheck(nodeId, systemId);
    expect(done.state).toBe("failed");
    expect(done.error.code).toBe("BMC_CAPABILITY_MISSING");
    expect(done.error.message).toMatch(/NicBoot\d must be NetworkBoot .*bios_changes: allow/);
    expect(bmcState(stack.bmc.system(systemId))).toEqual(bmcState(found));
    expect(stack.bmc.system(systemId).bios).toEqual(found.bios);
    expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
  }, 90_000);
});
