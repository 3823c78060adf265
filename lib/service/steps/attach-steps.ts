/** Steps carried out by the attach function: the connector, the Cinder attachment and its removal. */
import type { Connector, IscsiConnection } from "../../cinder/block-storage";
import { assertBootableAvailable } from "../../cinder/volume-checks";
import type { SecretBox } from "../../crypto/secret-box";
import { SanbootError } from "../../errors";
import type { TargetRecord } from "../../store/records";
import { done, type StepImpl } from "./step";

export const prepareConnector: StepImpl = async (_deps, req, node) => {
  if (req.connector) return done("prepare_connector");
  const connector: Connector = {
    initiator: node.initiator_iqn,
    host: node.node_id,
    multipath: req.multipath,
    platform: "x86_64",
    os_type: "baremetal",
  };
  return done("prepare_connector", { connector });
};

export const attachVolume: StepImpl = async (deps, req) => {
  if (req.attachment_id && req.target) return done("attach_volume");
  if (!req.connector) throw new SanbootError("INTERNAL", "attach_volume ran without a connector");
  const volume = await deps.cinder.getVolume(req.volume_id);
  // A volume that is no longer `available` may be ours from a run whose answer was lost: the
  // client finds our attachment by the request id before it would create one.
  assertBootableAvailable(volume, req.project_id, { allowAttachedTo: req.request_id });
  const attachment = await deps.cinder.attach({ volumeId: req.volume_id, instanceUuid: req.request_id, connector: req.connector });
  return done("attach_volume", { attachment_id: attachment.attachment_id, target: await targetRecord(attachment.connection, req.multipath, deps.secrets) });
};

export const detachVolume: StepImpl = async (deps, req) => {
  try {
    await deps.cinder.detach(req.volume_id, req.request_id, req.connector ?? undefined);
  } catch (err) {
    if (!(err instanceof SanbootError && err.code === "VOLUME_NOT_FOUND")) throw err;
  }
  return done("detach_volume", { attachment_id: null });
};

export async function targetRecord(c: IscsiConnection, multipath: boolean, box: SecretBox): Promise<TargetRecord> {
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
