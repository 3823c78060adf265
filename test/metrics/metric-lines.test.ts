/**
 * The metric lines the service writes, read as CloudWatch reads them: the local stack with its
 * metrics on, a boot to `active`, an undeploy, boots that fail, a sweep; every line captured from
 * stdout, parsed as embedded metric format, and held to lib/metrics/catalog.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { METRICS, type MetricName } from "../../lib/metrics/catalog";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { captureEmf, samplesNamed, samplesOf, sumOf, type EmfLine, type Sample } from "../support/emf-lines";

const NAMESPACE = "sanboot/test";

let stack: LocalStack;
let api: Api;
useLocalStack({ env: { SANBOOT_METRICS: "emf", SANBOOT_METRICS_NAMESPACE: NAMESPACE } }, (s, a) => ((stack = s), (api = a)));

let capture: ReturnType<typeof captureEmf>;
beforeAll(() => {
  capture = captureEmf();
});
afterAll(() => capture?.stop());

/** A node whose enrollment inventory read has landed, so its BMC calls stay out of what follows. */
async function enrolledNode(): Promise<{ nodeId: string; systemId: string }> {
  const { nodeId, systemId } = await enrollLabNode(stack, api);
  await vi.waitFor(
    async () => {
      const node = (await api.get(`/v1/nodes/${nodeId}`)).body;
      if (!node.fc_ports && !node.inventory_error) throw new Error("the inventory read has not landed");
    },
    { timeout: 20_000, interval: 25 },
  );
  return { nodeId, systemId };
}

/** The lines written from `run` on, once `complete` holds of their samples (some land after the API shows the state). */
async function linesDuring(run: () => Promise<void>, complete: (samples: Sample[]) => boolean): Promise<EmfLine[]> {
  const from = capture.lines.length;
  await run();
  await vi.waitFor(
    () => {
      if (!complete(samplesOf(capture.lines.slice(from)))) throw new Error("the metric lines are not all written yet");
    },
    { timeout: 30_000, interval: 25 },
  );
  return capture.lines.slice(from);
}

describe("a boot to active", () => {
  let lines: EmfLine[];
  let samples: Sample[];
  let volumeId: string;
  let nodeId: string;

  beforeAll(async () => {
    volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    ({ nodeId } = await enrolledNode());
    lines = await linesDuring(
      async () => {
        const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
        expect((await api.waitFor(r.body.request_id, ["active", "failed"])).state).toBe("active");
      },
      (s) => sumOf(s, "BootSucceeded") === 1 && samplesNamed(s, "BmcLatency", { Step: "await_boot" }).length > 0,
    );
    samples = samplesOf(lines);
  }, 60_000);

  it("writes each line as CloudWatch EMF in the deployment's namespace, every dimension a key of the line", () => {
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(typeof line._aws.Timestamp).toBe("number");
      expect(line._aws.CloudWatchMetrics).toHaveLength(1);
      const d = line._aws.CloudWatchMetrics[0]!;
      expect(d.Namespace).toBe(NAMESPACE);
      expect(line.service).toBe("sanboot");
      for (const set of d.Dimensions) {
        expect(set).toContain("service");
        for (const key of set) expect(typeof line[key]).toBe("string");
      }
      for (const m of d.Metrics) expect([line[m.Name]].flat().every((v) => typeof v === "number")).toBe(true);
    }
  });

  it("publishes only catalogued metrics, each with its unit and its dimensions (or none, for a total)", () => {
    for (const s of samples) {
      const spec = METRICS[s.name as MetricName];
      expect(spec, s.name).toBeDefined();
      expect(s.unit, s.name).toBe(spec.kind === "duration" ? "Milliseconds" : "Count");
      const keys = Object.keys(s.dimensions).filter((k) => k !== "service").sort();
      expect([[...spec.dimensions].sort(), ...("total" in spec ? [[]] : [])], s.name).toContainEqual(keys);
    }
  });

  it("counts one BootStarted and one BootSucceeded, and no failure", () => {
    expect(sumOf(samples, "BootStarted")).toBe(1);
    expect(sumOf(samples, "BootSucceeded")).toBe(1);
    expect(samplesNamed(samples, "BootFailed")).toEqual([]);
  });

  it("times the whole request as a boot", () => {
    const [boot, ...more] = samplesNamed(samples, "RequestDuration", { Workflow: "boot" });
    expect(more).toEqual([]);
    expect(boot!.values).toHaveLength(1);
    expect(boot!.values[0]).toBeGreaterThan(0);
  });

  it("times every run of each step that ran, under its step", () => {
    // the service runs the steps up to configure_firmware, whose command (a boot sequence) carries
    // power_on and await_boot out at the relay: their time is the relay's (BmcLatency, below)
    const steps = new Set(samplesNamed(samples, "StepDuration").map((s) => s.dimensions.Step));
    expect([...steps].sort()).toEqual(["attach_volume", "configure_firmware", "prepare_connector"]);
    const relaySteps = new Set(samplesNamed(samples, "BmcLatency").map((s) => s.dimensions.Step));
    expect([...relaySteps].sort()).toEqual(["await_boot", "configure_firmware", "power_on"]);
    // a relay step runs at least twice: once to queue its command, once when the relay's result chains it
    expect(samplesNamed(samples, "StepDuration", { Step: "configure_firmware" }).flatMap((s) => s.values).length).toBeGreaterThanOrEqual(2);
    for (const s of samplesNamed(samples, "StepDuration")) for (const v of s.values) expect(v).toBeGreaterThanOrEqual(0);
  });

  it("times the Cinder calls by operation, with the ids left out", () => {
    const operations = new Set(samplesNamed(samples, "CinderLatency").map((s) => s.dimensions.Operation));
    expect([...operations]).toEqual(expect.arrayContaining(["GET /volumes/{id}", "POST /attachments", "POST /attachments/{id}/action os-complete"]));
    for (const op of operations) expect(op).not.toContain(volumeId);
    expect(samplesNamed(samples, "CinderErrors")).toEqual([]);
  });

  it("publishes the relay's Redfish call latencies under the step each command served", () => {
    for (const step of ["configure_firmware", "power_on", "await_boot"]) {
      const values = samplesNamed(samples, "BmcLatency", { Step: step }).flatMap((s) => s.values);
      expect(values.length, step).toBeGreaterThan(0);
      expect(values.length, step).toBeLessThanOrEqual(100);
      for (const v of values) expect(v).toBeGreaterThanOrEqual(0);
    }
    expect(samplesNamed(samples, "BmcErrors")).toEqual([]);
  });

  it("counts the relay commands queued for the site and times each one's wait for its lease", () => {
    // the rest of the boot went to the relay as one command (a boot sequence)
    expect(sumOf(samples, "RelayCommandQueued", { Site: "lab" })).toBe(1);
    const waits = samplesNamed(samples, "RelayCommandWait", { Site: "lab" }).flatMap((s) => s.values);
    expect(waits).toHaveLength(1);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(0);
  });

  it("an undeploy that undoes everything counts UndeployStarted and UndeploySucceeded and times itself as an undeploy", async () => {
    const undeploy = samplesOf(
      await linesDuring(
        async () => {
          const r = await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
          expect((await api.waitFor(r.body.request_id, ["detached", "failed"])).state).toBe("detached");
        },
        (s) => sumOf(s, "UndeploySucceeded") === 1,
      ),
    );
    expect(sumOf(undeploy, "UndeployStarted")).toBe(1);
    expect(samplesNamed(undeploy, "UndeployFailed")).toEqual([]);
    expect(samplesNamed(undeploy, "RequestDuration", { Workflow: "undeploy" }).flatMap((s) => s.values)).toHaveLength(1);
    expect(new Set(samplesNamed(undeploy, "StepDuration").map((s) => s.dimensions.Step))).toEqual(new Set(["clear_firmware", "detach_volume"]));
  }, 60_000);
});

