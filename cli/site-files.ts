/**
 * The local files a `sites` command reads, turned into what the API takes: a relay token file
 * into the token's SHA-256 (the token itself never leaves this process, and no message here
 * quotes it), a sealing key file into its PEM public key.
 *
 * The hash must be the one the service computes over the token the relay presents: the relay
 * reads its token file trimmed, sends it as `Authorization: Bearer <token>` (no whitespace
 * allowed), and the service hashes that with sha256Hex; the README's install computes the same
 * with `tr -d '\n' < token | sha256sum`. So the file's trailing newlines are dropped, and a file
 * those ways of reading would disagree on (a CR, a space, an inner line break, anything beyond
 * printable ASCII) is refused rather than hashed into a token no relay can present.
 */
import { readFileSync } from "node:fs";
import { sha256Hex } from "../lib/ids";
import { UsageError } from "./args";

const MAX_TOKEN_BYTES = 1024;
const PRINTABLE = (b: number) => b >= 0x21 && b <= 0x7e;

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The SHA-256 (hex) of the relay token in `path`, as the service will hash it when the relay presents it. */
export function relayTokenSha256(path: string): string {
  const bytes = read(path, "relay token file");
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0x0a) end--;
  const token = bytes.subarray(0, end);
  if (token.length === 0) throw new UsageError(`the relay token file ${path} is empty`);
  if (token.length > MAX_TOKEN_BYTES) throw new UsageError(`${path} is not a relay token file (over ${MAX_TOKEN_BYTES} bytes): give the file the relay reads with token_file`);
  const bad = token.findIndex((b) => !PRINTABLE(b));
  if (bad !== -1) {
    const what = token[bad] === 0x0d ? "a carriage return (CRLF line end)" : token[bad] === 0x0a ? "more than one line" : token[bad] === 0x20 || token[bad] === 0x09 ? "a space or tab" : "a byte that is not printable ASCII";
    throw new UsageError(`the relay token file ${path} holds ${what}: a relay token is one line of printable ASCII (openssl rand -hex 32 > token makes one)`);
  }
  return sha256Hex(token.toString("ascii"));
}

/** A SHA-256 given on the command line (sha256sum's output), lower-cased as the API takes it; the value is never echoed, in case it is a token. */
export function givenSha256(value: string, flag: string): string {
  if (!/^[0-9a-f]{64}$/i.test(value)) {
    throw new UsageError(`${flag} takes the hex SHA-256 of a token (64 hex digits, as tr -d '\\n' < token | sha256sum prints); to give the token itself, use a token file`);
  }
  return value.toLowerCase();
}

/** The PEM public key in `path` (what `sanboot-relay keygen` writes to FILE.pub); a private key is refused, never sent. */
export function sealingPublicKey(path: string): string {
  const text = read(path, "sealing key file").toString("utf8");
  if (/PRIVATE KEY/.test(text)) {
    throw new UsageError(`${path} is a private key, which stays at the site: give the public half (${path.endsWith(".pub") ? "the .pub file" : `${path}.pub`}, which keygen wrote beside it)`);
  }
  if (!text.includes("BEGIN PUBLIC KEY")) throw new UsageError(`${path} is not a PEM public key (sanboot-relay keygen writes one to FILE.pub)`);
  return text;
}
