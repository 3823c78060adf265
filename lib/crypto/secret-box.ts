/**
 * Target secrets (CHAP passwords) at rest: AES-256-GCM with a random 96-bit IV per value.
 * Sealed form: "v1.<iv b64>.<tag b64>.<ciphertext b64>". The key comes from configuration
 * (locally) or a KMS data key (AWS); this module only sees 32 bytes.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { SanbootError } from "../errors";

export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

export function createSecretBox(keyBase64: string): SecretBox {
  const key = Buffer.from(keyBase64, "base64");
  if (key.length !== 32) throw new SanbootError("INTERNAL", "secret key must be 32 bytes");
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return ["v1", iv.toString("base64"), cipher.getAuthTag().toString("base64"), ct.toString("base64")].join(".");
    },
    open(sealed) {
      const [v, iv, tag, ct] = sealed.split(".");
      if (v !== "v1" || !iv || !tag || ct === undefined) throw new SanbootError("INTERNAL", "sealed secret is malformed");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
        decipher.setAuthTag(Buffer.from(tag, "base64"));
        return Buffer.concat([decipher.update(Buffer.from(ct, "base64")), decipher.final()]).toString("utf8");
      } catch (cause) {
        throw new SanbootError("INTERNAL", "sealed secret does not open with this key", { cause });
      }
    },
  };
}
