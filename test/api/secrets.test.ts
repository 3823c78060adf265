/**
 * CHAP secrets: after a full boot with CHAP (and its undeploy), the secret Cinder handed out and
 * the BMC now holds appears in no API answer, no log line of the service or the relay, and is not
 * stored in the clear in the state table.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../lab/local-stack";
import { createLogger } from "../../lib/log";
import { cinderAdmin, enrollLabNode } from "../support/api";
import { RecordingApi, listAll } from "./helpers";

let stack: LocalStack;
let api: RecordingApi;
const serviceLog: string[] = [];
const relayLog: string[] = [];
let chapSecret: string;
let cinderSecret: string;
let requestId: string;
let nodeId: string;

beforeAll(async () => {
  stack = await startLocalStack({
    overrides: { log: createLogger("debug", {}, (l) => serviceLog.push(l)) },
    log: (l) => relayLog.push(l),
  });
  api = new RecordingApi(stack.service.url, stack.apiToken);
  const cinder = cinderAdmin(stack);
  const volumeId = await cinder.createVolume({ bootable: true });
  const enrolled = await enrollLabNode(stack, api);
  nodeId = enrolled.nodeId;

  const key = "boot-with-chap-1";
  const accepted = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi", multipath: true }, { "idempotency-key": key });
  requestId = accepted.body.request_id;
  const active = await api.waitFor(requestId, ["active", "failed"]);
  expect(active.state).toBe("active");

  // the secret, as the lab sees it: Cinder's connection_info and the BMC's iSCSIBoot
  const att = await cinder.raw("GET", `/v3/${stack.project}/attachments/${active.attachment_id}`);
  cinderSecret = att.body.attachment.connection_info.auth_password;
  chapSecret = stack.bmc.system(enrolled.systemId).functions.find((f) => f.mac.toLowerCase() === enrolled.mac)!.iSCSIBoot.CHAPSecret as string;

  // everything a caller may read about it, before and after undeploy
  await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId, protocol: "iscsi", multipath: true }, { "idempotency-key": key });
  await api.get(`/v1/nodes/${nodeId}`);
  await listAll(api, "/v1/nodes", "nodes");
  await listAll(api, "/v1/boot-requests", "boot_requests");
  await api.get(`/v1/boot-requests?node_id=${nodeId}&state=active`);
  await api.delete(`/v1/nodes/${nodeId}/boot-from-volume`);
  await api.waitFor(requestId, ["detached"]);
  await listAll(api, "/v1/boot-requests", "boot_requests");
});
afterAll(async () => stack?.close());

describe("the CHAP secret", () => {
  it("is the one Cinder handed out, and reached the BMC (the premise of this suite)", () => {
    expect(cinderSecret).toEqual(expect.any(String));
    expect(cinderSecret.length).toBeGreaterThanOrEqual(8);
    expect(chapSecret).toBe(cinderSecret);
  });

  it("appears in no API answer", () => {
    expect(api.answers.length).toBeGreaterThan(10);
    expect(api.answers.filter((a) => a.includes(chapSecret))).toEqual([]);
  });

  it("appears in no log line of the service", () => {
    expect(serviceLog.some((l) => l.includes('"level":"debug"') || l.includes('"level":"info"'))).toBe(true);
    expect(serviceLog.filter((l) => l.includes(chapSecret))).toEqual([]);
  });

  it("appears in no log line of the relay", () => {
    expect(relayLog.length).toBeGreaterThan(0);
    expect(relayLog.filter((l) => l.includes(chapSecret))).toEqual([]);
  });

  it("is not stored in the clear: not in the boot request, not in its relay commands", async () => {
    const store = stack.service.deps.store;
    const req = await store.getRequest(requestId);
    expect(req?.target?.driver_volume_type === "iscsi" && req.target.auth_password_sealed).toEqual(expect.any(String));
    expect(JSON.stringify(req)).not.toContain(chapSecret);
    const cmd = await store.getCommand(`${requestId}.configure_firmware.1`);
    // the rest of the boot went to the relay as one sequence; its configure step carries the secret, sealed
    expect(cmd?.body.type).toBe("boot_sequence");
    const configure = cmd?.body.type === "boot_sequence" ? cmd.body.steps.find((s) => s.step === "configure_firmware")?.body : undefined;
    expect(configure?.type === "configure_san_boot" && configure.iscsi.auth.method === "CHAP" && configure.iscsi.auth.secret).toEqual(expect.any(String));
    expect(JSON.stringify(cmd)).not.toContain(chapSecret);
  });

  it("is shown to callers only as redacted", async () => {
    const r = (await api.get(`/v1/boot-requests/${requestId}`)).body;
    expect(r.target.auth_method).toBe("CHAP");
    expect(r.target.auth_password).toBe("[redacted]");
  });
});
