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
const { openApiAtBuild, openApiAtBuildShape } = require("./openapi-at-build.cjs");
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

// The plugins that decide from what an entry reaches (zod-json-schema-where-used,
// aws-sdk-declared-errors-only) share one quick build of it per build: no output, unminified,
// tree-shaken as the real one (where the build replaces the openapi document's module, replaced
// as there, without building the document: packaging/openapi-at-build.cjs). Made by the first
// that asks, dropped when the build ends.
const scans = new WeakMap();
function scanOf(build) {
  const o = build.initialOptions;
  if (!scans.has(o)) {
    scans.set(
      o,
      build.esbuild
        .build({
          absWorkingDir: o.absWorkingDir,
          entryPoints: o.entryPoints,
          bundle: true,
          write: false,
          metafile: true,
          platform: o.platform,
          format: o.format,
          target: o.target,
          mainFields: o.mainFields,
          conditions: o.conditions,
          define: o.define,
          external: o.external,
          outdir: o.outdir ?? "out",
          logLevel: "silent",
          plugins: [englishOnlyZodLocales, lambdaCredentials, ...(o.plugins?.includes(openApiAtBuild) ? [openApiAtBuildShape] : [])],
        })
        .then((r) => r.metafile),
    );
  }
  return scans.get(o);
}

// Each AWS SDK client registers every error of its service (models/errors.js: a class per modeled
// error; schemas_0.js: its schema and a registerError call, which keeps the class): Lambda's 56
// (~17 KB of classes), KMS's 48, DynamoDB's 35, where a function sends a few commands that can
// raise only some of them. Before each build, the commands the bundle keeps are found (a quick
// build with no output, tree-shaken as the real one: the command modules left in it). Each
// client's registry is cut to the errors its kept commands declare, and its base ServiceException:
// the `@throws` of each command's declaration (dist-types/commands/<Name>Command.d.ts), which the
// SDK writes from the service model as it writes the schemas (an operation's schema names no
// errors). An error the service answers that no kept command declares then arrives as one the
// model never named does: as the client's base ServiceException, with the service's name, message
// and $metadata. An error with the retryable trait keeps its class (the SDK's retries read
// `$retryable` off it), so what is retried is as before. A client is left whole when its files
// are not as read here, when a kept command has no declaration, when it keeps none, and when it is
// query-compatible (SQS: there an error without its class is named after its query code,
// "AWS.SimpleQueueService.X", not after its shape).
// Only schemas_0.js is rewritten: the classes cut from its registry stay exported by the client
// (a module the entry reaches may import one and be tree-shaken out), and go with tree-shaking.
// A bundle that keeps one (an `instanceof` on an error that can no longer arrive as that class)
// fails to build; test/packaging/aws-sdk-declared-errors.test.ts holds sanboot's own `instanceof`
// checks to the errors of the commands it sends. The schemas it cuts are also written
// tree-shakable (treeShakableSchemas): it comes before aws-sdk-tree-shakable-schemas, which then
// does not see those files.
const SDK_CLIENT_FILE = /^(.*[\\/]@aws-sdk[\\/]client-[^\\/]+)[\\/]dist-es[\\/](?:schemas[\\/]schemas_0|models[\\/]errors|commands[\\/]([A-Za-z0-9]+)Command)\.js$/;

