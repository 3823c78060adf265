// `npm run build:relay`: the relay as one file, dist/sanboot-relay.cjs, that runs on plain Node
// >= 20 with no node_modules beside it (undici and zod bundled in), started by its shebang or by
// `node dist/sanboot-relay.cjs`. Plain JavaScript, so that building needs only esbuild.
import { build } from "esbuild";
import { chmodSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const outfile = join(root, "dist", "sanboot-relay.cjs");
const builtins = new Set(builtinModules);

const result = await build({
  absWorkingDir: root,
  entryPoints: ["relay/main.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  banner: { js: "#!/usr/bin/env node" },
  // What runs at a site: readable stack traces over a smaller file.
  minify: false,
  legalComments: "eof",
  metafile: true,
  logLevel: "warning",
});

// Everything the relay imports is inside the file; only Node's own modules stay outside.
const outside = Object.values(result.metafile.outputs)
  .flatMap((o) => o.imports)
  .filter((i) => i.external && !i.path.startsWith("node:") && !builtins.has(i.path.split("/")[0]));
if (outside.length > 0) {
  console.error(`build:relay: the bundle would need ${[...new Set(outside.map((i) => i.path))].join(", ")} at run time`);
  process.exit(1);
}
chmodSync(outfile, 0o755);
console.log(`${relative(process.cwd(), outfile) || outfile}: ${Math.round(statSync(outfile).size / 1024)} KiB`);
