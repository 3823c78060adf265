// The node the functions run on Lambda, for this machine (issue 11, cold start): what writes
// each function's V8 code cache at packaging time (packaging/v8-code-cache.cjs) and what
// bench/cold-start.ts measures the packaged handlers with. serverless.yml's runtime is
// nodejs22.x; the machine that packages may run another node (this one: 20), whose V8 caches
// Lambda's V8 rejects, and whose load times are not Lambda's.
//
// Node's own builds are published on the npm registry (node-<platform>-<arch>, the binary under
// bin/); `node packaging/runtime-node.cjs` installs the pinned one under .cache/runtime-node/ once
// and prints its path. SANBOOT_RUNTIME_NODE names another binary instead (it must be the
// runtime's major version).
const { execFileSync } = require("node:child_process");
const { existsSync, mkdirSync } = require("node:fs");
const { join, resolve } = require("node:path");

const ROOT = resolve(__dirname, "..");
/** The node 22 sanboot packages with and measures (the latest 22 on the registry when pinned). */
const RUNTIME_NODE_VERSION = "22.23.5";

const packageName = () => `node-${process.platform}-${process.arch}`;
const installDir = (version) => join(ROOT, ".cache", "runtime-node", `${packageName()}-${version}`);
const binaryIn = (dir) => join(dir, "node_modules", packageName(), "bin", process.platform === "win32" ? "node.exe" : "node");

/** major version of a node binary */
function nodeMajor(binary) {
  const v = execFileSync(binary, ["-p", "process.versions.node"], { encoding: "utf8", timeout: 30_000 }).trim();
  return Number(v.split(".")[0]);
}

/**
 * The runtime's node for `major` (22 for nodejs22.x), without installing: SANBOOT_RUNTIME_NODE,
 * else this process's node when it is that major, else the pinned build when installed; null when
 * none is at hand. Throws when SANBOOT_RUNTIME_NODE is another major.
 */
function runtimeNode(major) {
  const named = process.env.SANBOOT_RUNTIME_NODE;
  if (named) {
    const got = nodeMajor(named);
    if (got !== major) throw new Error(`SANBOOT_RUNTIME_NODE=${named} is node ${got}; the functions run node ${major}`);
    return named;
  }
  if (Number(process.versions.node.split(".")[0]) === major) return process.execPath;
  const pinned = binaryIn(installDir(RUNTIME_NODE_VERSION));
  if (Number(RUNTIME_NODE_VERSION.split(".")[0]) === major && existsSync(pinned)) return pinned;
  return null;
}

/** install the pinned build (once) and return its binary's path */
function installRuntimeNode() {
  const dir = installDir(RUNTIME_NODE_VERSION);
  const binary = binaryIn(dir);
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  execFileSync("npm", ["install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", `${packageName()}@${RUNTIME_NODE_VERSION}`], {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 600_000,
  });
  if (!existsSync(binary)) throw new Error(`npm installed ${packageName()}@${RUNTIME_NODE_VERSION} but ${binary} is not there`);
  return binary;
}

module.exports = { RUNTIME_NODE_VERSION, runtimeNode, installRuntimeNode, nodeMajor };

if (require.main === module) {
  const binary = installRuntimeNode();
  console.log(binary);
}
