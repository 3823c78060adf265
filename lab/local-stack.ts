/**
 * The whole system on one machine, in one process: dynalite, the Cinder and Redfish emulators,
 * the service's functions behind the in-process host, and a relay agent for the site. Every part
 * talks to the next over real HTTP. Tests and the benchmark build on this; `npm start` runs the
 * same parts with the service under serverless-offline.
 */
import type { MachineBackend } from "./redfish-emulator/machine";
import { randomBytes, type KeyObject } from "node:crypto";
import { generateSiteKeyPair, parseSitePrivateKey } from "../lib/relay/site-seal";
import { RedfishDriver } from "../lib/bmc/redfish-driver";
import { sha256Hex } from "../lib/ids";
import { startRelayAgent, type RelayAgent } from "../relay/agent";
import type { BmcCredential } from "../relay/config";
import { startCinderEmulator, type QueueingOptions } from "./cinder-emulator/server";
import { startKmsEmulator, type KmsEmulator } from "./kms-emulator";
import { startDynalite, type RunningStore } from "./dynalite";
import { startRedfishEmulator, type RedfishEmulator } from "./redfish-emulator";
import { startServiceHost, type ServiceHost } from "./service-host";
import type { Deps } from "../lib/deps";

export const LAB_PROJECT = "2b9f9a3c5d6e4f708192a3b4c5d6e7f8";
export const LAB_SITE = "lab";
export const LAB_CREDENTIALS_REF = "lab-bmc";

export interface LocalStackOptions {
  powerDelayMs?: number;
  cinderCreateDelayMs?: number;
  /** the Cinder emulator queues as a real one does under load (lab/cinder-emulator/queueing.ts) */
  cinderQueueing?: QueueingOptions;
  leaseSeconds?: number;
  relay?: boolean;
  relayWaitSeconds?: number;
  /** seal secrets at rest with the KMS emulator instead of a local key (the AWS path) */
  kms?: boolean;
  /** more sites with their relay tokens (site isolation tests) */
  extraRelaySites?: Record<string, string>;
  /** seal target secrets to a generated key pair of the lab site (the relay gets the private half) */
  sealToSite?: boolean;
  /** commands the lab relay holds at once (the agent's default is 8) */
  relayConcurrency?: number;
  env?: Record<string, string>;
  overrides?: Partial<Deps>;
  /** more BMC logins for the relay (credentials_ref → login), for nodes at BMCs other than the lab's */
  extraCredentials?: Record<string, BmcCredential>;
  /**
   * run the sweeper every this many ms, as the schedule does on AWS (every minute) and `npm start`
   * does (every few seconds): retries after a failure wait for it. Off by default, so tests that
   * drive the sweeper themselves see only their own sweeps.
   */
  sweepMs?: number;
  /** back the lab BMC's machine-asking systems with this (lab/machine's QEMU backend) */
  machines?: MachineBackend;
  /**
   * a real Cinder instead of the emulator (noauth): the functions use it, and the API token's
   * project is its project, so the volumes created there are the caller's
   */
  realCinder?: { url: string; project: string };
  log?: (line: string) => void;
}

export interface LocalStack {
  store: RunningStore;
  cinder: Awaited<ReturnType<typeof startCinderEmulator>>;
  bmc: RedfishEmulator;
  kms: KmsEmulator | null;
  service: ServiceHost;
  relay: RelayAgent | null;
  apiToken: string;
  /** a caller of the same project with the admin role (the sites API) */
  adminToken: string;
  relayToken: string;
  project: string;
  /** start another relay agent for the lab site (a second relay, or one that replaces a dead one) */
  startRelay(opts?: { relayId?: string; driver?: RedfishDriver; heartbeatSeconds?: number; siteKey?: KeyObject | null; capabilities?: readonly string[] }): RelayAgent;
  /** stop every relay agent this stack started (the lab relay and any other): nobody leases until one starts again */
  stopRelays(): Promise<void>;
  close(): Promise<void>;
}

