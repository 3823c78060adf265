/**
 * The benchmark against a real Cinder, outside the timed phases: the volumes it boots from
 * (found by name, created only when missing, so a second run reuses the first one's; bootable;
 * left `available`), and Cinder's floor: the same number of attachment creates sent one after
 * another straight to Cinder, the fastest this Cinder exports that many volumes, each deleted
 * after. Plain HTTP through test/cinder/cinder-admin, independent of lib/cinder.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { pool } from "./fleet";
import { summarize, type LatencySummary } from "./stats";
import type { CinderAdmin } from "../test/cinder/cinder-admin";

/** the volumes' names: `sanboot-bench-000`, ...; a run with more nodes adds to them */
export const VOLUME_PREFIX = "sanboot-bench-";
const nameOf = (i: number) => `${VOLUME_PREFIX}${String(i).padStart(3, "0")}`;
/**
 * Setup calls one at a time: the LVM backend works through creates one by one anyway, and a
 * Cinder on SQLite answers concurrent writes with 500 "database is locked"
 */
const SETUP_CONCURRENCY = 1;
const CREATE_ATTEMPTS = 3;
/** what noauth needs to let a delete through the attachment-in-use check (notes/cinder.md) */
const SERVICE = { "X-Service-Roles": "service" };

export interface BenchVolumes {
  ids: string[];
  created: number;
  reused: number;
  /** reused volumes that were not `available` (a run that stopped half way) and were cleared */
  cleared: number;
}

/** The first `n` bench volumes, available and bootable, created where missing. */
export async function benchVolumes(admin: CinderAdmin, n: number): Promise<BenchVolumes> {
  const listed = await admin.raw("GET", `/v3/${admin.project}/volumes/detail?limit=1000`);
  if (listed.status !== 200) throw new Error(`listing volumes answered ${listed.status}: ${JSON.stringify(listed.body)}`);
  const byName = new Map<string, { id: string; status: string; bootable: string }>();
  for (const v of listed.body.volumes as Array<{ id: string; name: string | null; status: string; bootable: string }>) {
    // two volumes of one name (a create answered after its client gave up): the usable one wins
    if (v.name?.startsWith(VOLUME_PREFIX) && (!byName.has(v.name) || byName.get(v.name)!.status !== "available")) byName.set(v.name, v);
  }
  const missing = Array.from({ length: n }, (_, i) => nameOf(i)).filter((name) => !byName.has(name) || byName.get(name)!.status.startsWith("error")).length;
  if (missing > 0) await checkRoom(admin, missing);
  let created = 0;
  let cleared = 0;
  const ids = await pool(Array.from({ length: n }, (_, i) => nameOf(i)), SETUP_CONCURRENCY, async (name) => {
    const found = byName.get(name);
    if (!found || found.status.startsWith("error")) {
      created++;
      return createNamed(admin, name);
    }
    if (found.status !== "available") {
      cleared++;
      await admin.clearAttachments(found.id);
    }
    if (found.bootable !== "true") {
      const r = await admin.action(found.id, { "os-set_bootable": { bootable: true } });
      if (r.status !== 200) throw new Error(`os-set_bootable on ${name} answered ${r.status}`);
    }
    return found.id;
  });
  return { ids, created, reused: n - created, cleared };
}

/**
 * Says before creating anything when the project's quota cannot hold the volumes still to
 * make (a Cinder's default is 10 volumes per project), rather than failing half way.
 */
async function checkRoom(admin: CinderAdmin, needed: number): Promise<void> {
  const path = `/v3/${admin.project}/os-quota-sets/${admin.project}?usage=true`;
  const r = await admin.raw("GET", path);
  const q = r.status === 200 ? (r.body.quota_set?.volumes as { limit: number; in_use: number; reserved: number } | undefined) : undefined;
  if (!q || q.limit < 0) return;
  const room = q.limit - q.in_use - q.reserved;
  if (room < needed) {
    throw new Error(
      `the project's volume quota (${q.limit}, ${q.in_use} in use) leaves room for ${room} volumes and the benchmark must create ${needed}: ` +
        `raise it as an admin (PUT /v3/${admin.project}/os-quota-sets/${admin.project} {"quota_set": {"volumes": ${q.in_use + needed + 10}}}) or run with fewer nodes`,
    );
  }
}

/**
 * A new bootable volume of that name, waited for until `available`. A 5xx to the create is
 * retried, but only after asking by name whether the create happened anyway.
 */