describe("boots that fail", () => {
  it("a volume that does not exist counts BootFailed with VOLUME_NOT_FOUND, and again in the total an alarm reads", async () => {
    const { nodeId } = await enrolledNode();
    const samples = samplesOf(
      await linesDuring(
        async () => {
          const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: "0b4a4c3e-58a5-4f1b-9a0e-7d1c3f2e9a11", protocol: "iscsi" });
          const done = await api.waitFor(r.body.request_id, ["active", "failed"]);
          expect(done.error.code).toBe("VOLUME_NOT_FOUND");
        },
        (s) => sumOf(s, "BootFailed") === 1,
      ),
    );
    expect(sumOf(samples, "BootFailed", { ErrorCode: "VOLUME_NOT_FOUND" })).toBe(1);
    expect(sumOf(samples, "BootFailed")).toBe(1);
    expect(sumOf(samples, "BootStarted")).toBe(1);
    expect(samplesNamed(samples, "BootSucceeded")).toEqual([]);
    expect(samplesNamed(samples, "RequestDuration", { Workflow: "boot" }).flatMap((s) => s.values)).toHaveLength(1);
    // Cinder's 404 is a failed call of the volume read
    expect(sumOf(samples, "CinderErrors", { Operation: "GET /volumes/{id}" })).toBe(1);
  }, 60_000);

  it("a BMC that answers 503 shows as BmcErrors of the step whose command met it", async () => {
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const { nodeId, systemId } = await enrolledNode();
    stack.bmc.setFaults(systemId, { failNext: 1, failStatus: 503 });
    const samples = samplesOf(
      await linesDuring(
        async () => {
          const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" });
          // the workflow retries the step and the boot goes on
          expect((await api.waitFor(r.body.request_id, ["active", "failed"], 60_000)).state).toBe("active");
        },
        (s) => sumOf(s, "BootSucceeded") === 1,
      ),
    );
    stack.bmc.clearFaults(systemId);
    expect(sumOf(samples, "BmcErrors", { Step: "configure_firmware" })).toBe(1);
  }, 90_000);
});

describe("the sweeper", () => {
  it("reports RequestsPastDeadline on every sweep, none past included", async () => {
    const samples = samplesOf(await linesDuring(() => stack.service.invoke("sweeper", {}).then(() => undefined), (s) => samplesNamed(s, "RequestsPastDeadline").length > 0));
    const [gauge, ...more] = samplesNamed(samples, "RequestsPastDeadline");
    expect(more).toEqual([]);
    expect(gauge!.values).toEqual([0]);
    expect(Object.keys(gauge!.dimensions)).toEqual(["service"]);
  });
});
