/**
 * What must hold when things go wrong: steps run twice, chains lost, relays dying, steps failing
 * for good. Every case ends with what an operator would check: Cinder's view of the volume and
 * the BMC's view of the server.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import type { LocalStack } from "../../lab/local-stack";
import { attachVolume } from "../../lib/service/steps/attach-steps";
import { configureFirmware, commandIdFor } from "../../lib/service/steps/firmware-steps";
import type { SystemSnapshot } from "../../lab/redfish-emulator";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { bmcState } from "../support/bmc-state";

let stack: LocalStack;
let api: Api;
let clockOffsetMs = 0;

useLocalStack({
    leaseSeconds: 3,
    overrides: { clock: { now: () => new Date(Date.now() + clockOffsetMs) } },
  }, (s, a) => ((stack = s), (api = a)));
afterEach(() => {
  clockOffsetMs = 0;
  stack.service.dispatcher.drop = () => false;
});

const sanPatches = (systemId: string) =>
  stack.bmc.system(systemId).patches.filter((p) => p.status < 300 && /NetworkDeviceFunctions/.test(p.path));

async function bootableVolume(): Promise<string> {
  return cinderAdmin(stack).createVolume({ bootable: true });
}

/** The volume available with no attachment, the BMC as it was found (secrets aside). */
async function expectNothingLeft(volumeId: string, systemId: string, found: SystemSnapshot) {
  const cinder = cinderAdmin(stack);
  expect((await cinder.volume(volumeId)).status).toBe("available");
  expect(await cinder.attachments(volumeId)).toEqual([]);
  expect(bmcState(stack.bmc.system(systemId))).toEqual(bmcState(found));
}

describe("steps run twice have one effect", () => {
  it("every chained step invoked twice at once still yields one attachment and one firmware write", async () => {
    const d = stack.service.dispatcher;
    const original = { ...d.handlers };
    d.handlers = {
      attach: (p) => Promise.all([original.attach!(p), original.attach!(p)]),
      firmware: (p) => Promise.all([original.firmware!(p), original.firmware!(p)]),
    };
    try {
      const volumeId = await bootableVolume();
      const { nodeId, systemId } = await enrollLabNode(stack, api);
      const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
      const done = await api.waitFor(r.body.request_id, ["active", "failed"]);
      expect(done.state).toBe("active");
      expect(await cinderAdmin(stack).attachments(volumeId)).toHaveLength(1);
      expect(sanPatches(systemId)).toHaveLength(1);
      expect(stack.bmc.system(systemId).resets.filter((x) => x.resetType !== "ForceOff")).toHaveLength(1);
    } finally {
      d.handlers = original;
    }
  });

  it("an attach step re-run after its result was lost finds the attachment instead of making a second", async () => {
    const volumeId = await bootableVolume();
    const { nodeId } = await enrollLabNode(stack, api);
    stack.service.dispatcher.drop = (fn) => fn === "attach"; // hold the request before attach_volume
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    const deps = stack.service.deps;
    // prepare_connector by hand, as the chained function would
    const { runStep } = await import("../../lib/service/step-runner");
    await runStep(deps, "attach", r.body.request_id, { continueHere: false });
    const req = (await deps.store.getRequest(r.body.request_id))!;
    expect(req.state).toBe("connector_ready");
    const node = (await deps.store.getNode(nodeId))!;
    // prepare_connector left the volume as it read it, for attach_volume's first run
    expect(req.volume_seen?.status).toBe("available");
    const first = await attachVolume(deps, req, node); // result "lost": never committed
    // every run works on the request as its claim wrote it, and the claim spends that hint: a
    // run after a lost result reads the volume again (in use by us now) and looks for ours
    const second = await attachVolume(deps, { ...req, volume_seen: null }, node);
    expect(second.patch?.attachment_id).toBe(first.patch?.attachment_id);
    expect(await cinderAdmin(stack).attachments(volumeId)).toHaveLength(1);
  });

  it("the attach step's claim spends prepare_connector's view of the volume: no later run can use it", async () => {
    const volumeId = await bootableVolume();
    const { nodeId } = await enrollLabNode(stack, api);
    stack.service.dispatcher.drop = (fn) => fn === "attach";
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    const deps = stack.service.deps;
    const { runStep } = await import("../../lib/service/step-runner");
    await runStep(deps, "attach", r.body.request_id, { continueHere: false }); // prepare_connector alone
    expect((await deps.store.getRequest(r.body.request_id))!.volume_seen?.status).toBe("available");
    const saves: Array<{ step: string | null; seen: unknown }> = [];
    const save = deps.store.saveRequest.bind(deps.store);
    deps.store.saveRequest = async (rec) => {
      saves.push({ step: rec.step, seen: rec.volume_seen ?? null });
      return save(rec);
    };
    try {
      await runStep(deps, "attach", r.body.request_id); // attach_volume: claim, attach, commit
    } finally {
      deps.store.saveRequest = save;
    }
    expect(saves[0]).toEqual({ step: "attach_volume", seen: null }); // the claim
    const after = (await deps.store.getRequest(r.body.request_id))!;
    expect(after.state).toBe("attached");
    expect(after.volume_seen ?? null).toBeNull();
    expect(await cinderAdmin(stack).attachments(volumeId)).toHaveLength(1);
    stack.service.dispatcher.drop = () => false;
  });

  it("a firmware step re-run enqueues its relay command once", async () => {
    const volumeId = await bootableVolume();
    const { nodeId } = await enrollLabNode(stack, api);
    const deps = stack.service.deps;
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    await api.waitFor(r.body.request_id, ["active"]);
    // replay configure_firmware against the request as it stood after attach
    const req = { ...(await deps.store.getRequest(r.body.request_id))!, state: "attached" as const, step: "configure_firmware" as const, attempts: 7, command_id: null };
    const node = (await deps.store.getNode(nodeId))!;
    const a = await configureFirmware(deps, req, node);
    const b = await configureFirmware(deps, req, node);
    expect(a.patch?.command_id).toBe(commandIdFor(req, "configure_firmware"));
    expect(b.patch?.command_id).toBe(a.patch?.command_id);
    await deps.store.cancelCommand(a.patch!.command_id!, new Date().toISOString());
  });
});

