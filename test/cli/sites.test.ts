/**
 * `sanboot sites ...` against the local stack, as an admin adds and runs a site: create from a
 * relay token file and the public half of a keygen'd key pair, show its relays and queue, rotate
 * its token (add, then remove) with real relay calls proving which token works, update, delete;
 * a member refused with the API's code; usage problems refused before the service is asked. No
 * output of any call holds a relay token (every call is checked, not one test).
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LAB_CREDENTIALS_REF, LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { generateSiteKeyPair } from "../../lib/relay/site-seal";
import { main, type CliIo } from "../../cli/main";
import { Api, useLocalStack } from "../support/api";

let stack: LocalStack;
// the site cache off, so a removed token is refused at the next call
useLocalStack({ env: { SANBOOT_SITE_CACHE_SECONDS: "0" } }, (s) => (stack = s));

const dir = mkdtempSync(join(tmpdir(), "sanboot-cli-sites-"));
/** every relay token this file made: no output may hold one */
const tokens: string[] = [];

/** A relay token file as the README makes one (openssl rand -hex 32 > token: 64 hex digits and a newline). */
function tokenFile(name: string): { path: string; token: string } {
  const token = randomBytes(32).toString("hex");
  tokens.push(token);
  const path = join(dir, name);
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return { path, token };
}

/** The public half of a site key pair, written where keygen writes it (FILE.pub), and the private half beside it. */
function siteKeyFiles(name: string): { pub: string; priv: string; pem: string } {
  const { publicKeyPem, privateKeyPem } = generateSiteKeyPair();
  const priv = join(dir, `${name}.pem`);
  writeFileSync(priv, privateKeyPem, { mode: 0o600 });
  writeFileSync(`${priv}.pub`, publicKeyPem);
  return { pub: `${priv}.pub`, priv, pem: publicKeyPem };
}

async function sanboot(args: string[], token = stack.adminToken) {
  let out = "";
  let err = "";
  const io: CliIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    isTTY: false,
    now: Date.now,
    sleep: async () => undefined,
    env: { SANBOOT_URL: stack.service.url, SANBOOT_TOKEN: token, SANBOOT_CONFIG: "/nonexistent" },
  };
  const code = await main(args, io);
  for (const t of tokens) expect(out + err, `sanboot ${args.join(" ")} printed a relay token`).not.toContain(t);
  return { code, out, err };
}

const lease = (token: string, body: Record<string, unknown> = {}) => new Api(stack.service.url, token).post("/v1/relay/lease", { relay_id: "far-1", wait_seconds: 0, ...body });
const siteRecord = async (site: string) => (await new Api(stack.service.url, stack.adminToken).get(`/v1/sites/${site}`)).body;
let seq = 0;
const siteName = () => `cli-dc-${++seq}-${randomBytes(2).toString("hex")}`;

