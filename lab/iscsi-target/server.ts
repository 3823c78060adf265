/**
 * A minimal iSCSI target (RFC 7143) for the lab: one portal on node:net, targets exported and
 * withdrawn at run time, each with one LUN backed by a (sparse) file of 512-byte blocks, CHAP
 * per target (and mutual CHAP when the target has credentials of its own).
 *
 *   const target = await startIscsiTarget({ host: "127.0.0.1", port: 0 });
 *   target.export({ iqn, lun: 1, file, chap: { username, password } });
 *   …  // initiators log in at target.portal
 *   await target.withdraw(iqn);  // its sessions are dropped, later logins answer 0x0204
 *   await target.close();
 *
 * What it does: discovery (SendTargets) and normal sessions, one connection each
 * (MaxConnections=1), ErrorRecoveryLevel=0, no digests; the SCSI commands of scsi.ts.
 * Not: multiple connections per session, SNACK, digests, reservations, unit attentions.
 */
import { createHash } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { BackingFile } from "./backing-file";
import type { ChapCredentials } from "./chap";
import { Connection, type ConnectionHost } from "./connection";
import { LoginStatus, type SessionRequest, type TargetLookup, type TargetNode } from "./login";
import type { LogicalUnit } from "./scsi-tasks";

export type { ChapCredentials } from "./chap";

export interface ExportSpec {
  iqn: string;
  lun: number;
  /** an existing file; its size, in whole 512-byte blocks, is the unit's capacity */
  file: string;
  /** initiators must log in with CHAP as this user */
  chap?: ChapCredentials;
  /** what the target answers when an initiator authenticates it too (needs `chap`) */
  mutualChap?: ChapCredentials;
  /** VPD page 80h unit serial number (default: derived from the IQN and LUN) */
  serial?: string;
}

export interface ExportInfo {
  iqn: string;
  lun: number;
  file: string;
  blocks: number;
  /** sessions logged in to it now */
  sessions: number;
}

export interface SessionInfo {
  tsih: number;
  initiatorName: string;
  /** null for a discovery session */
  target: string | null;
}

export interface IscsiTarget {
  /** "127.0.0.1:PORT": what connection_info's target_portal says */
  portal: string;
  host: string;
  port: number;
  /** Makes a target available; throws if the IQN is exported already or the file is unusable. */
  export(spec: ExportSpec): void;
  /** Removes a target and drops its sessions; resolves once its file is closed. Unknown IQNs are fine. */
  withdraw(iqn: string): Promise<void>;
  exports(): ExportInfo[];
  sessions(): SessionInfo[];
  /** Drops every connection, closes every file and the listening socket. */
  close(): Promise<void>;
}

interface TargetEntry {
  node: TargetNode;
  units: Map<number, LogicalUnit>;
}

const IQN = /^(iqn\.\d{4}-\d{2}\.[^\s]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32})$/;

export interface IscsiTargetOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** 0 (the default) picks a free port */
  port?: number;
  /** called with one line per PDU each way (with CHAP secrets' responses in it: lab use only) */
  trace?: (line: string) => void;
}