const awsSdkDeclaredErrorsOnly = {
  name: "aws-sdk-declared-errors-only",
  setup(build) {
    build.onEnd(() => void scans.delete(build.initialOptions));
    let cut = new Map(); // a client's package folder → its schemas_0.js cut, and the classes cut out
    build.initialOptions.metafile = true;
    build.onStart(async () => {
      const root = build.initialOptions.absWorkingDir ?? process.cwd();
      const scan = { metafile: await scanOf(build) };
      cut = new Map();
      for (const [client, commands] of sentCommands(scan.metafile, root)) {
        const errors = declaredErrors(client, commands);
        if (!errors || queryCompatible(client)) continue;
        const files = cutToDeclaredErrors(readFileSync(join(client, "dist-es", "schemas", "schemas_0.js"), "utf8"), readFileSync(join(client, "dist-es", "models", "errors.js"), "utf8"), errors);
        if (files) cut.set(client, files);
      }
    });
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_0\.js$/ }, (args) => {
      const files = cut.get(SDK_CLIENT_FILE.exec(args.path)?.[1]);
      return files ? { contents: treeShakableSchemas(files.schemas), loader: "js" } : undefined;
    });
    build.onEnd((result) => {
      if (result.errors.length > 0 || !result.metafile) return undefined;
      // a class cut out is known in the output by its shapeId ("com.amazonaws.dynamodb#X"), which only the class holds
      const cutIds = [...cut.values()].flatMap((files) => files.cutShapeIds);
      const kept = outputTexts(build, result).flatMap((text) => cutIds.filter((id) => text.includes(JSON.stringify(id))));
      if (kept.length === 0) return undefined;
      return { errors: [{ text: `the bundle keeps SDK error classes that no command it sends declares (${[...new Set(kept)].join(", ")}), which packaging/esbuild-plugins.cjs (aws-sdk-declared-errors-only) leaves unregistered: no error would arrive as one` }] };
    });
  },
};

/** per SDK client a build's metafile reaches (its package folder): the commands left in its output */
function sentCommands(metafile, root) {
  const sent = new Map();
  for (const output of Object.values(metafile.outputs))
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m = input.includes(":") ? null : SDK_CLIENT_FILE.exec(join(root, input));
      if (!m) continue;
      if (!sent.has(m[1])) sent.set(m[1], new Set());
      if (m[2] && bytesInOutput > 0) sent.get(m[1]).add(m[2]);
    }
  return sent;
}

/** the errors these commands of the client declare (their .d.ts's @throws), or null: none to go by */
function declaredErrors(client, commands) {
  if (commands.size === 0) return null;
  const names = new Set();
  for (const command of commands) {
    let declaration;
    try {
      declaration = readFileSync(join(client, "dist-types", "commands", `${command}Command.d.ts`), "utf8");
    } catch {
      return null;
    }
    const thrown = [...declaration.matchAll(/@throws \{@link ([A-Za-z_$][\w$]*)\}/g)].map((m) => m[1]);
    if (thrown.length === 0) return null;
    for (const name of thrown) names.add(name);
  }
  return names;
}

/** whether the client speaks the JSON protocol as a query-compatible service (SQS) */
function queryCompatible(client) {
  try {
    return /awsQueryCompatible/.test(readFileSync(join(client, "dist-es", "runtimeConfig.shared.js"), "utf8"));
  } catch {
    return true;
  }
}

/**
 * A client's schemas_0.js with only the errors named in `keep` (and its base ServiceException,
 * whose class is not in errors.js) and the shapeIds of the classes cut out, or null where the files
 * are not as expected: each error one `export var X$ = [-3, ...];` followed by its
 * `registerError(X$, X);`, one `export class X` with its `static shapeId` in errors.js, every name
 * kept one of them, and nothing else in the schemas naming one cut out.
 */