describe("sanboot sites create / show / list", () => {
  it("creates a site from a token file and a keygen'd public key, sending the token's hash as the README's sha256sum computes it", async () => {
    const site = siteName();
    const { path, token } = tokenFile("create-token");
    const key = siteKeyFiles("create-key");
    const r = await sanboot(["sites", "create", site, "--relay-token-file", path, "--sealing-key-file", key.pub, "--description", "far rack"]);
    expect(r.code, r.err).toBe(0);
    // the README's own command, run on the file: what the relay's token is known by
    const readme = execFileSync("sh", ["-c", `tr -d '\\n' < "$1" | sha256sum | cut -d' ' -f1`, "sh", path], { encoding: "utf8" }).trim();
    expect(readme).toBe(createHash("sha256").update(token).digest("hex"));
    expect(r.out).toMatch(new RegExp(`^${readme} +\\S+$`, "m"));
    expect(r.out).toMatch(new RegExp(`^site: +${site}$`, "m"));
    expect(r.out).toMatch(/^description: +far rack$/m);
    expect(r.out).toContain(key.pem.split("\n")[1]);
    expect(await siteRecord(site)).toMatchObject({ source: "table", relay_tokens: [{ sha256: readme }], sealing_public_key: key.pem });
    // the relay at the site, presenting the file's token, is the site's
    expect((await lease(token)).status).toBe(200);
  });

  it("shows the site's relays (id, version, concurrency, last seen, online) and its queue, and lists it", async () => {
    const site = siteName();
    const { path, token } = tokenFile("show-token");
    expect((await sanboot(["sites", "create", site, "--relay-token-file", path])).code).toBe(0);
    expect((await sanboot(["sites", "show", site])).out).toContain("no relay has called yet");
    expect((await lease(token, { relay_version: "9.8.7", concurrency: 3 })).status).toBe(200);

    const shown = await sanboot(["sites", "show", site]);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toMatch(/^relay_status: +online$/m);
    expect(shown.out).toMatch(/^queued: +0$/m);
    expect(shown.out).toMatch(/^in_flight: +0$/m);
    expect(shown.out).toMatch(/^RELAY_ID +VERSION +CONCURRENCY +LAST_SEEN +ONLINE$/m);
    expect(shown.out).toMatch(/^far-1 +9\.8\.7 +3 +\d{4}-\d\d-\d\dT\S+Z +yes$/m);
    const json = JSON.parse((await sanboot(["sites", "show", site, "--json"])).out);
    expect(json).toMatchObject({ site, relay_status: "online", relays: [{ relay_id: "far-1", version: "9.8.7", concurrency: 3, online: true }], commands: { queued: 0, in_flight: 0 } });

    const list = await sanboot(["sites", "list"]);
    expect(list.code).toBe(0);
    expect(list.out.split("\n")[0]).toMatch(/^SITE +SOURCE +TOKENS +SEALING_KEY +NODES +DESCRIPTION +UPDATED_AT$/);
    expect(list.out).toMatch(new RegExp(`^${site} +table +1 +no +0 +- `, "m"));
    expect(list.out).toMatch(new RegExp(`^${LAB_SITE} +environment +1 +no +- +- +-$`, "m"));
    expect(JSON.parse((await sanboot(["sites", "list", "--json"])).out).sites.map((s: { site: string }) => s.site)).toContain(site);
  });

  it("prints the API's code, message and field for a bad site name, and exits 1", async () => {
    const { path } = tokenFile("bad-name-token");
    const r = await sanboot(["sites", "create", "Not A Slug", "--relay-token-file", path]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: VALIDATION_FAILED: /);
    expect(r.err).toMatch(/\n {2}site: /);
  });
});

