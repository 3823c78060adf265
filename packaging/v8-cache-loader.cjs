"use strict";
// The handler file of a function packaged with a V8 code cache (packaging/v8-code-cache.cjs,
// issue 11, cold start). Copied as functions/<name>.js beside the function's bundle
// (<name>.bundle.js) and the cache V8 wrote for it at packaging time (<name>.bundle.cache): the
// bundle is compiled with that cache, which spares a cold start compiling it (and the functions
// it runs while loading), and then run as this module.
//
// A cache that cannot be used is left alone and the bundle is required as Node requires any
// module: none there, one that another V8 version wrote, one written for other contents of the
// bundle (its sha256 differs), or one V8 rejects after all (other V8 flags, or another node build
// of the same V8 version whose read-only heap snapshot differs: the bundle is then run from that
// compile, as without a cache). What happened is at
// globalThis[Symbol.for("sanboot.v8-code-cache")].cache: accepted, rejected, none, unreadable,
// other-arch, other-v8 or stale (bench/cold-start.ts reports it).
//
// A bundle must hold no import(): one in code V8 took from a cache finds no loader for it (Node
// keeps the callback that serves a vm.Script's import() per process; serverless.yml's esbuild
// options write Node's modules as require(), and packaging/v8-code-cache.cjs gives a bundle that
// still has one no cache).
//
// The cache file: "SBV8", the header's length (uint32 LE), the header (JSON: the bundle's sha256,
// the node and V8 that wrote it, their flags), then V8's cached data.
const { createHash } = require("node:crypto");
const { closeSync, openSync, readFileSync, readSync } = require("node:fs");
const { createRequire } = require("node:module");
const vm = require("node:vm");

const KEY = Symbol.for("sanboot.v8-code-cache");
const bundle = __filename.replace(/\.(c?js)$/, ".bundle.$1");
const cacheFile = bundle.replace(/\.c?js$/, ".cache");
// packaging/v8-cache-write.cjs asks for the compile it writes the cache of
const writing = globalThis[KEY]?.write === true;
const state = { bundle, cacheFile, cache: "none", header: null, script: null };
globalThis[KEY] = state;

const found = writing ? null : readCache();
let bytes = null;
if (found?.header) {
  state.header = found.header;
  // V8 checks its own version (major.minor.build.patch, not the embedder's "-node.N"), its flags
  // and its read-only snapshot's checksum (which differs between some builds of one version); a
  // cache from another V8 is not worth reading, the rest V8 judges
  // nor one another architecture's node wrote: V8 rejects it ("flags mismatch")
  if (typeof found.header.arch === "string" && found.header.arch !== process.arch) state.cache = "other-arch";
  else if (v8Version(found.header.v8) !== v8Version(process.versions.v8)) state.cache = "other-v8";
  else {
    bytes = readFileSync(bundle);
    if (found.header.sha256 !== createHash("sha256").update(bytes).digest("hex")) state.cache = "stale";
  }
} else if (found) state.cache = "unreadable";

if (writing || (bytes && state.cache === "none")) {
  bytes ??= readFileSync(bundle);
  const cachedData = writing ? undefined : readFileSync(cacheFile).subarray(found.dataOffset);
  // the bundle as Node's CommonJS loader runs a module, its first line kept as line 1
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${bytes.toString("utf8")}\n})`, {
    filename: bundle,
    lineOffset: -1,
    cachedData,
  });
  if (cachedData) state.cache = script.cachedDataRejected ? "rejected" : "accepted";
  state.script = script;
  script.runInThisContext().call(module.exports, module.exports, createRequire(bundle), module, bundle, __dirname);
} else {
  module.exports = require(bundle);
}
if (!writing) reportUnused();

/**
 * A cache that was packaged but not used is said once, at the cold start that paid for it
 * (one JSON line as lib/log.ts writes them, level warn): V8 takes a cache only from a node whose
 * V8 build matches the writer's (observed: releases of one line share it, as 22.23.0 to 22.23.5
 * do, while 22.22.0 and 22.22.2 do not), so the fix is to package with the node the runtime runs
 * (SANBOOT_RUNTIME_NODE_VERSION, packaging/runtime-node.cjs).
 */
function reportUnused() {
  if (state.cache === "none" || state.cache === "accepted") return;
  if (process.env.SANBOOT_LOG_LEVEL === "error") return;
  const writer = state.header?.node ?? null;
  process.stdout.write(
    JSON.stringify({
      time: new Date().toISOString(),
      level: "warn",
      msg: "V8 code cache not used: this cold start compiled the bundle",
      service: "sanboot",
      cache: state.cache,
      cache_written_by: writer,
      node: process.version,
      v8: process.versions.v8,
      ...(state.cache === "other-arch"
        ? { cache_written_on: state.header.arch, arch: process.arch, hint: `package for ${process.arch === "x64" ? "x86_64" : process.arch}: the caches are written by that architecture's node` }
        : state.cache === "other-v8" || state.cache === "rejected"
          ? { hint: `package with SANBOOT_RUNTIME_NODE_VERSION=${process.versions.node} to write caches this node takes` }
          : {}),
    }) + "\n",
  );
}

/** 12.4.254.21 of 12.4.254.21-node.33: the version V8 hashes into its cache (the embedder's suffix is not in it) */
function v8Version(v) {
  return String(v).replace(/-.*$/, "");
}

/** the cache file's header and where V8's data starts; null when there is no cache, {header: null} when it is not one */
function readCache() {
  let fd;
  try {
    fd = openSync(cacheFile, "r");
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8 || head.toString("latin1", 0, 4) !== "SBV8") return { header: null };
    const length = head.readUInt32LE(4);
    const json = Buffer.alloc(length);
    if (length > 65536 || readSync(fd, json, 0, length, 8) !== length) return { header: null };
    const header = JSON.parse(json.toString("utf8"));
    return typeof header?.sha256 === "string" && typeof header.v8 === "string" ? { header, dataOffset: 8 + length } : { header: null };
  } catch {
    return { header: null };
  } finally {
    closeSync(fd);
  }
}
