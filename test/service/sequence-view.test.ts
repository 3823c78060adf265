/**
 * What a caller sees of a request while its boot sequence runs (withSequenceProgress): the steps
 * the relay reported done count as done, but never the last one: that the request is active is
 * for the commit that reads the command's end to say (it also records what the boot showed).
 */
import { describe, expect, it } from "vitest";
import type { Deps } from "../../lib/deps";
import { withSequenceProgress } from "../../lib/service/steps/sequence-view";
import type { BootRequestRecord, CommandRecord } from "../../lib/store/records";

const T0 = Date.parse("2026-12-02T10:00:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const bmc = { driver: "redfish" as const, address: "https://10.0.0.5", system_id: "1", credentials_ref: "lab", tls: { verify: true } };

function request(state: BootRequestRecord["state"], step: BootRequestRecord["step"]): BootRequestRecord {
  const history: BootRequestRecord["history"] = [
    { state: "accepted", at: at(0), step: null, attempts: 0, error: null },
    { state: "connector_ready", at: at(1), step: "prepare_connector", attempts: 1, error: null },
    { state: "attached", at: at(2), step: "attach_volume", attempts: 1, error: null },
  ];
  if (state === "booting") history.push({ state: "firmware_configured", at: at(3), step: "configure_firmware", attempts: 1, error: null }, { state: "booting", at: at(4), step: "power_on", attempts: 1, error: null });
  return {
    request_id: "0c6f3b9e-1f2a-4c5d-8e9f-0a1b2c3d4e5f", state, step, attempts: 0, undo: [], next_attempt_at: at(30), step_deadline_at: at(3600), error: null, history,
    node_id: "n", project_id: "p", site: "lab", volume_id: "v", requested_protocol: "iscsi", protocol: "iscsi", multipath: false, boot_method: "firmware",
    connector: null, attachment_id: "a", target: null, bmc_evidence: null, bmc_changes: [], boot_confirmed: null, boot_evidence: null,
    command_id: "0c6f3b9e-1f2a-4c5d-8e9f-0a1b2c3d4e5f.configure_firmware.1", boot_sequence: true, running_until: null, version: 5, created_at: at(0), updated_at: at(2),
  };
}

function command(status: CommandRecord["status"], done: Array<"configure_firmware" | "power_on" | "await_boot">): CommandRecord {
  return {
    command_id: "0c6f3b9e-1f2a-4c5d-8e9f-0a1b2c3d4e5f.configure_firmware.1", site: "lab", request_id: "0c6f3b9e-1f2a-4c5d-8e9f-0a1b2c3d4e5f", node_id: "n", step: "configure_firmware", attempt: 1,
    body: {
      type: "boot_sequence", bmc,
      steps: [
        { step: "configure_firmware", body: { type: "configure_fc_boot", bmc, fc: { targets: [{ wwpn: "500a098186679c7d", lun: "0" }] } } },
        { step: "power_on", body: { type: "power_on", bmc, boot_mode: "uefi", boot_override: "once", san_targets: [] } },
        { step: "await_boot", body: { type: "await_power_on", bmc } },
      ],
    },
    status, lease_owner: null, lease_token: null, lease_expires_at: null, leases: 1, outcome: status === "succeeded" ? { ok: true, result: {} } : null,
    progress: done.map((step, i) => ({ step, at: at(10 + i), result: {} })), created_at: at(2), updated_at: at(12),
  };
}

const depsWith = (cmd: CommandRecord): Deps => ({ store: { getCommand: async () => cmd }, clock: { now: () => new Date(T0 + 60_000) } }) as unknown as Deps;

describe("a request seen while its boot sequence runs", () => {
  it("shows the steps the relay reported done, at their times", async () => {
    const seen = await withSequenceProgress(depsWith(command("leased", ["configure_firmware", "power_on"])), request("attached", "configure_firmware"));
    expect([seen.state, seen.step]).toEqual(["booting", "await_boot"]);
    expect(seen.history.slice(3).map((h) => [h.state, h.at])).toEqual([["firmware_configured", at(10)], ["booting", at(11)]]);
  });

  it("never shows it active before the commit says so, from whichever step the record is at", async () => {
    const all = command("succeeded", ["configure_firmware", "power_on", "await_boot"]);
    expect((await withSequenceProgress(depsWith(all), request("attached", "configure_firmware"))).state).toBe("booting");
    // a sweep already recorded configure and power on: the command's end is still the commit's
    const fromBooting = await withSequenceProgress(depsWith(all), request("booting", "await_boot"));
    expect([fromBooting.state, fromBooting.history.length]).toEqual(["booting", 5]);
  });

  it("leaves a request of one command per step as it is", async () => {
    const r = { ...request("attached", "configure_firmware"), boot_sequence: false };
    expect(await withSequenceProgress(depsWith(command("leased", ["configure_firmware"])), r)).toBe(r);
  });
});
