// esbuild plugin for the function bundles (issue 11, cold start): each handler ships with a V8
// code cache written at packaging time, so that a cold start does not compile its bundle.
// functions/<name>.js becomes packaging/v8-cache-loader.cjs, the bundle esbuild wrote moves to
// functions/<name>.bundle.js and the cache beside it, functions/<name>.bundle.cache, written by
// loading the handler once in a node started as the Lambda runtime starts it for that function
// (packaging/lambda-node.cjs: its memory's flags and its NODE_OPTIONS), since V8 takes a cache
// only from its own version under the same flags. The three files are in that function's zip
// alone (serverless-esbuild zips what is in the build folder; another function's files, named
// after its handler, are left out of each zip).
//
// V8 also rejects a cache from another V8 version or build (its read-only snapshot): the cache is
// written by a node of the runtime's major version (nodejs22.x: node 22; packaging/runtime-node.cjs:
// SANBOOT_RUNTIME_NODE, SANBOOT_RUNTIME_NODE_VERSION or the pinned release, which
// `node packaging/runtime-node.cjs` installs, else the node packaging runs when it is that one). The loader uses it only where V8's tag for cached
// data is the writer's. SANBOOT_V8_CODE_CACHE:
//   auto (default)  a cache when a node of the runtime's major is at hand; otherwise the plain
//                   bundle, as before, and a warning
//   on              a cache whatever node that is (this node's when none of the runtime's is
//                   at hand: its figures; Lambda compiles the bundle as without one)
//   off             the plain bundle
// Only `serverless package` and `serverless deploy` write caches; `serverless offline` (npm start)
// runs the plain bundles.
const { execFile } = require("node:child_process");
const { copyFile, rename, rm } = require("node:fs/promises");
const { join } = require("node:path");
const { promisify } = require("node:util");
const { functionNodeSettings, runtimeNodeMajor } = require("./lambda-node.cjs");
const { nodeLauncher, runtimeNode } = require("./runtime-node.cjs");

const run = promisify(execFile);
const LOADER = join(__dirname, "v8-cache-loader.cjs");
const WRITER = join(__dirname, "v8-cache-write.cjs");

/** the names of the service's functions whose handler is in this entry (functions/attach.ts) */
function functionsOf(service, entry) {
  const base = entry.replace(/\\/g, "/").replace(/^\.\//, "").replace(/\.[cm]?[jt]s$/, "");
  return Object.entries(service?.functions ?? {})
    .filter(([, fn]) => typeof fn?.handler === "string" && fn.handler.slice(0, fn.handler.lastIndexOf(".")) === base)
    .map(([name]) => name);
}

/**
 * Put the loader in place of the handler file `out` (its bundle moved beside it) and write the
 * cache by loading it in `node` (default: this one) with these node arguments and NODE_OPTIONS.
 * Throws when the handler does not load; the plain bundle is then put back.
 */
async function installCodeCache(out, { args, nodeOptions, env = {}, node = process.execPath }) {
  const bundle = out.replace(/\.(c?js)$/, ".bundle.$1");
  await rename(out, bundle);
  await copyFile(LOADER, out);
  try {
    // a node of another architecture runs under qemu-user (packaging/runtime-node.cjs)
    const launch = nodeLauncher(node);
    await run(launch.command, [...launch.args, ...args, WRITER, out], {
      env: { PATH: process.env.PATH ?? "", ...env, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) },
      timeout: launch.emulated ? 300_000 : 60_000,
    });
  } catch (err) {
    await rm(bundle.replace(/\.c?js$/, ".cache"), { force: true });
    await rename(bundle, out);
    const why = String(err.stderr ?? err.message).trim().split("\n").slice(0, 6).join(" | ");
    throw new Error(`${out} does not load to write its code cache: ${why}`);
  }
}

function v8CodeCache(serverless) {
  const warned = new Set();
  const warn = (text) => {
    if (warned.has(text)) return;
    warned.add(text);
    console.warn(`v8-code-cache: ${text}`);
  };
  return {
    name: "v8-code-cache",
    setup(build) {
      const mode = process.env.SANBOOT_V8_CODE_CACHE ?? "auto";
      if (!["auto", "on", "off"].includes(mode)) throw new Error(`SANBOOT_V8_CODE_CACHE must be auto, on or off, not "${mode}"`);
      const command = serverless?.processedInput?.commands?.[0];
      if (mode === "off" || !serverless || !["package", "deploy"].includes(command)) return;
      build.initialOptions.metafile = true;
      build.onEnd(async (result) => {
        if (result.errors.length > 0 || !result.metafile) return undefined;
        const warnings = [];
        const service = serverless.service;
        const root = build.initialOptions.absWorkingDir ?? process.cwd();
        for (const [output, { entryPoint, imports }] of Object.entries(result.metafile.outputs)) {
          if (!entryPoint || !/\.c?js$/.test(output)) continue;
          const [name] = functionsOf(service, entryPoint);
          if (!name) continue;
          // code V8 took from a cache has no loader for an import() (packaging/v8-cache-loader.cjs)
          const dynamic = imports.filter((i) => i.kind === "dynamic-import").map((i) => i.path);
          if (dynamic.length > 0) {
            warnings.push({ text: `v8-code-cache: ${output} keeps import() of ${dynamic.join(", ")}; packaged without a cache (esbuild's supported: { dynamic-import: false } writes them as require())` });
            continue;
          }
          const settings = functionNodeSettings(service, name);
          const major = runtimeNodeMajor(settings.runtime);
          if (major === null) continue;
          let node;
          try {
            node = runtimeNode(major, settings.arch) ?? (mode === "on" ? process.execPath : null);
          } catch (err) {
            warnings.push({ text: `v8-code-cache: ${err.message}; packaged without a cache` });
            continue;
          }
          if (!node) {
            warn(`packaging runs node ${process.version} (${process.arch}), the functions run ${settings.runtime} on ${settings.arch} and no node ${major} for ${settings.arch} is at hand: no code cache (V8 would reject this node's); \`node packaging/runtime-node.cjs\` installs one (SANBOOT_RUNTIME_NODE_VERSION picks the release; SANBOOT_RUNTIME_NODE names a binary), SANBOOT_V8_CODE_CACHE=on measures this node's`);
            continue;
          }
          const env = { AWS_REGION: String(service.provider?.region ?? "us-east-1"), AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(settings.memorySize) };
          try {
            await installCodeCache(join(root, output), { ...settings, env, node });
          } catch (err) {
            warnings.push({ text: `v8-code-cache: ${err.message}; packaged without a cache` });
          }
        }
        return { warnings };
      });
    },
  };
}

module.exports = { v8CodeCache, installCodeCache, functionsOf };
