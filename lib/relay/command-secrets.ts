/**
 * Secrets inside relay commands are sealed at rest in the state table and opened only when a
 * relay of the command's site leases it.
 */
import type { SecretBox } from "../crypto/secret-box";
import type { CommandBody } from "./protocol";

function mapSecret(body: CommandBody, f: (s: string) => string): CommandBody {
  if (body.type !== "configure_san_boot" || body.iscsi.auth.method !== "CHAP") return body;
  return { ...body, iscsi: { ...body.iscsi, auth: { ...body.iscsi.auth, secret: f(body.iscsi.auth.secret) } } };
}

export const sealCommand = (body: CommandBody, box: SecretBox): CommandBody => mapSecret(body, (s) => box.seal(s));
export const openCommand = (body: CommandBody, box: SecretBox): CommandBody => mapSecret(body, (s) => box.open(s));
