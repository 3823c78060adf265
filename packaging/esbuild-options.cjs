// serverless.yml's custom.esbuild as serverless-esbuild hands it to esbuild: what
// packaging/analyze.mjs and the packaging tests build with, so they build what `serverless
// package` builds. The plugins are not included (each caller picks them: plugins(null)).
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { parse } = require("yaml");

function serverlessConfig(root) {
  return parse(readFileSync(join(root, "serverless.yml"), "utf8"));
}

function esbuildOptions(root) {
  const o = serverlessConfig(root).custom.esbuild;
  const options = { absWorkingDir: root };
  for (const key of ["bundle", "minify", "minifyWhitespace", "minifyIdentifiers", "minifySyntax", "keepNames", "legalComments", "sourcemap", "target", "platform", "format", "mainFields", "supported", "define", "pure", "drop", "external"]) {
    if (o[key] !== undefined) options[key] = o[key];
  }
  return options;
}

/** the function plugins serverless.yml names (packaging/esbuild-plugins.cjs): a function of the serverless instance */
function esbuildPlugins(root) {
  return require(join(root, serverlessConfig(root).custom.esbuild.plugins));
}

module.exports = { serverlessConfig, esbuildOptions, esbuildPlugins };
