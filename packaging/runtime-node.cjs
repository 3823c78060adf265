// The node the functions run on Lambda, for this machine (issue 11, cold start): what writes
// each function's V8 code cache at packaging time (packaging/v8-code-cache.cjs) and what
// bench/cold-start.ts measures the packaged handlers with. serverless.yml's runtime is
// nodejs22.x; the machine that packages may run another node (this one: 20), whose V8 caches
// Lambda's V8 rejects, and whose load times are not Lambda's.
//
// Node's own builds are published on the npm registry (node-<platform>-<arch>, the binary under
// bin/); `node packaging/runtime-node.cjs` installs the chosen one under .cache/runtime-node/ once
// and prints its path. Which one:
//   SANBOOT_RUNTIME_NODE          a node binary (it must be the runtime's major version)
//   SANBOOT_RUNTIME_NODE_VERSION  a release (22.22.0): the one Lambda runs, when its cold starts
//                                 say the cache was not used (packaging/v8-cache-loader.cjs)
//   neither                       the pinned release below
// V8 takes a cache only from the same V8 build: node 22's releases all carry V8 12.4.254.21, but
// measured here, a cache one writes is taken by some others only (22.23.0-22.23.5 share theirs;
// 22.19.0-22.22.0 theirs; 22.22.2 its own; 22.11.0 its own).
const { execFileSync } = require("node:child_process");
const { existsSync, mkdirSync } = require("node:fs");
const { join, resolve } = require("node:path");

const ROOT = resolve(__dirname, "..");
/** The node 22 sanboot packages with and measures (the latest 22 on the registry when pinned). */
const RUNTIME_NODE_VERSION = "22.23.5";

const packageName = () => `node-${process.platform}-${process.arch}`;
const installDir = (version) => join(ROOT, ".cache", "runtime-node", `${packageName()}-${version}`);
const binaryIn = (dir) => join(dir, "node_modules", packageName(), "bin", process.platform === "win32" ? "node.exe" : "node");

const majors = new Map();
/** major version of a node binary (asked once per binary) */
function nodeMajor(binary) {
  if (!majors.has(binary)) {
    const v = execFileSync(binary, ["-p", "process.versions.node"], { encoding: "utf8", timeout: 30_000 }).trim();
    majors.set(binary, Number(v.split(".")[0]));
  }
  return majors.get(binary);
}

/** the release to package with: SANBOOT_RUNTIME_NODE_VERSION, else the pinned one */
function runtimeNodeVersion() {
  const named = process.env.SANBOOT_RUNTIME_NODE_VERSION;
  if (named === undefined || named === "") return RUNTIME_NODE_VERSION;
  const v = named.replace(/^v/, "");
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`SANBOOT_RUNTIME_NODE_VERSION must be a node release such as 22.22.0, not "${named}"`);
  return v;
}

/**
 * The runtime's node for `major` (22 for nodejs22.x), without installing: SANBOOT_RUNTIME_NODE;
 * else the release to package with (runtimeNodeVersion) when this process runs it or it is
 * installed; else, when no release was named, this process's node if it is that major. Null when
 * none is at hand. Throws when the node named is another major, or the release named is not
 * installed.
 */
function runtimeNode(major) {
  const named = process.env.SANBOOT_RUNTIME_NODE;
  if (named) {
    const got = nodeMajor(named);
    if (got !== major) throw new Error(`SANBOOT_RUNTIME_NODE=${named} is node ${got}; the functions run node ${major}`);
    return named;
  }
  const version = runtimeNodeVersion();
  const chosen = Boolean(process.env.SANBOOT_RUNTIME_NODE_VERSION);
  if (Number(version.split(".")[0]) !== major) {
    if (chosen) throw new Error(`SANBOOT_RUNTIME_NODE_VERSION=${version} is node ${version.split(".")[0]}; the functions run node ${major}`);
  } else {
    if (process.versions.node === version) return process.execPath;
    const installed = binaryIn(installDir(version));
    if (existsSync(installed)) return installed;
    if (chosen) throw new Error(`SANBOOT_RUNTIME_NODE_VERSION=${version} is not installed: \`node packaging/runtime-node.cjs\` installs it`);
  }
  if (Number(process.versions.node.split(".")[0]) === major) return process.execPath;
  return null;
}

/** install the release to package with (once) and return its binary's path */
function installRuntimeNode() {
  const version = runtimeNodeVersion();
  const dir = installDir(version);
  const binary = binaryIn(dir);
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  execFileSync("npm", ["install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", `${packageName()}@${version}`], {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 600_000,
  });
  if (!existsSync(binary)) throw new Error(`npm installed ${packageName()}@${version} but ${binary} is not there`);
  return binary;
}

module.exports = { RUNTIME_NODE_VERSION, runtimeNodeVersion, runtimeNode, installRuntimeNode, nodeMajor };

if (require.main === module) {
  const binary = installRuntimeNode();
  console.log(binary);
}
