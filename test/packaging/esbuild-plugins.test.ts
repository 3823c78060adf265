/**
 * The function bundles' esbuild plugins (packaging/esbuild-plugins.cjs, issue 11): each leaves out
 * only what a bundle cannot reach, and the handlers built with them still load and answer.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as esbuild from "esbuild";
import type { BuildOptions, Metafile, Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../lib/api/openapi";

const run = promisify(execFile);
const ROOT = join(__dirname, "..", "..");
const plugins = require("../../packaging/esbuild-plugins.cjs") as ((serverless: unknown) => Plugin[]) & {
  englishOnlyZodLocales: Plugin;
  treeShakableSchemas(source: string): string;
  eventStreamShapes(source: string): string[];
};
const { openApiDocumentAtBuild } = require("../../packaging/openapi-at-build.cjs") as { openApiDocumentAtBuild(esbuild: unknown, root: string): Promise<unknown> };
const { lambdaNodeArgs } = require("../../packaging/lambda-node.cjs") as { lambdaNodeArgs(memorySize: number): string[] };

const { esbuildOptions } = require("../../packaging/esbuild-options.cjs") as { esbuildOptions(root: string): BuildOptions };
// serverless.yml's custom.esbuild, as serverless-esbuild hands it to esbuild
const options: BuildOptions = { ...esbuildOptions(ROOT), logLevel: "silent" };
const ADDED = new Set(["openapi-at-build", "middy-lazy-streams", "aws-sdk-declared-errors-only", "aws-sdk-tree-shakable-schemas", "no-event-streams", "zod-json-schema-where-used"]);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sanboot-plugins-"));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

/** the entry bundled with the function plugins (no code cache: no serverless), written to dir/<name>.js; its text and metafile */
async function built(entry: string, name: string, only?: (p: Plugin) => boolean): Promise<{ text: string; metafile: Metafile }> {
  const outfile = join(dir, `${name}.js`);
  const { metafile } = await esbuild.build({ ...options, entryPoints: [entry], outfile, metafile: true, plugins: plugins(null).filter(only ?? (() => true)) });
  return { text: readFileSync(outfile, "utf8"), metafile: metafile! };
}
const bundle = async (entry: string, name: string, only?: (p: Plugin) => boolean) => (await built(entry, name, only)).text;

/** the inputs a bundle keeps code of */
const keptInputs = (metafile: Metafile) => Object.values(metafile.outputs).flatMap((o) => Object.entries(o.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([input]) => input));

// what a function needs to build its dependencies outside AWS, and nothing that reaches out
const ENV = {
  PATH: process.env.PATH ?? "",
  SANBOOT_METRICS: "off",
  SANBOOT_SECRET_KEY: Buffer.alloc(32).toString("base64"),
  SANBOOT_CINDER_URL: "http://127.0.0.1:9",
  SANBOOT_CINDER_PROJECT: "00000000000000000000000000000000",
};