describe("lost chains and vanished relays", () => {
  it("a lost chain is picked up by the sweeper once the step is due", async () => {
    const volumeId = await bootableVolume();
    const { nodeId } = await enrollLabNode(stack, api);
    let dropped = 0;
    stack.service.dispatcher.drop = (fn) => fn === "attach" && dropped++ < 1;
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    await new Promise((res) => setTimeout(res, 300));
    expect((await api.get(`/v1/boot-requests/${r.body.request_id}`)).body.state).toBe("accepted");

    // nothing is due yet: the sweeper leaves it alone
    expect(await stack.service.invoke("sweeper", {})).toEqual({ dispatched: 0 });
    clockOffsetMs = 31_000;
    const swept = (await stack.service.invoke("sweeper", {})) as { dispatched: number };
    expect(swept.dispatched).toBeGreaterThanOrEqual(1);
    const done = await api.waitFor(r.body.request_id, ["active", "failed"]);
    expect(done.state).toBe("active");
  });

  it("a relay that dies holding a command hands it back when its lease expires, and another relay finishes it once", async () => {
    const volumeId = await bootableVolume();
    const { nodeId, systemId } = await enrollLabNode(stack, api);
    await stack.relay!.stop();
    // relay A takes the configure command and hangs on the BMC, then dies (stops heartbeating)
    let taken!: () => void;
    const tookIt = new Promise<void>((r) => (taken = r));
    const hanging = new RedfishDriver();
    hanging.configureIscsiBoot = () => {
      taken();
      return new Promise(() => undefined);
    };
    const relayA = stack.startRelay({ relayId: "relay-a", driver: hanging, heartbeatSeconds: 1 });
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    await tookIt;
    await relayA.stop(); // gives up after its stop timeout; the command stays leased to A
    const relayB = stack.startRelay({ relayId: "relay-b", heartbeatSeconds: 1 });
    try {
      const done = await api.waitFor(r.body.request_id, ["active", "failed"], 30_000);
      expect(done.state).toBe("active");
      const cmd = await stack.service.deps.store.getCommand(`${r.body.request_id}.configure_firmware.1`);
      expect(cmd?.leases).toBe(2);
      expect(cmd?.lease_owner).toBe("relay-b");
      expect(sanPatches(systemId)).toHaveLength(1);
    } finally {
      await relayB.stop();
      stack.startRelay({ relayId: "relay-1" });
    }
  }, 60_000);
});

