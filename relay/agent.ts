/**
 * The relay agent of a site: a lease loop (relay/lease-loop.ts) that long-polls the service for
 * the site's commands and hands each to a held command (relay/held-command.ts) that waits for its
 * BMC, executes it through the executor and reports the outcome, heartbeating its lease all the
 * while. This file only fills in the defaults and wires the parts: the service client, the
 * executor over the BMC driver, the per-BMC lock, the logger that redacts every secret the relay
 * learns, and the clock, injected so tests run the loop without waiting on the wall clock.
 */
import type { KeyObject } from "node:crypto";
import type { Dispatcher } from "undici";
import type { BmcDriver } from "../lib/bmc/driver";
import { BmcLock } from "./bmc-lock";
import type { BmcCredential, CredentialStore } from "./config";
import { CommandExecutor } from "./executor";
import { LeaseLoop } from "./lease-loop";
import { createJsonLogger } from "./log";
import { RELAY_VERSION } from "./version";
import { ServiceClient } from "./service-client";
import { systemClock, type BackoffPolicy, type Clock } from "./timing";

export interface RelayAgentOptions {
  serviceUrl: string;
  site: string;
  token: string;
  /** Default: relay-<pid>. */
  relayId?: string;
  /** credentials_ref → login; a Map or a plain object. */
  credentials: CredentialStore | Readonly<Record<string, BmcCredential>>;
  driver: BmcDriver;
  /** Commands held at once (waiting for their BMC or running). Default 8. */
  concurrency?: number;
  /** Long-poll wait per lease call, 0..25. Default 20. */
  waitSeconds?: number;
  /** Default 10. */
  heartbeatSeconds?: number;
  /** How long stop() lets held commands finish. Default 60. */
  stopTimeoutSeconds?: number;
  /** Backoff while the service is unreachable. Default 1 s doubling to 30 s. */
  serviceBackoff?: BackoffPolicy;
  /** Pause after a lease call that came back empty at once (a service not long-polling). */
  idlePollMs?: number;
  clock?: Clock;
  /** Receives each JSON log line; default stdout. */
  log?: (line: string) => void;
  /** The site's X25519 private key: opens target secrets the service sealed to this site. */
  siteKey?: KeyObject;
  /** What the relay announces it runs beyond the basic commands; default all this release runs (tests play an older relay with []). */
  capabilities?: readonly string[];
  /** undici dispatcher for the service calls (tests, proxies). */
  dispatcher?: Dispatcher;
}

export interface RelayAgent {
  /** Stop leasing, let held commands finish (bounded), then resolve. Idempotent. */
  stop(): Promise<void>;
  /** Commands held now (waiting for their BMC or running or reporting). */
  held(): number;
}

const DEFAULT_SERVICE_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000 };

function toStore(c: RelayAgentOptions["credentials"]): CredentialStore {
  if (typeof (c as CredentialStore).get === "function") return c as CredentialStore;
  const record = c as Readonly<Record<string, BmcCredential>>;
  return { get: (ref) => (Object.hasOwn(record, ref) ? record[ref] : undefined) };
}

export function startRelayAgent(options: RelayAgentOptions): RelayAgent {
  const clock = options.clock ?? systemClock;
  const relayId = options.relayId ?? `relay-${process.pid}`;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const waitSeconds = Math.min(25, Math.max(0, options.waitSeconds ?? 20));
  const heartbeatMs = Math.max(10, (options.heartbeatSeconds ?? 10) * 1000);

  // The site token, and every BMC password the executor resolves: never in a log line.
  const secrets = new Set<string>([options.token]);
  const log = createJsonLogger({
    secrets,
    now: () => clock.now(),
    fields: { site: options.site, relay_id: relayId },
    ...(options.log ? { write: options.log } : {}),
  });
  const client = new ServiceClient({
    serviceUrl: options.serviceUrl,
    token: options.token,
    relayId,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  const executor = new CommandExecutor({
    driver: options.driver,
    credentials: toStore(options.credentials),
    clock,
    onSecret: (s) => secrets.add(s),
  });

  const loop = new LeaseLoop(
    {
      relayId,
      concurrency,
      waitSeconds,
      stopTimeoutMs: Math.max(0, (options.stopTimeoutSeconds ?? 60) * 1000),
      idlePollMs: options.idlePollMs ?? 1_000,
      ...(options.siteKey ? { siteKey: options.siteKey } : {}),
      ...(options.capabilities ? { capabilities: options.capabilities } : {}),
    },
    { client, executor, locks: new BmcLock(), clock, heartbeatMs, serviceBackoff: options.serviceBackoff ?? DEFAULT_SERVICE_BACKOFF },
    log,
  );
  log.info("relay started", { version: RELAY_VERSION, concurrency, wait_seconds: waitSeconds, heartbeat_ms: heartbeatMs });
  loop.start();
  return { stop: () => loop.stop(), held: () => loop.heldCount() };
}
