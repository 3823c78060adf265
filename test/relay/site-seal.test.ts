import { describe, expect, it } from "vitest";
import { generateSiteKeyPair, openAtSite, parseSitePrivateKey, parseSitePublicKey, sealForSite } from "../../lib/relay/site-seal";

const siteA = generateSiteKeyPair();
const siteB = generateSiteKeyPair();
const pubA = parseSitePublicKey(siteA.publicKeyPem);
const privA = parseSitePrivateKey(siteA.privateKeyPem);
const privB = parseSitePrivateKey(siteB.privateKeyPem);

describe("secrets sealed to a site", () => {
  it("open with the site's private key and the same command id", () => {
    const sealed = sealForSite("chap-secret-123", pubA, "cmd-1");
    expect(sealed).toMatch(/^x25519v1\./);
    expect(sealed).not.toContain("chap-secret-123");
    expect(openAtSite(sealed, privA, "cmd-1")).toBe("chap-secret-123");
  });

  it("differ every time, even for the same secret", () => {
    expect(sealForSite("s", pubA, "c")).not.toBe(sealForSite("s", pubA, "c"));
  });

  it("cannot be opened by another site's relay", () => {
    expect(() => openAtSite(sealForSite("s", pubA, "c"), privB, "c")).toThrow(/cannot open/);
  });

  it("cannot be moved into another command", () => {
    expect(() => openAtSite(sealForSite("s", pubA, "cmd-1"), privA, "cmd-2")).toThrow(/cannot open/);
  });

  it("refuse a tampered ciphertext", () => {
    const parts = sealForSite("secret", pubA, "c").split(".");
    const ct = Buffer.from(parts[4]!, "base64url");
    ct[0] = ct[0]! ^ 1;
    parts[4] = ct.toString("base64url");
    expect(() => openAtSite(parts.join("."), privA, "c")).toThrow(/cannot open/);
  });

  it("refuse keys that are not X25519", () => {
    expect(() => parseSitePublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")).toThrow(/X25519/);
  });
});
