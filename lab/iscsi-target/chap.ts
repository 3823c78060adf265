/**
 * CHAP for iSCSI (RFC 7143 §12.1.3, RFC 1994): the target's side of one-way and mutual
 * authentication with MD5 (CHAP_A=5).
 *
 *   initiator                          target
 *   CHAP_A=<A1,A2,...>          ──▶
 *                               ◀──    CHAP_A=5 CHAP_I=<id> CHAP_C=<challenge>
 *   CHAP_N=<name> CHAP_R=<resp>
 *   [CHAP_I=<id'> CHAP_C=<c'>]  ──▶    verifies resp = MD5(id ‖ secret ‖ challenge)
 *                               ◀──    [CHAP_N=<name'> CHAP_R=MD5(id' ‖ secret' ‖ c')]
 *
 * Binary values travel as hex ("0x…") or base64 ("0b…"); we send hex. An initiator that sends
 * back our own challenge for the other direction is refused (the reflection attack §12.1.3
 * forbids).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { parseNumber, type TextPairs } from "./text";

export interface ChapCredentials {
  username: string;
  password: string;
}

/** MD5 is the only algorithm RFC 7143 has CHAP use. */
export const CHAP_MD5 = 5;
const CHALLENGE_BYTES = 16;

export function chapResponse(id: number, secret: string | Buffer, challenge: Buffer): Buffer {
  return createHash("md5").update(Buffer.from([id & 0xff])).update(secret).update(challenge).digest();
}

/** "0x…" hex or "0b…" base64 (§6.1 binary-value); null when neither. */
export function parseChapBinary(value: string): Buffer | null {
  const prefix = value.slice(0, 2).toLowerCase();
  const body = value.slice(2);
  if (prefix === "0x") {
    if (!/^[0-9a-fA-F]+$/.test(body)) return null;
    return Buffer.from(body.length % 2 === 1 ? `0${body}` : body, "hex");
  }
  if (prefix === "0b") {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return null;
    return Buffer.from(body, "base64");
  }
  return null;
}

export function formatChapBinary(b: Buffer): string {
  return `0x${b.toString("hex")}`;
}

export type ChapStep =
  | { outcome: "continue"; answers: TextPairs }
  | { outcome: "authenticated"; answers: TextPairs }
  | { outcome: "failed"; reason: string };

/** One CHAP exchange, from the target's side. */
export class ChapResponder {
  private state: "algorithm" | "response" | "done" = "algorithm";
  private id = 0;
  private challenge: Buffer = Buffer.alloc(0);

  constructor(
    private readonly credentials: ChapCredentials,
    /** what we answer with when the initiator authenticates us too */
    private readonly mutual: ChapCredentials | null,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {}

  /** Feeds the CHAP keys of one login request. */
  step(keys: Map<string, string>): ChapStep {
    if (this.state === "algorithm") {
      const offered = keys.get("CHAP_A");
      if (offered === undefined) return { outcome: "continue", answers: [] };
      const algorithms = offered.split(",").map((a) => parseNumber(a.trim()));
      if (!algorithms.includes(CHAP_MD5)) return { outcome: "failed", reason: `no CHAP algorithm we support in CHAP_A=${offered}` };
      this.id = this.random(1)[0]!;
      this.challenge = this.random(CHALLENGE_BYTES);
      this.state = "response";
      return {
        outcome: "continue",
        answers: [
          ["CHAP_A", String(CHAP_MD5)],
          ["CHAP_I", String(this.id)],
          ["CHAP_C", formatChapBinary(this.challenge)],
        ],
      };
    }
    if (this.state === "done") return { outcome: "failed", reason: "CHAP keys after authentication" };

    const name = keys.get("CHAP_N");
    const response = keys.get("CHAP_R");
    if (name === undefined || response === undefined) return { outcome: "failed", reason: "CHAP_N and CHAP_R expected" };
    const got = parseChapBinary(response);
    const want = chapResponse(this.id, this.credentials.password, this.challenge);
    if (name !== this.credentials.username) return { outcome: "failed", reason: `unknown CHAP user ${JSON.stringify(name)}` };
    if (!got || got.length !== want.length || !timingSafeEqual(got, want)) return { outcome: "failed", reason: "CHAP response does not match" };
    this.state = "done";

    const theirId = keys.get("CHAP_I");
    const theirChallenge = keys.get("CHAP_C");
    if (theirId === undefined && theirChallenge === undefined) return { outcome: "authenticated", answers: [] };
    // the initiator authenticates us as well
    const id = theirId === undefined ? null : parseNumber(theirId);
    const challenge = theirChallenge === undefined ? null : parseChapBinary(theirChallenge);
    if (id === null || id > 255 || !challenge || challenge.length === 0) return { outcome: "failed", reason: "mutual CHAP needs both CHAP_I and CHAP_C" };
    if (challenge.equals(this.challenge)) return { outcome: "failed", reason: "the initiator reflected our own challenge" };
    if (!this.mutual) return { outcome: "failed", reason: "the initiator asked for mutual CHAP, but the target has no credentials of its own" };
    return {
      outcome: "authenticated",
      answers: [
        ["CHAP_N", this.mutual.username],
        ["CHAP_R", formatChapBinary(chapResponse(id, this.mutual.password, challenge))],
      ],
    };
  }
}