export async function startIscsiTarget(opts: IscsiTargetOptions = {}): Promise<IscsiTarget> {
  const host = opts.host ?? "127.0.0.1";
  const targets = new Map<string, TargetEntry>();
  const withdrawn = new Set<string>();
  const connections = new Set<Connection>();
  /** files of withdrawn targets still closing: close() waits for them too */
  const closingFiles = new Set<Promise<void>>();
  let nextTsih = 1;

  const connectionHost: ConnectionHost = {
    lookup(iqn): TargetLookup {
      const entry = targets.get(iqn);
      if (entry) return { found: entry.node };
      return { missing: withdrawn.has(iqn) ? "withdrawn" : "unknown" };
    },
    sessionExists: (tsih) => [...connections].some((c) => c.session?.tsih === tsih),
    admit(session: SessionRequest) {
      // withdrawn while this login was under way
      if (session.target && targets.get(session.target.iqn)?.node !== session.target) return { status: LoginStatus.TargetRemoved };
      // same initiator, ISID and target: the old session is reinstated, i.e. closed (§6.3.5, ERL 0)
      for (const c of connections) {
        const s = c.session;
        if (s && s.initiatorName === session.initiatorName && s.isid.equals(session.isid) && s.target?.iqn === session.target?.iqn) c.destroy();
      }
      return { tsih: allocateTsih() };
    },
    unit: (iqn, lun) => targets.get(iqn)?.units.get(lun) ?? null,
    luns: (iqn) => [...(targets.get(iqn)?.units.keys() ?? [])],
    targetNames: () => [...targets.keys()],
    closed: (conn) => connections.delete(conn),
    ...(opts.trace ? { trace: opts.trace } : {}),
  };

  function allocateTsih(): number {
    const used = new Set([...connections].map((c) => c.session?.tsih));
    for (;;) {
      const tsih = nextTsih;
      nextTsih = nextTsih >= 0xffff ? 1 : nextTsih + 1;
      if (!used.has(tsih)) return tsih;
    }
  }

  const server: Server = createServer((socket: Socket) => {
    connections.add(new Connection(socket, connectionHost));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const portalHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;

  function dropSessionsOf(iqn: string): void {
    for (const c of connections) if (c.session?.target?.iqn === iqn) c.destroy();
  }

  return {
    portal: `${portalHost}:${port}`,
    host,
    port,
    export(spec) {
      if (!IQN.test(spec.iqn)) throw new Error(`not an iSCSI name: ${JSON.stringify(spec.iqn)}`);
      if (!Number.isInteger(spec.lun) || spec.lun < 0 || spec.lun > 16383) throw new Error(`LUN must be 0..16383, got ${spec.lun}`);
      if (targets.has(spec.iqn)) throw new Error(`${spec.iqn} is exported already`);
      for (const creds of [spec.chap, spec.mutualChap]) {
        if (creds && (!creds.username || !creds.password)) throw new Error("CHAP credentials need a username and a password");
      }
      if (spec.mutualChap && !spec.chap) throw new Error("mutual CHAP needs the initiator's CHAP credentials too");
      const file = new BackingFile(spec.file);
      const digest = createHash("sha256").update(`${spec.iqn}:${spec.lun}`).digest();
      // NAA 3h (locally assigned): the type nibble, then 60 bits of our own
      const naa = Buffer.from(digest.subarray(0, 8));
      naa[0] = 0x30 | (naa[0]! & 0x0f);
      const unit: LogicalUnit = {
        file,
        identity: { lun: spec.lun, blocks: file.blocks, serial: spec.serial ?? digest.subarray(8, 16).toString("hex"), naa, targetIqn: spec.iqn },
      };
      const node: TargetNode = { iqn: spec.iqn, ...(spec.chap ? { chap: { ...spec.chap } } : {}), ...(spec.mutualChap ? { mutualChap: { ...spec.mutualChap } } : {}) };
      targets.set(spec.iqn, { node, units: new Map([[spec.lun, unit]]) });
      withdrawn.delete(spec.iqn);
    },
    async withdraw(iqn) {
      const entry = targets.get(iqn);
      if (!entry) return;
      targets.delete(iqn);
      withdrawn.add(iqn);
      dropSessionsOf(iqn);
      const closed = Promise.all([...entry.units.values()].map((u) => u.file.close())).then(() => undefined);
      closingFiles.add(closed);
      await closed.finally(() => closingFiles.delete(closed));
    },
    exports: () =>
      [...targets.values()].flatMap((t) =>
        [...t.units.values()].map((u) => ({
          iqn: t.node.iqn,
          lun: u.identity.lun,
          file: u.file.path,
          blocks: u.identity.blocks,
          sessions: [...connections].filter((c) => c.session?.target?.iqn === t.node.iqn).length,
        })),
      ),
    sessions: () =>
      [...connections]
        .filter((c) => c.session)
        .map((c) => ({ tsih: c.session!.tsih, initiatorName: c.session!.initiatorName, target: c.session!.target?.iqn ?? null })),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of connections) c.destroy();
      const files = [...targets.values()].flatMap((t) => [...t.units.values()].map((u) => u.file.close()));
      targets.clear();
      await Promise.all([closed, ...files, ...closingFiles]);
    },
  };
}
