/**
 * Secrets inside relay commands (the CHAP secret). When the site has a public key configured the
 * secret is sealed to it as the command is created: the state table and the wire carry only what
 * that site's relay can open. Without one (a lab), it is sealed with the service's own key at rest
 * and opened when the site's relay leases the command.
 */
import type { KeyObject } from "node:crypto";
import type { SecretBox } from "../crypto/secret-box";
import type { CommandBody, SequenceStepBody } from "./protocol";
import { isSiteSealed, openAtSite, sealForSite } from "./site-seal";

type Body = CommandBody | SequenceStepBody;

function chapSecretOf(body: Body): string | null {
  return body.type === "configure_san_boot" && body.iscsi.auth.method === "CHAP" ? body.iscsi.auth.secret : null;
}

function withSecret<B extends Body>(body: B, secret: string): B {
  if (body.type !== "configure_san_boot" || body.iscsi.auth.method !== "CHAP") return body;
  return { ...body, iscsi: { ...body.iscsi, auth: { ...body.iscsi.auth, secret } } };
}

/** The body with its CHAP secret (a boot sequence's too) passed through `f`. */
async function mapSecretAsync(body: CommandBody, f: (s: string) => Promise<string>): Promise<CommandBody> {
  if (body.type === "boot_sequence") {
    const steps = await Promise.all(body.steps.map(async (s) => ({ ...s, body: await mapSecretAsync(s.body as CommandBody, f) as SequenceStepBody })));
    return { ...body, steps };
  }
  const secret = chapSecretOf(body);
  return secret === null ? body : withSecret(body, await f(secret));
}

function mapSecret(body: CommandBody, f: (s: string) => string): CommandBody {
  if (body.type === "boot_sequence") return { ...body, steps: body.steps.map((s) => ({ ...s, body: mapSecret(s.body as CommandBody, f) as SequenceStepBody })) };
  const secret = chapSecretOf(body);
  return secret === null ? body : withSecret(body, f(secret));
}

/** Service side, at enqueue. */
export function sealCommand(body: CommandBody, box: SecretBox, commandId: string, siteKey?: KeyObject): Promise<CommandBody> {
  return mapSecretAsync(body, async (s) => (siteKey ? sealForSite(s, siteKey, commandId) : box.seal(s)));
}

/** Service side, at lease: opens only what the service sealed; site-sealed secrets pass through. */
export const openCommand = (body: CommandBody, box: SecretBox): Promise<CommandBody> => mapSecretAsync(body, async (s) => (isSiteSealed(s) ? s : box.open(s)));

/** Relay side: opens secrets sealed to this site. */
export function openCommandAtSite(body: CommandBody, commandId: string, siteKey: KeyObject | undefined): CommandBody {
  return mapSecret(body, (s) => {
    if (!isSiteSealed(s)) return s;
    if (!siteKey) throw new Error("this command carries a secret sealed to the site, and the relay has no site key (--site-key-file)");
    return openAtSite(s, siteKey, commandId);
  });
}
