/**
 * The operator CLI against the local stack, as an operator would run it: enroll with flags, list,
 * show by name, update, boot and undeploy with --wait (plain lines when not a terminal, a live
 * line on one), requests list / show, --json for scripts, and errors that print the API's code.
 * The clock is injected: waits poll the real service but never sleep on the wall clock longer
 * than a tick.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LAB_CREDENTIALS_REF, LAB_SITE, type LocalStack } from "../../lab/local-stack";
import { main, type CliIo } from "../../cli/main";
import { resolveTarget } from "../../cli/config";
import { cinderAdmin, useLocalStack } from "../support/api";

let stack: LocalStack;
useLocalStack({ powerDelayMs: 20, leaseSeconds: 20, sweepMs: 200 }, (s) => (stack = s));

async function sanboot(args: string[], opts: { tty?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  let out = "";
  let err = "";
  let t = 0;
  const io: CliIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    isTTY: opts.tty ?? false,
    // each poll is a second later; the real wait is a tick, so the stack gets to work
    now: () => t,
    sleep: async (ms) => {
      t += ms;
      await new Promise((r) => setTimeout(r, 20));
    },
    env: opts.env ?? { SANBOOT_URL: stack.service.url, SANBOOT_TOKEN: stack.apiToken, SANBOOT_CONFIG: "/nonexistent" },
  };
  const code = await main(args, io);
  return { code, out, err };
}

let n = 0;
function labSystem() {
  n++;
  const mac = `02:00:5e:88:00:${n.toString(16).padStart(2, "0")}`;
  const id = `cli-${n}`;
  stack.bmc.addSystem({ id, mac, powerState: "Off" });
  return { id, mac };
}

async function enroll(name: string) {
  const { id, mac } = labSystem();
  const r = await sanboot(["nodes", "enroll", "--name", name, "--site", LAB_SITE, "--bmc-address", stack.bmc.url, "--system-id", id, "--credentials-ref", LAB_CREDENTIALS_REF, "--mac", mac, "--json"]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as { node_id: string; initiator_iqn: string };
}

describe("sanboot nodes", () => {
  it("enrolls from flags, lists in a table, shows and updates by name, deletes", async () => {
    const { id, mac } = labSystem();
    const enrolled = await sanboot(["nodes", "enroll", "--name", "rack1-u07", "--site", LAB_SITE, "--bmc-address", stack.bmc.url, "--system-id", id, "--credentials-ref", LAB_CREDENTIALS_REF, "--mac", mac, "--static", "192.0.2.31/255.255.255.0,192.0.2.1"]);
    expect(enrolled.code, enrolled.err).toBe(0);
    expect(enrolled.out).toMatch(/^node_id: +[0-9a-f-]{36}$/m);
    expect(enrolled.out).toMatch(/^network: +\{"mode":"static","address":"192.0.2.31","netmask":"255.255.255.0","gateway":"192.0.2.1"/m);
    const nodeId = /^node_id: +(\S+)$/m.exec(enrolled.out)![1]!;

    const list = await sanboot(["nodes", "list"]);
    expect(list.code).toBe(0);
    const [head, ...rows] = list.out.trim().split("\n");
    expect(head).toMatch(/^NODE_ID +NAME +SITE +BMC +BOOT_MODE +ACTIVE_REQUEST$/);
    expect(rows.some((r) => r.startsWith(nodeId) && r.includes("rack1-u07") && r.includes(id))).toBe(true);

    expect((await sanboot(["nodes", "show", "rack1-u07"])).out).toContain(`node_id:`);
    const updated = await sanboot(["nodes", "update", "rack1-u07", "--boot-override", "continuous", "--json"]);
    expect(updated.code, updated.err).toBe(0);
    expect(JSON.parse(updated.out)).toMatchObject({ node_id: nodeId, boot_override: "continuous" });

    expect(await sanboot(["nodes", "delete", "rack1-u07"])).toMatchObject({ code: 0, out: `deleted node ${nodeId}\n` });
    expect(await sanboot(["nodes", "show", nodeId])).toMatchObject({ code: 1, err: expect.stringMatching(/^error: NODE_NOT_FOUND: /) });
  });

  it("prints the API's code, message and the field for bad input, and exits 1", async () => {
    const r = await sanboot(["nodes", "enroll", "--site", "Not A Slug", "--bmc-address", "http://10.0.0.1", "--system-id", "x", "--credentials-ref", "c"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: VALIDATION_FAILED: /);
    expect(r.err).toMatch(/\n {2}site: /);
    expect(r.err).toMatch(/\n {2}bmc\.address: .*https/);
  });

  it("refuses usage and configuration problems with exit 2", async () => {
    expect(await sanboot(["nodes", "frobnicate"])).toMatchObject({ code: 2, err: expect.stringContaining("unknown command: nodes frobnicate") });
    expect(await sanboot(["nodes", "list"], { env: { SANBOOT_CONFIG: "/nonexistent" } })).toMatchObject({ code: 2, err: expect.stringContaining("no service URL") });
    expect(await sanboot(["nodes", "list", "--token", "nope"])).toMatchObject({ code: 1, err: expect.stringMatching(/^error: UNAUTHENTICATED/) });
    expect((await sanboot(["--help"])).out).toContain("usage: sanboot");
  });
});

describe("sanboot boot / undeploy --wait", () => {
  it("follows a boot to active and an undeploy to detached, a plain line per step when not a terminal", async () => {
    const node = await enroll("wait-plain");
    const volume = await cinderAdmin(stack).createVolume({ bootable: true });
    const boot = await sanboot(["boot", "wait-plain", volume, "--wait"]);
    expect(boot.code, boot.out + boot.err).toBe(0);
    const lines = boot.out.trim().split("\n");
    expect(lines[0]).toMatch(/^boot request [0-9a-f-]{36}$/);
    // "elapsed state step attempt N", one per change, in workflow order
    const states = lines.slice(1, -1).map((l) => l.split(/\s+/)[1]);
    expect(states.indexOf("attached")).toBeLessThan(states.indexOf("booting"));
    expect(lines.slice(1, -1).every((l) => /^\d+:\d\d \S+ +\S+ +attempt \d+$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^active after \d+:\d\d \(boot confirmed: yes, .*OSRunning/);

    const requestId = /^boot request (\S+)$/.exec(lines[0]!)![1]!;
    const listed = await sanboot(["requests", "list", "--node", node.node_id]);
    expect(listed.out).toMatch(new RegExp(`^${requestId} +${node.node_id} +active `, "m"));
    const shown = await sanboot(["requests", "show", requestId]);
    expect(shown.out).toMatch(/^state: +active$/m);
    expect(shown.out).toMatch(/^AT +STATE +STEP +ATTEMPTS +ERROR$/m);
    expect(shown.out).not.toMatch(/auth_password":"(?!\[redacted\])/);

    const undeploy = await sanboot(["undeploy", node.node_id, "--wait"]);
    expect(undeploy.code).toBe(0);
    expect(undeploy.out.trim().split("\n").at(-1)).toMatch(/^detached after \d+:\d\d$/);
  }, 60_000);

  it("on a terminal redraws one live line per step in place", async () => {
    await enroll("wait-tty");
    const volume = await cinderAdmin(stack).createVolume({ bootable: true });
    const boot = await sanboot(["boot", "wait-tty", volume, "--wait"], { tty: true });
    expect(boot.code).toBe(0);
    expect(boot.out).toContain("\r\x1b[2K");
    expect(boot.out.trimEnd().split("\n").at(-1)).toMatch(/^active after /);
    await sanboot(["undeploy", "wait-tty", "--wait"]);
  }, 60_000);

  it("a boot that fails exits 1 with the request's error code", async () => {
    await enroll("wait-fail");
    const volume = await cinderAdmin(stack).createVolume({ bootable: false });
    const boot = await sanboot(["boot", "wait-fail", volume, "--wait"]);
    expect(boot.code).toBe(1);
    expect(boot.out.trim().split("\n").at(-1)).toMatch(/^failed after \d+:\d\d: VOLUME_NOT_BOOTABLE: /);
  }, 60_000);

  it("--json prints the API's answer for scripts", async () => {
    await enroll("json-node");
    const volume = await cinderAdmin(stack).createVolume({ bootable: true });
    const r = await sanboot(["boot", "json-node", volume, "--json"]);
    expect(JSON.parse(r.out)).toMatchObject({ state: "accepted", volume_id: volume });
    await sanboot(["requests", "watch", JSON.parse(r.out).request_id]);
    await sanboot(["undeploy", "json-node", "--wait"]);
  }, 60_000);
});

describe("configuration", () => {
  it("takes flags over the environment over the profile file, and a token from a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "sanboot-cli-"));
    const config = join(dir, "config.json");
    writeFileSync(join(dir, "token"), "from-file\n");
    writeFileSync(config, JSON.stringify({ profiles: { default: { url: "https://p.example/", token: "from-profile" }, lab: { url: "https://lab.example", token_file: join(dir, "token") } } }));
    expect(resolveTarget({}, { SANBOOT_CONFIG: config })).toEqual({ url: "https://p.example", token: "from-profile" });
    expect(resolveTarget({}, { SANBOOT_CONFIG: config, SANBOOT_TOKEN: "from-env" })).toMatchObject({ token: "from-env" });
    expect(resolveTarget({ token: "from-flag" }, { SANBOOT_CONFIG: config, SANBOOT_TOKEN: "from-env" })).toMatchObject({ token: "from-flag" });
    expect(resolveTarget({ profile: "lab" }, { SANBOOT_CONFIG: config })).toEqual({ url: "https://lab.example", token: "from-file" });
    expect(() => resolveTarget({ profile: "nope" }, { SANBOOT_CONFIG: config })).toThrow(/has no profile nope \(it has: default, lab\)/);
  });
});
