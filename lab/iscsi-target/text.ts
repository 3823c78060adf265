/**
 * Text keys (RFC 7143 §6.1): `key=value` pairs, each ended by a NUL, in Login and Text PDUs.
 * Order is kept: answers go back in the order the keys came.
 */

export type TextPairs = Array<[key: string, value: string]>;

export class TextFormatError extends Error {
  override name = "TextFormatError";
}

export function parseText(data: Buffer): TextPairs {
  const pairs: TextPairs = [];
  const text = data.toString("utf8");
  for (const item of text.split("\0")) {
    if (item === "") continue; // the trailing NUL, or padding an initiator left in
    const eq = item.indexOf("=");
    if (eq <= 0) throw new TextFormatError(`text item without a key=value form: ${JSON.stringify(item)}`);
    pairs.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return pairs;
}

export function encodeText(pairs: TextPairs): Buffer {
  return Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(""), "utf8");
}

/** A numerical value: decimal, or hex with 0x (§6.1, "numerical-value"). */
export function parseNumber(value: string): number | null {
  if (/^0[xX][0-9a-fA-F]+$/.test(value)) return Number.parseInt(value.slice(2), 16);
  if (/^[0-9]+$/.test(value)) return Number.parseInt(value, 10);
  return null;
}
