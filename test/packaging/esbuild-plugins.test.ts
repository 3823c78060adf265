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
import { build, type BuildOptions, type Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = join(__dirname, "..", "..");
const plugins = require("../../packaging/esbuild-plugins.cjs") as ((serverless: unknown) => Plugin[]) & {
  englishOnlyZodLocales: Plugin;
  treeShakableSchemas(source: string): string;
  eventStreamShapes(source: string): string[];
};
const { lambdaNodeArgs } = require("../../packaging/lambda-node.cjs") as { lambdaNodeArgs(memorySize: number): string[] };

const { esbuildOptions } = require("../../packaging/esbuild-options.cjs") as { esbuildOptions(root: string): BuildOptions };
// serverless.yml's custom.esbuild, as serverless-esbuild hands it to esbuild
const options: BuildOptions = { ...esbuildOptions(ROOT), logLevel: "silent" };
const ADDED = new Set(["aws-sdk-declared-errors-only", "aws-sdk-tree-shakable-schemas", "no-event-streams", "zod-json-schema-where-used"]);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sanboot-plugins-"));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

/** the entry bundled with the function plugins (no code cache: no serverless), written to dir/<name>.js */
async function bundle(entry: string, name: string, only?: (p: Plugin) => boolean): Promise<string> {
  const outfile = join(dir, `${name}.js`);
  await build({ ...options, entryPoints: [entry], outfile, plugins: plugins(null).filter(only ?? (() => true)) });
  return readFileSync(outfile, "utf8");
}

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

describe("the openapi function's bundle", () => {
  it("keeps zod's JSON Schema generator, which it calls, and answers with the document", async () => {
    const text = await bundle("functions/openapi.ts", "openapi");
    expect(text).toContain('"draft-2020-12"');
    const event = { version: "2.0", rawPath: "/v1/openapi.json", requestContext: { http: { method: "GET", path: "/v1/openapi.json" } }, headers: {}, body: null, isBase64Encoded: false };
    const answer = (await inNode(
      `require(${JSON.stringify(join(dir, "openapi.js"))}).handler(${JSON.stringify(event)}, { awsRequestId: "r1" }).then((r) => console.log(JSON.stringify(r)))`,
    )) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(200);
    const doc = JSON.parse(answer.body);
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.components?.schemas ?? {}).length).toBeGreaterThan(5);
  }, 120_000);
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
