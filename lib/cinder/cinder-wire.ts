/**
 * What both attach flows (attachments API, legacy actions) share: Cinder's bodies as we read
 * them, the connector as we send it, connection_info → the port's Connection (iSCSI or Fibre
 * Channel), and Cinder's refusals reworded in the port's terms. Pure.
 */
import { z } from "zod/mini";
import { SanbootError } from "../errors";
import type { AttachRequest, Connection, Connector, FcConnection, IscsiConnection, SanProtocol } from "./block-storage";
import { CinderHttpError, type CinderCall, type CinderReply } from "./cinder-transport";

/**
 * How a flow reaches Cinder: `once` for calls that must not repeat, `idempotent` retried; both
 * within the operation's budget. `recheckAfterMs`: how long to leave Cinder to finish a create of
 * unknown outcome before looking again (from how long its volume service takes now).
 */
export interface CinderCalls {
  once(call: CinderCall): Promise<CinderReply>;
  idempotent(call: CinderCall): Promise<CinderReply>;
  recheckAfterMs(): number;
}

export const MISSING_CONNECTOR_INFO = "Connector doesn't have required information";

// zod/mini rather than zod, as every schema a function loads: no function bundle then carries
// zod's classic API at all (issue 11, cold start)
export const wireVolume = z.looseObject({
  id: z.string(),
  status: z.string(),
  size: z.number(),
  bootable: z.union([z.string(), z.boolean()]),
  multiattach: z.optional(z.boolean()),
  volume_type: z.optional(z.nullable(z.string())),
  "os-vol-tenant-attr:tenant_id": z.optional(z.nullable(z.string())),
  /** "host@backend#pool"; admin-only, null until the scheduler placed the volume */
  "os-vol-host-attr:host": z.optional(z.nullable(z.string())),
  attachments: z.optional(z.array(z.looseObject({ server_id: z.optional(z.nullable(z.string())), attachment_id: z.optional(z.nullable(z.string())) }))),
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

/**
 * Cinder's backend cannot export to this connector: its driver's validate_connector names what
 * is missing ("initiator" on an iSCSI backend, "wwpns"/"wwnns" on a Fibre Channel one).
 */
export function wrongProtocol(err: unknown, req: AttachRequest): SanbootError | null {
  if (!(err instanceof CinderHttpError) || !err.cinderMessage.includes(MISSING_CONNECTOR_INFO)) return null;
  const missing = /required information: (\w+)/.exec(err.cinderMessage)?.[1] ?? "";
  const advice =
    missing === "initiator"
      ? "its backend serves iSCSI: ask for protocol iscsi (the node then needs an initiator), or use a volume of a type on a Fibre Channel backend"
      : missing === "wwpns" || missing === "wwnns"
        ? "its backend serves Fibre Channel: ask for protocol fibre_channel (the node's HBA WWPNs and WWNNs are read from its BMC), or use a volume of a type on an iSCSI backend"
        : "boot it over the protocol its backend serves, or use a volume on a backend for this node's protocol";
  return new SanbootError(
    "VOLUME_WRONG_PROTOCOL",
    `Cinder cannot export volume ${req.volumeId} to this node, which offers ${offered(req.connector)} (Cinder: "${err.cinderMessage}"): ${advice}.`,
    { cause: err },
  );
}

function offered(c: Connector): string {
  const iscsi = !!c.initiator;
  const fc = (c.wwpns?.length ?? 0) > 0;
  if (iscsi && fc) return "an iSCSI initiator and Fibre Channel WWPNs";
  if (fc) return "Fibre Channel WWPNs only";
  if (iscsi) return "an iSCSI initiator only";
  return "neither an iSCSI initiator nor Fibre Channel WWPNs";
}

/** The protocol an attach must end with: the request's, else what its connector can take. */
export function wantedProtocol(req: AttachRequest): SanProtocol | null {
  if (req.protocol) return req.protocol;
  const iscsi = !!req.connector.initiator;
  const fc = (req.connector.wwpns?.length ?? 0) > 0;
  if (iscsi && !fc) return "iscsi";
  if (fc && !iscsi) return "fibre_channel";
  return null;
}

const PROTOCOL_NAME: Record<SanProtocol, string> = { iscsi: "iSCSI", fibre_channel: "Fibre Channel" };

/**
 * connection_info, flat (the attachments API; legacy's `data` merged with its type) → the port's
 * Connection, checked against the protocol the request asked for. Throws VOLUME_WRONG_PROTOCOL
 * for any other type: the caller removes the export it got before passing the error on.
 */
export function connectionFrom(ci: Record<string, unknown>, req: AttachRequest): Connection {
  const type = ci["driver_volume_type"];
  const wanted = wantedProtocol(req);
  if (type !== "iscsi" && type !== "fibre_channel") {
    throw new SanbootError(
      "VOLUME_WRONG_PROTOCOL",
      `Cinder exports volume ${req.volumeId} over '${String(type)}', and sanboot boots from iSCSI and Fibre Channel exports only: retype the volume to a type on an iSCSI or Fibre Channel backend (openstack volume set --type <type> --retype-policy on-demand ${req.volumeId}).`,
    );
  }
  if (wanted !== null && type !== wanted) {
    throw new SanbootError(
      "VOLUME_WRONG_PROTOCOL",
      `Cinder exports volume ${req.volumeId} over ${PROTOCOL_NAME[type]}, not ${PROTOCOL_NAME[wanted]} as requested: ask for protocol ${type} (or auto), or retype the volume to a type on a ${PROTOCOL_NAME[wanted]} backend.`,
    );
  }
  return type === "iscsi" ? iscsiConnection(ci, req.volumeId) : fcConnection(ci, req.volumeId);
}

/** iSCSI connection_info → IscsiConnection (its type already checked). */
export function iscsiConnection(ci: Record<string, unknown>, volumeId: string): IscsiConnection {
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

/**
 * Fibre Channel connection_info → FcConnection. Drivers send `target_wwn` as one string (one
 * target port) or a list, in any case, some with colons: always a list of 16 lowercase hex
 * digits here, and so are the keys and values of `initiator_target_map`.
 */
export function fcConnection(ci: Record<string, unknown>, volumeId: string): FcConnection {
  const lacks = (what: string) => new SanbootError("CINDER_REJECTED", `Cinder's Fibre Channel connection info for volume ${volumeId} ${what}`);
  const raw = ci["target_wwn"];
  const list = typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw : [];
  const wwns = list.map(normaliseWwn);
  if (wwns.length === 0 || wwns.some((w) => w === null)) throw lacks(`has no usable target_wwn (${JSON.stringify(raw)})`);
  const lun = ci["target_lun"];
  if (typeof lun !== "number" || !Number.isInteger(lun) || lun < 0) throw lacks(`lacks target_lun`);
  const out: FcConnection = { driver_volume_type: "fibre_channel", target_wwn: wwns as string[], target_lun: lun };
  const map = ci["initiator_target_map"];
  if (map && typeof map === "object" && !Array.isArray(map)) {
    const normal: Record<string, string[]> = {};
    for (const [initiator, targets] of Object.entries(map as Record<string, unknown>)) {
      const i = normaliseWwn(initiator);
      const t = (Array.isArray(targets) ? targets : [targets]).map(normaliseWwn);
      if (i === null || t.some((x) => x === null)) throw lacks(`has an unreadable initiator_target_map entry for ${initiator}`);
      normal[i] = t as string[];
    }
    out.initiator_target_map = normal;
  }
  return out;
}

/** "50:0A:09:81:86:67:9C:7D" or "500a0981866 79c7d" → "500a098186679c7d"; null if not 16 hex digits. */
export function normaliseWwn(v: unknown): string | null {
  if (typeof v !== "string") return null;
  const hex = v.replace(/^0x/i, "").replace(/[:\-\s]/g, "").toLowerCase();
  return /^[0-9a-f]{16}$/.test(hex) ? hex : null;
}

/** A Cinder answer we cannot read: retryable, it is most likely a proxy's page, not Cinder's. */
export function parse<T>(schema: z.ZodMiniType<T>, value: unknown, what: string): T {
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
