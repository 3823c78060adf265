/**
 * The rest of a boot as one relay command (issue 11: one lease, one result, the evidence shared
 * by configure, power on and the wait), over the whole local stack: what the request records of
 * each step, what a caller sees while the relay works, a step that fails half-way, and a site
 * whose relay is of a release that runs one command per step.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import type { BmcEndpoint, BootWait } from "../../lib/bmc/driver";
import { SanbootError } from "../../lib/errors";
import type { BootRequestRecord, CommandRecord } from "../../lib/store/records";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { bmcState } from "../support/bmc-state";

let stack: LocalStack;
let api: Api;

// the site's answer (whether its relays run sequences) is not kept: each test's relay counts at once
useLocalStack({ env: { SANBOOT_SITE_CACHE_SECONDS: "0" } }, (s, a) => ((stack = s), (api = a)));

let replaced = false;
afterEach(async () => {
  if (!replaced) return;
  // put the lab's own relay back for the next test
  await stack.relay?.stop();
  for (const r of await stack.service.deps.store.listRelays("lab")) await stack.service.deps.store.forgetRelay("lab", r.relay_id);
  stack.relay = stack.startRelay({ relayId: `relay-${Date.now()}` });
  replaced = false;
});

/** Replaces the lab relay with one that runs `driver` (and announces `capabilities`, when given). */
async function relayWith(driver: RedfishDriver, capabilities?: string[]): Promise<void> {
  await stack.relay?.stop();
  const store = stack.service.deps.store;
  for (const r of await store.listRelays("lab")) await store.forgetRelay("lab", r.relay_id);
  stack.relay = stack.startRelay({ relayId: `relay-${Date.now()}`, driver, ...(capabilities ? { capabilities } : {}) });
  replaced = true;
  for (let i = 0; i < 500 && (await store.listRelays("lab")).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
}

async function commandsOf(requestId: string): Promise<CommandRecord[]> {
  const store = stack.service.deps.store;
  const out: CommandRecord[] = [];
  for (const step of ["configure_firmware", "power_on", "await_boot"]) {
    for (let attempt = 1; attempt <= 4; attempt++) {
      const c = await store.getCommand(`${requestId}.${step}.${attempt}`);
      if (c) out.push(c);
    }
  }
  return out;
}

const stepsOf = (c: CommandRecord) => (c.body.type === "boot_sequence" ? c.body.steps.map((s) => s.step) : [c.body.type]);
const historyOf = (r: BootRequestRecord) => r.history.map((h) => `${h.state}:${h.step ?? "-"}:${h.attempts}`);

async function boot(nodeId: string): Promise<{ requestId: string; volumeId: string }> {
  const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
  const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
  expect(r.status).toBe(202);
  return { requestId: r.body.request_id, volumeId };
}

async function undeploy(nodeId: string, requestId: string): Promise<void> {
  expect((await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`)).status).toBe(202);
  expect((await api.waitFor(requestId, ["detached", "failed"])).state).toBe("detached");
}

describe("a boot's relay work as one command", () => {
  it("is one command carrying configure, power on and the wait; the request records each step in order", async () => {
    const { nodeId, systemId, found } = await enrollLabNode(stack, api);
    const { requestId } = await boot(nodeId);
    expect((await api.waitFor(requestId, ["active", "failed"])).state).toBe("active");

    const commands = await commandsOf(requestId);
    expect(commands.map((c) => [c.command_id, c.status, stepsOf(c)])).toEqual([[`${requestId}.configure_firmware.1`, "succeeded", ["configure_firmware", "power_on", "await_boot"]]]);
    expect(commands[0]!.leases).toBe(1);
    expect(commands[0]!.progress?.map((p) => p.step)).toEqual(["configure_firmware", "power_on", "await_boot"]);

    const rec = (await stack.service.deps.store.getRequest(requestId))!;
    expect(historyOf(rec)).toEqual([
      "accepted:-:0",
      "connector_ready:prepare_connector:1",
      "attached:attach_volume:1",
      "firmware_configured:configure_firmware:1",
      "booting:power_on:1",
      "active:await_boot:1",
    ]);
    const times = rec.history.map((h) => Date.parse(h.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // what each step changed, as separate steps
    expect(rec.bmc_changes.map((c) => `${c.step}:${c.kind}`)).toEqual(["configure_firmware:function", "power_on:override", "power_on:power"]);
    expect(rec.boot_confirmed).toBe(true);
    expect(rec.command_id).toBeNull();

    await undeploy(nodeId, requestId);
    expect(bmcState(stack.bmc.system(systemId))).toEqual(bmcState(found));
  });

  it("is queued by attach with the CHAP secret Cinder just gave it: the firmware function is not invoked on the way forward", async () => {
    const invoked: string[] = [];
    stack.service.dispatcher.drop = (fn) => (invoked.push(fn), false);
    try {
      const { nodeId, systemId, mac } = await enrollLabNode(stack, api);
      const { requestId } = await boot(nodeId);
      expect((await api.waitFor(requestId, ["active", "failed"])).state).toBe("active");
      expect(invoked).toEqual(["attach"]);
      const rec = (await stack.service.deps.store.getRequest(requestId))!;
      expect(rec.target?.driver_volume_type === "iscsi" && rec.target.auth_method).toBe("CHAP");
      // the BMC was programmed with the secret (the one Cinder gave), never stored in the clear
      const secret = stack.bmc.system(systemId).functions.find((f) => f.mac.toLowerCase() === mac)!.iSCSIBoot.CHAPSecret as string;
      expect(secret.length).toBeGreaterThan(8);
      expect(JSON.stringify(rec)).not.toContain(secret);
      expect(JSON.stringify(await stack.service.deps.store.getCommand(`${requestId}.configure_firmware.1`))).not.toContain(secret);
    } finally {
      stack.service.dispatcher.drop = () => false;
    }
  });

  it("a configure tried again later is the firmware function's, which opens the stored secret", async () => {
    class ConfigureFailsOnce extends RedfishDriver {
      failures = 1;
      override async configureIscsiBoot(...args: Parameters<RedfishDriver["configureIscsiBoot"]>) {
        if (this.failures-- > 0) throw new SanbootError("BMC_UNREACHABLE", "the BMC did not answer", { retryable: true });
        return super.configureIscsiBoot(...args);
      }
    }
    await relayWith(new ConfigureFailsOnce({ pollIntervalMs: 25 }));
    const invoked: string[] = [];
    stack.service.dispatcher.drop = (fn) => (invoked.push(fn), false);
    try {
      const { nodeId, systemId, mac } = await enrollLabNode(stack, api);
      const { requestId } = await boot(nodeId);
      expect((await api.waitFor(requestId, ["active", "failed"], 30_000)).state).toBe("active");
      expect(invoked).toEqual(["attach", "firmware"]);
      expect((await commandsOf(requestId)).map((c) => [c.command_id, c.status])).toEqual([
        [`${requestId}.configure_firmware.1`, "failed"],
        [`${requestId}.configure_firmware.2`, "succeeded"],
      ]);
      expect((stack.bmc.system(systemId).functions.find((f) => f.mac.toLowerCase() === mac)!.iSCSIBoot.CHAPSecret as string).length).toBeGreaterThan(8);
    } finally {
      stack.service.dispatcher.drop = () => false;
    }
  }, 60_000);

  it("while the relay waits for the boot, a caller sees the steps it reported done; the record is written once, at the end", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let waiting = false;
    class HeldBoot extends RedfishDriver {
      override async waitForBoot(ep: BmcEndpoint, wait?: BootWait) {
        waiting = true;
        await gate;
        return super.waitForBoot(ep, wait);
      }
    }
    await relayWith(new HeldBoot({ pollIntervalMs: 25 }));
    const { nodeId } = await enrollLabNode(stack, api);
    const { requestId } = await boot(nodeId);
    for (let i = 0; i < 1000 && !waiting; i++) await new Promise((r) => setTimeout(r, 10));
    expect(waiting).toBe(true);

    const seen = (await api.get(`/v1/boot-requests/${requestId}`)).body;
    expect(seen.state).toBe("booting");
    expect(seen.history.map((h: { state: string }) => h.state)).toEqual(["accepted", "connector_ready", "attached", "firmware_configured", "booting"]);
    // the table still holds the request as the queueing run left it
    const stored = (await stack.service.deps.store.getRequest(requestId))!;
    expect(stored.state).toBe("attached");
    expect(stored.step).toBe("configure_firmware");

    // a run of the step meanwhile (the sweeper's) records what the relay reported, and waits on
    const { runStep } = await import("../../lib/service/step-runner");
    await runStep(stack.service.deps, "firmware", requestId);
    const recorded = (await stack.service.deps.store.getRequest(requestId))!;
    expect([recorded.state, recorded.step, recorded.command_id]).toEqual(["booting", "await_boot", `${requestId}.configure_firmware.1`]);

    release();
    expect((await api.waitFor(requestId, ["active", "failed"])).state).toBe("active");
    const done = (await stack.service.deps.store.getRequest(requestId))!;
    expect(historyOf(done).slice(3)).toEqual(["firmware_configured:configure_firmware:1", "booting:power_on:1", "active:await_boot:1"]);
    await undeploy(nodeId, requestId);
  });

  it("a step that fails half-way is tried again from that step: the steps before it stay done and are not repeated", async () => {
    class ResetFailsOnce extends RedfishDriver {
      failures = 1;
      override async powerOn(ep: BmcEndpoint) {
        if (this.failures-- > 0) throw new SanbootError("BMC_UNREACHABLE", "the reset timed out", { retryable: true });
        return super.powerOn(ep);
      }
    }
    await relayWith(new ResetFailsOnce({ pollIntervalMs: 25 }));
    const { nodeId, systemId, found } = await enrollLabNode(stack, api);
    const { requestId, volumeId } = await boot(nodeId);
    expect((await api.waitFor(requestId, ["active", "failed"], 30_000)).state).toBe("active");

    const commands = await commandsOf(requestId);
    expect(commands.map((c) => [c.command_id, c.status, stepsOf(c)])).toEqual([
      [`${requestId}.configure_firmware.1`, "failed", ["configure_firmware", "power_on", "await_boot"]],
      [`${requestId}.power_on.2`, "succeeded", ["power_on", "await_boot"]],
    ]);
    expect(commands[0]!.progress?.map((p) => p.step)).toEqual(["configure_firmware"]);
    const rec = (await stack.service.deps.store.getRequest(requestId))!;
    expect(historyOf(rec).slice(3)).toEqual(["firmware_configured:configure_firmware:1", "booting:power_on:2", "active:await_boot:1"]);
    // one SAN target write, one reset that went through
    const sys = stack.bmc.system(systemId);
    expect(sys.patches.filter((p) => p.status < 300 && /NetworkDeviceFunctions/.test(p.path))).toHaveLength(1);
    expect(sys.resets.filter((x) => x.resetType !== "ForceOff")).toHaveLength(1);

    await undeploy(nodeId, requestId);
    expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
    expect(bmcState(stack.bmc.system(systemId))).toEqual(bmcState(found));
  }, 60_000);

  it("a site whose relay does not announce boot sequences (an older release) gets one command per step", async () => {
    await relayWith(new RedfishDriver({ pollIntervalMs: 25 }), []);
    const { nodeId, systemId, found } = await enrollLabNode(stack, api);
    const { requestId } = await boot(nodeId);
    expect((await api.waitFor(requestId, ["active", "failed"])).state).toBe("active");
    const commands = await commandsOf(requestId);
    expect(commands.map((c) => [c.command_id, stepsOf(c)])).toEqual([
      [`${requestId}.configure_firmware.1`, ["configure_san_boot"]],
      [`${requestId}.power_on.1`, ["power_on"]],
      [`${requestId}.await_boot.1`, ["await_power_on"]],
    ]);
    const rec = (await stack.service.deps.store.getRequest(requestId))!;
    expect(rec.boot_sequence).toBe(false);
    expect(historyOf(rec).slice(3)).toEqual(["firmware_configured:configure_firmware:1", "booting:power_on:1", "active:await_boot:1"]);
    await undeploy(nodeId, requestId);
    expect(bmcState(stack.bmc.system(systemId))).toEqual(bmcState(found));
  });
});