async function createNamed(admin: CinderAdmin, name: string): Promise<string> {
  const base = `/v3/${admin.project}/volumes`;
  for (let attempt = 1; ; attempt++) {
    const r = await admin.raw("POST", base, { body: { volume: { size: 1, name } } });
    let id: string | undefined = r.status === 202 ? r.body.volume.id : undefined;
    if (!id && r.status >= 500) {
      const named = await admin.raw("GET", `${base}/detail?name=${encodeURIComponent(name)}`);
      id = (named.body?.volumes as Array<{ id: string; status: string }> | undefined)?.find((v) => !v.status.startsWith("error"))?.id;
    }
    if (id) {
      try {
        await admin.waitForStatus(id, "available");
      } catch (err) {
        // one that went to error (a full volume group) is of no use to a later run either
        await admin.raw("DELETE", `${base}/${id}`).catch(() => undefined);
        throw err;
      }
      const b = await admin.action(id, { "os-set_bootable": { bootable: true } });
      if (b.status !== 200) throw new Error(`os-set_bootable on ${name} answered ${b.status}`);
      return id;
    }
    if (r.status < 500 || attempt === CREATE_ATTEMPTS) throw new Error(`creating ${name} answered ${r.status}: ${JSON.stringify(r.body)}`);
    await sleep(500 * attempt);
  }
}

/** A 5xx (SQLite's "database is locked" under a busy Cinder) is tried again; a delete is safe to repeat. */
async function deleteAttachment(admin: CinderAdmin, id: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const r = await admin.raw("DELETE", `/v3/${admin.project}/attachments/${id}`, { headers: SERVICE });
    if (r.status < 500 || attempt === CREATE_ATTEMPTS) return r.status;
    await sleep(500 * attempt);
  }
}

/** After the run: each volume back to `available`; says how many needed help to get there. */
export async function leaveAvailable(admin: CinderAdmin, ids: readonly string[]): Promise<{ available: number; cleared: number; stuck: string[] }> {
  let cleared = 0;
  const stuck: string[] = [];
  await pool(ids, SETUP_CONCURRENCY, async (id) => {
    const v = await admin.volume(id);
    const left = await admin.attachments(id);
    if (v.status === "available" && left.length === 0) return;
    cleared++;
    await admin.clearAttachments(id).catch(() => stuck.push(`${id} (${v.status})`));
  });
  return { available: ids.length - stuck.length, cleared, stuck };
}

export interface Floor {
  creates: number;
  /** first create sent → last create answered, ms */
  totalMs: number;
  perCreate: LatencySummary;
  /** the deletes after, one after another, until every volume is `available` again, ms */
  cleanupMs: number;
  failures: string[];
}

/**
 * One attachment create per volume, one after another, each with an iSCSI connector as the
 * service sends it; then each attachment deleted. No reserve, no os-complete: the create is
 * the export, the part of a deploy that Cinder's backend does.
 */
export async function measureFloor(admin: CinderAdmin, volumeIds: readonly string[]): Promise<Floor> {
  const samples: number[] = [];
  const failures: string[] = [];
  const attachments: string[] = [];
  const start = performance.now();
  for (const [i, volumeId] of volumeIds.entries()) {
    const t0 = performance.now();
    const r = await admin.createAttachment(volumeId, randomUUID(), {
      host: `bench-floor-${i}`,
      initiator: `iqn.2026-11.org.sanboot.bench:floor-${i}`,
      multipath: false,
      platform: "x86_64",
      os_type: "linux",
    });
    samples.push(performance.now() - t0);
    if (r.status === 200) attachments.push(r.body.attachment.id);
    else failures.push(`create ${r.status}`);
  }
  const totalMs = performance.now() - start;
  const c0 = performance.now();
  for (const id of attachments) {
    const status = await deleteAttachment(admin, id);
    if (status !== 200) failures.push(`delete ${status}`);
  }
  // a create that answered 5xx may still have reserved the volume, a delete may have failed for
  // good: whatever is left is cleared, so the workload starts from available volumes
  for (const id of volumeIds) {
    if ((await admin.volume(id)).status === "available") continue;
    await admin.clearAttachments(id).catch((err: Error) => failures.push(`left ${err.message}`));
  }
  return { creates: volumeIds.length, totalMs, perCreate: summarize(samples), cleanupMs: performance.now() - c0, failures };
}
