// What each function bundle carries, from esbuild's metafile (issue 11, cold start): builds the
// functions of serverless.yml with its custom.esbuild options and plugins, writes nothing, and
// prints per function the bundle's size and the packages (and, with --files, the files) that
// make it up, largest first.
//   node packaging/analyze.mjs [--files N] [function ...]
import { build } from "esbuild";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const filesAt = args.indexOf("--files");
const topFiles = filesAt >= 0 ? Number(args.splice(filesAt, 2)[1]) : 0;
const only = new Set(args);

const { serverlessConfig, esbuildOptions, esbuildPlugins } = require("./esbuild-options.cjs");
const sls = serverlessConfig(root);
const options = {
  ...esbuildOptions(root),
  plugins: esbuildPlugins(root)(null),
  metafile: true,
  write: false,
  outdir: join(root, ".analyze"),
  logLevel: "warning",
};

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const packageOf = (input) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input.replace(/^.*?(node_modules\/(?:.*node_modules\/)?)/, "$1"));
  return m ? m[1] : input.split("/")[0];
};

for (const [name, fn] of Object.entries(sls.functions)) {
  if (only.size && !only.has(name)) continue;
  const entry = `${fn.handler.slice(0, fn.handler.lastIndexOf("."))}.ts`;
  const result = await build({ ...options, entryPoints: [entry] });
  const [out] = Object.values(result.metafile.outputs);
  const byPackage = new Map();
  for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
  console.log(`\n${name}: ${kb(out.bytes)}`);
  for (const [pkg, bytes] of [...byPackage].sort((a, b) => b[1] - a[1])) if (bytes > 0) console.log(`  ${kb(bytes).padStart(9)}  ${pkg}`);
  if (topFiles) {
    console.log("  largest files:");
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, topFiles))
      console.log(`  ${kb(bytesInOutput).padStart(9)}  ${input}`);
  }
}
