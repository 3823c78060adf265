/**
 * Where things are on a BMC, remembered per endpoint: the system's URI, its functions' URIs, HPE's
 * `Bios/iScsi` link. Links only, never contents: every decision still reads fresh resources.
 *
 * Walking the tree (Systems, Chassis, NetworkAdapters, each adapter, each function collection)
 * was most of a boot's requests, repeated by each of its relay commands, and a BMC that allows one
 * session serves them one at a time. Links change only when hardware or firmware does, so they are
 * kept for a short time (`ttlMs`) and dropped at once when one of them answers 404: the walk is
 * then done again and the operation retried once.
 */
import { isNotFound } from "./redfish-transport";

interface Entry {
  value: unknown;
  expires: number;
}

export class DiscoveryCache {
  private readonly endpoints = new Map<string, Map<string, Entry>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * `use` with what `walk` found for (`endpoint`, `what`), remembered when fresh enough. When a
   * remembered value leads to a 404, everything known about the endpoint is dropped, the walk is
   * done again and `use` runs once more. `use` must be safe to repeat (plan from a fresh read).
   */
  async through<T, R>(endpoint: string, what: string, walk: () => Promise<T>, use: (found: T) => Promise<R>): Promise<R> {
    const known = this.lookup<T>(endpoint, what);
    if (known === undefined) return use(await this.walk(endpoint, what, walk));
    try {
      return await use(known.value);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.forget(endpoint);
      return use(await this.walk(endpoint, what, walk));
    }
  }

  /** Drops everything known about `endpoint`. */
  forget(endpoint: string): void {
    this.endpoints.delete(endpoint);
  }

  private lookup<T>(endpoint: string, what: string): { value: T } | undefined {
    const entry = this.endpoints.get(endpoint)?.get(what);
    if (!entry) return undefined;
    if (entry.expires > this.now()) return { value: entry.value as T };
    this.endpoints.get(endpoint)!.delete(what);
    return undefined;
  }

  private async walk<T>(endpoint: string, what: string, walk: () => Promise<T>): Promise<T> {
    const value = await walk();
    if (this.ttlMs <= 0) return value;
    let entries = this.endpoints.get(endpoint);
    if (!entries) {
      this.prune();
      this.endpoints.set(endpoint, (entries = new Map()));
    }
    entries.set(what, { value, expires: this.now() + this.ttlMs });
    return value;
  }

  /** A relay serves many BMCs for months: endpoints whose entries all expired go. */
  private prune(): void {
    const now = this.now();
    for (const [endpoint, entries] of this.endpoints) {
      for (const [what, entry] of entries) if (entry.expires <= now) entries.delete(what);
      if (entries.size === 0) this.endpoints.delete(endpoint);
    }
  }
}
