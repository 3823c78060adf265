/** Configuration → the Cinder client's auth, and the catalog rule, as tables. */
import { describe, expect, it } from "vitest";
import { cinderConfigFrom, cinderConfigProblems } from "../../lib/cinder/cinder-settings";
import { blockStorageEndpoint, type ServiceCatalog } from "../../lib/cinder/service-catalog";
import { ConfigError, loadConfig } from "../../lib/config";

const BASE = { SANBOOT_SECRET_KEY: Buffer.alloc(32, 1).toString("base64") };

describe("SANBOOT_CINDER_AUTH and SANBOOT_KEYSTONE_*", () => {
  it("noauth needs the Cinder URL and project", () => {
    expect(() => loadConfig({ ...BASE })).toThrow(ConfigError);
    expect(() => loadConfig({ ...BASE })).toThrow(/SANBOOT_CINDER_URL: required with SANBOOT_CINDER_AUTH=noauth/);
    const c = loadConfig({ ...BASE, SANBOOT_CINDER_URL: "http://127.0.0.1:8776", SANBOOT_CINDER_PROJECT: "ab12" });
    expect(cinderConfigFrom(c)).toMatchObject({ auth: "noauth", endpoint: "http://127.0.0.1:8776", project_id: "ab12", service_roles_header: true });
  });

  it("keystone with a password: project by name, a separate service user, interface and region", () => {
    const c = loadConfig({
      ...BASE,
      SANBOOT_CINDER_AUTH: "keystone",
      SANBOOT_KEYSTONE_URL: "https://keystone.example:5000/v3",
      SANBOOT_KEYSTONE_USERNAME: "sanboot",
      SANBOOT_KEYSTONE_PASSWORD: "pw",
      SANBOOT_KEYSTONE_PROJECT_NAME: "baremetal",
      SANBOOT_KEYSTONE_INTERFACE: "internal",
      SANBOOT_KEYSTONE_REGION: "RegionTwo",
      SANBOOT_KEYSTONE_SERVICE_USERNAME: "sanboot-svc",
      SANBOOT_KEYSTONE_SERVICE_PASSWORD: "svc-pw",
      SANBOOT_CINDER_MAX_MICROVERSION: "3.43",
    });
    expect(cinderConfigFrom(c)).toEqual({
      auth: "keystone",
      timeoutMs: 15_000,
      volumeServiceTimeoutMs: 90_000,
      maxInFlight: 8,
      max_microversion: "3.43",
      keystone: {
        authUrl: "https://keystone.example:5000/v3",
        credentials: { method: "password", username: "sanboot", userDomainName: "Default", password: "pw", project: { name: "baremetal", domainName: "Default" } },
        service: {
          kind: "separate",
          credentials: { method: "password", username: "sanboot-svc", userDomainName: "Default", password: "svc-pw", project: { name: "service", domainName: "Default" } },
        },
        serviceRoles: ["service"],
        interface: "internal",
        region: "RegionTwo",
      },
    });
  });

  it("takes the roles a service token may hold from SANBOOT_KEYSTONE_SERVICE_TOKEN_ROLES, comma-separated", () => {
    const base = { SANBOOT_CINDER_AUTH: "keystone", SANBOOT_KEYSTONE_URL: "https://keystone.example:5000", SANBOOT_KEYSTONE_APP_CRED_ID: "id1", SANBOOT_KEYSTONE_APP_CRED_SECRET: "s", SANBOOT_SECRET_KEY: Buffer.alloc(32).toString("base64") };
    const roles = (env: Record<string, string>) => {
      const c = cinderConfigFrom(loadConfig({ ...base, ...env }));
      return c.auth === "keystone" ? c.keystone.serviceRoles : null;
    };
    expect(roles({})).toEqual(["service"]);
    expect(roles({ SANBOOT_KEYSTONE_SERVICE_TOKEN_ROLES: "service, cinder-service" })).toEqual(["service", "cinder-service"]);
    expect(() => loadConfig({ ...base, SANBOOT_KEYSTONE_SERVICE_TOKEN_ROLES: " , " })).toThrow(/SANBOOT_KEYSTONE_SERVICE_TOKEN_ROLES/);
  });

  it.each([
    [{ SANBOOT_KEYSTONE_APP_CRED_ID: "id1", SANBOOT_KEYSTONE_APP_CRED_SECRET: "s" }, { kind: "none" }],
    [{ SANBOOT_KEYSTONE_APP_CRED_ID: "id1", SANBOOT_KEYSTONE_APP_CRED_SECRET: "s", SANBOOT_KEYSTONE_SERVICE_TOKEN_FROM_MAIN: "true" }, { kind: "main" }],
    [
      { SANBOOT_KEYSTONE_APP_CRED_ID: "id1", SANBOOT_KEYSTONE_APP_CRED_SECRET: "s", SANBOOT_KEYSTONE_SERVICE_APP_CRED_ID: "id2", SANBOOT_KEYSTONE_SERVICE_APP_CRED_SECRET: "s2" },
      { kind: "separate", credentials: { method: "application_credential", id: "id2", secret: "s2" } },
    ],
  ])("keystone with an application credential: service token %o → %o", (vars, service) => {
    const c = loadConfig({ ...BASE, SANBOOT_CINDER_AUTH: "keystone", SANBOOT_KEYSTONE_URL: "https://ks:5000", ...vars });
    const out = cinderConfigFrom(c);
    expect(out.auth === "keystone" && out.keystone.credentials).toEqual({ method: "application_credential", id: "id1", secret: "s" });
    expect(out.auth === "keystone" && out.keystone.service).toEqual(service);
  });

  it("keystone without credentials names every missing variable", () => {
    const c = { ...loadConfig({ ...BASE, SANBOOT_CINDER_URL: "http://x:1", SANBOOT_CINDER_PROJECT: "ab" }), SANBOOT_CINDER_AUTH: "keystone" as const };
    expect(cinderConfigProblems(c)).toEqual([
      "SANBOOT_KEYSTONE_URL: required with SANBOOT_CINDER_AUTH=keystone",
      "SANBOOT_KEYSTONE_USERNAME and SANBOOT_KEYSTONE_PASSWORD (or SANBOOT_KEYSTONE_APP_CRED_ID and _SECRET): required with SANBOOT_CINDER_AUTH=keystone",
      "SANBOOT_KEYSTONE_PROJECT_ID or SANBOOT_KEYSTONE_PROJECT_NAME: required for password authentication",
    ]);
  });
});

