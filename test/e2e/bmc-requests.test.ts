/**
 * What a boot costs its BMC, counted by the lab BMC (every Redfish request it answered, service
 * root and collections included) over the whole local stack, on the generic flavour: the node's
 * inventory at enrollment walks the BMC, and the boot's relay commands reuse what it found,
 * reading only what they decide on and writing what they must.
 */
import { describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { RedfishDriver } from "../../lib/bmc/redfish-driver";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { bmcState } from "../support/bmc-state";

let stack: LocalStack;
let api: Api;
/** the relay's "executing command" lines, with how many BMC requests had been answered by then */
const started: Array<{ type: string; at: number }> = [];

useLocalStack(
  {
    powerDelayMs: 0,
    log: (line) => {
      const l = JSON.parse(line) as { msg?: string; type?: string };
      if (l.msg === "executing command" && l.type) started.push({ type: l.type, at: stack?.bmc.requests().length ?? 0 });
    },
  },
  (s, a) => ((stack = s), (api = a)),
);

async function inventoried(nodeId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await api.get(`/v1/nodes/${nodeId}`)).body.fc_ports !== null) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`node ${nodeId} was never inventoried`);
}

/** The BMC requests from `from` to `to`, as "METHOD path", grouped by the relay command that sent them. */
function perCommand(from: number, to: number): Record<string, string[]> {
  const log = stack.bmc.requests();
  const marks = started.filter((m) => m.at >= from && m.at < to);
  const out: Record<string, string[]> = {};
  marks.forEach((m, i) => {
    const end = Math.min(marks[i + 1]?.at ?? to, to);
    out[m.type] = [...(out[m.type] ?? []), ...log.slice(m.at, end).map((r) => `${r.method} ${r.path}`)];
  });
  return out;
}

async function bootAndUndeploy(nodeId: string) {
  const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
  const from = stack.bmc.requests().length;
  const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
  expect((await api.waitFor(r.body.request_id, ["active", "failed"])).state).toBe("active");
  const booted = stack.bmc.requests().length;
  await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
  expect((await api.waitFor(r.body.request_id, ["detached", "failed"])).state).toBe("detached");
  const undeployed = stack.bmc.requests().length;
  const writes = (a: number, b: number) => stack.bmc.requests().slice(a, b).filter((q) => q.method !== "GET").map((q) => q.method);
  return { boot: booted - from, undeploy: undeployed - booted, bootWrites: writes(from, booted), undeployWrites: writes(booted, undeployed), commands: perCommand(from, undeployed) };
}

describe("BMC requests per boot, generic Redfish", () => {
  it("a boot costs at most 10 BMC requests once the node's inventory walked its BMC, and undeploy puts back what it found", async () => {
    const { nodeId, systemId, found } = await enrollLabNode(stack, api);
    await inventoried(nodeId);

    const cost = await bootAndUndeploy(nodeId);
    const why = JSON.stringify(cost.commands, null, 1);
    // configure: the function, its PATCH; power_on: the system (status, then the override's own
    // read), the boot options' collection and the one option that is new, the override's PATCH,
    // the system (power state), the reset; await: the system
    expect(cost.boot, why).toBeLessThanOrEqual(10);
    // every write still goes out: the target, the override, the reset
    expect(cost.bootWrites).toEqual(["PATCH", "PATCH", "POST"]);
    expect(cost.undeploy, why).toBeLessThanOrEqual(10);
    expect(cost.undeployWrites).toEqual(["POST", "PATCH", "PATCH"]);
    expect(bmcState(stack.bmc.system(systemId))).toEqual(bmcState(found));
  });

  it("a relay that knows nothing of the BMC walks it once, in the boot's first command", async () => {
    const { nodeId, systemId, found } = await enrollLabNode(stack, api);
    await inventoried(nodeId);
    // the relay that inventoried the node goes; one with an empty cache takes over
    await stack.relay!.stop();
    stack.startRelay({ relayId: "relay-cold", driver: new RedfishDriver({ pollIntervalMs: 25 }) });

    const cost = await bootAndUndeploy(nodeId);
    const why = JSON.stringify(cost.commands, null, 1);
    const walks = Object.entries(cost.commands).filter(([, reqs]) => reqs.includes("GET /redfish/v1/Systems")).map(([type]) => type);
    // the boot's relay work is one command (a boot sequence): its configure step walks the BMC
    expect(walks, why).toEqual(["boot_sequence"]);
    expect(cost.boot, why).toBeLessThanOrEqual(23);
    expect(cost.bootWrites).toEqual(["PATCH", "PATCH", "POST"]);
    expect(bmcState(stack.bmc.system(systemId))).toEqual(bmcState(found));
  });
});
