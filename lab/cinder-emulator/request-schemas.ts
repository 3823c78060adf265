/**
 * Request validation with Cinder's JSON-schema messages ("Invalid input for field/attribute X.
 * Value: <python repr>. <jsonschema message>"), for the bodies the emulator accepts.
 */
import { CinderFault } from "./cinder-fault";
import { atLeast, FEATURE, type Version } from "./microversion";
import { pyRepr, pyStr } from "./py-repr";
import { isObject, type Json } from "./store";

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function invalid(field: string, value: unknown, message: string): CinderFault {
  return new CinderFault(400, `Invalid input for field/attribute ${field}. Value: ${pyStr(value)}. ${message}`);
}

/** The object under `key` in a body like {"attachment": {...}}. */
function envelope(body: unknown, key: string): Json {
  if (!isObject(body)) throw invalid(key, body, `${pyRepr(body)} is not of type 'object'`);
  if (!(key in body)) throw invalid(key, body, `'${key}' is a required property`);
  const extra = Object.keys(body).find((k) => k !== key);
  if (extra) throw invalid(key, body, `Additional properties are not allowed ('${extra}' was unexpected)`);
  const inner = body[key];
  if (!isObject(inner)) throw invalid(key, inner, `${pyRepr(inner)} is not of type 'object'`);
  return inner;
}

function checkConnector(value: unknown): Json | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw invalid("connector", value, `${pyRepr(value)} is not of type 'object', 'null'`);
  return value;
}

function checkUuid(field: string, value: unknown): void {
  if (typeof value !== "string") throw invalid(field, value, `${pyRepr(value)} is not of type 'string'`);
  if (!UUID.test(value)) throw invalid(field, value, `${pyRepr(value)} is not a 'uuid'`);
}

export interface AttachmentCreate {
  volume_uuid: string;
  instance_uuid: string | null;
  connector: Json | null;
  mode: string | null;
}

export function parseAttachmentCreate(body: unknown, version: Version): AttachmentCreate {
  const att = envelope(body, "attachment");
  const allowed = ["volume_uuid", "instance_uuid", "connector", ...(atLeast(version, FEATURE.attachMode) ? ["mode"] : [])];
  const extra = Object.keys(att).find((k) => !allowed.includes(k));
  if (extra) throw invalid("attachment", att, `Additional properties are not allowed ('${extra}' was unexpected)`);
  if (!("volume_uuid" in att)) throw invalid("attachment", att, "'volume_uuid' is a required property");
  checkUuid("volume_uuid", att["volume_uuid"]);
  const instance = att["instance_uuid"];
  if (instance !== undefined && instance !== null) checkUuid("instance_uuid", instance);
  const mode = att["mode"];
  if (mode !== undefined && mode !== "rw" && mode !== "ro") throw invalid("mode", mode, `${pyRepr(mode)} is not one of ['rw', 'ro']`);
  return {
    volume_uuid: att["volume_uuid"] as string,
    instance_uuid: (instance as string | undefined) ?? null,
    connector: checkConnector(att["connector"]),
    mode: (mode as string | undefined) ?? null,
  };
}

export function parseAttachmentUpdate(body: unknown): Json {
  const att = envelope(body, "attachment");
  const extra = Object.keys(att).find((k) => k !== "connector");
  if (extra) throw invalid("attachment", att, `Additional properties are not allowed ('${extra}' was unexpected)`);
  if (!("connector" in att)) throw invalid("attachment", att, "'connector' is a required property");
  const connector = att["connector"];
  if (!isObject(connector)) throw invalid("connector", connector, `${pyRepr(connector)} is not of type 'object'`);
  return connector;
}

export interface VolumeCreate {
  size: number;
  name: string | null;
  description: string | null;
  volume_type: string | null;
  multiattach: boolean;
  metadata: Record<string, string>;
}

export function parseVolumeCreate(body: unknown): VolumeCreate {
  const vol = envelope(body, "volume");
  const size = vol["size"];
  if (!(Number.isInteger(size) && (size as number) >= 1)) {
    throw invalid("size", size, `${pyRepr(size ?? null)} is not of type 'integer', 'string' or is less than the minimum of 1`);
  }
  const str = (k: string): string | null => {
    const v = vol[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== "string") throw invalid(k, v, `${pyRepr(v)} is not of type 'string', 'null'`);
    return v;
  };
  const metadata = vol["metadata"] ?? {};
  if (!isObject(metadata) || Object.values(metadata).some((v) => typeof v !== "string")) {
    throw invalid("metadata", metadata, `${pyRepr(metadata)} is not of type 'object'`);
  }
  return {
    size: size as number,
    name: str("name"),
    description: str("description"),
    volume_type: str("volume_type"),
    multiattach: vol["multiattach"] === true,
    metadata: metadata as Record<string, string>,
  };
}

/** The `connector` of a legacy os-initialize_connection / os-terminate_connection body. */
export function legacyConnector(action: string, args: unknown): unknown {
  if (!isObject(args)) throw invalid(action, args, `${pyRepr(args)} is not of type 'object'`);
  if (!("connector" in args)) throw invalid(action, args, "'connector' is a required property");
  return args["connector"];
}

const TRUE_WORDS = ["true", "1", "on", "yes", "y", "t"];
const FALSE_WORDS = ["false", "0", "off", "no", "n", "f"];

export function parseBootable(args: unknown): boolean {
  const value = isObject(args) ? args["bootable"] : undefined;
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && TRUE_WORDS.includes(value.toLowerCase())) return true;
  if (typeof value === "string" && FALSE_WORDS.includes(value.toLowerCase())) return false;
  throw invalid("bootable", value ?? null, `${pyRepr(value ?? null)} is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f']`);
}
