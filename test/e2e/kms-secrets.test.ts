/** The AWS path for secrets at rest: KMS (here its emulator, over HTTP) seals the CHAP secret. */
import { describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import { cinderAdmin, enrollLabNode, useLocalStack, type Api } from "../support/api";

let stack: LocalStack;
let api: Api;

useLocalStack({ kms: true }, (s, a) => ((stack = s), (api = a)));

describe("secrets at rest under KMS", () => {
  it("a boot stores the CHAP secret only as a KMS ciphertext and still programs the BMC with it", async () => {
    const volumeId = await cinderAdmin(stack).createVolume({ bootable: true });
    const { nodeId, systemId, mac } = await enrollLabNode(stack, api);
    const kmsBefore = stack.kms!.requests();
    const r = await api.post(`/v1/nodes/${nodeId}/boot-from-volume`, { volume_id: volumeId });
    expect((await api.waitFor(r.body.request_id, ["active", "failed"])).state).toBe("active");

    const stored = (await stack.service.deps.store.getRequest(r.body.request_id))!;
    expect(stored.target?.driver_volume_type === "iscsi" && stored.target.auth_password_sealed).toMatch(/^kms1\./);
    const secret = stack.bmc.system(systemId).functions.find((f) => f.mac.toLowerCase() === mac)!.iSCSIBoot.CHAPSecret as string;
    expect(secret.length).toBeGreaterThan(8);
    expect(JSON.stringify(stored)).not.toContain(secret);
    const cmd = await stack.service.deps.store.getCommand(`${r.body.request_id}.configure_firmware.1`);
    expect(JSON.stringify(cmd)).not.toContain(secret);
    // seal at attach, seal it in the command (built in the same invocation with the secret attach
    // had in hand: attach may not decrypt), open at lease
    expect(stack.kms!.requests() - kmsBefore).toBe(3);
  });
});
