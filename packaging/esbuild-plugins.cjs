// esbuild plugins for the bundles of this repository (the functions, through serverless.yml's
// custom.esbuild.plugins: all of them; the relay and CLI, through packaging/bundle.mjs: zod's
// locales only, they use no AWS SDK). Plain CommonJS, so that serverless-esbuild can require it.
// `node packaging/analyze.mjs` shows what each function bundle is made of.
//
// zod's namespace (`z`) re-exports every one of its message locales (`z.locales`), about 170 KB
// minified that a bundle keeps because a namespace object cannot be tree-shaken. sanboot speaks
// English only and never names a locale: the locales index is replaced by one holding `en`, the
// locale zod itself configures at load (issue 11, cold start).
const { readFileSync } = require("node:fs");
const { readFile } = require("node:fs/promises");
const { dirname, join } = require("node:path");
const { v8CodeCache } = require("./v8-code-cache.cjs");

const englishOnlyZodLocales = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /[\\/]locales[\\/]index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined;
      return { path: join(dirname(args.importer), args.path), namespace: "zod-english-only" };
    });
    build.onLoad({ filter: /.*/, namespace: "zod-english-only" }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
      loader: "js",
    }));
  },
};

// The functions run on Lambda only: the SDK's default credential chain is the environment's
// credentials there (packaging/lambda-credentials.mjs says why).
const lambdaCredentials = {
  name: "lambda-credentials",
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: join(__dirname, "lambda-credentials.mjs") }));
  },
};

// The AWS SDK clients' schemas (dist-es/schemas/schemas_0.js: one array per shape and operation
// of the whole service, ~750 name strings) are written with computed keys, `{ [_h]: [...] }` where
// `const _h = "http"`, which esbuild cannot prove free of side effects (a computed key may call
// toString), so it keeps every schema of the service and every name string they use, whether the
// function sends the operation or not: Lambda's whole API (~40 KB) beside the one Invoke. Each key
// that is one of the file's own string constants is written as that string instead, and each
// `64 | 0` as its value, the same object and number, so esbuild drops the shapes nothing refers
// to. What a bundle sends, and every error class the client registers, are kept as they were.
const awsSdkTreeShakableSchemas = {
  name: "aws-sdk-tree-shakable-schemas",
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ }, async (args) => ({
      contents: treeShakableSchemas(await readFile(args.path, "utf8")),
      loader: "js",
    }));
  },
};

/** schemas_0.js with its computed keys of string constants written as those strings */
function treeShakableSchemas(source) {
  const strings = new Map();
  for (const m of source.matchAll(/^const ([A-Za-z_$][\w$]*) = ("(?:[^"\\\n]|\\.)*");$/gm)) strings.set(m[1], m[2]);
  return source
    .replace(/\[([A-Za-z_$][\w$]*)\]:/g, (key, name) => (strings.has(name) ? `${strings.get(name)}:` : key))
    .replace(/\b(\d+) \| (\d+)\b/g, (_, a, b) => String(Number(a) | Number(b)));
}

// The SDK's event-stream support (@smithy/core/event-streams, ~20 KB with what it pulls in: the
// codec, its CRC32 and the Int64 and header marshalling) is in every bundle with the Lambda client,
// whose InvokeWithResponseStream streams its answer; no function sends that, and only an operation
// whose input or output has an event-stream member (a union with the `streaming` trait) ever uses
// the marshaller. In its place: a marshaller that throws if anything asks it to (de)serialize.
// The build fails if a bundle keeps an event-stream shape, i.e. sends such an operation.
const noEventStreams = {
  name: "no-event-streams",
  setup(build) {
    build.initialOptions.metafile = true;
    build.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, () => ({ path: "@smithy/core/event-streams", namespace: "no-event-streams" }));
    build.onLoad({ filter: /.*/, namespace: "no-event-streams" }, () => ({
      contents: [
        'const absent = () => { throw new Error("event streams are left out of this bundle (packaging/esbuild-plugins.cjs)"); };',
        "export const eventStreamSerdeProvider = () => ({ serialize: absent, deserialize: absent });",
        "export const resolveEventStreamSerdeConfig = (input) => Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });",
        "export class EventStreamSerde { constructor() { absent(); } }",
        "",
      ].join("\n"),
      loader: "js",
    }));
    build.onEnd((result) => {
      if (result.errors.length > 0 || !result.metafile) return;
      // the names of the event-stream unions of each client schema bundled, looked for in the output
      const root = build.initialOptions.absWorkingDir ?? process.cwd();
      const streamShapes = Object.keys(result.metafile.inputs)
        .filter((input) => /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/.test(input))
        .flatMap((input) => eventStreamShapes(readFileSync(join(root, input), "utf8")));
      const kept = outputTexts(build, result).flatMap((text) => streamShapes.filter((name) => text.includes(JSON.stringify(name))));
      if (kept.length === 0) return undefined;
      return { errors: [{ text: `the bundle sends an operation with an event stream (${[...new Set(kept)].join(", ")}), which packaging/esbuild-plugins.cjs (no-event-streams) leaves out` }] };
    });
  },
};

