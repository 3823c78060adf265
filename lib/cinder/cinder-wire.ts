/**
 * What both attach flows (attachments API, legacy actions) share: Cinder's bodies as we read
 * them, the connector as we send it, connection_info → the port's IscsiConnection, and Cinder's
 * refusals reworded in the port's terms. Pure.
 */
import { z } from "zod";
import { SanbootError } from "../errors";
import type { AttachRequest, Connector, IscsiConnection } from "./block-storage";
import { CinderHttpError, type CinderCall, type CinderReply } from "./cinder-transport";

/** How a flow reaches Cinder: `once` for calls that must not repeat, `idempotent` retried. */
export interface CinderCalls {
  once(call: CinderCall): Promise<CinderReply>;
  idempotent(call: CinderCall): Promise<CinderReply>;
}

export const MISSING_CONNECTOR_INFO = "Connector doesn't have required information";

export const wireVolume = z.looseObject({
  id: z.string(),
  status: z.string(),
  size: z.number(),
  bootable: z.union([z.string(), z.boolean()]),
  multiattach: z.boolean().optional(),
  volume_type: z.string().nullable().optional(),
  "os-vol-tenant-attr:tenant_id": z.string().nullable().optional(),
  attachments: z
    .array(z.looseObject({ server_id: z.string().nullable().optional(), attachment_id: z.string().nullable().optional() }))
    .optional(),
});
export type WireVolume = z.infer<typeof wireVolume>;

export async function readVolume(calls: CinderCalls, volumeId: string): Promise<WireVolume> {
  const reply = await calls.idempotent({ method: "GET", path: `/volumes/${encodeURIComponent(volumeId)}` });
  return parse(wireVolume, (reply.body as { volume?: unknown } | null)?.volume, "volume");
}

export function wireConnector(c: Connector): Record<string, unknown> {
  const out: Record<string, unknown> = { host: c.host, multipath: c.multipath, platform: c.platform, os_type: c.os_type };
  if (c.initiator !== undefined) out["initiator"] = c.initiator;
  if (c.wwpns !== undefined) out["wwpns"] = c.wwpns;
  if (c.wwnns !== undefined) out["wwnns"] = c.wwnns;
  return out;
}

export function isUnavailable(err: unknown): boolean {
  return err instanceof SanbootError && err.code === "CINDER_UNAVAILABLE";
}

/** A 4xx to a reserve: says why in the port's terms. */
export function attachRefused(err: unknown, req: AttachRequest): unknown {
  if (err instanceof CinderHttpError && err.httpStatus === 400 && /^Invalid volume: .*status must be/.test(err.cinderMessage)) {
    return new SanbootError(
      "VOLUME_NOT_AVAILABLE",
      `Volume ${req.volumeId} cannot be attached now (Cinder: "${err.cinderMessage}"): detach it from where it is in use, or boot from another volume.`,
      { cause: err },
    );
  }
  return err;
}

/** Cinder's backend cannot export to this connector (the LVM/iSCSI backend and an FC-only node). */
export function wrongProtocol(err: unknown, req: AttachRequest): SanbootError | null {
  if (!(err instanceof CinderHttpError) || !err.cinderMessage.includes(MISSING_CONNECTOR_INFO)) return null;
  const has = req.connector.initiator ? "an iSCSI initiator" : "Fibre Channel WWPNs only";
  return new SanbootError(
    "VOLUME_WRONG_PROTOCOL",
    `Cinder cannot export volume ${req.volumeId} to this node, which offers ${has} (Cinder: "${err.cinderMessage}"): boot it over the protocol the volume's backend serves, or use a volume on a backend for this node's protocol.`,
    { cause: err },
  );
}

/** connection_info, flat (the attachments API; legacy's `data` merged with its type) → IscsiConnection. */
export function iscsiConnection(ci: Record<string, unknown>, volumeId: string): IscsiConnection {
  const type = ci["driver_volume_type"];
  if (type !== "iscsi") {
    throw new SanbootError(
      "VOLUME_WRONG_PROTOCOL",
      `Cinder exports volume ${volumeId} over '${String(type)}', and sanboot boots from iSCSI exports only: use a volume on an iSCSI backend.`,
    );
  }
  const iqn = ci["target_iqn"];
  const portal = ci["target_portal"];
  const lun = ci["target_lun"];
  if (typeof iqn !== "string" || typeof portal !== "string" || typeof lun !== "number") {
    throw new SanbootError("CINDER_REJECTED", `Cinder's connection info for volume ${volumeId} lacks target_iqn, target_portal or target_lun`);
  }
  const out: IscsiConnection = { driver_volume_type: "iscsi", target_iqn: iqn, target_portal: portal, target_lun: lun };
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined);
  const numbers = (v: unknown): number[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === "number") ? v : undefined);
  const portals = strings(ci["target_portals"]);
  const iqns = strings(ci["target_iqns"]);
  const luns = numbers(ci["target_luns"]);
  if (portals) out.target_portals = portals;
  if (iqns) out.target_iqns = iqns;
  if (luns) out.target_luns = luns;
  for (const key of ["auth_method", "auth_username", "auth_password"] as const) {
    const v = ci[key];
    if (typeof v === "string") out[key] = v;
  }
  return out;
}

/** A Cinder answer we cannot read: retryable, it is most likely a proxy's page, not Cinder's. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new SanbootError("CINDER_UNAVAILABLE", `Cinder answered an unreadable ${what}: ${result.error.issues[0]?.message ?? "bad shape"}`, {
    retryable: true,
  });
}

/** Cinder refused a call that needs the service role: say so, whatever code it chose (500, 409). */
export function explainServiceRefusal(err: unknown): unknown {
  if (err instanceof CinderHttpError && (err.httpStatus === 500 || err.httpStatus === 409)) {
    return new CinderHttpError(
      err.code,
      `${err.message} (Cinder refuses to detach an instance's volume without a service role: check that sanboot sends a service token, or X-Service-Roles: service with noauth)`,
      err.httpStatus,
      err.cinderMessage,
      { retryable: err.retryable, cause: err },
    );
  }
  return err;
}

/** Best-effort cleanup on the way out of a failure: the error that brought us here is the one to report. */
export async function quietly(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch {
    // reported through the original error; rollback's detach tries again
  }
}
