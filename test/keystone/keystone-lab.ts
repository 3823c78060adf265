/**
 * A Keystone emulator and a Cinder emulator that trusts it, with the identities the tests use:
 * sanboot's user (member of its project), a service user (service role in the `service` project),
 * a user that holds the service role in sanboot's project itself, and an application credential.
 */
import { startCinderEmulator, type CinderEmulator } from "../../lab/cinder-emulator/server";
import { cinderServices, startKeystoneEmulator, type KeystoneEmulator } from "../../lab/keystone-emulator/server";
import type { Clock } from "../../lib/clock";
import { CinderClient } from "../../lib/cinder/cinder-client";
import { CinderTransport, type KeystoneCinderConfig } from "../../lib/cinder/cinder-transport";
import type { KeystoneSettings } from "../../lib/cinder/keystone-auth";

export const SANBOOT_PASSWORD = "pw-of-sanboot-Xq7!";
export const SERVICE_PASSWORD = "pw-of-svc-Lk2#";
export const WITH_SERVICE_ROLE_PASSWORD = "pw-of-ops-Zz9$";
export const APP_CRED_ID = "3c5e0a1d2b4f4e6a8c9d0e1f2a3b4c5d";
export const APP_CRED_SECRET = "app-cred-secret-Mn4%";

export interface KeystoneLab {
  keystone: KeystoneEmulator;
  cinder: CinderEmulator;
  /** sanboot's project id, as Keystone made it */
  project: string;
  /** the Keystone clock (a mutable offset on the real one) */
  keystoneSkipMs: { value: number };
  close(): Promise<void>;
}

export async function startKeystoneLab(opts: { tokenLifetimeSeconds?: number; region?: string } = {}): Promise<KeystoneLab> {
  const keystoneSkipMs = { value: 0 };
  const keystone = await startKeystoneEmulator({
    tokenLifetimeSeconds: opts.tokenLifetimeSeconds ?? 3600,
    now: () => new Date(Date.now() + keystoneSkipMs.value),
    projects: [{ name: "sanboot" }, { name: "service" }],
    users: [
      { name: "sanboot", password: SANBOOT_PASSWORD, roles: { sanboot: ["member", "admin"] } },
      { name: "cinder-svc", password: SERVICE_PASSWORD, roles: { service: ["service"] } },
      { name: "sanboot-ops", password: WITH_SERVICE_ROLE_PASSWORD, roles: { sanboot: ["member", "admin", "service"] } },
    ],
    applicationCredentials: [{ id: APP_CRED_ID, name: "sanboot-boot", secret: APP_CRED_SECRET, user: "sanboot", project: "sanboot" }],
    services: [],
  });
  const cinder = await startCinderEmulator({ port: 0, createDelayMs: 10, keystoneUrl: keystone.url });
  keystone.setServices(cinderServices(cinder.url, opts.region ?? "RegionOne"));
  return {
    keystone,
    cinder,
    project: keystone.projectId("sanboot"),
    keystoneSkipMs,
    close: async () => {
      await cinder.close();
      await keystone.close();
    },
  };
}

export function passwordSettings(lab: KeystoneLab, over: Partial<KeystoneSettings> = {}): Omit<KeystoneSettings, "timeoutMs"> {
  return {
    authUrl: `${lab.keystone.url}/v3`,
    credentials: {
      method: "password",
      username: "sanboot",
      userDomainName: "Default",
      password: SANBOOT_PASSWORD,
      project: { name: "sanboot", domainName: "Default" },
    },
    service: {
      kind: "separate",
      credentials: {
        method: "password",
        username: "cinder-svc",
        userDomainName: "Default",
        password: SERVICE_PASSWORD,
        project: { name: "service", domainName: "Default" },
      },
    },
    interface: "public",
    ...over,
  };
}

export function keystoneClient(
  settings: Omit<KeystoneSettings, "timeoutMs">,
  opts: { clock?: Clock; maxVersion?: string } = {},
): CinderClient {
  const config: KeystoneCinderConfig = {
    auth: "keystone",
    keystone: settings,
    timeoutMs: 5_000,
    ...(opts.maxVersion ? { max_microversion: opts.maxVersion } : {}),
  };
  const transport = new CinderTransport(config, opts.clock ? { clock: opts.clock } : {});
  return new CinderClient(config, { transport, sleep: async () => undefined, random: () => 0.5 });
}

/** A clock that stands still until moved. */
export function manualClock(start = new Date()): Clock & { advance(ms: number): void } {
  let t = start.getTime();
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}
