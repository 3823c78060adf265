/**
 * The BlockStorage contract (contract.ts) against a real Keystone and a Keystone-protected
 * cinder-api: the lab of /work/shared/labs/keystone (its up.sh, after the Cinder lab's). Runs
 * only with SANBOOT_TEST_KEYSTONE_ENV naming the lab's env file (ids and secrets, mode 600):
 *
 *   bash ../shared/labs/keystone/up.sh
 *   SANBOOT_TEST_KEYSTONE_ENV=/var/tmp/keystone-lab/state/lab.env npm run test:cinder:keystone
 *
 * The client under test is configured the way an operator configures sanboot: SANBOOT_*
 * variables through lib/config.ts and cinderConfigFrom (lib/cinder/cinder-settings.ts), so it
 * gets a token from Keystone, finds Cinder in the token's catalog (block-storage, public,
 * http://127.0.0.1:8786/v3/<project>) and detaches with a service token. Identities, each a run:
 * - password, member only: user `sanboot` in project sanboot-lab (the way sanboot runs), service
 *   token from the password of user `cinder` in project `service`;
 * - password, admin: user `sanboot-admin` (member + admin of sanboot-lab), same service user;
 * - application credentials, member only: `ks-sanboot` (role member), service token from the
 *   application credential `ks-cinder-svc` (role service);
 * - the same, with the client capped at 3.43 (the legacy actions, their service-token detach).
 * The member runs skip the cases named "(needs admin: ...)" (what Cinder's policy shows to admins
 * only) and run the "member-only: ..." ones; the admin run covers the former.
 *
 * The suite's own admin helper (CinderAdmin: creating volumes, another project's volume,
 * inspecting and clearing attachments) keeps using the noauth cinder-api of the Cinder lab
 * (SANBOOT_TEST_CINDER_URL, default http://127.0.0.1:8776), which serves the same Cinder
 * database as the Keystone one on 8786, with the Keystone projects' ids; so what it sees is what
 * the Keystone-authenticated client did. The fault-injecting proxy of real.contract.test.ts is not
 * used: the client must reach Cinder through the catalog, and the fault cases run in the noauth
 * suite (npm run test:cinder).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cinderConfigFrom } from "../../lib/cinder/cinder-settings";
import type { KeystoneCinderConfig } from "../../lib/cinder/cinder-transport";
import { loadConfig } from "../../lib/config";
import { clientOf, describeCinderContract, type TargetTraits } from "./contract";

const envFile = process.env["SANBOOT_TEST_KEYSTONE_ENV"];
const adminUrl = (process.env["SANBOOT_TEST_CINDER_URL"] ?? "http://127.0.0.1:8776").replace(/\/+$/, "");

/** KEY=VALUE lines, as up.sh writes them (no quoting: its secrets are URL-safe base64). */
function readLabEnv(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  for (const k of ["KS_URL", "CINDER_KS_URL", "PROJECT_SANBOOT_LAB", "PROJECT_KS_OTHER", "SANBOOT_PASSWORD", "SADMIN_PASSWORD", "CINDER_PASSWORD", "APPCRED_ID", "APPCRED_SECRET", "SVC_APPCRED_ID", "SVC_APPCRED_SECRET"]) {
    if (!out[k]) throw new Error(`${path} has no ${k}: run the Keystone lab's up.sh to the end`);
  }
  return out;
}

interface Identity {
  name: string;
  env: Record<string, string>;
  traits: TargetTraits;
}

function identities(lab: Record<string, string>): Identity[] {
  const common = {
    SANBOOT_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
    SANBOOT_CINDER_AUTH: "keystone",
    SANBOOT_KEYSTONE_URL: `${lab["KS_URL"]}/v3`,
    SANBOOT_KEYSTONE_INTERFACE: "public",
    SANBOOT_KEYSTONE_REGION: "RegionOne",
  };
  const servicePassword = { SANBOOT_KEYSTONE_SERVICE_USERNAME: "cinder", SANBOOT_KEYSTONE_SERVICE_PASSWORD: lab["CINDER_PASSWORD"]!, SANBOOT_KEYSTONE_SERVICE_PROJECT_NAME: "service" };
  const serviceAppCred = { SANBOOT_KEYSTONE_SERVICE_APP_CRED_ID: lab["SVC_APPCRED_ID"]!, SANBOOT_KEYSTONE_SERVICE_APP_CRED_SECRET: lab["SVC_APPCRED_SECRET"]! };
  const password = (user: string, pw: string) => ({ SANBOOT_KEYSTONE_USERNAME: user, SANBOOT_KEYSTONE_PASSWORD: pw, SANBOOT_KEYSTONE_PROJECT_NAME: "sanboot-lab" });
  const appCred = { SANBOOT_KEYSTONE_APP_CRED_ID: lab["APPCRED_ID"]!, SANBOOT_KEYSTONE_APP_CRED_SECRET: lab["APPCRED_SECRET"]! };
  return [
    { name: "password, member-only user sanboot", env: { ...common, ...password("sanboot", lab["SANBOOT_PASSWORD"]!), ...servicePassword }, traits: { faults: false, mode: "attachments", memberOnly: true } },
    { name: "password, admin user sanboot-admin", env: { ...common, ...password("sanboot-admin", lab["SADMIN_PASSWORD"]!), ...servicePassword }, traits: { faults: false, mode: "attachments" } },
    { name: "application credential ks-sanboot (member)", env: { ...common, ...appCred, ...serviceAppCred }, traits: { faults: false, mode: "attachments", memberOnly: true } },
    {
      name: "application credential ks-sanboot (member), client capped at 3.43",
      env: { ...common, ...appCred, ...serviceAppCred, SANBOOT_CINDER_MAX_MICROVERSION: "3.43" },
      traits: { faults: false, mode: "legacy", memberOnly: true },
    },
  ];
}

function keystoneConfig(env: Record<string, string>): KeystoneCinderConfig {
  const config = cinderConfigFrom(loadConfig(env));
  if (config.auth !== "keystone") throw new Error("expected a Keystone configuration");
  // the contract's calls are quick; a real Cinder's slow ones (exports) get the volume-service timeout
  return { ...config, timeoutMs: 10_000 };
}

const skipReason = envFile ? "" : " (skipped: SANBOOT_TEST_KEYSTONE_ENV is unset; start ../shared/labs/keystone/up.sh and set it to its state/lab.env)";
describe.skipIf(!envFile)(`real Keystone and a Keystone-protected Cinder (SANBOOT_TEST_KEYSTONE_ENV)${skipReason}`, () => {
  const lab = envFile ? readLabEnv(envFile) : {};
  const project = lab["PROJECT_SANBOOT_LAB"] ?? "";
  for (const who of envFile ? identities(lab) : []) {
    describe(who.name, () => {
      it("authenticates with Keystone and takes Cinder's endpoint and project from the token's catalog", async () => {
        const client = clientOf(keystoneConfig(who.env));
        try {
          expect(await client.transport.endpoint()).toBe(lab["CINDER_KS_URL"]);
          expect(await client.mode()).toBe(who.traits.mode);
          // the volume list of the token's project, through keystonemiddleware
          const reply = await client.transport.call({ method: "GET", path: "/volumes" });
          expect(reply.status).toBe(200);
        } finally {
          await client.close();
        }
      });
      describeCinderContract(
        `the Keystone-protected Cinder at ${lab["CINDER_KS_URL"]} as ${who.name}`,
        () => ({ url: adminUrl, project, otherProject: lab["PROJECT_KS_OTHER"]!, clientConfig: keystoneConfig(who.env), adminVersion: "3.70" }),
        who.traits,
      );
    });
  }
});