describe("sanboot sites rotate-token", () => {
  it("adds a token (old and new both work), then removes the old: the old gets 401, the new 200", async () => {
    const site = siteName();
    const old = tokenFile("rotate-old");
    const next = tokenFile("rotate-new");
    expect((await sanboot(["sites", "create", site, "--relay-token-file", old.path])).code).toBe(0);
    expect((await lease(next.token)).status).toBe(401);

    const added = await sanboot(["sites", "rotate-token", site, "--add-token-file", next.path]);
    expect(added.code, added.err).toBe(0);
    expect(added.out).toMatch(/^added token sha256 [0-9a-f]{64} to site /);
    expect((await siteRecord(site)).relay_tokens).toHaveLength(2);
    expect((await lease(old.token)).status).toBe(200);
    expect((await lease(next.token)).status).toBe(200);
    // again: already done, nothing sent
    expect(await sanboot(["sites", "rotate-token", site, "--add-token-file", next.path])).toMatchObject({ code: 0, out: expect.stringContaining("already accepts that token") });

    const removed = await sanboot(["sites", "rotate-token", site, "--remove-token-file", old.path]);
    expect(removed.code, removed.err).toBe(0);
    expect(removed.out).toMatch(/^removed token sha256 [0-9a-f]{64} from site /);
    expect((await lease(old.token)).status).toBe(401);
    expect((await lease(next.token)).status).toBe(200);
    expect(await sanboot(["sites", "rotate-token", site, "--remove-token-file", old.path])).toMatchObject({ code: 0, out: expect.stringContaining("nothing to remove") });
  });

  it("removes a token named by its hash", async () => {
    const site = siteName();
    const a = tokenFile("by-hash-a");
    const b = tokenFile("by-hash-b");
    expect((await sanboot(["sites", "create", site, "--relay-token-file", a.path, "--relay-token-file", b.path])).code).toBe(0);
    const hash = createHash("sha256").update(a.token).digest("hex");
    expect((await sanboot(["sites", "rotate-token", site, "--remove-token-sha256", hash.toUpperCase()])).code).toBe(0);
    expect((await siteRecord(site)).relay_tokens.map((t: { sha256: string }) => t.sha256)).toEqual([createHash("sha256").update(b.token).digest("hex")]);
  });

  it("refuses to remove the last token with exit 2, and the site keeps it", async () => {
    const site = siteName();
    const only = tokenFile("last-token");
    expect((await sanboot(["sites", "create", site, "--relay-token-file", only.path])).code).toBe(0);
    const r = await sanboot(["sites", "rotate-token", site, "--remove-token-file", only.path]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`that is site ${site}'s last relay token, not removed`);
    expect((await siteRecord(site)).version).toBe(1);
    expect((await lease(only.token)).status).toBe(200);
  });

  it("refuses adding and removing in one call (a relay on the old token would be cut off)", async () => {
    const a = tokenFile("both-a");
    const b = tokenFile("both-b");
    const r = await sanboot(["sites", "rotate-token", "any", "--add-token-file", a.path, "--remove-token-file", b.path]);
    expect(r).toMatchObject({ code: 2, err: expect.stringContaining("one change at a time") });
  });
});

describe("sanboot sites update / delete", () => {
  it("updates the description and the sealing key", async () => {
    const site = siteName();
    expect((await sanboot(["sites", "create", site, "--relay-token-file", tokenFile("update-token").path])).code).toBe(0);
    const key = siteKeyFiles("update-key");
    const r = await sanboot(["sites", "update", site, "--description", "moved to hall B", "--sealing-key-file", key.pub, "--json"]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ site, description: "moved to hall B", sealing_public_key: key.pem, version: 2 });
    expect(await sanboot(["sites", "update", site])).toMatchObject({ code: 2, err: expect.stringContaining("nothing to change") });
  });

  it("deletes a site without nodes (its token stops working); refuses one with nodes and one from the environment", async () => {
    const site = siteName();
    const t = tokenFile("delete-token");
    expect((await sanboot(["sites", "create", site, "--relay-token-file", t.path])).code).toBe(0);
    stack.bmc.addSystem({ id: `${site}-sys`, mac: "02:00:5e:99:00:01", powerState: "Off" });
    const node = await new Api(stack.service.url, stack.apiToken).post("/v1/nodes", { site, bmc: { driver: "auto", address: stack.bmc.url, system_id: `${site}-sys`, credentials_ref: LAB_CREDENTIALS_REF } });
    expect(node.status, node.text).toBe(201);
    expect(await sanboot(["sites", "delete", site])).toMatchObject({ code: 1, err: expect.stringMatching(/^error: SITE_HAS_NODES: /) });

    expect((await new Api(stack.service.url, stack.apiToken).delete(`/v1/nodes/${node.body.node_id}`)).status).toBe(204);
    expect(await sanboot(["sites", "delete", site])).toMatchObject({ code: 0, out: `deleted site ${site}\n` });
    expect((await lease(t.token)).status).toBe(401);
    expect(await sanboot(["sites", "show", site])).toMatchObject({ code: 1, err: expect.stringMatching(/^error: SITE_NOT_FOUND: /) });
    expect(await sanboot(["sites", "delete", LAB_SITE])).toMatchObject({ code: 1, err: expect.stringMatching(/^error: SITE_IN_ENVIRONMENT: /) });
  });
});

