/**
 * One active request per node, decided by the database: of concurrent boot requests for one
 * node exactly one is accepted, and the node is locked by that one.
 */
import { describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";
import { expectError } from "./helpers";

let stack: LocalStack;
let api: Api;

useLocalStack({}, (s, a) => ((stack = s), (api = a)));

describe("concurrent boot requests for one node", () => {
  it.each([2, 5])("of %i sent at once, exactly one is accepted (202) and the others answer 409 NODE_BUSY", async (n) => {
    const { nodeId } = await enrollLabNode(stack, api);
    const volumes = await Promise.all(Array.from({ length: n }, () => cinderAdmin(stack).createVolume({ bootable: true })));
    const answers = await Promise.all(volumes.map((v) => api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: v, protocol: "iscsi" })));

    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 202)) expectError(a, 409, "NODE_BUSY");
  });

  it("leave one boot request for the node, and the node locked by the winner", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    const cinder = cinderAdmin(stack);
    const [v1, v2] = [await cinder.createVolume({ bootable: true }), await cinder.createVolume({ bootable: true })];
    const answers = await Promise.all([v1, v2].map((v) => api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: v, protocol: "iscsi" })));
    const winner = answers.find((a) => a.status === 202)!;

    const requests = (await api.get(`/v1/boot-requests?node_id=${nodeId}`)).body.boot_requests;
    expect(requests.map((r: { request_id: string }) => r.request_id)).toEqual([winner.body.request_id]);
    expect((await api.get(`/v1/nodes/${nodeId}`)).body.active_request_id).toBe(winner.body.request_id);
  });

  it("leave the loser's volume untouched while the winner boots", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    const cinder = cinderAdmin(stack);
    const [v1, v2] = [await cinder.createVolume({ bootable: true }), await cinder.createVolume({ bootable: true })];
    const answers = await Promise.all([v1, v2].map((v) => api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: v, protocol: "iscsi" })));
    const winnerIdx = answers.findIndex((a) => a.status === 202);
    const loserVolume = [v1, v2][1 - winnerIdx]!;

    expect((await api.waitFor(answers[winnerIdx]!.body.request_id, ["active", "failed"])).state).toBe("active");
    expect((await cinder.volume(loserVolume)).status).toBe("available");
    expect(await cinder.attachments(loserVolume)).toEqual([]);
  });
});

describe("a boot request racing a DELETE of its node", () => {
  it.each([1, 2, 3])("never both succeed (round %i)", async () => {
    const { nodeId } = await enrollLabNode(stack, api);
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const [boot, del] = await Promise.all([
      api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi" }),
      api.delete(`/v1/nodes/${nodeId}`),
    ]);
    expect([boot.status, del.status]).not.toEqual([202, 204]);
    expect([202, 409, 404]).toContain(boot.status);
    expect([204, 409]).toContain(del.status);
    const node = await api.get(`/v1/nodes/${nodeId}`);
    if (boot.status === 202) expect(node.body.active_request_id).toBe(boot.body.request_id);
    else expect(node.status).toBe(404);
  });
});
