/**
 * What another function instance (another Lambda) makes of a token removed from a site: it keeps
 * trusting what it read for SANBOOT_SITE_CACHE_SECONDS, then reads the table again. The other
 * instance is a second state-table client of its own with its own clock, beside the local stack.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../lab/local-stack";
import type { Deps } from "../../lib/deps";
import { sha256Hex } from "../../lib/ids";
import { relaySiteOf } from "../../lib/service/sites";
import { StateTable } from "../../lib/store/state-table";
import { Api, useLocalStack } from "../support/api";
import { newToken } from "./helpers";

let stack: LocalStack;
let other: StateTable | undefined;
useLocalStack({ relay: false }, (s) => (stack = s));
afterAll(() => other?.close());

describe("another instance's view of a site", () => {
  it("keeps a removed token for SANBOOT_SITE_CACHE_SECONDS at most, then refuses it", async () => {
    const admin = new Api(stack.service.url, stack.adminToken);
    const [oldToken, newTokenOfSite] = [newToken("relay"), newToken("relay")];
    expect((await admin.post("/v1/sites", { site: "cached", relay_token_sha256: [sha256Hex(oldToken), sha256Hex(newTokenOfSite)] })).status).toBe(201);

    let now = Date.now();
    const config = stack.service.deps.config;
    other = new StateTable({ tableName: config.SANBOOT_TABLE, region: "us-east-1", endpoint: stack.store.endpoint });
    const elsewhere = { config: { ...config, SANBOOT_SITE_CACHE_SECONDS: 30 }, store: other, clock: { now: () => new Date(now) } } as unknown as Deps;
    expect(await relaySiteOf(elsewhere, oldToken)).toBe("cached");

    expect((await admin.patch("/v1/sites/cached", { relay_token_sha256: [sha256Hex(newTokenOfSite)] })).status).toBe(200);
    // this process's own functions see the change at once
    expect((await new Api(stack.service.url, oldToken).post("/v1/relay/lease", { relay_id: "r", wait_seconds: 0 })).status).toBe(401);
    // the other instance still trusts what it read, for the cache's time
    now += 29_000;
    expect(await relaySiteOf(elsewhere, oldToken)).toBe("cached");
    now += 2_000;
    expect(await relaySiteOf(elsewhere, oldToken)).toBeNull();
    expect(await relaySiteOf(elsewhere, newTokenOfSite)).toBe("cached");
  });
});
