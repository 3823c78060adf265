/**
 * SANBOOT_AUTH=keystone: callers' Keystone tokens validated with the Keystone emulator (as strict
 * as Keystone's policy: only the token's subject or a service / admin token may validate it),
 * through the whole API (member, reader, admin, another project's member, revoked, expired, no
 * role, unscoped, X-Auth-Token) and, for the cache and the failure modes, KeystoneCallers itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { LAB_CREDENTIALS_REF, LAB_SITE, startLocalStack, type LocalStack } from "../../lab/local-stack";
import { startKeystoneEmulator, type KeystoneEmulator } from "../../lab/keystone-emulator/server";
import { KeystoneCallers } from "../../lib/http/keystone-callers";
import type { SanbootError } from "../../lib/errors";
import { Api } from "../support/api";

const PW = "pw-keystone-callers-9!";
let keystone: KeystoneEmulator;
let stack: LocalStack;
const skew = { ms: 0 };

beforeAll(async () => {
  keystone = await startKeystoneEmulator({
    tokenLifetimeSeconds: 600,
    now: () => new Date(Date.now() + skew.ms),
    projects: [{ name: "fleet-a" }, { name: "fleet-b" }, { name: "service" }],
    users: [
      { name: "sanboot-svc", password: PW, roles: { service: ["service"] } },
      { name: "weak-svc", password: PW, roles: { service: ["member"] } },
      { name: "alice", password: PW, roles: { "fleet-a": ["member"] } },
      { name: "rita", password: PW, roles: { "fleet-a": ["reader"] } },
      { name: "bob", password: PW, roles: { "fleet-b": ["member"] } },
      { name: "root", password: PW, roles: { "fleet-a": ["admin"] } },
      { name: "olga", password: PW, roles: { "fleet-a": ["observer"] } },
    ],
    services: [],
  });
  stack = await startLocalStack({
    powerDelayMs: 20,
    env: {
      SANBOOT_AUTH: "keystone",
      SANBOOT_KEYSTONE_URL: keystone.url,
      SANBOOT_KEYSTONE_SERVICE_USERNAME: "sanboot-svc",
      SANBOOT_KEYSTONE_SERVICE_PASSWORD: PW,
      SANBOOT_KEYSTONE_SERVICE_PROJECT_NAME: "service",
      // every call asks Keystone: revocation shows at once
      SANBOOT_AUTH_CACHE_SECONDS: "0",
    },
  });
});
afterAll(async () => {
  await stack?.close();
  await keystone?.close();
});

async function tokenOf(user: string, project: string | null): Promise<string> {
  const res = await request(`${keystone.url}/v3/auth/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      auth: {
        identity: { methods: ["password"], password: { user: { name: user, domain: { name: "Default" }, password: PW } } },
        ...(project ? { scope: { project: { name: project, domain: { name: "Default" } } } } : {}),
      },
    }),
  });
  await res.body.text();
  expect(res.statusCode).toBe(201);
  return String(res.headers["x-subject-token"]);
}

const as = (token: string) => new Api(stack.service.url, token);
let n = 0;
async function enroll(api: Api) {
  n++;
  const id = `ks-${n}`;
  const mac = `02:00:5e:99:00:${n.toString(16).padStart(2, "0")}`;
  stack.bmc.addSystem({ id, mac, powerState: "Off" });
  return api.post("/v1/nodes", { site: LAB_SITE, bmc: { driver: "auto", address: stack.bmc.url, system_id: id, credentials_ref: LAB_CREDENTIALS_REF }, mac_address: mac });
}

describe("callers with Keystone tokens", () => {
  it("a member acts in its token's project; a reader only reads it; another project's member sees none of it; an admin sees all", async () => {
    const alice = as(await tokenOf("alice", "fleet-a"));
    const created = await enroll(alice);
    expect(created.status, created.text).toBe(201);
    expect(created.body.project_id).toBe(keystone.projectId("fleet-a"));
    const nodeId = created.body.node_id as string;

    const rita = as(await tokenOf("rita", "fleet-a"));
    expect((await rita.get(`/v1/nodes/${nodeId}`)).status).toBe(200);
    const refused = await enroll(rita);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: "FORBIDDEN", message: expect.stringMatching(/reader may only read/) });
    expect((await rita.delete(`/v1/nodes/${nodeId}`)).status).toBe(403);

    const bob = as(await tokenOf("bob", "fleet-b"));
    expect((await bob.get(`/v1/nodes/${nodeId}`)).body.error.code).toBe("NODE_NOT_FOUND");
    expect((await bob.get("/v1/nodes")).body.nodes.map((x: { node_id: string }) => x.node_id)).not.toContain(nodeId);

    const bobs = await enroll(bob);
    const root = as(await tokenOf("root", "fleet-a"));
    expect((await root.get(`/v1/nodes/${bobs.body.node_id}`)).status).toBe(200);
  });

  it("takes the token as X-Auth-Token too, as OpenStack clients send it", async () => {
    const token = await tokenOf("alice", "fleet-a");
    const res = await new Api(stack.service.url, null).call("GET", "/v1/nodes", undefined, { "x-auth-token": token });
    expect(res.status).toBe(200);
  });

  it("a revoked token is refused at once (no cache here)", async () => {
    const token = await tokenOf("alice", "fleet-a");
    expect((await as(token).get("/v1/nodes")).status).toBe(200);
    const svc = await tokenOf("sanboot-svc", "service");
    const revoke = await request(`${keystone.url}/v3/auth/tokens`, { method: "DELETE", headers: { "x-auth-token": svc, "x-subject-token": token } });
    await revoke.body.text();
    expect(revoke.statusCode).toBe(204);
    const res = await as(token).get("/v1/nodes");
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: "UNAUTHENTICATED", message: expect.stringMatching(/expired, revoked/) });
  });

  it("an expired token is refused", async () => {
    const token = await tokenOf("alice", "fleet-a");
    skew.ms = 601_000;
    try {
      expect((await as(token).get("/v1/nodes")).status).toBe(401);
    } finally {
      skew.ms = 0;
    }
  });

  it("refuses a token without a sanboot role, an unscoped one, and garbage, saying why", async () => {
    const olga = await as(await tokenOf("olga", "fleet-a")).get("/v1/nodes");
    expect(olga.status).toBe(403);
    expect(olga.body.error.message).toMatch(/roles \(observer\) give no access.*member, admin, or reader/);
    const unscoped = await as(await tokenOf("alice", null)).get("/v1/nodes");
    expect(unscoped.status).toBe(403);
    expect(unscoped.body.error.message).toMatch(/not scoped to a project/);
    expect((await as("gAAAAA-not-a-token").get("/v1/nodes")).status).toBe(401);
    expect((await new Api(stack.service.url, null).get("/v1/nodes")).status).toBe(401);
  });
});

describe("KeystoneCallers", () => {
  const clock = { now: () => new Date() };
  const settings = (over: Partial<ConstructorParameters<typeof KeystoneCallers>[0]> = {}) => ({
    authUrl: keystone.url,
    validator: { method: "password" as const, username: "sanboot-svc", userDomainName: "Default", password: PW, project: { name: "service", domainName: "Default" } },
    validatorHint: "the SANBOOT_KEYSTONE_SERVICE_* variables",
    timeoutMs: 3_000,
    cacheSeconds: 60,
    ...over,
  });

  it("caches an answer (Keystone is asked once), and never past the token's expiry", async () => {
    const callers = new KeystoneCallers(settings(), clock);
    try {
      const token = await tokenOf("alice", "fleet-a");
      const before = keystone.stats().validations;
      expect(await callers.caller(token)).toEqual({ project_id: keystone.projectId("fleet-a"), role: "member" });
      await callers.caller(token);
      expect(keystone.stats().validations - before).toBe(1);
      // ten minutes on: the cache would still hold it, the token has expired
      const later = new KeystoneCallers(settings({ cacheSeconds: 3600 }), { now: () => new Date(Date.now() + 601_000) });
      skew.ms = 601_000;
      await expect(later.caller(token)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
      await later.close();
    } finally {
      skew.ms = 0;
      await callers.close();
    }
  });

  it("a validator without the service role, and an unreachable Keystone, are AUTH_UNAVAILABLE (503), not the caller's fault", async () => {
    const weak = new KeystoneCallers(settings({ validator: { method: "password", username: "weak-svc", userDomainName: "Default", password: PW, project: { name: "service", domainName: "Default" } } }), clock);
    const down = new KeystoneCallers(settings({ authUrl: "http://127.0.0.1:9", timeoutMs: 1_000 }), clock);
    try {
      const token = await tokenOf("alice", "fleet-a");
      const e1 = (await weak.caller(token).catch((e: unknown) => e)) as SanbootError;
      expect(e1).toMatchObject({ code: "AUTH_UNAVAILABLE", retryable: true });
      expect(e1.message).toMatch(/needs the service or admin role/);
      expect(e1.message).not.toContain(PW);
      const e2 = (await down.caller(token).catch((e: unknown) => e)) as SanbootError;
      expect(e2.code).toBe("AUTH_UNAVAILABLE");
      expect(e2.message).not.toContain(token);
    } finally {
      await weak.close();
      await down.close();
    }
  });
});
