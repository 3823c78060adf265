/**
 * A logical unit's blocks: a (sparse) file, read and written at positions through one file
 * handle. The size is fixed when the unit is exported; the file is opened at once and closed
 * once every read and write under way has settled.
 */
import { statSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { BLOCK_SIZE } from "./scsi-pages";

export class BackingFile {
  readonly blocks: number;
  private readonly handle: Promise<FileHandle>;
  private readonly inflight = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;

  constructor(readonly path: string) {
    const size = statSync(path).size; // throws for a missing file: export fails at once
    this.blocks = Math.floor(size / BLOCK_SIZE);
    if (this.blocks === 0) throw new Error(`${path} holds no whole ${BLOCK_SIZE}-byte block`);
    this.handle = open(path, "r+");
    this.handle.catch(() => undefined); // reported by the first use
  }

  /** `length` bytes from `offset`; past the end of a file shortened behind our back, zeros. */
  read(offset: number, length: number): Promise<Buffer> {
    return this.track(async () => {
      const fh = await this.handle;
      const buf = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf;
    });
  }

  write(offset: number, data: Buffer): Promise<void> {
    return this.track(async () => {
      const fh = await this.handle;
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    });
  }

  sync(): Promise<void> {
    return this.track(async () => (await this.handle).datasync());
  }

  /** Closes the handle after what is under way; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inflight]);
      const fh = await this.handle.catch(() => null);
      await fh?.close();
    })();
    return this.closing;
  }

  private track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error(`${this.path} is closed`));
    const p = fn();
    this.inflight.add(p);
    const forget = () => this.inflight.delete(p);
    p.then(forget, forget);
    return p;
  }
}
