/**
 * The operator CLI as an operator installs it: `npm run build:cli`'s single file, copied alone
 * into an empty directory and run with plain `node` in a bare environment (a profile file for the
 * service and token), against the local stack: enroll, boot --wait to active (plain lines, not a
 * terminal), undeploy --wait to detached, and an API error printed with its code.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_CREDENTIALS_REF, LAB_SITE, startLocalStack, type LocalStack } from "../../lab/local-stack";
import { cinderAdmin } from "../support/api";

const ROOT = join(__dirname, "..", "..");
let dir: string;
let stack: LocalStack;

function sanboot(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(dir, "sanboot.cjs"), ...args], { cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const built = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, [join(ROOT, "packaging", "bundle.mjs"), "cli"], { cwd: ROOT }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr })),
  );
  expect(built.code, built.stderr).toBe(0);
  dir = mkdtempSync(join(tmpdir(), "sanboot-cli-bundle-"));
  copyFileSync(join(ROOT, "dist", "sanboot.cjs"), join(dir, "sanboot.cjs"));
  stack = await startLocalStack({ powerDelayMs: 20, sweepMs: 200 });
  // the default profile, where an operator keeps it: ~/.config/sanboot/config.json
  const config = join(dir, ".config", "sanboot");
  mkdirSync(config, { recursive: true });
  writeFileSync(join(config, "config.json"), JSON.stringify({ profiles: { default: { url: stack.service.url, token: stack.apiToken } } }), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the sanboot bundle on plain node", () => {
  it("enrolls, boots with --wait to active, undeploys with --wait to detached", async () => {
    const found = stack.bmc.addSystem({ id: "cli-bundle-1", mac: "02:00:5e:77:10:01", powerState: "Off" });
    expect(found.id).toBe("cli-bundle-1");
    const enrolled = await sanboot("nodes", "enroll", "--name", "bundle-node", "--site", LAB_SITE, "--bmc-address", stack.bmc.url, "--system-id", "cli-bundle-1", "--credentials-ref", LAB_CREDENTIALS_REF, "--mac", "02:00:5e:77:10:01");
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const volume = await cinderAdmin(stack).createVolume({ bootable: true });
    const boot = await sanboot("boot", "bundle-node", volume, "--wait");
    expect(boot.code, boot.stdout + boot.stderr).toBe(0);
    expect(boot.stdout).toMatch(/^active after \d+:\d\d \(boot confirmed: yes/m);
    const undeploy = await sanboot("undeploy", "bundle-node", "--wait");
    expect(undeploy.code).toBe(0);
    expect(undeploy.stdout).toMatch(/^detached after /m);
  }, 120_000);

  it("prints the API's code and exits 1 on an error, 2 on usage", async () => {
    expect(await sanboot("nodes", "show", "no-such-node")).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: NODE_NOT_FOUND: /) });
    expect(await sanboot("frobnicate")).toMatchObject({ code: 2 });
    // the profile's token is a member's: the sites commands are an admin's
    expect(await sanboot("sites", "list")).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: FORBIDDEN: /) });
    expect((await sanboot("--help")).stdout).toContain("usage: sanboot");
  });
});
