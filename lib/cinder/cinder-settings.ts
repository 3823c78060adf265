/**
 * From the service's configuration (lib/config.ts) to the Cinder client's: which auth, which
 * credentials, which service token. The schema lives in lib/config.ts; the rules that tie its
 * variables together live here, next to the code that needs them.
 */
import type { Config } from "../config";
import type { CinderConfig } from "./cinder-transport";
import type { ServiceTokenSource } from "./keystone-auth";
import type { KeystoneCredentials, ProjectScope } from "./keystone-tokens";

type CinderVars = Pick<
  Config,
  Extract<keyof Config, `SANBOOT_CINDER_${string}` | `SANBOOT_KEYSTONE_${string}`>
>;

/** What is missing or contradictory, one line each; empty when the configuration holds together. */
export function cinderConfigProblems(c: CinderVars): string[] {
  if (c.SANBOOT_CINDER_AUTH === "noauth") {
    const missing = (["SANBOOT_CINDER_URL", "SANBOOT_CINDER_PROJECT"] as const).filter((k) => !c[k]);
    return missing.map((k) => `${k}: required with SANBOOT_CINDER_AUTH=noauth`);
  }
  const problems: string[] = [];
  if (!c.SANBOOT_KEYSTONE_URL) problems.push("SANBOOT_KEYSTONE_URL: required with SANBOOT_CINDER_AUTH=keystone");
  if (c.SANBOOT_KEYSTONE_APP_CRED_ID) {
    if (!c.SANBOOT_KEYSTONE_APP_CRED_SECRET) problems.push("SANBOOT_KEYSTONE_APP_CRED_SECRET: required with SANBOOT_KEYSTONE_APP_CRED_ID");
  } else {
    if (!c.SANBOOT_KEYSTONE_USERNAME || !c.SANBOOT_KEYSTONE_PASSWORD) {
      problems.push("SANBOOT_KEYSTONE_USERNAME and SANBOOT_KEYSTONE_PASSWORD (or SANBOOT_KEYSTONE_APP_CRED_ID and _SECRET): required with SANBOOT_CINDER_AUTH=keystone");
    }
    if (!c.SANBOOT_KEYSTONE_PROJECT_ID && !c.SANBOOT_KEYSTONE_PROJECT_NAME) {
      problems.push("SANBOOT_KEYSTONE_PROJECT_ID or SANBOOT_KEYSTONE_PROJECT_NAME: required for password authentication");
    }
  }
  if (c.SANBOOT_KEYSTONE_SERVICE_USERNAME && !c.SANBOOT_KEYSTONE_SERVICE_PASSWORD) {
    problems.push("SANBOOT_KEYSTONE_SERVICE_PASSWORD: required with SANBOOT_KEYSTONE_SERVICE_USERNAME");
  }
  if (c.SANBOOT_KEYSTONE_SERVICE_APP_CRED_ID && !c.SANBOOT_KEYSTONE_SERVICE_APP_CRED_SECRET) {
    problems.push("SANBOOT_KEYSTONE_SERVICE_APP_CRED_SECRET: required with SANBOOT_KEYSTONE_SERVICE_APP_CRED_ID");
  }
  return problems;
}

/** Assumes cinderConfigProblems(c) came back empty (loadConfig checks it). */
export function cinderConfigFrom(c: CinderVars): CinderConfig {
  const common = {
    timeoutMs: c.SANBOOT_CINDER_TIMEOUT_MS,
    volumeServiceTimeoutMs: c.SANBOOT_CINDER_VOLUME_TIMEOUT_MS,
    maxInFlight: c.SANBOOT_CINDER_MAX_IN_FLIGHT,
    ...(c.SANBOOT_CINDER_MAX_MICROVERSION ? { max_microversion: c.SANBOOT_CINDER_MAX_MICROVERSION } : {}),
  };
  if (c.SANBOOT_CINDER_AUTH === "noauth") {
    return { auth: "noauth", endpoint: c.SANBOOT_CINDER_URL!, project_id: c.SANBOOT_CINDER_PROJECT!, user: c.SANBOOT_CINDER_USER, service_roles_header: true, ...common };
  }
  const credentials = mainCredentials(c);
  const service = serviceSource(c);
  return {
    auth: "keystone",
    keystone: {
      authUrl: c.SANBOOT_KEYSTONE_URL ?? "",
      credentials,
      service,
      serviceRoles: c.SANBOOT_KEYSTONE_SERVICE_TOKEN_ROLES,
      interface: c.SANBOOT_KEYSTONE_INTERFACE,
      ...(c.SANBOOT_KEYSTONE_REGION ? { region: c.SANBOOT_KEYSTONE_REGION } : {}),
    },
    ...common,
  };
}

