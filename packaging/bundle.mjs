// `npm run build:relay` / `npm run build:cli`: the relay agent (dist/sanboot-relay.cjs) or the
// operator CLI (dist/sanboot.cjs) as one file that runs on plain Node >= 20 with no node_modules
// beside it (undici and zod bundled in), started by its shebang or by `node dist/<file>`.
// Plain JavaScript, so that building needs only esbuild.
//   node packaging/bundle.mjs relay|cli
import { build } from "esbuild";
import { chmodSync, statSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const TARGETS = {
  relay: { entry: "relay/main.ts", file: "sanboot-relay.cjs" },
  cli: { entry: "cli/main.ts", file: "sanboot.cjs" },
};
const name = process.argv[2];
const target = TARGETS[name];
if (!target) {
  console.error(`usage: node packaging/bundle.mjs ${Object.keys(TARGETS).join("|")}`);
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "dist", target.file);
const builtins = new Set(builtinModules);

const result = await build({
  absWorkingDir: root,
  entryPoints: [target.entry],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  banner: { js: "#!/usr/bin/env node" },
  // What runs at a site or on an operator's machine: readable stack traces over a smaller file.
  minify: false,
  legalComments: "eof",
  metafile: true,
  logLevel: "warning",
  // zod's message locales but English left out
  plugins: [createRequire(import.meta.url)("./esbuild-plugins.cjs").englishOnlyZodLocales],
});

// Everything it imports is inside the file; only Node's own modules stay outside.
const outside = Object.values(result.metafile.outputs)
  .flatMap((o) => o.imports)
  .filter((i) => i.external && !i.path.startsWith("node:") && !builtins.has(i.path.split("/")[0]));
if (outside.length > 0) {
  console.error(`build:${name}: the bundle would need ${[...new Set(outside.map((i) => i.path))].join(", ")} at run time`);
  process.exit(1);
}
chmodSync(outfile, 0o755);
console.log(`${relative(process.cwd(), outfile) || outfile}: ${Math.round(statSync(outfile).size / 1024)} KiB`);
