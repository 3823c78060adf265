/**
 * Cuts a TCP byte stream into iSCSI PDUs (RFC 7143 §11.1): the BHS says how long the AHS and the
 * data segment are; the data segment is padded to 4 bytes; no digests are negotiated here.
 */
import { BHS_LENGTH, padding, type RawPdu } from "./pdu";

/**
 * Cuts a TCP byte stream into PDUs. Chunks are kept as they arrived and joined only for the PDU
 * that spans them, so a large data segment costs one copy.
 */
export class PduFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): RawPdu[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: RawPdu[] = [];
    for (;;) {
      if (this.buffered < BHS_LENGTH) break;
      const head = this.peek(BHS_LENGTH);
      const ahsLength = head[4]! * 4;
      const dataLength = head.readUIntBE(5, 3);
      const total = BHS_LENGTH + ahsLength + dataLength + padding(dataLength);
      if (this.buffered < total) break;
      const whole = this.take(total);
      out.push({
        bhs: whole.subarray(0, BHS_LENGTH),
        ahs: whole.subarray(BHS_LENGTH, BHS_LENGTH + ahsLength),
        data: whole.subarray(BHS_LENGTH + ahsLength, BHS_LENGTH + ahsLength + dataLength),
      });
    }
    return out;
  }

  /** bytes received but not yet a whole PDU */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const c of this.chunks) {
      filled += c.copy(out, filled, 0, Math.min(c.length, n - filled));
      if (filled === n) break;
    }
    return out;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    this.buffered -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const use = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, use);
      filled += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    return out;
  }
}
