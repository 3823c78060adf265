/**
 * With a site key configured, the CHAP secret is sealed to the site when the command is made:
 * the state table and the relay protocol carry only what that site's relay can open.
 */
import { describe, expect, it } from "vitest";
import { request } from "undici";
import type { LocalStack } from "../../lab/local-stack";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";

const OTHER_TOKEN = "relay-token-of-another-site";
let stack: LocalStack;
let api: Api;

useLocalStack({ sealToSite: true, leaseSeconds: 5, extraRelaySites: { other: OTHER_TOKEN } }, (s, a) => ((stack = s), (api = a)));

async function chapSecretOf(volumeId: string): Promise<string> {
  const admin = cinderAdmin(stack);
  const [att] = await admin.attachments(volumeId);
  const raw = await admin.raw("GET", `/v3/${stack.project}/attachments/${att!.id}`);
  return raw.body.attachment.connection_info.auth_password;
}

describe("target secrets sealed to the site", () => {
  it("the site's relay opens the secret and programs it; the table and the lease never hold it in clear", async () => {
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const { nodeId, systemId, mac } = await enrollLabNode(stack, api);
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    const done = await api.waitFor(r.body.request_id, ["active", "failed"]);
    expect(done.state).toBe("active");

    const secret = await chapSecretOf(volumeId);
    expect(secret.length).toBeGreaterThan(8);
    const fn = stack.bmc.system(systemId).functions.find((f) => f.mac.toLowerCase() === mac)!;
    expect(fn.iSCSIBoot.CHAPSecret).toBe(secret);

    const cmd = await stack.service.deps.store.getCommand(`${r.body.request_id}.configure_firmware.1`);
    const stored = JSON.stringify(cmd);
    expect(stored).not.toContain(secret);
    expect(stored).toMatch(/x25519v1\./);
  });

  it("a relay without the site key cannot read the secret: the request fails and rolls back", async () => {
    await stack.relay!.stop();
    const keyless = stack.startRelay({ relayId: "keyless", siteKey: null });
    try {
      const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
      const { nodeId, systemId, mac } = await enrollLabNode(stack, api);
      const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
      const end = await api.waitFor(r.body.request_id, ["failed", "active"], 30_000);
      expect(end.state).toBe("failed");
      expect(end.error.code).toBe("SECRET_UNREADABLE");
      expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
      const fn = stack.bmc.system(systemId).functions.find((f) => f.mac.toLowerCase() === mac)!;
      expect(fn.iSCSIBoot.PrimaryTargetName ?? "").toBe("");
    } finally {
      await keyless.stop();
    }
  }, 60_000);

  it("a relay of another site leases nothing of this site's and cannot report on its commands", async () => {
    const relay = (path: string, body: unknown, token = OTHER_TOKEN) =>
      request(`${stack.service.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (res) => ({ status: res.statusCode, body: (await res.body.json()) as any }));

    await stack.relay!.stop();
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const { nodeId } = await enrollLabNode(stack, api);
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    const commandId = `${r.body.request_id}.configure_firmware.1`;
    for (let i = 0; i < 100 && !(await stack.service.deps.store.getCommand(commandId)); i++) await new Promise((x) => setTimeout(x, 50));
    expect((await stack.service.deps.store.getCommand(commandId))?.status).toBe("queued");

    const leased = await relay("/v1/relay/lease", { relay_id: "intruder", wait_seconds: 0 });
    expect(leased.status).toBe(200);
    expect(leased.body.commands).toEqual([]);
    const reported = await relay(`/v1/relay/commands/${commandId}/result`, { lease_token: "guess", outcome: { ok: true, result: {} } });
    expect(reported.status).toBe(409);
    expect(reported.body.error.code).toBe("LEASE_LOST");
    expect((await relay("/v1/relay/lease", { relay_id: "x", wait_seconds: 0 }, "no-such-token")).status).toBe(401);

    // the command is still there for the right site's relay, which finishes the request
    const own = stack.startRelay({ relayId: "relay-own" });
    try {
      expect((await api.waitFor(r.body.request_id, ["active", "failed"])).state).toBe("active");
    } finally {
      await own.stop();
    }
  });
});
