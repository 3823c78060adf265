/**
 * Steps carried out by the attach function: the connector (iSCSI: the node's initiator name;
 * Fibre Channel: its HBA ports, read through the relay when not cached), the Cinder attachment,
 * and its removal.
 */
import { AttachInProgress, type Connection, type Connector, type VolumeInfo } from "../../cinder/block-storage";
import { assertBootableAvailable, assertProtocol, protocolFor } from "../../cinder/volume-checks";
import type { SecretBox } from "../../crypto/secret-box";
import { SanbootError, toErrorRecord } from "../../errors";
import { stepDeadline } from "../../workflow";
import type { BootRequestRecord, NodeRecord, TargetRecord } from "../../store/records";
import { storeInventory } from "../nodes";
import { fcPortsOf } from "../relay-queue";
import { viaRelay } from "./relay-step";
import { done, type StepImpl, type StepOutcome } from "./step";

/** `auto` follows the volume's backend; an explicit protocol must match it when Cinder says. */
function resolveProtocol(volume: VolumeInfo, requested: BootRequestRecord["requested_protocol"]): "iscsi" | "fibre_channel" {
  const protocol = protocolFor(volume, requested);
  assertProtocol(volume, protocol);
  return protocol;
}

function baseConnector(node: NodeRecord, req: BootRequestRecord): Pick<Connector, "host" | "multipath" | "platform" | "os_type"> {
  return { host: node.node_id, multipath: req.multipath, platform: "x86_64", os_type: "baremetal" };
}

function fcConnector(node: NodeRecord, req: BootRequestRecord, ports: Array<{ wwpn: string; wwnn: string | null }>): Connector {
  const chosen = node.fc_wwpn ? ports.filter((p) => p.wwpn === node.fc_wwpn) : ports;
  if (chosen.length === 0) {
    throw new SanbootError(
      "BMC_CAPABILITY_MISSING",
      node.fc_wwpn ? `node ${node.node_id} has no FC port with WWPN ${node.fc_wwpn}` : `node ${node.node_id} reports no Fibre Channel HBA port; use protocol iscsi`,
    );
  }
  return { ...baseConnector(node, req), wwpns: chosen.map((p) => p.wwpn), wwnns: chosen.map((p) => p.wwnn).filter((w): w is string => !!w) };
}

export const prepareConnector: StepImpl = async (deps, req, node, ctx): Promise<StepOutcome> => {
  if (req.connector) return done("prepare_connector");
  const volume = await deps.cinder.getVolume(req.volume_id);
  const protocol = resolveProtocol(volume, req.requested_protocol ?? req.protocol);
  const seen = { volume_seen: { ...volume, seen_at: deps.clock.now().toISOString() } };
  if (protocol === "iscsi") {
    return done("prepare_connector", { protocol, connector: { ...baseConnector(node, req), initiator: node.initiator_iqn }, ...seen });
  }
  // the node as the request found it may predate the inventory read of its enrollment
  const known = node.fc_ports?.length ? node.fc_ports : (await deps.store.getNode(node.node_id))?.fc_ports;
  if (known && known.length > 0) return done("prepare_connector", { protocol, connector: fcConnector(node, req, known), ...seen });
  // Not read yet (or read before an HBA was there): ask the relay, cache it on the node.
  return viaRelay(
    deps,
    { ...req, protocol },
    "prepare_connector",
    {
      body: () => ({ type: "read_fc_inventory", bmc: node.bmc }),
      onSuccess: async (result) => {
        const ports = fcPortsOf(result);
        await storeInventory(deps, node.node_id, { ports });
        return { protocol, connector: fcConnector(node, req, ports) };
      },
    },
    ctx,
  );
};

/** How long the volume as prepare_connector read it stands in for a read of attach_volume's own. */
const VOLUME_SEEN_MS = 30_000;

/**
 * The volume as prepare_connector left it, on attach_volume's first run only and while fresh:
 * then nothing of ours can be on the volume yet, and if someone else took it meanwhile Cinder
 * refuses the create. Any later run (a retry, a wait for Cinder, a run after a crash: the claim
 * spent the hint in the table) reads the volume, so a create of ours whose answer was lost is found.
 */
