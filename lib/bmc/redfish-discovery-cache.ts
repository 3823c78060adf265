/**
 * What a relay knows of a BMC's tree, per system: where things are and what shape they have (the
 * system's URI and links, its allowed values and actions, the vendor's quirks, its functions'
 * URIs and identities, its boot options and log services). Structure only, never the values a
 * decision or an undo rests on: those are read fresh every time.
 *
 * Walking the tree (Systems, Chassis, NetworkAdapters, each adapter, each function collection,
 * each boot option) was most of a boot's requests, repeated by each of its relay commands, and a
 * BMC that allows one session serves them one at a time. The tree changes only when hardware or
 * firmware does, so what was found is kept for a while and shared by every command for that
 * system:
 *
 * - per system of one BMC as one login sees it over one TLS identity (`discoveryKey`): nothing is
 *   shared across BMCs, systems, users or certificates;
 * - for `ttlMs` at most after it was read;
 * - dropped at once, everything known of the system, when the BMC says its tree changed: a 404
 *   where a remembered link pointed, a 412 (someone wrote in between). The driver then walks
 *   again (redfish-driver.ts, `known`).
 */
import { createHash } from "node:crypto";
import type { BmcEndpoint } from "./driver";

interface Entry {
  value: unknown;
  expires: number;
}

/** Whose view of which system: BMC origin, TLS identity, user, system id. */
export function discoveryKey(ep: BmcEndpoint): string {
  const tls = ep.tls.fingerprint_sha256
    ? `pin:${ep.tls.fingerprint_sha256.replace(/[:\s]/g, "").toLowerCase()}`
    : ep.tls.insecure
      ? "insecure"
      : ep.tls.ca
        ? `ca:${createHash("sha256").update(ep.tls.ca).digest("hex").slice(0, 16)}`
        : "system-ca";
  return JSON.stringify([new URL(ep.address).origin, tls, ep.username, ep.system_id]);
}

/** What is known of one system: read through, peeked at, remembered, forgotten. */
export interface KnownSystem {
  /** the remembered value, else what `walk` finds (remembered) */
  get<T>(what: string, walk: () => Promise<T>): Promise<T>;
  peek<T>(what: string): T | undefined;
  remember<T>(what: string, value: T): T;
  /** drops everything known of the system (the tree changed) */
  forget(): void;
  /** anything remembered and fresh enough (a 404 may then mean a stale link) */
  readonly holdsAny: boolean;
}

export class DiscoveryCache {
  private readonly systems = new Map<string, Map<string, Entry>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  of(key: string): KnownSystem {
    const cache = this;
    return {
      get: async <T>(what: string, walk: () => Promise<T>) => {
        const known = cache.lookup<T>(key, what);
        return known ? known.value : cache.set(key, what, await walk());
      },
      peek: <T>(what: string) => cache.lookup<T>(key, what)?.value,
      remember: <T>(what: string, value: T) => cache.set(key, what, value),
      forget: () => cache.forget(key),
      get holdsAny() {
        return cache.holdsAny(key);
      },
    };
  }

  /** Drops everything known of the system at `key`. */
  forget(key: string): void {
    this.systems.delete(key);
  }

  holdsAny(key: string): boolean {
    const entries = this.systems.get(key);
    if (!entries) return false;
    const now = this.now();
    for (const e of entries.values()) if (e.expires > now) return true;
    return false;
  }

  private lookup<T>(key: string, what: string): { value: T } | undefined {
    const entries = this.systems.get(key);
    const entry = entries?.get(what);
    if (!entry) return undefined;
    if (entry.expires > this.now()) return { value: entry.value as T };
    entries!.delete(what);
    return undefined;
  }

  private set<T>(key: string, what: string, value: T): T {
    if (this.ttlMs <= 0) return value;
    let entries = this.systems.get(key);
    if (!entries) {
      this.prune();
      this.systems.set(key, (entries = new Map()));
    }
    entries.set(what, { value, expires: this.now() + this.ttlMs });
    return value;
  }

  /** A relay serves many BMCs for months: systems whose entries all expired go. */
  private prune(): void {
    const now = this.now();
    for (const [key, entries] of this.systems) {
      for (const [what, entry] of entries) if (entry.expires <= now) entries.delete(what);
      if (entries.size === 0) this.systems.delete(key);
    }
  }
}