function cutToDeclaredErrors(schemas, errors, keep) {
  const blocks = [...schemas.matchAll(/^export var ([A-Za-z_$][\w$]*)\$ = \[-3, [\s\S]*?\];\n[A-Za-z_$][\w$]*\.registerError\(\1\$, \1\);\n/gm)];
  if (blocks.length === 0 || blocks.length !== (schemas.match(/\.registerError\(/g) ?? []).length) return null;
  const classes = [...errors.matchAll(/^export class ([A-Za-z_$][\w$]*) extends [\s\S]*?\n\}\n/gm)];
  if (classes.length === 0 || classes.length !== (errors.match(/^export /gm) ?? []).length) return null;
  const classNames = new Set(classes.map((m) => m[1]));
  const schemaNames = new Set(blocks.map((m) => m[1]));
  if ([...classNames].some((name) => !schemaNames.has(name)) || [...keep].some((name) => !schemaNames.has(name))) return null;
  // a class with the retryable trait ($retryable) stays: the SDK's retries read it off the error
  const retryable = new Set(classes.filter((m) => /^    \$retryable = /m.test(m[0])).map((m) => m[1]));
  const gone = new Set([...classNames].filter((name) => !keep.has(name) && !retryable.has(name)));
  const importLine = /^import \{([^}]*)\} from "\.\.\/models\/errors";$/m;
  const imported = importLine.exec(schemas);
  if (!imported) return null;
  const names = imported[1].split(",").map((n) => n.trim()).filter(Boolean);
  if (names.length !== classNames.size || names.some((name) => !classNames.has(name))) return null;
  let cutSchemas = blocks.filter((m) => gone.has(m[1])).reduce((text, m) => text.replace(m[0], ""), schemas);
  cutSchemas = cutSchemas.replace(importLine, `import { ${names.filter((name) => !gone.has(name)).join(", ")} } from "../models/errors";`);
  const cutShapeIds = classes.filter((m) => gone.has(m[1])).map((m) => /^    static shapeId = ("[^"\\\n]*#[^"\\\n]*");$/m.exec(m[0])?.[1]);
  if (cutShapeIds.some((id) => !id)) return null;
  // no identifier left naming an error cut out (a string of its name, as the schemas' constants, is no use of it)
  const named = (name) => new RegExp(`(?<![\\w$"'\`])${name.replace(/\$/g, "\\$")}\\$?(?![\\w$"'\`])`).test(cutSchemas);
  if ([...gone].some(named)) return null;
  return { schemas: cutSchemas, kept: [...classNames].filter((name) => !gone.has(name)), cut: [...gone], cutShapeIds: cutShapeIds.map((id) => JSON.parse(id)) };
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
    build.onEnd(() => void scans.delete(build.initialOptions));
    let leaveOut = false;
    build.onStart(async () => {
      const scan = { metafile: await scanOf(build) };
      const root = build.initialOptions.absWorkingDir ?? process.cwd();
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

// @middy/core imports pipeline (node:stream/promises) and ReadableStream (node:stream/web) at its
// top for a handler that streams its answer (streamifyResponse), which no sanboot function does.
// node:stream/web loads ten of Node's internal modules beyond node:stream (which a bundle loads
// anyway), and no other module of the function bundles loads it: ~1 ms of a cold start (node 22).
// For middy's imports only, each is a module that loads the real one where it is used: pipeline
// when called, ReadableStream when a value is checked to be one (`x instanceof ReadableStream`,
// the only use middy makes of it). These are all the names middy imports from the two; one more
// (a later middy) fails the build (esbuild: no matching export).
const LAZY_STREAMS = {
  "stream/promises": 'export const pipeline = (...streams) => require("node:stream/promises").pipeline(...streams);\n',
  "stream/web": 'export const ReadableStream = { [Symbol.hasInstance]: (value) => value instanceof require("node:stream/web").ReadableStream };\n',
};

const middyLazyStreams = {
  name: "middy-lazy-streams",
  setup(build) {
    build.onResolve({ filter: /^(node:)?stream\/(web|promises)$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]@middy[\\/]core[\\/]/.test(args.importer)) return undefined;
      return { path: args.path.replace(/^node:/, ""), namespace: "middy-lazy-streams" };
    });
    build.onLoad({ filter: /.*/, namespace: "middy-lazy-streams" }, (args) => ({ contents: LAZY_STREAMS[args.path], loader: "js" }));
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
const functionPlugins = (serverless) => [englishOnlyZodLocales, lambdaCredentials, openApiAtBuild, middyLazyStreams, awsSdkDeclaredErrorsOnly, awsSdkTreeShakableSchemas, noEventStreams, zodJsonSchemaWhereUsed, v8CodeCache(serverless)];

module.exports = functionPlugins;
module.exports.englishOnlyZodLocales = englishOnlyZodLocales;
module.exports.awsSdkTreeShakableSchemas = awsSdkTreeShakableSchemas;
module.exports.awsSdkDeclaredErrorsOnly = awsSdkDeclaredErrorsOnly;
module.exports.noEventStreams = noEventStreams;
module.exports.zodJsonSchemaWhereUsed = zodJsonSchemaWhereUsed;
module.exports.openApiAtBuild = openApiAtBuild;
module.exports.middyLazyStreams = middyLazyStreams;
module.exports.treeShakableSchemas = treeShakableSchemas;
module.exports.eventStreamShapes = eventStreamShapes;
module.exports.sentCommands = sentCommands;
module.exports.declaredErrors = declaredErrors;
module.exports.queryCompatible = queryCompatible;
module.exports.cutToDeclaredErrors = cutToDeclaredErrors;
