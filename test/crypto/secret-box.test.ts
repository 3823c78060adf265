import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKmsEmulator, type KmsEmulator } from "../../lab/kms-emulator";
import { createKmsSecretBox, createSecretBox } from "../../lib/crypto/secret-box";

let kms: KmsEmulator;
beforeAll(async () => {
  kms = await startKmsEmulator();
});
afterAll(async () => kms?.close());

describe("local secret box (AES-256-GCM)", () => {
  const box = createSecretBox(randomBytes(32).toString("base64"));
  it("opens what it sealed, and the sealed form does not contain the secret", async () => {
    const sealed = await box.seal("chap-password-1");
    expect(sealed).not.toContain("chap-password-1");
    expect(await box.open(sealed)).toBe("chap-password-1");
  });
  it("refuses a value sealed with another key", async () => {
    const other = createSecretBox(randomBytes(32).toString("base64"));
    await expect(box.open(await other.seal("x"))).rejects.toThrow(/does not open/);
  });
});

describe("KMS secret box, against the KMS emulator over HTTP", () => {
  it("seals through KMS Encrypt and opens through Decrypt", async () => {
    const box = createKmsSecretBox({ keyId: kms.keyArn, region: "us-east-1", endpoint: kms.url });
    const before = kms.requests();
    const sealed = await box.seal("chap-password-2");
    expect(sealed).toMatch(/^kms1\./);
    expect(Buffer.from(sealed.slice(5), "base64").toString("latin1")).not.toContain("chap-password-2");
    expect(await box.open(sealed)).toBe("chap-password-2");
    expect(kms.requests() - before).toBe(2);
  });
  it("refuses a value sealed by the local box", async () => {
    const box = createKmsSecretBox({ keyId: kms.keyArn, region: "us-east-1", endpoint: kms.url });
    const local = createSecretBox(randomBytes(32).toString("base64"));
    await expect(box.open(await local.seal("x"))).rejects.toThrow(/not one KMS sealed/);
  });
  it("an unknown key is a permanent error; an unreachable KMS a retryable one", async () => {
    const wrong = createKmsSecretBox({ keyId: "arn:aws:kms:us-east-1:000000000000:key/nope", region: "us-east-1", endpoint: kms.url });
    await expect(wrong.seal("x")).rejects.toMatchObject({ retryable: false });
    const down = createKmsSecretBox({ keyId: kms.keyArn, region: "us-east-1", endpoint: "http://127.0.0.1:9" });
    await expect(down.seal("x")).rejects.toMatchObject({ retryable: true });
  });
});
