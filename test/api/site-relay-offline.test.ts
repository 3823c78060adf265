/**
 * A boot for a node whose site has no relay online is refused at once (SITE_RELAY_OFFLINE) instead
 * of waiting out every deadline with the volume attached; a boot already running when the relay
 * falls silent keeps its normal deadlines. The window here is 2 s (SANBOOT_RELAY_OFFLINE_SECONDS),
 * the relay is this test's own calls, and time passes for real.
 */
import { describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { Api, cinderAdmin, enrollLabNode, useLocalStack } from "../support/api";
import { expectError, newToken } from "./helpers";
import { sha256Hex } from "../../lib/ids";
import { captureEmf, samplesNamed, samplesOf } from "../support/emf-lines";

const WINDOW_S = 2;
let stack: LocalStack;
let api: Api;
let admin: Api;

useLocalStack({ relay: false, env: { SANBOOT_RELAY_OFFLINE_SECONDS: String(WINDOW_S), SANBOOT_METRICS: "emf" } }, (s, a) => {
  stack = s;
  api = a;
  admin = new Api(s.service.url, s.adminToken);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function siteWithRelayToken(): Promise<{ site: string; relay: Api }> {
  const token = newToken("relay");
  const site = `quiet-${Math.random().toString(36).slice(2, 8)}`;
  expect((await admin.post("/v1/sites", { site, relay_token_sha256: [sha256Hex(token)] })).status).toBe(201);
  return { site, relay: new Api(stack.service.url, token) };
}

/** what a refused boot must leave: the node free, no request of it, the volume untouched */
async function expectNothingLeft(nodeId: string, volumeId: string): Promise<void> {
  expect((await api.get(`/v1/nodes/${nodeId}`)).body.active_request_id).toBeNull();
  expect((await api.get(`/v1/boot-requests?node_id=${nodeId}`)).body.boot_requests).toEqual([]);
  expect((await cinderAdmin(stack).volume(volumeId)).status).toBe("available");
  expect(await cinderAdmin(stack).attachments(volumeId)).toEqual([]);
}

describe("a boot at a site without a relay online", () => {
  it("is refused with SITE_RELAY_OFFLINE when no relay of the site ever called, and leaves nothing behind", async () => {
    const { site } = await siteWithRelayToken();
    const { nodeId } = await enrollLabNode(stack, api, { site });
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    expectError(r, 409, "SITE_RELAY_OFFLINE", "site");
    expect(r.body.error.message).toContain(`site ${site}`);
    expect(r.body.error.message).toContain("has called the service yet");
    await expectNothingLeft(nodeId, volumeId);
  });

  it("is accepted while the relay calls, and refused once it has been silent for longer than the window", async () => {
    const { site, relay } = await siteWithRelayToken();
    const { nodeId } = await enrollLabNode(stack, api, { site });
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    expect((await relay.post("/v1/relay/lease", { relay_id: "r1", wait_seconds: 0, max_commands: 1 })).status).toBe(200);
    const accepted = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    expect(accepted.status, accepted.text).toBe(202);
    await api.waitFor(accepted.body.request_id, ["attached"]);

    // the relay falls silent: the running boot keeps waiting on its normal deadlines
    await sleep(WINDOW_S * 1000 + 500);
    await stack.service.invoke("sweeper", {});
    await stack.service.dispatcher.settle();
    const running = (await api.get(`/v1/boot-requests/${accepted.body.request_id}`)).body;
    expect(running.state).toBe("attached");
    expect(running.error).toBeNull();

    // a second node of the site is refused now
    const other = await enrollLabNode(stack, api, { site });
    const otherVolume = await cinderAdmin(stack).createVolume({ bootable: true });
    const refused = await api.post(`/v1/nodes/${other.nodeId}/boot-from-volume`, { volume_id: otherVolume });
    expectError(refused, 409, "SITE_RELAY_OFFLINE", "site");
    expect(refused.body.error.message).toMatch(/called the service since \S+ \(more than 2 s\)/);
    await expectNothingLeft(other.nodeId, otherVolume);
    const shown = (await admin.get(`/v1/sites/${site}`)).body;
    expect(shown.relay_status).toBe("offline");
    expect(shown.relays).toEqual([expect.objectContaining({ relay_id: "r1", online: false })]);

    // the relay is back: accepted again
    expect((await relay.post("/v1/relay/lease", { relay_id: "r1", wait_seconds: 0, max_commands: 1 })).status).toBe(200);
    expect((await api.post(`/v1/nodes/${other.nodeId}/boot-from-volume`, { volume_id: otherVolume })).status).toBe(202);
  }, 30_000);
});

describe("the sweeper's relay check", () => {
  /** one sweep: the SitesRelaySilent values it published and the sites its log line named */
  async function sweepSilent(): Promise<{ gauge: number[]; named: string[] }> {
    const capture = captureEmf();
    const named: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === "string" && chunk.includes("sites whose relays fell silent")) named.push(...(JSON.parse(chunk).sites as string[]));
      return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      await stack.service.invoke("sweeper", {});
      return { gauge: samplesNamed(samplesOf(capture.lines), "SitesRelaySilent").flatMap((s) => s.values), named };
    } finally {
      process.stdout.write = write;
      capture.stop();
    }
  }

  it("counts the sites whose relays fell silent (the relay-silent alarm's metric) and names them in the log", async () => {
    const { site, relay } = await siteWithRelayToken();
    await enrollLabNode(stack, api, { site });
    expect((await relay.post("/v1/relay/lease", { relay_id: "r9", wait_seconds: 0 })).status).toBe(200);
    const before = await sweepSilent();
    expect(before.named).not.toContain(site);
    expect(before.gauge).toEqual([before.named.length]);

    await sleep(WINDOW_S * 1000 + 500);
    const after = await sweepSilent();
    expect(after.named).toContain(site);
    expect(after.gauge).toEqual([after.named.length]);
  }, 30_000);
});