/** the shape names of a schemas_0.js's event-stream unions: `[4, n0, _X, { [_st]: 1 }` with `_st = "streaming"` */
function eventStreamShapes(source) {
  const strings = new Map([...source.matchAll(/^const ([A-Za-z_$][\w$]*) = "([^"\\\n]*)";$/gm)].map((m) => [m[1], m[2]]));
  const names = [];
  for (const m of source.matchAll(/= \[4, [A-Za-z_$][\w$]*, ([A-Za-z_$][\w$]*),\s*\{ \[([A-Za-z_$][\w$]*)\]: 1 \}/g))
    if (strings.get(m[2]) === "streaming" && strings.has(m[1])) names.push(strings.get(m[1]));
  return names;
}

// zod's namespace (`z`) carries its JSON Schema generator (core/to-json-schema.js, ~12 KB) into
// every bundle; only the openapi function calls it (z.toJSONSchema, lib/api/openapi.ts). Before
// each build, the sources the entry reaches are read (a quick unminified build with no output):
// where none but zod's own names toJSONSchema or JSONSchemaGenerator, the generator is replaced by
// one that throws. A bundle that can call it keeps it.
const zodJsonSchemaWhereUsed = {
  name: "zod-json-schema-where-used",
  setup(build) {
    let leaveOut = false;
    build.onStart(async () => {
      const esbuild = build.esbuild;
      const o = build.initialOptions;
      const scan = await esbuild.build({
        absWorkingDir: o.absWorkingDir,
        entryPoints: o.entryPoints,
        bundle: true,
        write: false,
        metafile: true,
        platform: o.platform,
        format: o.format,
        target: o.target,
        mainFields: o.mainFields,
        external: o.external,
        outdir: o.outdir ?? "out",
        logLevel: "silent",
        plugins: [englishOnlyZodLocales],
      });
      const root = o.absWorkingDir ?? process.cwd();
      leaveOut = !Object.keys(scan.metafile.inputs).some(
        (input) => !/(^|[\\/])node_modules[\\/]zod[\\/]/.test(input) && !input.includes(":") && /\btoJSONSchema\b|\bJSONSchemaGenerator\b/.test(readFileSync(join(root, input), "utf8")),
      );
    });
    build.onResolve({ filter: /[\\/]to-json-schema\.js$/ }, (args) => {
      if (!leaveOut || !/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined;
      return { path: join(dirname(args.importer), args.path), namespace: "zod-no-json-schema" };
    });
    build.onLoad({ filter: /.*/, namespace: "zod-no-json-schema" }, () => ({
      contents: [
        'const absent = () => { throw new Error("zod\'s toJSONSchema is left out of this bundle (packaging/esbuild-plugins.cjs)"); };',
        "export const toJSONSchema = absent;",
        "export class JSONSchemaGenerator { constructor() { absent(); } }",
        "",
      ].join("\n"),
      loader: "js",
    }));
  },
};

/** the JavaScript a build wrote (or, with write: false, holds) */
function outputTexts(build, result) {
  if (result.outputFiles) return result.outputFiles.filter((f) => /\.(c|m)?js$/.test(f.path)).map((f) => f.text);
  return Object.keys(result.metafile.outputs)
    .filter((f) => /\.(c|m)?js$/.test(f))
    .map((f) => readFileSync(join(build.initialOptions.absWorkingDir ?? process.cwd(), f), "utf8"));
}

// serverless-esbuild calls this with the serverless instance (what the code-cache plugin needs to
// know: the command, each function's runtime, memory and NODE_OPTIONS); the code cache comes last,
// once the bundle is final.
const functionPlugins = (serverless) => [englishOnlyZodLocales, lambdaCredentials, awsSdkTreeShakableSchemas, noEventStreams, zodJsonSchemaWhereUsed, v8CodeCache(serverless)];

module.exports = functionPlugins;
module.exports.englishOnlyZodLocales = englishOnlyZodLocales;
module.exports.awsSdkTreeShakableSchemas = awsSdkTreeShakableSchemas;
module.exports.noEventStreams = noEventStreams;
module.exports.zodJsonSchemaWhereUsed = zodJsonSchemaWhereUsed;
module.exports.treeShakableSchemas = treeShakableSchemas;
module.exports.eventStreamShapes = eventStreamShapes;
