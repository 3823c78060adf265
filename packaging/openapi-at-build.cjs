// The openapi function's document, built while packaging (issue 11, cold start). functions/openapi.ts
// serves openApiDocument() of lib/api/openapi.ts, which builds the document from the zod schemas
// of the whole API and relay protocol: loading that module builds every one of those schemas (tens
// of ms at a cold start) for a document that is the same for every request of a build. For the
// openapi entry's import only, lib/api/openapi.ts is replaced by a module answering the document
// as a JSON literal; any other importer (another function, a test) gets the real module. The
// document is what the sources build: lib/api/openapi.ts bundled by esbuild (without plugins, so
// none of this runs again inside), run in a module of its own, its buildOpenApiDocument() called.
// The entry imports openApiDocument only: a name it imports that the replacement lacks fails the
// build (esbuild: no matching export).
const Module = require("node:module");
const { dirname, join } = require("node:path");

const ENTRY = join("functions", "openapi.ts");
const SOURCE = join("lib", "api", "openapi.ts");

/**
 * A plugin putting, where the openapi entry imports lib/api/openapi.ts, a module whose source is
 * what `sourceFor(build, root)` (called at setup) answers when called; the import is resolved as
 * esbuild would, and left alone unless it is that file.
 */
function inPlaceOfOpenApi(name, sourceFor) {
  return {
    name,
    setup(build) {
      const root = build.initialOptions.absWorkingDir ?? process.cwd();
      const source = sourceFor(build, root);
      build.onResolve({ filter: /openapi(\.ts)?$/ }, async (args) => {
        if (args.pluginData === name || args.importer !== join(root, ENTRY)) return undefined;
        // pluginData: this resolve comes back through this callback, which then lets it go on
        const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: name });
        if (resolved.errors.length > 0 || resolved.path !== join(root, SOURCE)) return undefined;
        return { path: resolved.path, namespace: name };
      });
      build.onLoad({ filter: /.*/, namespace: name }, async () => ({ contents: await source(), loader: "js" }));
    },
  };
}

/** The document buildOpenApiDocument() of the sources under root builds: the module bundled, then run */
async function openApiDocumentAtBuild(esbuild, root) {
  const { outputFiles } = await esbuild.build({ absWorkingDir: root, entryPoints: [SOURCE], bundle: true, platform: "node", format: "cjs", write: false, logLevel: "silent" });
  // a module of its own, beside the source: zod and the schemas loaded fresh, required from there
  const filename = join(root, SOURCE.replace(/\.ts$/, ".at-build.cjs"));
  const fresh = new Module(filename, module);
  fresh.filename = filename;
  fresh.paths = Module._nodeModulePaths(dirname(filename));
  fresh._compile(outputFiles[0].text, filename);
  return fresh.exports.buildOpenApiDocument();
}

// The document is built once per build (each rebuild of a context is one), on the first load of
// the module: only the openapi function's build loads it.
const openApiAtBuild = inPlaceOfOpenApi("openapi-at-build", (build, root) => {
  let source; // this build's, as a promise
  build.onStart(() => void (source = undefined));
  return () => (source ??= openApiDocumentAtBuild(build.esbuild, root).then((document) => `export const openApiDocument = () => (${JSON.stringify(document)});\n`));
});

// For the scans of packaging/esbuild-plugins.cjs (what an entry reaches, not what it answers): the
// same replacement, importing the same (nothing), without the document.
const openApiAtBuildShape = inPlaceOfOpenApi("openapi-at-build-shape", () => () => "export const openApiDocument = () => ({});\n");

module.exports = { openApiAtBuild, openApiAtBuildShape, openApiDocumentAtBuild };
