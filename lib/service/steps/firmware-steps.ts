/**
 * Steps carried out by the firmware function, each through one relay command: program the SAN
 * boot target (iSCSI on the NIC function, or Fibre Channel boot targets on the HBA), boot, watch
 * it come up, and undo (power off, put back what the function held, clear the override).
 */
import type { Deps } from "../../deps";
import { SanbootError } from "../../errors";
import type { CommandBody } from "../../relay/protocol";
import type { BootRequestRecord, NodeRecord } from "../../store/records";
import type { StepImpl } from "./step";
import { viaRelay } from "./relay-step";

export { commandIdFor } from "./relay-step";

function portalParts(portal: string): { address: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(portal);
  if (!m) return { address: portal, port: 3260 };
  return { address: m[1]!, port: Number(m[2]) };
}

export async function sanBootBody(req: BootRequestRecord, node: NodeRecord, deps: Deps): Promise<CommandBody> {
  const t = req.target;
  if (!t) throw new SanbootError("INTERNAL", "configure_firmware ran without a Cinder target");
  if (t.driver_volume_type === "fibre_channel") {
    const wwns = req.multipath ? t.wwns : t.wwns.slice(0, 1);
    return {
      type: "configure_fc_boot",
      bmc: node.bmc,
      fc: {
        ...(node.fc_wwpn ? { wwpn: node.fc_wwpn } : {}),
        targets: wwns.slice(0, 8).map((w, i) => ({ wwpn: w, lun: String(t.lun), priority: i })),
      },
    };
  }
  const secret = t.auth_password_sealed ? await deps.secrets.open(t.auth_password_sealed) : null;
  return {
    type: "configure_san_boot",
    bmc: node.bmc,
    iscsi: {
      ...(node.mac_address ? { mac_address: node.mac_address } : {}),
      initiator_name: node.initiator_iqn,
      network: node.network,
      targets: t.paths.slice(0, 2).map((p) => ({ name: p.iqn, ...portalParts(p.portal), lun: p.lun })),
      auth: t.auth_method === "CHAP" && secret !== null ? { method: "CHAP", username: t.auth_username ?? "", secret } : { method: "None" },
      boot_mode: node.boot_mode,
    },
  };
}

export const configureFirmware: StepImpl = (deps, req, node) =>
  viaRelay(
    deps,
    req,
    "configure_firmware",
    () => sanBootBody(req, node, deps),
    // Keep the first snapshot: a retried configure finds its own target and reports none.
    (result) => (req.firmware_previous == null && result.previous && typeof result.previous === "object" ? { firmware_previous: result.previous as Record<string, unknown> } : {}),
  );

export const powerOn: StepImpl = (deps, req, node) =>
  viaRelay(deps, req, "power_on", () => ({ type: "power_on", bmc: node.bmc, boot_mode: node.boot_mode, boot_override: node.boot_override ?? "once" }));

export const awaitBoot: StepImpl = (deps, req, node) =>
  viaRelay(deps, req, "await_boot", () => ({ type: "await_power_on", bmc: node.bmc, timeout_seconds: deps.config.SANBOOT_POWER_ON_TIMEOUT_SECONDS }));

export const clearFirmware: StepImpl = (deps, req, node) =>
  viaRelay(deps, req, "clear_firmware", () => ({
    type: "clear_san_boot",
    bmc: node.bmc,
    protocol: req.protocol,
    ...(node.mac_address ? { mac_address: node.mac_address } : {}),
    ...(node.fc_wwpn ? { wwpn: node.fc_wwpn } : {}),
    ...(req.firmware_previous ? { previous: req.firmware_previous } : {}),
  }));