function freshVolumeSeen(req: BootRequestRecord, now: Date): VolumeInfo | null {
  const seen = req.volume_seen;
  if (!seen || req.attempts !== 0 || req.attachment_id) return null;
  const age = now.getTime() - Date.parse(seen.seen_at);
  if (!(age >= 0 && age <= VOLUME_SEEN_MS)) return null;
  const { seen_at: _at, ...volume } = seen;
  return volume;
}

export const attachVolume: StepImpl = async (deps, req) => {
  if (req.attachment_id && req.target) return done("attach_volume");
  if (!req.connector) throw new SanbootError("INTERNAL", "attach_volume ran without a connector");
  // the step's one time budget (lib/workflow/policy.ts): every Cinder call of this run ends by then
  const now = deps.clock.now();
  const deadline = new Date(stepDeadline("attach_volume", now));
  const volume = freshVolumeSeen(req, now) ?? (await deps.cinder.getVolume(req.volume_id, { deadline }));
  // A volume that is no longer `available` may be ours from a run whose answer was lost: the
  // client finds our attachment by the request id before it would create one.
  assertBootableAvailable(volume, req.project_id, { allowAttachedTo: req.request_id });
  let attachment;
  try {
    attachment = await deps.cinder.attach({ volumeId: req.volume_id, instanceUuid: req.request_id, connector: req.connector, protocol: req.protocol, volume, deadline });
  } catch (err) {
    // Cinder may still be making it: look again later, never create again sooner
    if (!(err instanceof AttachInProgress)) throw err;
    const recheckAt = new Date(deps.clock.now().getTime() + err.recheckAfterMs).toISOString();
    return { event: { type: "step_waiting", step: "attach_volume", recheck_at: recheckAt, poll: true }, patch: { error: toErrorRecord(err) } };
  }
  const target = await targetRecord(attachment.connection, req.multipath, deps.secrets);
  const outcome = done("attach_volume", { attachment_id: attachment.attachment_id, target });
  // the CHAP secret Cinder just gave, for configure_firmware's command should it run here next
  const c = attachment.connection;
  const sealed = target.driver_volume_type === "iscsi" ? target.auth_password_sealed : null;
  return sealed && c.driver_volume_type === "iscsi" && c.auth_password ? { ...outcome, inHand: new Map([[sealed, c.auth_password]]) } : outcome;
};

export const detachVolume: StepImpl = async (deps, req) => {
  try {
    await deps.cinder.detach(req.volume_id, req.request_id, req.connector ?? undefined);
  } catch (err) {
    if (!(err instanceof SanbootError && err.code === "VOLUME_NOT_FOUND")) throw err;
  }
  return done("detach_volume", { attachment_id: null });
};

export async function targetRecord(c: Connection, multipath: boolean, box: SecretBox): Promise<TargetRecord> {
  if (c.driver_volume_type === "fibre_channel") return { driver_volume_type: "fibre_channel", wwns: c.target_wwn, lun: c.target_lun };
  const primary = { iqn: c.target_iqn, portal: c.target_portal, lun: c.target_lun };
  const paths = [primary];
  if (multipath && c.target_portals && c.target_iqns && c.target_luns) {
    for (let i = 0; i < c.target_portals.length; i++) {
      const p = { iqn: c.target_iqns[i] ?? c.target_iqn, portal: c.target_portals[i]!, lun: c.target_luns[i] ?? c.target_lun };
      if (!paths.some((q) => q.portal === p.portal && q.iqn === p.iqn)) paths.push(p);
    }
  }
  const chap = (c.auth_method ?? "").toUpperCase() === "CHAP" && c.auth_password;
  return {
    driver_volume_type: "iscsi",
    paths,
    auth_method: chap ? "CHAP" : "None",
    auth_username: chap ? (c.auth_username ?? null) : null,
    auth_password_sealed: chap ? await box.seal(c.auth_password!) : null,
  };
}