describe("choosing Cinder's endpoint from the catalog", () => {
  const ep = (iface: string, region: string, url: string) => ({ interface: iface, region, region_id: region, url });
  const catalog: ServiceCatalog = [
    { type: "volumev3", endpoints: [ep("public", "R1", "http://v3-public-r1"), ep("internal", "R2", "http://v3-internal-r2")] },
    { type: "block-storage", endpoints: [ep("public", "R1", "http://bs-public-r1"), ep("public", "R2", "http://bs-public-r2")] },
    { type: "compute", endpoints: [ep("internal", "R1", "http://nova")] },
  ];

  it.each([
    [{ interface: "public" as const }, "http://bs-public-r1"],
    [{ interface: "public" as const, region: "R2" }, "http://bs-public-r2"],
    [{ interface: "internal" as const }, "http://v3-internal-r2"],
    [{ interface: "internal" as const, region: "R2" }, "http://v3-internal-r2"],
  ])("%o → %s (block-storage first, then volumev3)", (choice, url) => {
    expect(blockStorageEndpoint(catalog, choice)).toBe(url);
  });

  it("nothing for the choice is CINDER_AUTH_FAILED listing the candidates", () => {
    expect(() => blockStorageEndpoint(catalog, { interface: "admin" })).toThrow(/volumev3 public R1, volumev3 internal R2, block-storage public R1/);
    expect(() => blockStorageEndpoint(catalog, { interface: "admin" })).toThrow(expect.objectContaining({ code: "CINDER_AUTH_FAILED" }));
  });
});