describe("who may, and what is refused before the service is asked", () => {
  it("a member's token gets the 403 printed with its code", async () => {
    const r = await sanboot(["sites", "list"], stack.apiToken);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: FORBIDDEN: /);
    const create = await sanboot(["sites", "create", siteName(), "--relay-token-file", tokenFile("member-token").path], stack.apiToken);
    expect(create).toMatchObject({ code: 1, err: expect.stringMatching(/^error: FORBIDDEN: /) });
  });

  it("refuses a private key, a token file relays would read differently, a bad hash (not echoed) and stray flags, with exit 2", async () => {
    const site = siteName();
    const t = tokenFile("usage-token");
    const key = siteKeyFiles("usage-key");
    const priv = await sanboot(["sites", "create", site, "--relay-token-file", t.path, "--sealing-key-file", key.priv]);
    expect(priv).toMatchObject({ code: 2, err: expect.stringContaining("is a private key, which stays at the site") });
    expect(priv.err).not.toContain("PRIVATE KEY-----");

    const crlf = join(dir, "crlf-token");
    writeFileSync(crlf, `${randomBytes(32).toString("hex")}\r\n`);
    expect(await sanboot(["sites", "create", site, "--relay-token-file", crlf])).toMatchObject({ code: 2, err: expect.stringContaining("carriage return") });
    const empty = join(dir, "empty-token");
    writeFileSync(empty, "\n");
    expect(await sanboot(["sites", "create", site, "--relay-token-file", empty])).toMatchObject({ code: 2, err: expect.stringContaining("is empty") });

    const notAHash = `relay-${randomBytes(8).toString("hex")}`;
    const bad = await sanboot(["sites", "create", site, "--relay-token-sha256", notAHash]);
    expect(bad).toMatchObject({ code: 2, err: expect.stringContaining("takes the hex SHA-256 of a token") });
    expect(bad.err).not.toContain(notAHash);

    expect(await sanboot(["sites", "create", site, "--relay-token-file", t.path, "--relay-token-file", t.path])).toMatchObject({ code: 2, err: expect.stringContaining("are the same token") });
    expect(await sanboot(["sites", "create", site])).toMatchObject({ code: 2, err: expect.stringContaining("give the site's relay token") });
    expect(await sanboot(["sites", "show", site, "--relay-token-file", t.path])).toMatchObject({ code: 2, err: expect.stringContaining("sites show takes no --relay-token-file") });
    expect(await sanboot(["sites", "frobnicate"])).toMatchObject({ code: 2, err: expect.stringContaining("unknown command: sites frobnicate") });
    expect(await sanboot(["sites", "toString"])).toMatchObject({ code: 2, err: expect.stringContaining("unknown command: sites toString") });
    // a token pasted as an argument is not echoed back
    expect(await sanboot(["sites", "show", site, t.token])).toMatchObject({ code: 2, err: expect.stringContaining("one site at a time") });
    // none of it reached the service
    expect((await new Api(stack.service.url, stack.adminToken).get(`/v1/sites/${site}`)).status).toBe(404);
  });

  it("prints help for each sites command, without needing a service", async () => {
    for (const sub of ["create", "list", "show", "update", "rotate-token", "delete"]) {
      let out = "";
      const code = await main(["sites", sub, "--help"], { out: (s) => void (out += s), err: () => undefined, isTTY: false, now: Date.now, sleep: async () => undefined, env: { SANBOOT_CONFIG: "/nonexistent" } });
      expect(code).toBe(0);
      expect(out).toMatch(new RegExp(`^usage: sanboot sites ${sub} SITE|^usage: sanboot sites list`));
    }
    let out = "";
    expect(await main(["sites", "--help"], { out: (s) => void (out += s), err: () => undefined, isTTY: false, now: Date.now, sleep: async () => undefined, env: {} })).toBe(0);
    expect(out).toContain("sites rotate-token SITE --add-token-file NEW");
  });
});
