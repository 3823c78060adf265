/**
 * CHAP (RFC 1994 with iSCSI's encodings, RFC 7143 §12.1.3), the target's side.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chapResponse, ChapResponder, formatChapBinary, parseChapBinary } from "../../lab/iscsi-target/chap";

const CREDS = { username: "initiator-user", password: "initiator-secret" };
const MUTUAL = { username: "target-user", password: "target-secret" };
/** randomness fixed: id 0x2a, then the challenge bytes */
const fixed = (n: number) => (n === 1 ? Buffer.from([0x2a]) : Buffer.alloc(n, 0xc3));

function md5(...parts: Buffer[]): Buffer {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return h.digest();
}

function keys(o: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(o));
}

describe("CHAP values", () => {
  it("computes the response as MD5 over the identifier, the secret and the challenge", () => {
    const challenge = Buffer.from("0102030405060708", "hex");
    expect(chapResponse(7, "secret", challenge)).toEqual(md5(Buffer.from([7]), Buffer.from("secret"), challenge));
  });

  it.each([
    ["0x0a0B", "0a0b"],
    ["0XabC", "0abc"], // odd number of digits: a leading 0
    ["0bAQID", "010203"],
    ["0BAQI=", "0102"],
  ])("reads %s as hex %s", (text, hex) => {
    expect(parseChapBinary(text)!.toString("hex")).toBe(hex);
  });

  it.each(["abcd", "0xzz", "0b!!", ""])("refuses %j", (text) => {
    expect(parseChapBinary(text)).toBeNull();
  });

  it("writes binary values as 0x hex", () => {
    expect(formatChapBinary(Buffer.from([0, 255]))).toBe("0x00ff");
  });
});

describe("the target's CHAP exchange", () => {
  function challenged(mutual: typeof MUTUAL | null = null) {
    const r = new ChapResponder(CREDS, mutual, fixed);
    const step = r.step(keys({ CHAP_A: "7,5" }));
    return { r, step };
  }
  const goodResponse = formatChapBinary(md5(Buffer.from([0x2a]), Buffer.from(CREDS.password), Buffer.alloc(16, 0xc3)));

  it("picks MD5 from the offered algorithms and sends its identifier and challenge", () => {
    expect(challenged().step).toEqual({
      outcome: "continue",
      answers: [
        ["CHAP_A", "5"],
        ["CHAP_I", "42"],
        ["CHAP_C", `0x${"c3".repeat(16)}`],
      ],
    });
  });

  it("fails when no offered algorithm is MD5", () => {
    expect(new ChapResponder(CREDS, null, fixed).step(keys({ CHAP_A: "6,7" })).outcome).toBe("failed");
  });

  it("authenticates the right name and response, in hex or base64", () => {
    expect(challenged().r.step(keys({ CHAP_N: CREDS.username, CHAP_R: goodResponse }))).toEqual({ outcome: "authenticated", answers: [] });
    const b64 = `0b${Buffer.from(goodResponse.slice(2), "hex").toString("base64")}`;
    expect(challenged().r.step(keys({ CHAP_N: CREDS.username, CHAP_R: b64 })).outcome).toBe("authenticated");
  });

  it.each([
    ["a wrong response", { CHAP_N: CREDS.username, CHAP_R: `0x${"00".repeat(16)}` }],
    ["a wrong name", { CHAP_N: "someone-else", CHAP_R: goodResponse }],
    ["a response that is not binary", { CHAP_N: CREDS.username, CHAP_R: "hello" }],
    ["no response", { CHAP_N: CREDS.username }],
  ])("fails %s", (_what, k) => {
    expect(challenged().r.step(keys(k)).outcome).toBe("failed");
  });

  it("answers the initiator's challenge with its own credentials (mutual CHAP)", () => {
    const theirs = Buffer.from("00112233445566778899aabbccddeeff", "hex");
    const step = challenged(MUTUAL).r.step(keys({ CHAP_N: CREDS.username, CHAP_R: goodResponse, CHAP_I: "9", CHAP_C: formatChapBinary(theirs) }));
    expect(step).toEqual({
      outcome: "authenticated",
      answers: [
        ["CHAP_N", MUTUAL.username],
        ["CHAP_R", formatChapBinary(md5(Buffer.from([9]), Buffer.from(MUTUAL.password), theirs))],
      ],
    });
  });

  it("fails mutual CHAP when the target has no credentials of its own", () => {
    const step = challenged(null).r.step(keys({ CHAP_N: CREDS.username, CHAP_R: goodResponse, CHAP_I: "9", CHAP_C: "0x0011" }));
    expect(step.outcome).toBe("failed");
  });

  it("refuses its own challenge sent back for the other direction (reflection)", () => {
    const step = challenged(MUTUAL).r.step(keys({ CHAP_N: CREDS.username, CHAP_R: goodResponse, CHAP_I: "9", CHAP_C: `0x${"c3".repeat(16)}` }));
    expect(step).toMatchObject({ outcome: "failed", reason: expect.stringContaining("reflected") });
  });

  it("fails a half-given mutual challenge", () => {
    const step = challenged(MUTUAL).r.step(keys({ CHAP_N: CREDS.username, CHAP_R: goodResponse, CHAP_I: "9" }));
    expect(step.outcome).toBe("failed");
  });
});
