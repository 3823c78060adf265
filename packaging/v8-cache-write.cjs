"use strict";
// `node <the function's node flags> packaging/v8-cache-write.cjs <handler file>`: loads a handler
// through its loader (packaging/v8-cache-loader.cjs) as the Lambda runtime would, i.e. compiles
// and runs its bundle, then writes the code cache V8 has for it, the functions compiled while
// loading included (packaging/v8-code-cache.cjs runs it at packaging time, issue 11). Run with
// the flags the function runs with: V8 rejects a cache written under other flags.
const { createHash } = require("node:crypto");
const { readFileSync, writeFileSync } = require("node:fs");
const { resolve } = require("node:path");

const handler = resolve(process.argv[2] ?? "");
// the loader compiles its bundle with no cache and keeps the compile (packaging/v8-cache-loader.cjs)
globalThis[Symbol.for("sanboot.v8-code-cache")] = { write: true };
const loaded = require(handler);
if (typeof loaded?.handler !== "function") throw new Error(`${handler} exports no handler function`);
const state = globalThis[Symbol.for("sanboot.v8-code-cache")];
if (!state?.script) throw new Error(`${handler} is not a code-cache loader (packaging/v8-cache-loader.cjs)`);
const data = state.script.createCachedData();
const header = Buffer.from(
  JSON.stringify({
    sha256: createHash("sha256").update(readFileSync(state.bundle)).digest("hex"),
    node: process.version,
    v8: process.versions.v8,
    arch: process.arch,
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS ?? "",
  }),
);
const length = Buffer.alloc(4);
length.writeUInt32LE(header.length);
writeFileSync(state.cacheFile, Buffer.concat([Buffer.from("SBV8", "latin1"), length, header, data]));
// the handler's module may have left timers or sockets open; the cache is written
process.exit(0);