type AuthVars = CinderVars & Pick<Config, "SANBOOT_AUTH">;

/** SANBOOT_AUTH=keystone: what is missing to validate callers' tokens. */
export function callerAuthProblems(c: AuthVars): string[] {
  if (c.SANBOOT_AUTH !== "keystone") return [];
  const problems: string[] = [];
  if (!c.SANBOOT_KEYSTONE_URL) problems.push("SANBOOT_KEYSTONE_URL: required with SANBOOT_AUTH=keystone");
  if (!keystoneValidator(c)) {
    problems.push(
      "SANBOOT_AUTH=keystone validates callers' tokens with a token of its own: set the SANBOOT_KEYSTONE_SERVICE_* credentials (a user with the service role), or sanboot's own SANBOOT_KEYSTONE_* credentials",
    );
  }
  return problems;
}

/**
 * Whose token validates callers' tokens: the service user (Keystone's policy lets the `service`
 * role validate any token), else sanboot's own user; undefined when neither is configured.
 */
export function keystoneValidator(c: CinderVars): { credentials: KeystoneCredentials; hint: string } | undefined {
  const service = serviceSource(c);
  if (service.kind === "separate") return { credentials: service.credentials, hint: "the SANBOOT_KEYSTONE_SERVICE_* variables" };
  if (c.SANBOOT_KEYSTONE_APP_CRED_ID || (c.SANBOOT_KEYSTONE_USERNAME && c.SANBOOT_KEYSTONE_PASSWORD)) {
    return { credentials: mainCredentials(c), hint: "the SANBOOT_KEYSTONE_* variables (sanboot's own user)" };
  }
  return undefined;
}

function mainCredentials(c: CinderVars): KeystoneCredentials {
  const project: ProjectScope = c.SANBOOT_KEYSTONE_PROJECT_ID
    ? { id: c.SANBOOT_KEYSTONE_PROJECT_ID }
    : { name: c.SANBOOT_KEYSTONE_PROJECT_NAME ?? "", domainName: c.SANBOOT_KEYSTONE_PROJECT_DOMAIN_NAME };
  return c.SANBOOT_KEYSTONE_APP_CRED_ID
    ? { method: "application_credential", id: c.SANBOOT_KEYSTONE_APP_CRED_ID, secret: c.SANBOOT_KEYSTONE_APP_CRED_SECRET ?? "" }
    : {
        method: "password",
        username: c.SANBOOT_KEYSTONE_USERNAME ?? "",
        userDomainName: c.SANBOOT_KEYSTONE_USER_DOMAIN_NAME,
        password: c.SANBOOT_KEYSTONE_PASSWORD ?? "",
        project,
      };
}

function serviceSource(c: CinderVars): ServiceTokenSource {
  if (c.SANBOOT_KEYSTONE_SERVICE_APP_CRED_ID) {
    return {
      kind: "separate",
      credentials: { method: "application_credential", id: c.SANBOOT_KEYSTONE_SERVICE_APP_CRED_ID, secret: c.SANBOOT_KEYSTONE_SERVICE_APP_CRED_SECRET ?? "" },
    };
  }
  if (c.SANBOOT_KEYSTONE_SERVICE_USERNAME) {
    return {
      kind: "separate",
      credentials: {
        method: "password",
        username: c.SANBOOT_KEYSTONE_SERVICE_USERNAME,
        userDomainName: c.SANBOOT_KEYSTONE_SERVICE_USER_DOMAIN_NAME,
        password: c.SANBOOT_KEYSTONE_SERVICE_PASSWORD ?? "",
        project: { name: c.SANBOOT_KEYSTONE_SERVICE_PROJECT_NAME, domainName: c.SANBOOT_KEYSTONE_SERVICE_PROJECT_DOMAIN_NAME },
      },
    };
  }
  return c.SANBOOT_KEYSTONE_SERVICE_TOKEN_FROM_MAIN ? { kind: "main" } : { kind: "none" };
}