/** run code in a node started as Lambda starts a 256 MB function; its last line of stdout, parsed */
async function inNode(code: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, [...lambdaNodeArgs(256), "-e", code], { env: ENV, timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

describe("the SDK's schemas, tree-shakable", () => {
  it("writes a computed key that is one of the file's string constants as that string, and folds 64 | 0", () => {
    const src = 'const _h = "http";\nconst n0 = "com.amazonaws.lambda";\nexport var Op$ = [9, n0, _O, { [_h]: ["POST", "/x", 200] }, [64 | 0, 128 | 1], { [other]: 1 }];\n';
    expect(plugins.treeShakableSchemas(src)).toBe(
      'const _h = "http";\nconst n0 = "com.amazonaws.lambda";\nexport var Op$ = [9, n0, _O, { "http": ["POST", "/x", 200] }, [64, 129], { [other]: 1 }];\n',
    );
  });

  it("finds the event-stream unions of a client's schemas", () => {
    const lambda = readFileSync(join(ROOT, "node_modules/@aws-sdk/client-lambda/dist-es/schemas/schemas_0.js"), "utf8");
    expect(plugins.eventStreamShapes(lambda)).toEqual(["InvokeWithResponseStreamResponseEvent"]);
    const dynamodb = readFileSync(join(ROOT, "node_modules/@aws-sdk/client-dynamodb/dist-es/schemas/schemas_0.js"), "utf8");
    expect(plugins.eventStreamShapes(dynamodb)).toEqual([]);
  });
});

describe("the attach function's bundle", () => {
  let withPlugins: string;
  let without: string;
  beforeAll(async () => {
    withPlugins = await bundle("functions/attach.ts", "attach");
    without = await bundle("functions/attach.ts", "attach-without", (p) => !ADDED.has(p.name));
  }, 120_000);

  it.each([
    ["the schema of a Lambda operation it never sends", "UpdateFunctionCode"],
    ["the event-stream codec", '":message-type"'],
    ["zod's JSON Schema generator", '"draft-2020-12"'],
  ])("leaves out %s", (_what, marker) => {
    expect(without).toContain(marker);
    expect(withPlugins).not.toContain(marker);
  });

  it("keeps what it sends and the errors its commands declare", () => {
    for (const kept of ['"Invoke"', '"SendMessage"', '"Decrypt"', '"PutEvents"', "TooManyRequestsException", "ConditionalCheckFailedException"]) expect(withPlugins).toContain(kept);
  });

  it("holds no import(), which code run from a V8 code cache could not load (serverless.yml: supported)", () => {
    expect(without).not.toContain("import(");
    expect(withPlugins).not.toContain("import(");
  });

  it("is smaller by more than 60 KB", () => {
    expect(without.length - withPlugins.length).toBeGreaterThan(60 * 1024);
  });

  it("still loads and answers: an event naming no request is skipped", async () => {
    const file = join(dir, "attach.js");
    expect(await inNode(`require(${JSON.stringify(file)}).handler({}).then((r) => console.log(JSON.stringify(r)))`)).toBe("skipped");
  }, 60_000);
});

describe("zod's messages in a function bundle", () => {
  it("are English, as under classic zod, though a bundle carries zod/mini only (lib/config.ts sets the locale)", async () => {
    const { text, metafile } = await built("test/packaging/fixtures/zod-messages.ts", "zod-messages");
    expect(keptInputs(metafile).filter((i) => /zod[\\/]v4[\\/]classic[\\/]/.test(i))).toEqual([]);
    expect(text.length).toBeGreaterThan(0);
    const said = (await inNode(`console.log(JSON.stringify(require(${JSON.stringify(join(dir, "zod-messages.js"))}).messages()))`)) as string[];
    expect(said.slice(0, 2)).toEqual(["volume_id: Invalid input: expected string, received number", 'protocol: Invalid option: expected one of "iscsi"|"fibre_channel"|"auto"']);
    expect(said[2]).toMatch(/SANBOOT_STAGE: Invalid option: expected one of "local"\|"aws"/);
    expect(said[2]).toMatch(/SANBOOT_CINDER_URL: Invalid URL/);
    expect(said.join("\n")).not.toMatch(/: Invalid input$/m);
  }, 60_000);
});

describe("the openapi function's bundle", () => {
  const ZOD = /^node_modules[\\/]zod[\\/]/;
  let metafile: Metafile;
  let inputs: string[];
  beforeAll(async () => {
    ({ metafile } = await built("functions/openapi.ts", "openapi"));
    inputs = keptInputs(metafile);
  }, 120_000);

  it("is built with the document the sources build", async () => {
    expect(await openApiDocumentAtBuild(esbuild, ROOT)).toEqual(buildOpenApiDocument());
  }, 60_000);

  it("answers GET with that document", async () => {
    const event = { version: "2.0", rawPath: "/v1/openapi.json", requestContext: { http: { method: "GET", path: "/v1/openapi.json" } }, headers: {}, body: null, isBase64Encoded: false };
    const answer = (await inNode(
      `require(${JSON.stringify(join(dir, "openapi.js"))}).handler(${JSON.stringify(event)}, { awsRequestId: "r1" }).then((r) => console.log(JSON.stringify(r)))`,
    )) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual(buildOpenApiDocument());
  }, 60_000);

  it("carries none of the schemas the document is built from, nor zod's JSON Schema generator", () => {
    expect(inputs.filter((input) => /^lib[\\/](api|relay|service)[\\/]/.test(input))).toEqual([]);
    expect(inputs.filter((input) => ZOD.test(input) && /to-json-schema/.test(input))).toEqual([]);
  });

  // zod is still there for the handler's shell: lib/deps.ts parses the configuration with it, lib/http/api-handler.ts the input
  it("carries no zod but what the shell of every API handler carries", async () => {
    const zodOf = (m: Metafile) => Object.fromEntries(Object.values(m.outputs).flatMap((o) => Object.entries(o.inputs).filter(([input, i]) => ZOD.test(input) && i.bytesInOutput > 0).map(([input, i]) => [input, i.bytesInOutput])));
    const shell = (await built("test/packaging/fixtures/api-shell.ts", "api-shell")).metafile;
    expect(zodOf(metafile)).toEqual(zodOf(shell));
  }, 60_000);

  it("is the only one given the document in place of its module", async () => {
    const elsewhere = keptInputs((await built("test/packaging/fixtures/openapi-elsewhere.ts", "openapi-elsewhere")).metafile);
    expect(elsewhere).toContain("lib/api/openapi.ts");
    expect(elsewhere.filter((input) => input.startsWith("openapi-at-build"))).toEqual([]);
  }, 60_000);
});

describe("@middy/core's stream imports, lazy", () => {
  const file = (name: string) => join(dir, `${name}.js`);
  beforeAll(async () => {
    await bundle("test/packaging/fixtures/middy-handlers.ts", "middy");
    await bundle("test/packaging/fixtures/middy-handlers.ts", "middy-eager", (p) => p.name !== "middy-lazy-streams");
  }, 120_000);

  const loadsStreamWeb = (code: string) => inNode(`${code}; console.log(JSON.stringify(process.moduleLoadList.includes("NativeModule stream/web")))`);

  it("leaves node:stream/web unloaded when the bundle loads, as a bare node has it", async () => {
    expect(await loadsStreamWeb("")).toBe(false);
    expect(await loadsStreamWeb(`require(${JSON.stringify(file("middy-eager"))})`)).toBe(true);
    expect(await loadsStreamWeb(`require(${JSON.stringify(file("middy"))})`)).toBe(false);
  }, 60_000);

  it("still runs a middy handler", async () => {
    expect(await inNode(`require(${JSON.stringify(file("middy"))}).handler({ n: 21 }, {}).then((r) => console.log(JSON.stringify(r)))`)).toEqual({ doubled: 42 });
  }, 60_000);

  // a streamed answer is piped when it is a ReadableStream (middy's `instanceof`), refused when it is not
  const streamed = (name: string, body: string) =>
    inNode(
      [
        "globalThis.awslambda = { streamifyResponse: (handler) => handler, HttpResponseStream: { from: (stream) => stream } };",
        `const { streaming } = require(${JSON.stringify(file(name))});`,
        'let out = ""; const sink = new (require("node:stream").Writable)({ write(chunk, _, done) { out += chunk; done(); } });',
        `streaming(() => ${body})({}, sink, {}).then(() => ({ streamed: out }), (err) => ({ refused: err.message })).then((r) => console.log(JSON.stringify(r)));`,
      ].join("\n"),
    );

  it.each([
    ["a real ReadableStream", 'new ReadableStream({ start(c) { c.enqueue("hello"); c.close(); } })', { streamed: "hello" }],
    ["a plain object", '({ hello: "world" })', { refused: "handler response not a ReadableStream" }],
  ])("takes %s for what the real class says it is", async (_what, body, answer) => {
    expect(await streamed("middy-eager", body)).toEqual(answer);
    expect(await streamed("middy", body)).toEqual(answer);
  }, 60_000);
});

describe("the Lambda client without event streams", () => {
  let server: Server;
  let endpoint: string;
  const seen: { method?: string; url?: string; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, body });
        if (JSON.parse(body).throttle) {
          res.writeHead(429, { "content-type": "application/json", "x-amzn-errortype": "TooManyRequestsException" });
          res.end(JSON.stringify({ Type: "User", message: "Rate exceeded", Reason: "CallerRateLimitExceeded" }));
          return;
        }
        res.writeHead(200, { "content-type": "application/json", "x-amz-executed-version": "$LATEST" });
        res.end(JSON.stringify({ echoed: JSON.parse(body) }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await bundle("test/packaging/fixtures/lambda-invoke.ts", "lambda-invoke");
  }, 120_000);
  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  const invoke = (payload: unknown) => inNode(`require(${JSON.stringify(join(dir, "lambda-invoke.js"))}).invoke(${JSON.stringify(endpoint)}, ${JSON.stringify(payload)}).then((r) => console.log(JSON.stringify(r)))`);

  it("sends an Invoke and reads its answer", async () => {
    expect(await invoke({ request_id: "r-1" })).toEqual({ status: 200, payload: JSON.stringify({ echoed: { request_id: "r-1" } }) });
    expect(seen.at(-1)).toMatchObject({ method: "POST", url: "/2015-03-31/functions/sanboot-dev-attach/invocations" });
  }, 60_000);

  it("still throws the modeled error class the service names", async () => {
    expect(await invoke({ throttle: true })).toEqual({ error: { name: "TooManyRequestsException", throttling: true, message: "Rate exceeded" } });
  }, 60_000);

  it("refuses to build a bundle that sends an operation with an event stream", async () => {
    await expect(bundle("test/packaging/fixtures/lambda-stream.ts", "lambda-stream")).rejects.toThrow(/event stream \(InvokeWithResponseStreamResponseEvent\)/);
  }, 60_000);
});

describe("packaging/bundle.mjs's plugin", () => {
  it("is still there for the relay and CLI bundles", () => {
    expect(plugins.englishOnlyZodLocales.name).toBe("zod-english-only");
  });
});
