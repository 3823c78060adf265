/**
 * Steps carried out by the firmware function, each through one relay command: program the SAN
 * boot target (iSCSI on the NIC function, or Fibre Channel boot targets on the HBA), boot, watch
 * it come up, and undo (by the evidence of what those commands wrote: power off what sanboot
 * powered on, put back what it changed, the override as power_on found it).
 */
import type { Deps } from "../../deps";
import { SanbootError } from "../../errors";
import { SEQUENCE_STEPS, type SequenceStep } from "../../relay/common";
import type { CommandBody, SequenceStepBody } from "../../relay/protocol";
import type { BmcEvidence } from "../../bmc/claims";
import type { BootRequestRecord, NodeRecord } from "../../store/records";
import type { StepName } from "../../workflow";
import type { StepImpl } from "./step";
import { viaRelay, type StepContext } from "./relay-step";

export { commandIdFor } from "./relay-step";

function portalParts(portal: string): { address: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(portal);
  if (!m) return { address: portal, port: 3260 };
  return { address: m[1]!, port: Number(m[2]) };
}

/** The configure body: the NIC function's iSCSI boot settings, or the HBA's FC boot targets. */
async function configureBody(req: BootRequestRecord, node: NodeRecord, deps: Deps, ctx?: StepContext): Promise<SequenceStepBody> {
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
    };
  }
  const sealed = t.auth_password_sealed;
  const secret = sealed ? (ctx?.inHand?.get(sealed) ?? (await deps.secrets.open(sealed))) : null;
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
  };
}

/** What a UEFI device path for the SAN device names: the target IQNs, or the storage ports' WWPNs. */
function sanTargetsOf(req: BootRequestRecord): string[] {
  const t = req.target;
  if (!t) return [];
  return t.driver_volume_type === "fibre_channel" ? t.wwns : t.paths.map((p) => p.iqn);
}

/** Each forward step's body at the relay, as a command of its own or as a step of a boot sequence. */
const BODIES: Record<SequenceStep, (req: BootRequestRecord, node: NodeRecord, deps: Deps, ctx?: StepContext) => SequenceStepBody | Promise<SequenceStepBody>> = {
  configure_firmware: configureBody,
  power_on: (req, node) => ({
    type: "power_on",
    bmc: node.bmc,
    boot_mode: node.boot_mode,
    boot_override: node.boot_override ?? "once",
    san_targets: sanTargetsOf(req),
  }),
  await_boot: (_req, node) => ({ type: "await_power_on", bmc: node.bmc }),
};

/** What a forward step's result adds to the request: await_boot's, what the BMC showed of the boot. */
function keptOf(result: Record<string, unknown>, step: StepName): Partial<BootRequestRecord> {
  if (step !== "await_boot") return {};
  return {
    boot_confirmed: result.boot_confirmed === true,
    boot_evidence: typeof result.boot_evidence === "string" ? result.boot_evidence : null,
  };
}

/**
 * The body of `step`: with relays that run boot sequences, the rest of the boot from `step`
 * through await_boot in one command (one lease, one result, the evidence shared); else the
 * step's own command.
 */
export async function forwardBody(step: SequenceStep, req: BootRequestRecord, node: NodeRecord, deps: Deps, evidence: BmcEvidence, ctx?: StepContext): Promise<CommandBody> {
  if (!req.boot_sequence) return { ...(await BODIES[step](req, node, deps, ctx)), evidence } as CommandBody;
  const steps = SEQUENCE_STEPS.slice(SEQUENCE_STEPS.indexOf(step));
  return { type: "boot_sequence", bmc: node.bmc, steps: await Promise.all(steps.map(async (s) => ({ step: s, body: await BODIES[s](req, node, deps, ctx) }))), evidence };
}

const forward =
  (step: SequenceStep): StepImpl =>
  (deps, req, node, ctx) =>
    viaRelay(
      deps,
      req,
      step,
      {
        body: (evidence) => forwardBody(step, req, node, deps, evidence, ctx),
        ...(req.boot_sequence ? { steps: SEQUENCE_STEPS.slice(SEQUENCE_STEPS.indexOf(step)) } : {}),
        onSuccess: keptOf,
      },
      ctx,
    );

export const configureFirmware: StepImpl = forward("configure_firmware");
export const powerOn: StepImpl = forward("power_on");
export const awaitBoot: StepImpl = forward("await_boot");

export const clearFirmware: StepImpl = (deps, req, node, ctx) => viaRelay(deps, req, "clear_firmware", { body: (evidence) => ({ type: "clear_san_boot", bmc: node.bmc, evidence }) }, ctx);
