/**
 * A site whose relay went silent after a boot was accepted: each waiting step times out, is retried with backoff, and
 * the request finally rolls back, detaching the volume. Time is moved forward through the
 * service's injected clock; the sweeper (the scheduled function) drives every retry.
 */
import { describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { STEP_POLICY } from "../../lib/workflow";
import { Api, cinderAdmin, enrollLabNode, useLocalStack } from "../support/api";

let stack: LocalStack;
let api: Api;
let offsetMs = 0;

useLocalStack({ relay: false, overrides: { clock: { now: () => new Date(Date.now() + offsetMs) } } }, (s, a) => ((stack = s), (api = a)));

describe("steps that wait on a relay that never answers", () => {
  it("time out, are retried up to their limit, and the request rolls back with nothing left attached", async () => {
    // the site's relay called once (so the boot is not refused as SITE_RELAY_OFFLINE), then vanished
    expect((await new Api(stack.service.url, stack.relayToken).post("/v1/relay/lease", { relay_id: "vanished", wait_seconds: 0 })).status).toBe(200);
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const { nodeId } = await enrollLabNode(stack, api);
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    expect(r.status, r.text).toBe(202);
    await api.waitFor(r.body.request_id, ["attached"]);

    let req: any;
    for (let sweep = 0; sweep < 200; sweep++) {
      offsetMs += 10 * 60_000; // past any wait deadline and any backoff
      await stack.service.invoke("sweeper", {});
      await stack.service.dispatcher.settle();
      req = (await api.get(`/v1/boot-requests/${r.body.request_id}`)).body;
      if (req.state === "failed") break;
    }
    expect(req.state).toBe("failed");
    const rollback = req.history.find((h: any) => h.state === "rolling_back");
    expect(rollback).toMatchObject({ step: "configure_firmware", attempts: STEP_POLICY.configure_firmware.maxAttempts, error: { code: "STEP_TIMEOUT" } });
    // the relay-side undo could not run either; the volume is detached all the same, and the
    // request says what did not finish
    expect(req.error.message).toMatch(/clear_firmware did not finish/);
    expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
    expect(await cinderAdmin(stack).attachments(volumeId)).toEqual([]);
    expect((await api.get(`/v1/nodes/${nodeId}`)).body.active_request_id).toBeNull();

    // every configure attempt queued its own command, and each superseded one was withdrawn
    const store = stack.service.deps.store;
    const statuses = [];
    for (let a = 1; a <= STEP_POLICY.configure_firmware.maxAttempts; a++) statuses.push((await store.getCommand(`${r.body.request_id}.configure_firmware.${a}`))?.status);
    expect(statuses).toEqual(Array(STEP_POLICY.configure_firmware.maxAttempts).fill("cancelled"));
  }, 60_000);
});
