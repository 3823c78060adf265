/**
 * Steps carried out by the firmware function, each through one relay command: program the SAN
 * boot target (iSCSI on the NIC function, or Fibre Channel boot targets on the HBA), boot, watch
 * it come up, and undo (by the evidence of what those commands wrote: power off what sanboot
 * powered on, put back what it changed, the override as power_on found it).
 */
import type { Deps } from "../../deps";
import { SanbootError } from "../../errors";
import type { CommandBody } from "../../relay/protocol";
import type { BmcEvidence } from "../../bmc/claims";
import type { BootRequestRecord, NodeRecord } from "../../store/records";
import type { StepImpl } from "./step";
import { viaRelay } from "./relay-step";

export { commandIdFor } from "./relay-step";

function portalParts(portal: string): { address: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(portal);
  if (!m) return { address: portal, port: 3260 };
  return { address: m[1]!, port: Number(m[2]) };
}

export async function sanBootBody(req: BootRequestRecord, node: NodeRecord, deps: Deps, evidence: BmcEvidence): Promise<CommandBody> {
  const t = req.target;
  if (!t) throw new SanbootError("INTERNAL", "configure_firmware ran without a Cinder target");
  if (t.driver_volume_type === "fibre_channel") {
    const wwns = req.multipath ? t.wwns : t.wwns.slice(0, 1);
    return {
      type: "configure_fc_boot",
      bmc: node.bmc,
      fc: {
        ...(node.fc_wwpn ? { wwpn: node.fc_wwpn } : {}),
        boot_mode: node.boot_mode,
        targets: wwns.slice(0, 8).map((w, i) => ({ wwpn: w, lun: String(t.lun), priority: i })),
      },
      evidence,
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
      bios_changes: node.bios_changes ?? "refuse",
    },
    evidence,
  };
}

/** What a UEFI device path for the SAN device names: the target IQNs, or the storage ports' WWPNs. */
function sanTargetsOf(req: BootRequestRecord): string[] {
  const t = req.target;
  if (!t) return [];
  return t.driver_volume_type === "fibre_channel" ? t.wwns : t.paths.map((p) => p.iqn);
}

export const configureFirmware: StepImpl = (deps, req, node) => viaRelay(deps, req, "configure_firmware", (evidence) => sanBootBody(req, node, deps, evidence));

export const powerOn: StepImpl = (deps, req, node) =>
  viaRelay(deps, req, "power_on", (evidence) => ({
    type: "power_on",
    bmc: node.bmc,
    boot_mode: node.boot_mode,
    boot_override: node.boot_override ?? "once",
    san_targets: sanTargetsOf(req),
    evidence,
  }));

export const awaitBoot: StepImpl = (deps, req, node) =>
  viaRelay(
    deps,
    req,
    "await_boot",
    (evidence) => ({ type: "await_power_on", bmc: node.bmc, evidence }),
    (result) => ({
      boot_confirmed: result.boot_confirmed === true,
      boot_evidence: typeof result.boot_evidence === "string" ? result.boot_evidence : null,
    }),
  );

export const clearFirmware: StepImpl = (deps, req, node) => viaRelay(deps, req, "clear_firmware", (evidence) => ({ type: "clear_san_boot", bmc: node.bmc, evidence }));
