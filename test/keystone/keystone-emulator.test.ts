/**
 * The lab Keystone answers as the identity v3 API reference says: tokens for a password or an
 * application credential, Keystone's error bodies, validation and revocation; and the Cinder
 * emulator in keystone mode refuses what keystonemiddleware would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { APP_CRED_ID, APP_CRED_SECRET, SANBOOT_PASSWORD, startKeystoneLab, type KeystoneLab } from "./keystone-lab";

let lab: KeystoneLab;
beforeAll(async () => {
  lab = await startKeystoneLab({ tokenLifetimeSeconds: 600 });
});
afterAll(() => lab.close());

async function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; base?: string } = {}) {
  const res = await request(`${opts.base ?? lab.keystone.url}${path}`, {
    method: method as "GET",
    headers: { ...(opts.body === undefined ? {} : { "Content-Type": "application/json" }), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as any) : null };
}

function passwordAuth(password = SANBOOT_PASSWORD, scope: unknown = { project: { name: "sanboot", domain: { name: "Default" } } }) {
  return {
    auth: {
      identity: { methods: ["password"], password: { user: { name: "sanboot", domain: { name: "Default" }, password } } },
      ...(scope ? { scope } : {}),
    },
  };
}

async function token(): Promise<string> {
  const r = await call("POST", "/v3/auth/tokens", { body: passwordAuth() });
  return r.headers["x-subject-token"] as string;
}

describe("POST /v3/auth/tokens", () => {
  it("answers 201 with X-Subject-Token and a project-scoped token listing Cinder in the catalog", async () => {
    const r = await call("POST", "/v3/auth/tokens", { body: passwordAuth() });
    expect(r.status).toBe(201);
    expect(r.headers["x-subject-token"]).toEqual(expect.stringMatching(/^gAAAAA/));
    const t = r.body.token;
    expect(t).toMatchObject({
      methods: ["password"],
      user: { name: "sanboot", domain: { id: "default", name: "Default" } },
      project: { id: lab.project, name: "sanboot", domain: { id: "default", name: "Default" } },
      roles: expect.arrayContaining([expect.objectContaining({ name: "member" })]),
    });
    expect(t.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(Date.parse(t.expires_at) - Date.parse(t.issued_at)).toBe(600_000);
    expect(t.catalog.map((s: { type: string }) => s.type)).toEqual(["block-storage", "volumev3"]);
    expect(t.catalog[0].endpoints).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ interface: "public", region: "RegionOne", region_id: "RegionOne", url: `${lab.cinder.url}/v3/${lab.project}` }),
        expect.objectContaining({ interface: "internal" }),
        expect.objectContaining({ interface: "admin" }),
      ]),
    );
  });

  it("scopes by project id as well as by name and domain", async () => {
    const r = await call("POST", "/v3/auth/tokens", { body: passwordAuth(SANBOOT_PASSWORD, { project: { id: lab.project } }) });
    expect(r.status).toBe(201);
    expect(r.body.token.project.id).toBe(lab.project);
  });

  it("issues an application credential's token in the credential's project, and refuses another scope", async () => {
    const identity = { methods: ["application_credential"], application_credential: { id: APP_CRED_ID, secret: APP_CRED_SECRET } };
    const r = await call("POST", "/v3/auth/tokens", { body: { auth: { identity } } });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatchObject({ methods: ["application_credential"], application_credential: { id: APP_CRED_ID }, project: { id: lab.project } });
    const scoped = await call("POST", "/v3/auth/tokens", { body: { auth: { identity, scope: { project: { id: lab.project } } } } });
    expect(scoped.status).toBe(401);
  });

  it("refuses a wrong password with 401 and Keystone's error body", async () => {
    const r = await call("POST", "/v3/auth/tokens", { body: passwordAuth("wrong") });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: { code: 401, title: "Unauthorized", message: "The request you have made requires authentication." } });
  });

  it("refuses a user name without its domain with 400", async () => {
    const body = { auth: { identity: { methods: ["password"], password: { user: { name: "sanboot", password: SANBOOT_PASSWORD } } } } };
    const r = await call("POST", "/v3/auth/tokens", { body });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^Expecting to find domain in user/);
  });

  it("leaves the catalog out of an unscoped token and with ?nocatalog", async () => {
    const unscoped = await call("POST", "/v3/auth/tokens", { body: passwordAuth(SANBOOT_PASSWORD, null) });
    expect(unscoped.status).toBe(201);
    expect(unscoped.body.token.project).toBeUndefined();
    expect(unscoped.body.token.catalog).toBeUndefined();
    const nocatalog = await call("POST", "/v3/auth/tokens?nocatalog", { body: passwordAuth() });
    expect(nocatalog.body.token.catalog).toBeUndefined();
  });
});

describe("GET and DELETE /v3/auth/tokens", () => {
  it("validates a token: 200 with X-Subject-Token; 404 for an unknown subject; 401 without a valid X-Auth-Token", async () => {
    const t = await token();
    const ok = await call("GET", "/v3/auth/tokens", { headers: { "X-Auth-Token": t, "X-Subject-Token": t } });
    expect(ok.status).toBe(200);
    expect(ok.headers["x-subject-token"]).toBe(t);
    expect(ok.body.token.project.id).toBe(lab.project);
    const unknown = await call("GET", "/v3/auth/tokens", { headers: { "X-Auth-Token": t, "X-Subject-Token": "gAAAAAnope" } });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 404, title: "Not Found" } } });
    const noAuth = await call("GET", "/v3/auth/tokens", { headers: { "X-Subject-Token": t } });
    expect(noAuth.status).toBe(401);
  });

  it("treats an expired token as unknown (404)", async () => {
    const t = await token();
    lab.keystoneSkipMs.value = 601_000;
    try {
      const fresh = await token();
      const r = await call("GET", "/v3/auth/tokens", { headers: { "X-Auth-Token": fresh, "X-Subject-Token": t } });
      expect(r.status).toBe(404);
      // and as a caller's own token it no longer authenticates
      expect((await call("GET", "/v3/auth/tokens", { headers: { "X-Auth-Token": t, "X-Subject-Token": fresh } })).status).toBe(401);
    } finally {
      lab.keystoneSkipMs.value = 0;
    }
  });

  it("revokes a token with DELETE: it no longer validates", async () => {
    const t = await token();
    const auth = await token();
    expect((await call("DELETE", "/v3/auth/tokens", { headers: { "X-Auth-Token": auth, "X-Subject-Token": t } })).status).toBe(204);
    expect((await call("GET", "/v3/auth/tokens", { headers: { "X-Auth-Token": auth, "X-Subject-Token": t } })).status).toBe(404);
  });
});

describe("the Cinder emulator in keystone mode", () => {
  it("answers 401 with keystonemiddleware's body and WWW-Authenticate to a missing or invalid token", async () => {
    for (const headers of [{}, { "X-Auth-Token": "gAAAAAforged" }] as Array<Record<string, string>>) {
      const r = await call("GET", `/v3/${lab.project}/volumes`, { base: lab.cinder.url, headers });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: { code: 401, title: "Unauthorized", message: "The request you have made requires authentication." } });
      expect(r.headers["www-authenticate"]).toBe(`Keystone uri="${lab.keystone.url}"`);
    }
  });

  it("keeps GET / public, and scopes a valid token to its project", async () => {
    expect((await call("GET", "/", { base: lab.cinder.url })).status).toBe(300);
    const t = await token();
    expect((await call("GET", `/v3/${lab.project}/volumes`, { base: lab.cinder.url, headers: { "X-Auth-Token": t } })).status).toBe(200);
    const elsewhere = await call("GET", `/v3/${"ab".repeat(16)}/volumes`, { base: lab.cinder.url, headers: { "X-Auth-Token": t } });
    expect(elsewhere.status).toBe(400);
  });

  it("refuses a request whose X-Service-Token is invalid, whatever its X-Auth-Token", async () => {
    const t = await token();
    const r = await call("GET", `/v3/${lab.project}/volumes`, { base: lab.cinder.url, headers: { "X-Auth-Token": t, "X-Service-Token": "gAAAAAforged" } });
    expect(r.status).toBe(401);
  });
});
