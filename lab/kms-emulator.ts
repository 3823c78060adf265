/**
 * A KMS emulator for local runs and tests: the AWS JSON 1.1 protocol for Encrypt and Decrypt
 * (TrentService), as the AWS SDK sends it. Each key id gets its own random AES-256-GCM key; the
 * encryption context is bound as additional data, so a blob opens only with the same context,
 * as with real KMS. Lab code: reached only over HTTP.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface KmsEmulator {
  url: string;
  keyArn: string;
  requests(): number;
  close(): Promise<void>;
}

const canonical = (ctx: Record<string, string> | undefined) =>
  JSON.stringify(Object.entries(ctx ?? {}).sort(([a], [b]) => a.localeCompare(b)));

export async function startKmsEmulator(opts: { port?: number; region?: string } = {}): Promise<KmsEmulator> {
  const region = opts.region ?? "us-east-1";
  const keyArn = `arn:aws:kms:${region}:000000000000:key/${crypto.randomUUID()}`;
  const keys = new Map<string, Buffer>([[keyArn, randomBytes(32)]]);
  let count = 0;
  const fail = (res: import("node:http").ServerResponse, type: string, message: string, status = 400) => {
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": type });
    res.end(JSON.stringify({ __type: type, message }));
  };
  const server = createServer(async (req, res) => {
    count++;
    let text = "";
    for await (const c of req) text += c;
    const target = String(req.headers["x-amz-target"] ?? "");
    let body: any;
    try {
      body = JSON.parse(text || "{}");
    } catch {
      return fail(res, "SerializationException", "body is not JSON");
    }
    const ok = (o: unknown) => {
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify(o));
    };
    if (target === "TrentService.Encrypt") {
      const key = keys.get(body.KeyId);
      if (!key) return fail(res, "NotFoundException", `Key '${body.KeyId}' does not exist`);
      const iv = randomBytes(12);
      const c = createCipheriv("aes-256-gcm", key, iv);
      c.setAAD(Buffer.from(canonical(body.EncryptionContext)));
      const ct = Buffer.concat([c.update(Buffer.from(body.Plaintext, "base64")), c.final()]);
      const id = Buffer.from(body.KeyId);
      const blob = Buffer.concat([Buffer.from([id.length >> 8, id.length & 0xff]), id, iv, c.getAuthTag(), ct]);
      return ok({ CiphertextBlob: blob.toString("base64"), KeyId: body.KeyId, EncryptionAlgorithm: "SYMMETRIC_DEFAULT" });
    }
    if (target === "TrentService.Decrypt") {
      try {
        const blob = Buffer.from(body.CiphertextBlob, "base64");
        const n = (blob[0]! << 8) | blob[1]!;
        const keyId = blob.subarray(2, 2 + n).toString();
        const key = keys.get(keyId);
        if (!key || (body.KeyId && body.KeyId !== keyId)) return fail(res, "IncorrectKeyException", "The key ID in the request does not identify the key that encrypted the ciphertext");
        const iv = blob.subarray(2 + n, 14 + n);
        const tag = blob.subarray(14 + n, 30 + n);
        const d = createDecipheriv("aes-256-gcm", key, iv);
        d.setAAD(Buffer.from(canonical(body.EncryptionContext)));
        d.setAuthTag(tag);
        const pt = Buffer.concat([d.update(blob.subarray(30 + n)), d.final()]);
        return ok({ Plaintext: pt.toString("base64"), KeyId: keyId, EncryptionAlgorithm: "SYMMETRIC_DEFAULT" });
      } catch {
        return fail(res, "InvalidCiphertextException", "");
      }
    }
    fail(res, "UnknownOperationException", `${target} is not emulated`);
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    keyArn,
    requests: () => count,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
