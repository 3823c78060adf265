/**
 * The functions' V8 code cache (packaging/v8-code-cache.cjs, packaging/v8-cache-loader.cjs,
 * issue 11): the loader runs the bundle with a cache V8 takes, and without one, or with one it
 * must not or cannot use, exactly as Node would require the bundle.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build, type Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const { installCodeCache, functionsOf, v8CodeCache } = require("../../packaging/v8-code-cache.cjs") as {
  installCodeCache(out: string, o: { args: string[]; nodeOptions: string; env?: Record<string, string> }): Promise<void>;
  functionsOf(service: unknown, entry: string): string[];
  v8CodeCache(serverless: unknown): Plugin;
};
const { lambdaNodeArgs, functionNodeSettings, runtimeNodeMajor, nodeArch } = require("../../packaging/lambda-node.cjs") as {
  lambdaNodeArgs(memorySize: number): string[];
  functionNodeSettings(service: unknown, name: string): { runtime: string | null; memorySize: number; nodeOptions: string; args: string[]; arch: string };
  nodeArch(architecture: string | undefined): string;
  runtimeNodeMajor(runtime: string | null): number | null;
};

// a bundle as esbuild writes one (CommonJS, "use strict", a Node module imported later as
// esbuild writes import() with supported: { dynamic-import: false }), with what a real one does
// while loading: functions compiled at load, a builtin required, its own __filename
const BUNDLE = `"use strict";
const { sep } = require("node:path");
const table = Array.from({ length: 200 }, (_, i) => (x) => x * i);
function answer(event) { return { ok: true, event, sum: table.reduce((s, f) => s + f(1), 0), file: __filename.split(sep).pop(), self: this === module.exports }; }
module.exports.handler = async (event) => ({ ...answer.call(module.exports, event), path: (await Promise.resolve().then(() => require("node:path"))).basename("/a/b.txt") });
module.exports.loadedAs = this === module.exports;
`;
const { runtimeNode, runtimeNodeVersion, RUNTIME_NODE_VERSION, serviceArchitectures } = require("../../packaging/runtime-node.cjs") as {
  runtimeNode(major: number): string | null;
  serviceArchitectures(): string[];
  runtimeNodeVersion(): string;
  RUNTIME_NODE_VERSION: string;
};
const ARGS = lambdaNodeArgs(256);

/** the JSON header of a cache file (packaging/v8-cache-write.cjs) */
function readHeader(file: string): Record<string, unknown> {
  const cache = readFileSync(file);
  return JSON.parse(cache.toString("utf8", 8, 8 + cache.readUInt32LE(4)));
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sanboot-v8-cache-"));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

/** a copy of the packaged handler in its own folder: functions/h.js (the loader), h.bundle.js, h.bundle.cache */
async function packaged(name: string, bundle = BUNDLE): Promise<string> {
  const out = join(dir, name, "functions", "h.js");
  mkdirSync(join(dir, name, "functions"), { recursive: true });
  writeFileSync(out, bundle);
  await installCodeCache(out, { args: ARGS, nodeOptions: "" });
  return out;
}

interface Loaded {
  answer: Record<string, unknown>;
  cache: string;
  loadedAs: boolean;
  /** the line the loader wrote when it did not use the cache, when it wrote one */
  warned?: Record<string, unknown>;
}

/** require the handler in a node started with these arguments, call it; what it answered and what the loader did */
async function load(handler: string, args = ARGS, env: Record<string, string> = {}): Promise<Loaded> {
  const code = `const m = require(${JSON.stringify(handler)}); m.handler({ n: 1 }).then((answer) => console.log(JSON.stringify({ answer, loadedAs: m.loadedAs, cache: globalThis[Symbol.for("sanboot.v8-code-cache")]?.cache ?? "no loader" })))`;
  const { stdout } = await run(process.execPath, [...args, "-e", code], { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000 });
  const lines = stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  const result = lines.pop() as unknown as Loaded;
  expect(lines.length).toBeLessThanOrEqual(1);
  return lines[0] ? { ...result, warned: lines[0] } : result;
}

/** the last line a handler's -e script printed (a loader's warning may come before it) */
const lastLine = (stdout: string) => stdout.trim().split("\n").at(-1);

const ANSWER = { ok: true, event: { n: 1 }, sum: 19900, file: "h.bundle.js", self: true, path: "b.txt" };

describe("the code-cache loader", () => {
  it("puts itself in place of the handler, the bundle beside it, and a cache that names the bundle and its node", async () => {
    const out = await packaged("installed");
    expect(readFileSync(out, "utf8")).toBe(readFileSync(join(__dirname, "../../packaging/v8-cache-loader.cjs"), "utf8"));
    expect(readFileSync(out.replace(/\.js$/, ".bundle.js"), "utf8")).toBe(BUNDLE);
    const cache = readFileSync(out.replace(/\.js$/, ".bundle.cache"));
    expect(cache.toString("latin1", 0, 4)).toBe("SBV8");
    const header = JSON.parse(cache.toString("utf8", 8, 8 + cache.readUInt32LE(4)));
    expect(header).toMatchObject({ node: process.version, v8: process.versions.v8, execArgv: ARGS, nodeOptions: "" });
    expect(header.sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it("runs the bundle with its cache when V8 takes it, as Node would run the module", async () => {
    const out = await packaged("accepted");
    expect(await load(out)).toEqual({ answer: ANSWER, cache: "accepted", loadedAs: true });
  }, 60_000);

  it("answers the same without a cache, with the bundle required as usual", async () => {
    const out = await packaged("none");
    rmSync(out.replace(/\.js$/, ".bundle.cache"));
    expect(await load(out)).toEqual({ answer: ANSWER, cache: "none", loadedAs: true });
    // and the plain bundle, for comparison
    expect(await load(out.replace(/\.js$/, ".bundle.js"))).toEqual({ answer: ANSWER, cache: "no loader", loadedAs: true });
  }, 60_000);

  it("compiles the bundle as without a cache when V8 rejects it (node started with other V8 flags)", async () => {
    const out = await packaged("rejected");
    const rejected = await load(out, ["--stack-trace-limit=7"]);
    expect(rejected).toMatchObject({ answer: ANSWER, cache: "rejected", loadedAs: true });
    // said once, at that cold start, with what to package with
    expect(rejected.warned).toMatchObject({
      level: "warn",
      msg: expect.stringMatching(/code cache not used/),
      cache: "rejected",
      cache_written_by: process.version,
      node: process.version,
      hint: `package with SANBOOT_RUNTIME_NODE_VERSION=${process.versions.node} to write caches this node takes`,
    });
    expect(await load(out, ["--stack-trace-limit=7"], { SANBOOT_LOG_LEVEL: "error" })).toEqual({ answer: ANSWER, cache: "rejected", loadedAs: true });
    expect(await load(out, ARGS, { NODE_OPTIONS: "--stack-trace-limit=20" })).toMatchObject({ answer: ANSWER, cache: "rejected" });
    // a heap size in NODE_OPTIONS changes nothing: the bootstrap's own on the command line wins
    expect(await load(out, ARGS, { NODE_OPTIONS: "--max-old-space-size=100 --max-semi-space-size=64" })).toMatchObject({ answer: ANSWER, cache: "accepted" });
  }, 60_000);

  it("does not use a cache written for other contents of the bundle, even of the same length", async () => {
    const out = await packaged("stale");
    const changed = BUNDLE.replace("ok: true", "ok: !!1 ");
    expect(changed.length).toBe(BUNDLE.length);
    writeFileSync(out.replace(/\.js$/, ".bundle.js"), changed);
    expect(await load(out)).toMatchObject({ answer: { ...ANSWER, ok: true }, cache: "stale", loadedAs: true, warned: { cache: "stale" } });
    writeFileSync(out.replace(/\.js$/, ".bundle.js"), BUNDLE.replace("ok: true", "ok: 1==2"));
    expect((await load(out)).answer.ok).toBe(false);
  }, 60_000);

  it("does not use a cache another V8 wrote, nor one that is not a cache", async () => {
    const out = await packaged("foreign");
    const file = out.replace(/\.js$/, ".bundle.cache");
    const cache = readFileSync(file);
    const length = cache.readUInt32LE(4);
    const header = JSON.parse(cache.toString("utf8", 8, 8 + length));
    const other = Buffer.from(JSON.stringify({ ...header, v8: "1.2.3.4" }));
    const size = Buffer.alloc(4);
    size.writeUInt32LE(other.length);
    writeFileSync(file, Buffer.concat([cache.subarray(0, 4), size, other, cache.subarray(8 + length)]));
    expect(await load(out)).toMatchObject({ answer: ANSWER, cache: "other-v8", warned: { cache: "other-v8", cache_written_by: process.version, hint: expect.stringContaining("SANBOOT_RUNTIME_NODE_VERSION") } });
    // another node build of the same V8 version (its "-node.N" differs): V8 judges the cache
    const sibling = Buffer.from(JSON.stringify({ ...header, v8: `${process.versions.v8.replace(/-.*$/, "")}-node.999` }));
    size.writeUInt32LE(sibling.length);
    writeFileSync(file, Buffer.concat([cache.subarray(0, 4), size, sibling, cache.subarray(8 + length)]));
    expect(await load(out)).toMatchObject({ answer: ANSWER, cache: "accepted" });
    // another architecture's node wrote it (V8 would reject it: its flags differ)
    const elsewhere = Buffer.from(JSON.stringify({ ...header, arch: process.arch === "arm64" ? "x64" : "arm64" }));
    size.writeUInt32LE(elsewhere.length);
    writeFileSync(file, Buffer.concat([cache.subarray(0, 4), size, elsewhere, cache.subarray(8 + length)]));
    expect(await load(out)).toMatchObject({ answer: ANSWER, cache: "other-arch", warned: { cache: "other-arch", arch: process.arch, hint: expect.stringMatching(/^package for (x86_64|arm64): /) } });
    size.writeUInt32LE(other.length);
    writeFileSync(file, "not a cache");
    expect(await load(out)).toMatchObject({ answer: ANSWER, cache: "unreadable" });
    writeFileSync(file, Buffer.concat([Buffer.from("SBV8"), size, Buffer.from("{")]));
    expect(await load(out)).toMatchObject({ answer: ANSWER, cache: "unreadable" });
  }, 60_000);

  it("keeps the plain bundle when the handler does not load, and says why", async () => {
    const out = join(dir, "broken", "functions", "h.js");
    mkdirSync(join(dir, "broken", "functions"), { recursive: true });
    writeFileSync(out, 'throw new Error("no such setting");\n');
    await expect(installCodeCache(out, { args: ARGS, nodeOptions: "" })).rejects.toThrow(/does not load to write its code cache: .*no such setting/);
    expect(readFileSync(out, "utf8")).toBe('throw new Error("no such setting");\n');
    expect(existsSync(out.replace(/\.js$/, ".bundle.js"))).toBe(false);
    expect(existsSync(out.replace(/\.js$/, ".bundle.cache"))).toBe(false);
  }, 60_000);

  it("shows an error's line in the bundle as the bundle's own", async () => {
    const out = await packaged("stack", `"use strict";\nmodule.exports.handler = async () => ({ line: Number(/h\\.bundle\\.js:(\\d+)/.exec(new Error().stack)[1]) });\n`);
    expect((await load(out)).answer).toEqual({ line: 2 });
  }, 60_000);
});

describe("how Lambda starts node (packaging/lambda-node.cjs)", () => {
  it("gives a 256 MB function the bootstrap's semi-space and old-space sizes", () => {
    expect(lambdaNodeArgs(256)).toEqual(["--expose-gc", "--max-http-header-size", "81920", "--max-semi-space-size=12", "--max-old-space-size=231"]);
    expect(lambdaNodeArgs(1024)).toContain("--max-old-space-size=922");
  });

  it("reads a function's runtime, memory and NODE_OPTIONS, its own over the provider's", () => {
    const service = {
      provider: { runtime: "nodejs22.x", memorySize: 256, environment: { NODE_OPTIONS: "--stack-trace-limit=20", X: "1" } },
      functions: { a: { handler: "functions/a.handler" }, b: { handler: "functions/b.handler", memorySize: 512, environment: { NODE_OPTIONS: "" } } },
    };
    expect(functionNodeSettings(service, "a")).toEqual({ runtime: "nodejs22.x", memorySize: 256, nodeOptions: "--stack-trace-limit=20", args: lambdaNodeArgs(256), arch: "x64" });
    expect(functionNodeSettings(service, "b")).toMatchObject({ memorySize: 512, nodeOptions: "" });
    // the architecture, node's name for Lambda's: x86_64 when none is given, the function's over the provider's
    const graviton = { provider: { ...service.provider, architecture: "arm64" }, functions: { ...service.functions, c: { handler: "functions/c.handler", architecture: "x86_64" } } };
    expect(functionNodeSettings(graviton, "a").arch).toBe("arm64");
    expect(functionNodeSettings(graviton, "c").arch).toBe("x64");
    expect(() => nodeArch("aarch64")).toThrow(/a Lambda architecture is x86_64 or arm64, not "aarch64"/);
    expect(runtimeNodeMajor("nodejs22.x")).toBe(22);
    expect(runtimeNodeMajor("python3.12")).toBeNull();
    expect(functionsOf(service, "functions/b.ts")).toEqual(["b"]);
    expect(functionsOf(service, "./functions/a.ts")).toEqual(["a"]);
  });
});

describe("the node that writes the caches (packaging/runtime-node.cjs)", () => {
  /** runtimeNode(major) with SANBOOT_RUNTIME_NODE_VERSION set to `version` (and no SANBOOT_RUNTIME_NODE) */
  function withVersion<T>(version: string | undefined, f: () => T): T {
    const saved = { v: process.env.SANBOOT_RUNTIME_NODE_VERSION, n: process.env.SANBOOT_RUNTIME_NODE };
    delete process.env.SANBOOT_RUNTIME_NODE;
    if (version === undefined) delete process.env.SANBOOT_RUNTIME_NODE_VERSION;
    else process.env.SANBOOT_RUNTIME_NODE_VERSION = version;
    try {
      return f();
    } finally {
      for (const [key, value] of [["SANBOOT_RUNTIME_NODE_VERSION", saved.v], ["SANBOOT_RUNTIME_NODE", saved.n]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  }
  const major = Number(process.versions.node.split(".")[0]);

  it("packages with the pinned release unless SANBOOT_RUNTIME_NODE_VERSION names the one the runtime runs", () => {
    expect(withVersion(undefined, runtimeNodeVersion)).toBe(RUNTIME_NODE_VERSION);
    expect(withVersion("v22.22.0", runtimeNodeVersion)).toBe("22.22.0");
    // this node, when it is the release named
    expect(withVersion(process.versions.node, () => runtimeNode(major))).toBe(process.execPath);
  });

  it("installs for the architecture serverless.yml gives the functions: Graviton unless SANBOOT_LAMBDA_ARCHITECTURE says otherwise", () => {
    const before = process.env.SANBOOT_LAMBDA_ARCHITECTURE;
    try {
      delete process.env.SANBOOT_LAMBDA_ARCHITECTURE;
      expect(serviceArchitectures()).toEqual(["arm64"]);
      process.env.SANBOOT_LAMBDA_ARCHITECTURE = "x86_64";
      expect(serviceArchitectures()).toEqual(["x64"]);
      process.env.SANBOOT_LAMBDA_ARCHITECTURE = "amd64";
      expect(() => serviceArchitectures()).toThrow(/x86_64 or arm64, not "amd64"/);
    } finally {
      if (before === undefined) delete process.env.SANBOOT_LAMBDA_ARCHITECTURE;
      else process.env.SANBOOT_LAMBDA_ARCHITECTURE = before;
    }
  });

  it("refuses a release it cannot package with, saying what to do", () => {
    expect(() => withVersion("22.x", runtimeNodeVersion)).toThrow(/SANBOOT_RUNTIME_NODE_VERSION must be a node release such as 22\.22\.0, not "22\.x"/);
    expect(() => withVersion(`${major}.0.999`, () => runtimeNode(major))).toThrow(new RegExp(`SANBOOT_RUNTIME_NODE_VERSION=${major}\\.0\\.999 is not installed for ${process.arch}: .node packaging/runtime-node\\.cjs ${process.arch}. installs it`));
    expect(() => withVersion(`${major + 1}.1.0`, () => runtimeNode(major))).toThrow(new RegExp(`is node ${major + 1}; the functions run node ${major}`));
  });
});

describe("the code-cache plugin", () => {
  const service = { provider: { runtime: "nodejs22.x", memorySize: 256, region: "us-east-1" }, functions: { h: { handler: "functions/h.handler" } } };
  const sameMajor = process.versions.node.startsWith("22.");

  /** functions/h.ts built into dir/<name>/functions/h.js with the plugin under `serverless <command>`; the files there and the warnings */
  async function packageWith(name: string, command: string, mode: string | undefined, source = "export const handler = async () => 42;\n") {
    const root = join(dir, name);
    mkdirSync(join(root, "functions"), { recursive: true });
    writeFileSync(join(root, "functions", "h.ts"), source);
    const before = process.env.SANBOOT_V8_CODE_CACHE;
    if (mode === undefined) delete process.env.SANBOOT_V8_CODE_CACHE;
    else process.env.SANBOOT_V8_CODE_CACHE = mode;
    try {
      const result = await build({
        absWorkingDir: root,
        entryPoints: ["functions/h.ts"],
        outdir: join(root, "functions"),
        bundle: true,
        platform: "node",
        format: "cjs",
        logLevel: "silent",
        plugins: [v8CodeCache({ processedInput: { commands: [command] }, service })],
      });
      const warnings = result.warnings.map((w) => w.text);
      return { files: ["h.js", "h.bundle.js", "h.bundle.cache"].filter((f) => existsSync(join(root, "functions", f))), warnings, handler: join(root, "functions", "h.js") };
    } finally {
      if (before === undefined) delete process.env.SANBOOT_V8_CODE_CACHE;
      else process.env.SANBOOT_V8_CODE_CACHE = before;
    }
  }

  it("by default, writes a cache only when a node of the runtime's major version is at hand, with that node", async () => {
    const errors: unknown[] = [];
    const warn = console.warn;
    console.warn = (...a: unknown[]) => void errors.push(a.join(" "));
    try {
      const writer = runtimeNode(22);
      const { files, handler } = await packageWith("auto", "package", undefined);
      if (writer) {
        expect(files).toEqual(["h.js", "h.bundle.js", "h.bundle.cache"]);
        const { stdout } = await run(writer, [...ARGS, "-e", `require(${JSON.stringify(handler)}).handler().then((v) => console.log(v, globalThis[Symbol.for("sanboot.v8-code-cache")].cache))`]);
        expect(lastLine(stdout)).toBe("42 accepted");
      } else {
        expect(sameMajor).toBe(false);
        expect(files).toEqual(["h.js"]);
        expect(errors.join("\n")).toMatch(/packaging runs node v\d+ \(\w+\), the functions run nodejs22\.x on x64 and no node 22 for x64 is at hand: no code cache/);
      }
    } finally {
      console.warn = warn;
    }
  }, 60_000);

  it("writes the cache with the node SANBOOT_RUNTIME_NODE names, and refuses one of another major", async () => {
    const before = process.env.SANBOOT_RUNTIME_NODE;
    try {
      const writer = runtimeNode(22);
      if (!sameMajor) {
        process.env.SANBOOT_RUNTIME_NODE = process.execPath;
        const { files, warnings } = await packageWith("named-other", "package", undefined);
        expect(files).toEqual(["h.js"]);
        expect(warnings.join("\n")).toMatch(new RegExp(`SANBOOT_RUNTIME_NODE=.* is node ${process.versions.node.split(".")[0]}; the functions run node 22; packaged without a cache`));
      }
      if (!writer) return; // no node 22 here: `node packaging/runtime-node.cjs` installs one (CI does)
      process.env.SANBOOT_RUNTIME_NODE = writer;
      const { files, handler } = await packageWith("named", "package", undefined);
      expect(files).toEqual(["h.js", "h.bundle.js", "h.bundle.cache"]);
      const header = readHeader(handler.replace(/\.js$/, ".bundle.cache"));
      expect(header.node).toMatch(/^v22\./);
      const answer = async (node: string) => lastLine((await run(node, [...ARGS, "-e", `require(${JSON.stringify(handler)}).handler().then((v) => console.log(v, globalThis[Symbol.for("sanboot.v8-code-cache")].cache))`])).stdout);
      expect(await answer(writer)).toBe("42 accepted");
      if (!sameMajor) expect(await answer(process.execPath)).toBe("42 other-v8");
    } finally {
      if (before === undefined) delete process.env.SANBOOT_RUNTIME_NODE;
      else process.env.SANBOOT_RUNTIME_NODE = before;
    }
  }, 120_000);

  it("with SANBOOT_V8_CODE_CACHE=on, writes one whatever node packages (the runtime's node's when at hand, else this one's), which that node takes", async () => {
    const { files, handler } = await packageWith("on", "package", "on");
    expect(files).toEqual(["h.js", "h.bundle.js", "h.bundle.cache"]);
    const { stdout } = await run(runtimeNode(22) ?? process.execPath, [...ARGS, "-e", `require(${JSON.stringify(handler)}).handler().then((v) => console.log(v, globalThis[Symbol.for("sanboot.v8-code-cache")].cache))`]);
    expect(lastLine(stdout)).toBe("42 accepted");
  }, 60_000);

  it("writes none with SANBOOT_V8_CODE_CACHE=off, nor under serverless offline", async () => {
    expect((await packageWith("off", "package", "off")).files).toEqual(["h.js"]);
    expect((await packageWith("offline", "offline", "on")).files).toEqual(["h.js"]);
  }, 60_000);

  it("gives a bundle that keeps an import() no cache, and says so", async () => {
    const { files, warnings } = await packageWith("dynamic", "package", "on", 'export const handler = async () => (await import("node:path")).sep;\n');
    expect(files).toEqual(["h.js"]);
    expect(warnings.join("\n")).toMatch(/keeps import\(\) of node:path; packaged without a cache/);
  }, 60_000);
});
