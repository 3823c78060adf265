/**
 * The emulated volume group and tgt: with a data plane, each iSCSI volume is a sparse file of its
 * size (`<dir>/volume-<id>`, as the LVM driver's LV is `/dev/cinder-volumes/volume-<id>`), and
 * while Cinder would have a tgt target for the volume, a real iSCSI target
 * (lab/iscsi-target) exports the file under the volume's IQN with its CHAP credentials
 * (tgt's `incominguser`), LUN 1 as tgt puts it.
 *
 * The store decides when (create_export / remove_export); this file only does it, and is
 * idempotent both ways so a store that repeats itself does no harm.
 */
import { closeSync, mkdirSync, openSync, ftruncateSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startIscsiTarget, type IscsiTarget } from "../iscsi-target/server";

export interface DataPlaneOptions {
  /** where the volumes' backing files go (created if missing) */
  dir: string;
  /** the iSCSI portal's address (default 127.0.0.1) */
  host?: string;
  /** the iSCSI portal's port (default 0: a free one) */
  port?: number;
  /** one line per iSCSI PDU, for watching a boot */
  trace?: (line: string) => void;
}

export interface VolumeExport {
  volumeId: string;
  iqn: string;
  lun: number;
  file: string;
  /** sessions logged in to it now */
  sessions: number;
}

/** The LUN tgt gives the backing store (LUN 0 is its controller). */
export const VOLUME_LUN = 1;
const GIB = 1024 ** 3;

/** What the store calls; synchronous, so the API answers only once the effect is in place. */
export interface VolumeDataPlane {
  /** "ip:port": the target_portal connection_info names */
  readonly portal: string;
  createVolume(volumeId: string, sizeGb: number): void;
  deleteVolume(volumeId: string): void;
  exportVolume(volumeId: string, iqn: string, chap: { username: string; password: string }): void;
  removeExport(volumeId: string): void;
}

export class DataPlane implements VolumeDataPlane {
  private readonly volumes = new Set<string>();
  /** volume id → its exported IQN */
  private readonly exported = new Map<string, string>();
  private readonly withdrawing = new Set<Promise<void>>();

  private constructor(
    private readonly dir: string,
    private readonly target: IscsiTarget,
  ) {}

  static async start(opts: DataPlaneOptions): Promise<DataPlane> {
    mkdirSync(opts.dir, { recursive: true });
    const target = await startIscsiTarget({ host: opts.host ?? "127.0.0.1", port: opts.port ?? 0, ...(opts.trace ? { trace: opts.trace } : {}) });
    return new DataPlane(opts.dir, target);
  }

  get portal(): string {
    return this.target.portal;
  }

  fileOf(volumeId: string): string {
    return join(this.dir, `volume-${volumeId}`);
  }

  /** A sparse file of the volume's size: no blocks until written, reads as zeros. */
  createVolume(volumeId: string, sizeGb: number): void {
    const fd = openSync(this.fileOf(volumeId), "wx");
    try {
      ftruncateSync(fd, sizeGb * GIB);
    } finally {
      closeSync(fd);
    }
    this.volumes.add(volumeId);
  }

  deleteVolume(volumeId: string): void {
    this.removeExport(volumeId);
    this.volumes.delete(volumeId);
    rmSync(this.fileOf(volumeId), { force: true });
  }

  exportVolume(volumeId: string, iqn: string, chap: { username: string; password: string }): void {
    if (this.exported.has(volumeId)) return; // tgt-admin's "already exists": the same target stays
    this.target.export({ iqn, lun: VOLUME_LUN, file: this.fileOf(volumeId), chap, serial: volumeId });
    this.exported.set(volumeId, iqn);
  }

  removeExport(volumeId: string): void {
    const iqn = this.exported.get(volumeId);
    if (iqn === undefined) return;
    this.exported.delete(volumeId);
    // sessions go at once; the file handle closes once their I/O settled
    const done = this.target.withdraw(iqn).finally(() => this.withdrawing.delete(done));
    this.withdrawing.add(done);
  }

  exports(): VolumeExport[] {
    const byIqn = new Map(this.target.exports().map((e) => [e.iqn, e]));
    return [...this.exported].map(([volumeId, iqn]) => {
      const e = byIqn.get(iqn)!;
      return { volumeId, iqn, lun: e.lun, file: e.file, sessions: e.sessions };
    });
  }

  /** Stops the target; the volumes' files go with the emulator's memory of them. */
  async close(): Promise<void> {
    await this.target.close();
    await Promise.allSettled([...this.withdrawing]);
    for (const id of this.volumes) rmSync(this.fileOf(id), { force: true });
    this.volumes.clear();
    this.exported.clear();
  }
}
