/**
 * Retries and polls start at their time, not at the sweeper's next round (issue 11): the whole
 * stack, no sweeper running, the dispatcher's delayed invocations on a timer this test advances.
 * (On AWS the same commands become SendMessage with DelaySeconds to the step function's retry
 * queue: test/dispatch/delayed-dispatch.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { backoffMs } from "../../lib/workflow";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { ManualTimer } from "../support/manual-timer";

let stack: LocalStack;
let api: Api;
let timer: ManualTimer;

useLocalStack({}, (s, a) => ((stack = s), (api = a)));
beforeEach(() => {
  timer = new ManualTimer();
  stack.service.dispatcher.timer = timer;
});
afterEach(() => stack.cinder.clearFaults());

describe("a step that failed for now", () => {
  it("is tried again when its backoff is over, by a delayed trigger, with no sweep", async () => {
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const { nodeId } = await enrollLabNode(stack, api);
    // every read of the volume fails through the client's own retries: attach_volume fails, retryably
    stack.cinder.failNext({ method: "GET", path_regex: `/volumes/${volumeId}$`, status: 503, times: 5 });
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    const id = r.body.request_id as string;
    await expect.poll(async () => (await stack.service.deps.store.getRequest(id))?.attempts, { timeout: 5_000 }).toBe(1);
    await stack.service.dispatcher.settle();
    const failed = (await stack.service.deps.store.getRequest(id))!;
    expect(failed).toMatchObject({ state: "accepted", step: "prepare_connector", attempts: 1 });
    const delaySeconds = Math.ceil(backoffMs(id, "prepare_connector", 1) / 1_000);
    expect(timer.waiting).toEqual([delaySeconds * 1_000]);
    // nothing happens before the backoff is over
    timer.advance(delaySeconds * 1_000 - 1);
    expect((await stack.service.deps.store.getRequest(id))!.attempts).toBe(1);
    timer.advance(1);
    expect((await api.waitFor(id, ["active", "failed"])).state).toBe("active");
    expect(stack.service.dispatcher.delayed).toBe(1);
  });
});

describe("an attach whose create Cinder may still be making", () => {
  it("waits (no attempt spent), looks again at its recheck time, and ends with one attachment", async () => {
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const { nodeId } = await enrollLabNode(stack, api);
    // the create's answer is lost and what it made cannot be read: outcome unknown
    stack.cinder.failNext({ method: "POST", path_regex: "/attachments$", status: 500, after_effect: true });
    stack.cinder.failNext({ method: "GET", path_regex: "/attachments/[0-9a-f-]+$", status: 503, times: 4 });
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    const id = r.body.request_id as string;
    await expect.poll(() => timer.waiting.length, { timeout: 5_000 }).toBe(1);
    const waiting = (await stack.service.deps.store.getRequest(id))!;
    expect(waiting).toMatchObject({ state: "connector_ready", step: "attach_volume", attempts: 0 });
    expect(waiting.error?.message).toMatch(/may still be making it/);
    expect(await cinderAdmin(stack).attachments(volumeId)).toHaveLength(1);
    timer.advance(timer.waiting[0]!);
    const done = await api.waitFor(id, ["active", "failed"]);
    expect(done.state).toBe("active");
    expect((await cinderAdmin(stack).attachments(volumeId)).map((a) => a.status)).toEqual(["attached"]);
  });
});
