/**
 * Target secrets (CHAP passwords) at rest. Two adapters behind one port:
 * - local: AES-256-GCM with a key from configuration, a random 96-bit IV per value;
 *   sealed form "v1.<iv>.<tag>.<ciphertext>" (base64).
 * - AWS: KMS Encrypt / Decrypt under the stack's key, with an encryption context that names the
 *   purpose; sealed form "kms1.<ciphertext blob>". The key never leaves KMS.
 * A box opens only what it sealed: a value of the other form is an error, not a guess.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { DecryptCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { DependencyError, SanbootError } from "../errors";

export interface SecretBox {
  /** Throws DependencyError (retryable) when KMS cannot be reached. */
  seal(plaintext: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

export function createSecretBox(keyBase64: string): SecretBox {
  const key = Buffer.from(keyBase64, "base64");
  if (key.length !== 32) throw new SanbootError("INTERNAL", "secret key must be 32 bytes");
  return {
    async seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return ["v1", iv.toString("base64"), cipher.getAuthTag().toString("base64"), ct.toString("base64")].join(".");
    },
    async open(sealed) {
      const [v, iv, tag, ct] = sealed.split(".");
      if (v !== "v1" || !iv || !tag || ct === undefined) throw new SanbootError("INTERNAL", "sealed secret is not one this key sealed");
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

const CONTEXT = { purpose: "sanboot-target-secret" };

export function createKmsSecretBox(opts: { keyId: string; region: string; endpoint?: string }): SecretBox {
  const client = new KMSClient({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  });
  const unavailable = (cause: unknown, what: string) => {
    const name = (cause as { name?: string })?.name ?? "Error";
    const retryable = !["AccessDeniedException", "InvalidCiphertextException", "NotFoundException", "DisabledException", "IncorrectKeyException"].includes(name);
    return new DependencyError("INTERNAL", `KMS ${what} failed (${name})`, { retryable, cause });
  };
  return {
    async seal(plaintext) {
      try {
        const res = await client.send(new EncryptCommand({ KeyId: opts.keyId, Plaintext: Buffer.from(plaintext, "utf8"), EncryptionContext: CONTEXT }));
        return `kms1.${Buffer.from(res.CiphertextBlob!).toString("base64")}`;
      } catch (cause) {
        throw unavailable(cause, "encrypt");
      }
    },
    async open(sealed) {
      if (!sealed.startsWith("kms1.")) throw new SanbootError("INTERNAL", "sealed secret is not one KMS sealed");
      try {
        const res = await client.send(new DecryptCommand({ CiphertextBlob: Buffer.from(sealed.slice(5), "base64"), EncryptionContext: CONTEXT, KeyId: opts.keyId }));
        return Buffer.from(res.Plaintext!).toString("utf8");
      } catch (cause) {
        throw unavailable(cause, "decrypt");
      }
    },
  };
}