describe("failures roll back everything", () => {
  it("a BMC that cannot boot from SAN fails the request with that code, writes nothing on it, and detaches the volume", async () => {
    const volumeId = await bootableVolume();
    const systemId = `nosan-${Date.now()}`;
    const mac = "02:00:5e:aa:00:01";
    const found = stack.bmc.addSystem({ id: systemId, mac, powerState: "On", bootTargets: ["None", "Pxe", "Hdd"] });
    const node = await api.post("/v1/nodes", {
      site: "lab",
      bmc: { address: stack.bmc.url, system_id: systemId, credentials_ref: "lab-bmc" },
      mac_address: mac,
    });
    const r = await api.post(`/v1/nodes/${node.body.node_id}/boot-from-volume`, { volume_id: volumeId });
    const failed = await api.waitFor(r.body.request_id, ["failed", "active"], 30_000);
    expect(failed.state).toBe("failed");
    expect(failed.error.code).toBe("BMC_CAPABILITY_MISSING");
    expect(failed.error.message).toMatch(/boot override/);
    // configure asks first whether the SAN device can be booted at all: nothing written, power as it was
    expect(failed.history.map((h: { state: string }) => h.state)).toEqual(["accepted", "connector_ready", "attached", "rolling_back", "failed"]);
    await expectNothingLeft(volumeId, systemId, found);
    expect(stack.bmc.system(systemId).patchCount).toBe(0);
    expect(stack.bmc.system(systemId).resetCount).toBe(0);
    expect((await api.get(`/v1/nodes/${node.body.node_id}`)).body.active_request_id).toBeNull();
  });

  it("a volume that is not bootable fails at once with a stable code, touching no BMC", async () => {
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: false });
    const { nodeId, systemId, mac } = await enrollLabNode(stack, api);
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    const failed = await api.waitFor(r.body.request_id, ["failed", "active"]);
    expect(failed.state).toBe("failed");
    expect(failed.error.code).toBe("VOLUME_NOT_BOOTABLE");
    expect(failed.error.message).toMatch(/bootable/);
    expect(await cinderAdmin(stack).attachments(volumeId)).toEqual([]);
    expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
    expect(stack.bmc.system(systemId).patches).toEqual([]);
    void mac;
  });

  it("undeploy while the configure command waits for a relay withdraws the command and leaves nothing behind", async () => {
    const volumeId = await bootableVolume();
    const { nodeId, systemId, found } = await enrollLabNode(stack, api);
    await stack.stopRelays(); // nobody leases: the command stays queued
    try {
      const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
      await api.waitFor(r.body.request_id, ["attached"]);
      expect((await stack.service.deps.store.getCommand(`${r.body.request_id}.configure_firmware.1`))?.status).toBe("queued");
      const u = await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
      expect(u.status).toBe(202);
      stack.startRelay({ relayId: "relay-1" });
      const end = await api.waitFor(r.body.request_id, ["detached", "failed"], 30_000);
      expect(end.state).toBe("detached");
      expect((await stack.service.deps.store.getCommand(`${r.body.request_id}.configure_firmware.1`))?.status).toBe("cancelled");
      expect(sanPatches(systemId)).toHaveLength(0);
      await expectNothingLeft(volumeId, systemId, found);
    } finally {
      await stack.stopRelays();
      stack.startRelay({ relayId: "relay-1" });
    }
  });

  it("undeploy while the relay runs the configure undoes the write it made before the undeploy", async () => {
    const volumeId = await bootableVolume();
    const { nodeId, systemId, found } = await enrollLabNode(stack, api);
    await stack.stopRelays();
    // the relay has claimed and written the NIC, and holds before the override
    let reached!: () => void;
    const atOverride = new Promise<void>((r) => (reached = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const held = new RedfishDriver({ pollIntervalMs: 25 });
    const setOverride = held.setSanBootOverride.bind(held);
    held.setSanBootOverride = async (...args) => {
      reached();
      await gate;
      return setOverride(...args);
    };
    const relay = stack.startRelay({ relayId: "relay-held", driver: held, heartbeatSeconds: 1 });
    try {
      const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
      await atOverride;
      expect(sanPatches(systemId)).toHaveLength(1);
      const u = await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
      expect(u.status).toBe(202);
      open(); // the override's claim is refused now (the command was withdrawn): nothing more is written
      const end = await api.waitFor(r.body.request_id, ["detached", "failed"], 30_000);
      expect(end.state).toBe("detached");
      await expectNothingLeft(volumeId, systemId, found);
      expect(stack.bmc.system(systemId).resets.filter((x) => x.resetType !== "ForceOff")).toHaveLength(0);
    } finally {
      open();
      await relay.stop();
      stack.startRelay({ relayId: "relay-1" });
    }
  }, 60_000);
});

describe("node locks that nothing holds any more", () => {
  const boot = (nodeId: string, volumeId: string) => api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });

  it("a lock whose request was never written (intake died between its two writes) is freed once it is old", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    const store = stack.service.deps.store;
    await store.lockNode(nodeId, stack.project, "00000000-0000-4000-8000-000000000001", new Date(Date.now() - 120_000).toISOString());
    const r = await boot(nodeId, await bootableVolume());
    expect(r.status).toBe(202);
    expect((await api.waitFor(r.body.request_id, ["active", "failed"])).state).toBe("active");
  });

  it("a fresh lock without its request may still be an intake in progress: the node stays busy", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    await stack.service.deps.store.lockNode(nodeId, stack.project, "00000000-0000-4000-8000-000000000002", new Date().toISOString());
    const r = await boot(nodeId, await bootableVolume());
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("NODE_BUSY");
    expect((await api.get(`/v1/boot-requests?node_id=${nodeId}`)).body.boot_requests).toEqual([]);
  });

  it("a lock left by a request that already ended (its release failed) does not keep the node busy", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    const first = await boot(nodeId, await bootableVolume());
    await api.waitFor(first.body.request_id, ["active"]);
    await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
    await api.waitFor(first.body.request_id, ["detached"]);
    // as if releasing the node had failed after `detached` was committed
    await stack.service.deps.store.lockNode(nodeId, stack.project, first.body.request_id, new Date().toISOString());
    const second = await boot(nodeId, await bootableVolume());
    expect(second.status).toBe(202);
    expect((await api.waitFor(second.body.request_id, ["active", "failed"])).state).toBe("active");
  });
});
