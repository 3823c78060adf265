/**
 * Target secrets sealed to a site, so that only that site's relay can read them: the service
 * holds each site's X25519 public key, the private half lives only at the site.
 *
 * Sealed form: "x25519v1.<ephemeral public key>.<iv>.<tag>.<ciphertext>" (base64url parts).
 * Key: HKDF-SHA256 over the X25519 shared secret, salted with both public keys; AES-256-GCM with
 * the command id as additional data, so a sealed secret cannot be replayed into another command.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { SanbootError } from "../errors";

const PREFIX = "x25519v1";
const INFO = Buffer.from("sanboot relay secret v1");

export const isSiteSealed = (s: string): boolean => s.startsWith(`${PREFIX}.`);

const rawPublic = (k: KeyObject): Buffer => k.export({ format: "der", type: "spki" }).subarray(-32);

function keyFor(shared: Buffer, ephemeralPub: Buffer, sitePub: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", shared, Buffer.concat([ephemeralPub, sitePub]), INFO, 32));
}

/** A site public key from its PEM (SPKI) form; throws a clear error otherwise. */
export function parseSitePublicKey(pem: string): KeyObject {
  try {
    const k = createPublicKey(pem);
    if (k.asymmetricKeyType !== "x25519") throw new Error(`is ${k.asymmetricKeyType}`);
    return k;
  } catch (cause) {
    throw new SanbootError("VALIDATION_FAILED", "a site key must be an X25519 public key in PEM form", { cause });
  }
}

export function parseSitePrivateKey(pem: string): KeyObject {
  try {
    const k = createPrivateKey(pem);
    if (k.asymmetricKeyType !== "x25519") throw new Error(`is ${k.asymmetricKeyType}`);
    return k;
  } catch (cause) {
    throw new SanbootError("VALIDATION_FAILED", "the site key file must hold an X25519 private key in PEM form", { cause });
  }
}

export function generateSiteKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  return {
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  };
}

export function sealForSite(plaintext: string, sitePublicKey: KeyObject, aad: string): string {
  const eph = generateKeyPairSync("x25519");
  const ephPub = rawPublic(eph.publicKey);
  const key = keyFor(diffieHellman({ privateKey: eph.privateKey, publicKey: sitePublicKey }), ephPub, rawPublic(sitePublicKey));
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [PREFIX, ephPub, iv, cipher.getAuthTag(), ct].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
}

export function openAtSite(sealed: string, sitePrivateKey: KeyObject, aad: string): string {
  const [prefix, ephB, ivB, tagB, ctB] = sealed.split(".");
  if (prefix !== PREFIX || !ephB || !ivB || !tagB || ctB === undefined) throw new SanbootError("VALIDATION_FAILED", "sealed secret is malformed");
  try {
    const ephPub = Buffer.from(ephB, "base64url");
    const ephKey = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), ephPub]), format: "der", type: "spki" });
    const sitePub = rawPublic(createPublicKey(sitePrivateKey));
    const key = keyFor(diffieHellman({ privateKey: sitePrivateKey, publicKey: ephKey }), ephPub, sitePub);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(ivB, "base64url"));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(Buffer.from(tagB, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ctB, "base64url")), decipher.final()]).toString("utf8");
  } catch (cause) {
    throw new SanbootError("VALIDATION_FAILED", "this site's key cannot open the secret (sealed for another site or command)", { cause });
  }
}
