/**
 * Sites as an operator adds and runs them: the sites API (admin only, bad input refused naming the
 * field and writing nothing), relay tokens from the table with a rotation overlap, a site with
 * nodes kept from deletion, enrollment at an unknown site refused, sites from the environment
 * listed and adopted, and each site's relays and command queue shown.
 */
import { describe, expect, it } from "vitest";
import { LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { sha256Hex } from "../../lib/ids";
import { generateSiteKeyPair } from "../../lib/relay/site-seal";
import { RELAY_VERSION } from "../../relay/version";
import { Api, useLocalStack } from "../support/api";
import { apiTokensEnv, enrollBody, expectError, newToken } from "./helpers";

const ENV_SITE = "env-site";
const envSiteToken = newToken("relay-env");
const member = newToken("member");
const reader = newToken("reader");
const admin = newToken("admin");
const PROJECT = "2b9f9a3c5d6e4f708192a3b4c5d6e7f8";

let stack: LocalStack;
let api: Api;
let adminApi: Api;

// the cache off: this file asserts what a removed token does at once (the cache's own test is below)
useLocalStack(
  {
    relayConcurrency: 3,
    extraRelaySites: { [ENV_SITE]: envSiteToken },
    env: {
      SANBOOT_SITE_CACHE_SECONDS: "0",
      ...apiTokensEnv([
        { token: member, project_id: PROJECT },
        { token: reader, project_id: PROJECT, role: "reader" as "member" },
        { token: admin, project_id: PROJECT, role: "admin" },
      ]),
    },
  },
  (s) => {
    stack = s;
    api = new Api(s.service.url, member);
    adminApi = new Api(s.service.url, admin);
  },
);

let seq = 0;
function siteBody(extra: Record<string, unknown> = {}): { site: string; relay_token_sha256: string[]; token: string } & Record<string, unknown> {
  const token = newToken("relay");
  return { site: `dc-${++seq}-${Math.random().toString(36).slice(2, 6)}`, relay_token_sha256: [sha256Hex(token)], token, ...extra };
}

async function createSite(extra: Record<string, unknown> = {}) {
  const { token, ...body } = siteBody(extra);
  const r = await adminApi.post("/v1/sites", body);
  expect(r.status, r.text).toBe(201);
  return { site: body.site as string, token, body: r.body };
}

const relayApi = (token: string) => new Api(stack.service.url, token);
const lease = (token: string, relayId = "manual-relay") => relayApi(token).post("/v1/relay/lease", { relay_id: relayId, wait_seconds: 0 });

async function tableSiteNames(): Promise<string[]> {
  const r = await adminApi.get("/v1/sites?limit=100");
  expect(r.status, r.text).toBe(200);
  return r.body.sites.map((s: { site: string }) => s.site);
}

describe("the sites API", () => {
  it("creates a site with its relay token's hash and sealing key, shows it at its Location, never a token", async () => {
    const key = generateSiteKeyPair().publicKeyPem;
    const { token, ...body } = siteBody({ description: "Frankfurt, row 3", sealing_public_key: key });
    const r = await adminApi.post("/v1/sites", body);
    expect(r.status, r.text).toBe(201);
    expect(r.headers.location).toBe(`/v1/sites/${body.site}`);
    expect(r.body).toMatchObject({ site: body.site, source: "table", description: "Frankfurt, row 3", sealing_public_key: key, node_count: 0, version: 1 });
    expect(r.body.relay_tokens).toEqual([{ sha256: sha256Hex(token), added_at: expect.any(String) }]);
    const shown = await adminApi.get(r.headers.location as string);
    expect(shown.status).toBe(200);
    expect(shown.text).not.toContain(token);
    expect(shown.body).toMatchObject({ site: body.site, relays: [], relay_status: "never_seen", commands: { queued: 0, in_flight: 0, oldest_queued_age_seconds: null } });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a site name that is not a slug", { site: "Not A Slug" }, "site"],
    ["a token hash that is not a SHA-256", { relay_token_sha256: ["abc"] }, "relay_token_sha256.0"],
    ["no token at all", { relay_token_sha256: [] }, "relay_token_sha256"],
    ["the same token twice", { relay_token_sha256: [sha256Hex("x"), sha256Hex("x")] }, "relay_token_sha256"],
    ["five tokens", { relay_token_sha256: ["a", "b", "c", "d", "e"].map(sha256Hex) }, "relay_token_sha256"],
    ["a sealing key that is not PEM", { sealing_public_key: "hello" }, "sealing_public_key"],
    ["a PEM key that is not X25519", { sealing_public_key: "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n" }, "sealing_public_key"],
    ["an unknown field", { colour: "blue" }, "colour"],
  ])("refuses %s with 400 naming the field, and writes nothing", async (_what, change, field) => {
    const before = await tableSiteNames();
    const { token: _t, ...body } = siteBody(change);
    expectError(await adminApi.post("/v1/sites", body), 400, "VALIDATION_FAILED", field);
    expect(await tableSiteNames()).toEqual(before);
  });

  it("refuses a token another site accepts (in the table or the environment), naming the field", async () => {
    const other = await createSite();
    const { token: _t, ...body } = siteBody({ relay_token_sha256: [sha256Hex(other.token)] });
    expectError(await adminApi.post("/v1/sites", body), 400, "VALIDATION_FAILED", "relay_token_sha256.0");
    const { token: _u, ...envBody } = siteBody({ relay_token_sha256: [sha256Hex(newToken("fresh")), sha256Hex(envSiteToken)] });
    expectError(await adminApi.post("/v1/sites", envBody), 400, "VALIDATION_FAILED", "relay_token_sha256.1");
  });

  it("refuses a second site of the same name with 409, keeping the first as it was", async () => {
    const first = await createSite({ description: "first" });
    const { token: _t, ...again } = siteBody({ site: first.site, description: "second" });
    expectError(await adminApi.post("/v1/sites", again), 409, "SITE_EXISTS");
    expect((await adminApi.get(`/v1/sites/${first.site}`)).body).toMatchObject({ description: "first", relay_tokens: first.body.relay_tokens });
    // the refused create's token does not let a relay in
    expect((await lease(_t)).status).toBe(401);
  });

  it("answers only an admin: a member and a reader get 403 on every route, and nothing changes", async () => {
    const site = await createSite();
    const reading = new Api(stack.service.url, reader);
    for (const who of [api, reading]) {
      const { token: _t, ...body } = siteBody();
      expectError(await who.post("/v1/sites", body), 403, "FORBIDDEN");
      expectError(await who.get("/v1/sites"), 403, "FORBIDDEN");
      expectError(await who.get(`/v1/sites/${site.site}`), 403, "FORBIDDEN");
      expectError(await who.patch(`/v1/sites/${site.site}`, { description: "mine" }), 403, "FORBIDDEN");
      expectError(await who.delete(`/v1/sites/${site.site}`), 403, "FORBIDDEN");
    }
    expect((await adminApi.get(`/v1/sites/${site.site}`)).body).toMatchObject({ description: null, version: 1 });
  });

  it("404s a site nobody knows, on show, change and delete", async () => {
    expectError(await adminApi.get("/v1/sites/nowhere"), 404, "SITE_NOT_FOUND");
    expectError(await adminApi.patch("/v1/sites/nowhere", { description: "x" }), 404, "SITE_NOT_FOUND");
    expectError(await adminApi.delete("/v1/sites/nowhere"), 404, "SITE_NOT_FOUND");
  });

  it("lists the table's sites page by page, and those from the environment on the first page", async () => {
    await createSite();
    await createSite();
    const first = await adminApi.get("/v1/sites?limit=1");
    expect(first.status).toBe(200);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    expect(first.body.sites.filter((s: { source: string }) => s.source === "environment").map((s: { site: string }) => s.site).sort()).toEqual([ENV_SITE, LAB_SITE].sort());
    const env = first.body.sites.find((s: { site: string }) => s.site === ENV_SITE);
    expect(env).toMatchObject({ source: "environment", relay_tokens: [{ sha256: sha256Hex(envSiteToken), added_at: null }], node_count: null, version: null });
    const second = await adminApi.get(`/v1/sites?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(second.body.sites.every((s: { source: string }) => s.source === "table")).toBe(true);
  });
});

describe("relay tokens from the table", () => {
  it("let a relay of the site in, as its site, and no other site's commands", async () => {
    const site = await createSite();
    expect((await relayApi(site.token).get("/v1/relay/whoami")).body).toEqual({ site: site.site });
    expect((await lease(site.token)).body).toEqual({ commands: [] });
    // a node of the lab site: its inventory command is the lab's, never this site's
    await api.post("/v1/nodes", enrollBody(stack, "sys-not-theirs"));
    expect((await lease(site.token)).body).toEqual({ commands: [] });
  });

  it("rotate with an overlap: old and new both work until the old one is removed, then only the new", async () => {
    const site = await createSite();
    const next = newToken("relay-next");
    const both = await adminApi.patch(`/v1/sites/${site.site}`, { relay_token_sha256: [sha256Hex(site.token), sha256Hex(next)] });
    expect(both.status, both.text).toBe(200);
    expect(both.body.relay_tokens.map((t: { sha256: string }) => t.sha256)).toEqual([sha256Hex(site.token), sha256Hex(next)]);
    // the kept token keeps when it was added
    expect(both.body.relay_tokens[0].added_at).toBe(site.body.relay_tokens[0].added_at);
    expect((await lease(site.token)).status).toBe(200);
    expect((await lease(next)).status).toBe(200);

    const only = await adminApi.patch(`/v1/sites/${site.site}`, { relay_token_sha256: [sha256Hex(next)] });
    expect(only.status).toBe(200);
    expectError(await lease(site.token), 401, "UNAUTHENTICATED");
    expect((await lease(next)).status).toBe(200);
    expect((await relayApi(next).get("/v1/relay/whoami")).body).toEqual({ site: site.site });
  });

  it("a PATCH made from an old version is refused with 409 and loses nobody's change", async () => {
    const site = await createSite();
    const [mine, theirs] = [newToken("relay-mine"), newToken("relay-theirs")];
    // two admins read version 1; the first to write wins, the second is refused
    expect((await adminApi.patch(`/v1/sites/${site.site}`, { version: 1, relay_token_sha256: [sha256Hex(site.token), sha256Hex(theirs)] })).status).toBe(200);
    expectError(await adminApi.patch(`/v1/sites/${site.site}`, { version: 1, relay_token_sha256: [sha256Hex(site.token), sha256Hex(mine)] }), 409, "VERSION_CONFLICT");
    const now = (await adminApi.get(`/v1/sites/${site.site}`)).body;
    expect(now.version).toBe(2);
    expect(now.relay_tokens.map((t: { sha256: string }) => t.sha256)).toEqual([sha256Hex(site.token), sha256Hex(theirs)]);
    expectError(await lease(mine), 401, "UNAUTHENTICATED");
    expectError(await adminApi.patch(`/v1/sites/${site.site}`, { version: 2 }), 400, "VALIDATION_FAILED");
  });

  it("a PATCH with nothing to change is 400 and writes nothing", async () => {
    const site = await createSite();
    expectError(await adminApi.patch(`/v1/sites/${site.site}`, {}), 400, "VALIDATION_FAILED");
    expectError(await adminApi.patch(`/v1/sites/${site.site}`, { relay_token_sha256: [] }), 400, "VALIDATION_FAILED", "relay_token_sha256");
    expect((await adminApi.get(`/v1/sites/${site.site}`)).body.version).toBe(1);
  });

  it("stop working when their site is deleted", async () => {
    const site = await createSite();
    expect((await lease(site.token)).status).toBe(200);
    expect((await adminApi.delete(`/v1/sites/${site.site}`)).status).toBe(204);
    expectError(await lease(site.token), 401, "UNAUTHENTICATED");
    expectError(await adminApi.get(`/v1/sites/${site.site}`), 404, "SITE_NOT_FOUND");
  });
});

describe("sites and their nodes", () => {
  it("enrollment at a site nobody knows is 400 naming site, and writes nothing", async () => {
    const before = (await api.get("/v1/nodes?limit=100")).body.nodes.length;
    expectError(await api.post("/v1/nodes", { ...enrollBody(stack), site: "atlantis" }), 400, "VALIDATION_FAILED", "site");
    expect((await api.get("/v1/nodes?limit=100")).body.nodes.length).toBe(before);
  });

  it("a site with nodes cannot be deleted; once they are gone it can, and a node cannot be enrolled there after", async () => {
    const site = await createSite();
    const a = await api.post("/v1/nodes", { ...enrollBody(stack), site: site.site });
    const b = await api.post("/v1/nodes", { ...enrollBody(stack), site: site.site });
    expect((await adminApi.get(`/v1/sites/${site.site}`)).body.node_count).toBe(2);
    const refused = await adminApi.delete(`/v1/sites/${site.site}`);
    expectError(refused, 409, "SITE_HAS_NODES");
    expect(refused.body.error.message).toContain("2 node");
    await api.delete(`/v1/nodes/${a.body.node_id}`);
    expectError(await adminApi.delete(`/v1/sites/${site.site}`), 409, "SITE_HAS_NODES");
    await api.delete(`/v1/nodes/${b.body.node_id}`);
    expect((await adminApi.get(`/v1/sites/${site.site}`)).body.node_count).toBe(0);
    expect((await adminApi.delete(`/v1/sites/${site.site}`)).status).toBe(204);
    expectError(await api.post("/v1/nodes", { ...enrollBody(stack), site: site.site }), 400, "VALIDATION_FAILED", "site");
  });

  it("a node moved to another site is counted there and no longer at the first; a move to an unknown site is 400", async () => {
    const [from, to] = [await createSite(), await createSite()];
    const node = await api.post("/v1/nodes", { ...enrollBody(stack), site: from.site });
    expectError(await api.patch(`/v1/nodes/${node.body.node_id}`, { site: "atlantis" }), 400, "VALIDATION_FAILED", "site");
    expect((await api.patch(`/v1/nodes/${node.body.node_id}`, { site: to.site })).status).toBe(200);
    expect((await adminApi.get(`/v1/sites/${from.site}`)).body.node_count).toBe(0);
    expect((await adminApi.get(`/v1/sites/${to.site}`)).body.node_count).toBe(1);
    expect((await adminApi.delete(`/v1/sites/${from.site}`)).status).toBe(204);
  });
});

describe("sites from the environment", () => {
  it("cannot be changed or deleted through the API until adopted", async () => {
    expectError(await adminApi.patch(`/v1/sites/${ENV_SITE}`, { description: "x" }), 409, "SITE_IN_ENVIRONMENT");
    expectError(await adminApi.delete(`/v1/sites/${ENV_SITE}`), 409, "SITE_IN_ENVIRONMENT");
    expect((await adminApi.get(`/v1/sites/${ENV_SITE}`)).body).toMatchObject({ site: ENV_SITE, source: "environment" });
  });

  it("are adopted by a POST: their nodes counted, the record's tokens decide and the environment's token is retired when left out", async () => {
    const node = await api.post("/v1/nodes", { ...enrollBody(stack), site: ENV_SITE });
    expect(node.status).toBe(201);
    expect((await lease(envSiteToken)).status).toBe(200);
    const next = newToken("relay-env-next");
    const adopted = await adminApi.post("/v1/sites", { site: ENV_SITE, relay_token_sha256: [sha256Hex(envSiteToken), sha256Hex(next)] });
    expect(adopted.status, adopted.text).toBe(201);
    expect(adopted.body).toMatchObject({ source: "table", node_count: 1 });
    expect((await lease(envSiteToken)).status).toBe(200);
    expect((await lease(next)).status).toBe(200);
    expect((await adminApi.patch(`/v1/sites/${ENV_SITE}`, { relay_token_sha256: [sha256Hex(next)] })).status).toBe(200);
    // still in SANBOOT_RELAY_TOKENS, but the table's record decides
    expectError(await lease(envSiteToken), 401, "UNAUTHENTICATED");
    expectError(await adminApi.delete(`/v1/sites/${ENV_SITE}`), 409, "SITE_HAS_NODES");
  });
});

describe("relay health", () => {
  it("shows each relay of a site: when last seen, its version and concurrency, online", async () => {
    const second = stack.startRelay({ relayId: "relay-2" });
    try {
      let shown: any;
      for (let i = 0; i < 200; i++) {
        shown = (await adminApi.get(`/v1/sites/${LAB_SITE}`)).body;
        if (shown.relays.length >= 2) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(shown.relays.map((r: { relay_id: string }) => r.relay_id)).toEqual(["relay-1", "relay-2"]);
      for (const r of shown.relays) {
        expect(r).toEqual({ relay_id: expect.any(String), version: RELAY_VERSION, concurrency: 3, first_seen_at: expect.any(String), last_seen_at: expect.any(String), online: true });
        expect(Date.now() - Date.parse(r.last_seen_at)).toBeLessThan(60_000);
      }
      expect(shown.relay_status).toBe("online");
    } finally {
      await second.stop();
    }
  });

  it("shows a site's queued and in-flight commands and the oldest queued one's age", async () => {
    const site = await createSite();
    // two enrollments: each queues the relay's read of the node's FC ports
    await api.post("/v1/nodes", { ...enrollBody(stack, "sys-q1"), site: site.site });
    await new Promise((r) => setTimeout(r, 20));
    await api.post("/v1/nodes", { ...enrollBody(stack, "sys-q2"), site: site.site });
    const queued = (await adminApi.get(`/v1/sites/${site.site}`)).body.commands;
    expect(queued).toMatchObject({ queued: 2, in_flight: 0 });
    expect(queued.oldest_queued_age_seconds).toBeGreaterThan(0);
    const got = await relayApi(site.token).post("/v1/relay/lease", { relay_id: "far-1", wait_seconds: 0, max_commands: 1, relay_version: "9.9.9", concurrency: 1 });
    expect(got.body.commands).toHaveLength(1);
    const shown = (await adminApi.get(`/v1/sites/${site.site}`)).body;
    expect(shown.commands).toMatchObject({ queued: 1, in_flight: 1 });
    expect(shown.relays).toEqual([expect.objectContaining({ relay_id: "far-1", version: "9.9.9", concurrency: 1, online: true })]);
  });
});