async function untilRelayHeard(service: ServiceHost, site: string, relayId: string): Promise<void> {
  for (const until = Date.now() + 15_000; Date.now() < until; ) {
    if ((await service.deps.store.listRelays(site)).some((r) => r.relay_id === relayId)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the lab relay ${relayId} never called the service`);
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const store = await startDynalite();
  const cinder = await startCinderEmulator({
    createDelayMs: opts.cinderCreateDelayMs ?? 0,
    deleteDelayMs: 0,
    // two portals: a multipath request gets a second path (the BMC's secondary target)
    portals: ["127.0.0.1:3260", "127.0.0.2:3260"],
    // a second backend, Fibre Channel, for volumes of type "fc"
    fcBackend: { targetWwpns: ["500a098186679c7d", "500a098196679c7d"] },
    ...(opts.cinderQueueing ? { queueing: opts.cinderQueueing } : {}),
  });
  const bmc = await startRedfishEmulator({ powerDelayMs: opts.powerDelayMs ?? 50, ...(opts.machines ? { machines: opts.machines } : {}) });
  const project = opts.realCinder?.project ?? LAB_PROJECT;
  const apiToken = `dev-${randomBytes(12).toString("hex")}`;
  const adminToken = `admin-${randomBytes(12).toString("hex")}`;
  const relayToken = `relay-${randomBytes(12).toString("hex")}`;
  const siteKeys = opts.sealToSite ? generateSiteKeyPair() : null;
  const kms = opts.kms ? await startKmsEmulator() : null;
  const service = await startServiceHost({
    env: {
      SANBOOT_STAGE: "local",
      SANBOOT_TABLE: "sanboot-local",
      SANBOOT_DYNAMODB_ENDPOINT: store.endpoint,
      SANBOOT_API_TOKENS: JSON.stringify({
        [sha256Hex(apiToken)]: { project_id: project, role: "member" },
        [sha256Hex(adminToken)]: { project_id: project, role: "admin" },
      }),
      SANBOOT_RELAY_TOKENS: JSON.stringify({
        [LAB_SITE]: sha256Hex(relayToken),
        ...Object.fromEntries(Object.entries(opts.extraRelaySites ?? {}).map(([site, token]) => [site, sha256Hex(token)])),
      }),
      ...(kms
        ? { SANBOOT_KMS_KEY_ID: kms.keyArn, SANBOOT_KMS_ENDPOINT: kms.url }
        : { SANBOOT_SECRET_KEY: randomBytes(32).toString("base64") }),
      SANBOOT_CINDER_URL: opts.realCinder?.url ?? cinder.url,
      SANBOOT_CINDER_PROJECT: project,
      SANBOOT_LEASE_SECONDS: String(opts.leaseSeconds ?? 30),
      SANBOOT_RELAY_POLL_MS: "25",
      SANBOOT_LOG_LEVEL: "warn",
      // EMF lines for every invocation would drown the tests' output; a test of the metrics turns them on
      SANBOOT_METRICS: "off",
      ...(siteKeys ? { SANBOOT_SITE_KEYS: JSON.stringify({ [LAB_SITE]: siteKeys.publicKeyPem }) } : {}),
      ...opts.env,
    },
    overrides: opts.overrides,
  });
  const credentials: Record<string, BmcCredential> = { [LAB_CREDENTIALS_REF]: { username: "admin", password: "password", ca: bmc.caPem }, ...opts.extraCredentials };
  const relays: RelayAgent[] = [];
  const startRelay: LocalStack["startRelay"] = (r = {}) => {
    const agent = startRelayAgent({
      serviceUrl: service.url,
      site: LAB_SITE,
      token: relayToken,
      relayId: r.relayId,
      credentials,
      driver: r.driver ?? new RedfishDriver({ pollIntervalMs: 25 }),
      waitSeconds: opts.relayWaitSeconds ?? 1,
      ...(opts.relayConcurrency !== undefined ? { concurrency: opts.relayConcurrency } : {}),
      heartbeatSeconds: r.heartbeatSeconds ?? Math.max(1, Math.floor((opts.leaseSeconds ?? 30) / 3)),
      stopTimeoutSeconds: 5,
      log: opts.log ?? (() => undefined),
      ...(r.capabilities ? { capabilities: r.capabilities } : {}),
      ...(r.siteKey !== null && siteKeys ? { siteKey: r.siteKey ?? parseSitePrivateKey(siteKeys.privateKeyPem) } : {}),
    });
    relays.push(agent);
    return agent;
  };
  const relay = opts.relay === false ? null : startRelay({ relayId: "relay-1" });
  // a boot is refused (SITE_RELAY_OFFLINE) until the site's relay has called: the stack is up when it has
  if (relay) await untilRelayHeard(service, LAB_SITE, "relay-1");
  let sweeping: NodeJS.Timeout | undefined;
  let sweepRun: Promise<unknown> = Promise.resolve();
  if (opts.sweepMs) {
    const tick = () => {
      sweepRun = service.invoke("sweeper", {}).catch(() => undefined).finally(() => {
        if (sweeping) sweeping = setTimeout(tick, opts.sweepMs);
      });
    };
    sweeping = setTimeout(tick, opts.sweepMs);
  }
  return {
    store,
    cinder,
    bmc,
    kms,
    service,
    relay,
    apiToken,
    adminToken,
    relayToken,
    project,
    startRelay,
    stopRelays: async () => {
      await Promise.all(relays.splice(0).map((r) => r.stop()));
    },
    close: async () => {
      clearTimeout(sweeping);
      sweeping = undefined;
      await sweepRun;
      // retries and polls still waiting for their time belong to this stack only
      service.dispatcher.cancelDelayed();
      await Promise.all(relays.map((r) => r.stop()));
      await service.close();
      await Promise.all([cinder.close(), bmc.close(), store.close(), kms?.close()]);
    },
  };
}
