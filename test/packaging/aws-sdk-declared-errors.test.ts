/**
 * The function plugin that cuts each AWS SDK client's error registry to the errors the commands a
 * bundle sends declare (packaging/esbuild-plugins.cjs, aws-sdk-declared-errors-only; issue 11):
 * a declared error still arrives as its own class, one no sent command declares as the client's
 * base ServiceException with the same name, message and $metadata, against a local server that
 * answers as AWS does; sanboot's own `instanceof` on an SDK error names only declared errors.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { build, type BuildOptions, type Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = join(__dirname, "..", "..");
const plugins = require("../../packaging/esbuild-plugins.cjs") as ((serverless: unknown) => Plugin[]) & {
  declaredErrors(client: string, commands: Set<string>): Set<string> | null;
  queryCompatible(client: string): boolean;
  cutToDeclaredErrors(schemas: string, errors: string, keep: Set<string>): { schemas: string; kept: string[]; cut: string[]; cutShapeIds: string[] } | null;
};
const CUTTER = "aws-sdk-declared-errors-only";

const { esbuildOptions } = require("../../packaging/esbuild-options.cjs") as { esbuildOptions(root: string): BuildOptions };
// serverless.yml's custom.esbuild, as serverless-esbuild hands it to esbuild
const options: BuildOptions = { ...esbuildOptions(ROOT), logLevel: "silent" };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sanboot-sdk-errors-"));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

/** the entry bundled with the function plugins (no code cache), with or without the cutter, written to dir/<name>.js */
async function bundle(entry: string, name: string, withCutter = true): Promise<string> {
  const outfile = join(dir, `${name}.js`);
  await build({ ...options, entryPoints: [entry], outfile, plugins: plugins(null).filter((p) => withCutter || p.name !== CUTTER) });
  return readFileSync(outfile, "utf8");
}

const client = (name: string) => join(ROOT, "node_modules/@aws-sdk", name);
const source = (name: string, file: string) => readFileSync(join(client(name), "dist-es", file), "utf8");

describe("the errors a client's commands declare", () => {
  it("are the @throws of each command's declaration, with the base ServiceException", () => {
    const declared = plugins.declaredErrors(client("client-dynamodb"), new Set(["PutItem", "UpdateItem"]))!;
    expect(declared).toContain("ConditionalCheckFailedException");
    expect(declared).toContain("DynamoDBServiceException");
    expect(declared).not.toContain("ResourceInUseException");
    expect(plugins.declaredErrors(client("client-dynamodb"), new Set(["CreateTable"]))).toContain("ResourceInUseException");
    expect(plugins.declaredErrors(client("client-sqs"), new Set(["SendMessage"]))).toContain("QueueDoesNotExist");
  });

  it("are none to go by where a command has no declaration or none is sent", () => {
    expect(plugins.declaredErrors(client("client-dynamodb"), new Set(["NoSuchOperation"]))).toBeNull();
    expect(plugins.declaredErrors(client("client-dynamodb"), new Set())).toBeNull();
  });

  it("cut a client's registry: the schemas of the others and their registration go, with their import", () => {
    const keep = plugins.declaredErrors(client("client-dynamodb"), new Set(["PutItem"]))!;
    const cut = plugins.cutToDeclaredErrors(source("client-dynamodb", "schemas/schemas_0.js"), source("client-dynamodb", "models/errors.js"), keep)!;
    expect(cut.kept).toContain("ConditionalCheckFailedException");
    expect(cut.cut).toContain("TableAlreadyExistsException");
    expect(cut.cutShapeIds).toContain("com.amazonaws.dynamodb#TableAlreadyExistsException");
    expect(cut.schemas).toContain("n0_registry.registerError(ConditionalCheckFailedException$, ConditionalCheckFailedException);");
    expect(cut.schemas).toContain("_s_registry.registerError(DynamoDBServiceException$, DynamoDBServiceException);");
    expect(cut.schemas).not.toMatch(/\bTableAlreadyExistsException\$|[ ,{]TableAlreadyExistsException[ ,}]/);
    // what the schemas describe besides the errors is as it was
    expect(cut.schemas).toContain("export var PutItem$ = ");
  });

  it("keep an error with the retryable trait, whose class the SDK's retries read", () => {
    const cut = plugins.cutToDeclaredErrors(source("client-dynamodb", "schemas/schemas_0.js"), source("client-dynamodb", "models/errors.js"), new Set(["DynamoDBServiceException"]))!;
    expect(cut.kept).toEqual(["ReplicatedWriteConflictException"]);
  });

  it("leave a client whole whose files are not as expected", () => {
    const schemas = source("client-dynamodb", "schemas/schemas_0.js");
    const errors = source("client-dynamodb", "models/errors.js");
    const keep = new Set(["ConditionalCheckFailedException"]);
    expect(plugins.cutToDeclaredErrors(schemas.replace("n0_registry.registerError(TableAlreadyExistsException$, TableAlreadyExistsException);\n", ""), errors, keep)).toBeNull();
    expect(plugins.cutToDeclaredErrors(schemas, errors, new Set(["NoSuchException"]))).toBeNull();
    expect(plugins.cutToDeclaredErrors(`${schemas}\nexport const also = [TableAlreadyExistsException$];\n`, errors, keep)).toBeNull();
    expect(plugins.cutToDeclaredErrors(schemas, `${errors}\nexport const x = 1;\n`, keep)).toBeNull();
  });

  it("leave a query-compatible client (SQS) whole: there an unregistered error would be named after its query code", () => {
    expect(plugins.queryCompatible(client("client-sqs"))).toBe(true);
    for (const name of ["client-dynamodb", "client-kms", "client-lambda", "client-eventbridge"]) expect(plugins.queryCompatible(client(name))).toBe(false);
  });
});

// ---------------------------------------------------------------- against a server answering as AWS does

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}
const JSON10 = "application/x-amz-json-1.0";
const JSON11 = "application/x-amz-json-1.1";
/** an AWS JSON protocol error: `__type` in the body (DynamoDB's with its versioned namespace, as DynamoDB writes it) */
const jsonError = (contentType: string, status: number, type: string, message: string, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { "content-type": contentType, ...headers },
  body: { __type: type, message },
});

describe("a bundle built with the plugin, against a server answering errors as AWS does", () => {
  let server: Server;
  let endpoint: string;
  let withCut: string;
  let withoutCut: string;
  const answers = new Map<string, Answer>();
  let requestNo = 0;

  /** the operation a request calls: its X-Amz-Target (JSON protocols) or Lambda's invocations path */
  const operationOf = (req: IncomingMessage) => {
    const target = req.headers["x-amz-target"];
    if (typeof target === "string") return target.slice(target.indexOf(".") + 1);
    return /\/functions\/[^/]+\/invocations$/.test(req.url ?? "") ? "Invoke" : "?";
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const answer = answers.get(operationOf(req)) ?? { status: 500, headers: { "content-type": JSON10 }, body: { __type: "NoAnswerSet", message: operationOf(req) } };
        res.writeHead(answer.status, { ...answer.headers, "x-amzn-requestid": `req-${++requestNo}` });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    withCut = await bundle("test/packaging/fixtures/aws-errors.ts", "aws-errors");
    withoutCut = await bundle("test/packaging/fixtures/aws-errors.ts", "aws-errors-whole", false);
  }, 120_000);
  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  /** call the fixture's export in a node of its own, from the bundle with or without the cut */
  async function call(fn: string, args: unknown[], whole = false): Promise<unknown> {
    const file = join(dir, whole ? "aws-errors-whole.js" : "aws-errors.js");
    const code = `require(${JSON.stringify(file)}).${fn}(...${JSON.stringify(args)}).then((r) => console.log(JSON.stringify(r)))`;
    const { stdout } = await run(process.execPath, ["-e", code], { env: { PATH: process.env.PATH ?? "", AWS_EC2_METADATA_DISABLED: "true" }, timeout: 60_000 });
    return JSON.parse(stdout.trim().split("\n").pop()!);
  }
  /** the same call through both bundles, the request ids left out (each request has its own) */
  async function both(fn: string, args: unknown[]) {
    const strip = (r: unknown) => {
      const t = r as { metadata?: { requestId?: string } };
      if (t?.metadata?.requestId) t.metadata.requestId = t.metadata.requestId.replace(/\d+$/, "N");
      return r;
    };
    return { cut: strip(await call(fn, args)) as Record<string, unknown>, whole: strip(await call(fn, args, true)) as Record<string, unknown> };
  }

  it("is built from a registry cut to what the fixture sends", () => {
    for (const id of ["com.amazonaws.dynamodb#TableAlreadyExistsException", "com.amazonaws.kms#AlreadyExistsException", "com.amazonaws.lambda#PreconditionFailedException"]) {
      expect(withoutCut).toContain(JSON.stringify(id));
      expect(withCut).not.toContain(JSON.stringify(id));
    }
    expect(withoutCut.length - withCut.length).toBeGreaterThan(20 * 1024);
  });

  it.each([
    ["DynamoDB PutItem", "dynamodb", "PutItem", "ConditionalCheckFailedException", jsonError(JSON10, 400, "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "The conditional request failed")],
    ["DynamoDB UpdateItem", "dynamodb", "UpdateItem", "ConditionalCheckFailedException", jsonError(JSON10, 400, "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "The conditional request failed")],
    ["KMS Decrypt", "kms", "Decrypt", "InvalidCiphertextException", jsonError(JSON11, 400, "InvalidCiphertextException", "The ciphertext is invalid")],
    ["EventBridge PutEvents", "eventbridge", "PutEvents", "InternalException", jsonError(JSON11, 500, "InternalException", "Internal error")],
    [
      "Lambda Invoke",
      "lambda",
      "Invoke",
      "TooManyRequestsException",
      { status: 429, headers: { "content-type": "application/json", "x-amzn-errortype": "TooManyRequestsException" }, body: { Type: "User", message: "Rate exceeded", Reason: "CallerRateLimitExceeded" } },
    ],
    [
      "SQS SendMessage (query-compatible: x-amzn-query-error)",
      "sqs",
      "SendMessage",
      "QueueDoesNotExist",
      jsonError(JSON10, 400, "com.amazonaws.sqs#QueueDoesNotExist", "The specified queue does not exist.", { "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender" }),
    ],
  ])("%s: a declared error still arrives as its own class", async (_what, service, op, error, answer) => {
    answers.set(op, answer as Answer);
    const { cut, whole } = await both("send", [endpoint, service, op, error]);
    expect(cut).toMatchObject({ name: error, own: true, base: true, exactlyBase: false, metadata: { httpStatusCode: (answer as Answer).status, requestId: "req-N" } });
    expect(cut).toEqual(whole);
  }, 60_000);

  it.each([
    ["DynamoDB PutItem", "dynamodb", "PutItem", "TableAlreadyExistsException", jsonError(JSON10, 400, "com.amazonaws.dynamodb.v20120810#TableAlreadyExistsException", "Table already exists: t")],
    ["KMS Encrypt", "kms", "Encrypt", "AlreadyExistsException", jsonError(JSON11, 400, "AlreadyExistsException", "alias/k already exists")],
    ["EventBridge PutEvents", "eventbridge", "PutEvents", "ResourceNotFoundException", jsonError(JSON11, 400, "ResourceNotFoundException", "Event bus sanboot does not exist.")],
    ["EventBridge PutEvents, throttled", "eventbridge", "PutEvents", "ThrottlingException", jsonError(JSON11, 400, "ThrottlingException", "Rate exceeded")],
    [
      "Lambda Invoke",
      "lambda",
      "Invoke",
      "PreconditionFailedException",
      { status: 412, headers: { "content-type": "application/json", "x-amzn-errortype": "PreconditionFailedException:http://internal.amazon.com/coral/com.amazonaws.lambda/" }, body: { Type: "User", message: "The RevisionId provided does not match" } },
    ],
  ])("%s: an error no sent command declares arrives as the base ServiceException, with its name, message and $metadata", async (_what, service, op, error, answer) => {
    answers.set(op, answer as Answer);
    const { cut, whole } = await both("send", [endpoint, service, op]);
    expect(whole).toMatchObject({ name: error, base: true, exactlyBase: false });
    expect(cut).toMatchObject({ name: error, message: (answer as Answer & { body: { message: string } }).body.message, base: true, exactlyBase: true });
    expect(cut.metadata).toMatchObject({ httpStatusCode: (answer as Answer).status, requestId: "req-N" });
    expect({ ...cut, exactlyBase: undefined }).toEqual({ ...whole, exactlyBase: undefined });
  }, 60_000);

  it("SQS: an error its commands do not declare keeps its class and name (the client is left whole)", async () => {
    answers.set("SendMessage", jsonError(JSON10, 403, "com.amazonaws.sqs#PurgeQueueInProgress", "purging", { "x-amzn-query-error": "AWS.SimpleQueueService.PurgeQueueInProgress;Sender" }));
    const { cut, whole } = await both("send", [endpoint, "sqs", "SendMessage"]);
    expect(cut).toMatchObject({ name: "PurgeQueueInProgress", message: "purging", exactlyBase: false });
    expect(cut).toEqual(whole);
  }, 60_000);

  it("sanboot's table client: a table already there is ResourceInUseException, a refused condition ConditionalCheckFailedException", async () => {
    answers.set("CreateTable", jsonError(JSON10, 400, "com.amazonaws.dynamodb.v20120810#ResourceInUseException", "Table already exists: t"));
    answers.set("DescribeTable", { status: 200, headers: { "content-type": JSON10 }, body: { Table: { TableName: "t", TableStatus: "ACTIVE" } } });
    answers.set("PutItem", jsonError(JSON10, 400, "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "The conditional request failed"));
    expect(await call("table", [endpoint])).toEqual({ ensured: true, put: { written: false } });
    // and an error the put does not declare is the store's, named
    answers.set("PutItem", jsonError(JSON10, 400, "com.amazonaws.dynamodb.v20120810#TableNotFoundException", "Table not found"));
    expect(await call("table", [endpoint])).toEqual({ ensured: true, put: "DependencyError: state table put item failed (TableNotFoundException: Table not found)" });
  }, 60_000);

  it("sanboot's doorbell: a ring at a site without a queue (QueueDoesNotExist, by name) is quiet, another failure is logged", async () => {
    answers.set("SendMessage", jsonError(JSON10, 400, "com.amazonaws.sqs#QueueDoesNotExist", "The specified queue does not exist.", { "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender" }));
    expect(await call("ring", [endpoint])).toEqual([]);
    answers.set("SendMessage", jsonError(JSON10, 400, "com.amazonaws.sqs#InvalidSecurity", "not over https", { "x-amzn-query-error": "InvalidSecurity;Sender" }));
    expect(await call("ring", [endpoint])).toEqual(["could not ring the relay doorbell: not over https"]);
  }, 60_000);

  it("refuses to build a bundle that checks instanceof on an error no command it sends declares", async () => {
    await expect(bundle("test/packaging/fixtures/undeclared-instanceof.ts", "undeclared-instanceof")).rejects.toThrow(
      /no command it sends declares \(com\.amazonaws\.dynamodb#TableAlreadyExistsException\)/,
    );
    // without the cut it builds
    await expect(bundle("test/packaging/fixtures/undeclared-instanceof.ts", "undeclared-instanceof-whole", false)).resolves.toContain("TableAlreadyExistsException");
  }, 60_000);
});

// ---------------------------------------------------------------- sanboot's own code

type Use = { file: string; client: string; name: string };

/**
 * In a TypeScript source: the SDK commands it constructs (`new XCommand(` of a name imported from an
 * @aws-sdk client, or from lib-dynamodb, as the client-dynamodb command that one wraps) and each
 * `instanceof` on a name imported from an @aws-sdk client (`instanceof X`, `instanceof ns.X`).
 */
function sdkUses(file: string, text: string): { sends: Use[]; instanceofs: Use[] } {
  const local = new Map<string, { pkg: string; name: string }>(); // local name → what it imports
  const namespaces = new Map<string, string>(); // `import * as ns` → package
  for (const m of text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+"(@aws-sdk\/[^"]+)"/g)) {
    if (m[1]) continue;
    for (const part of m[2]!.split(",").map((p) => p.trim()).filter(Boolean)) {
      if (part.startsWith("type ")) continue;
      const [name, alias] = part.split(/\s+as\s+/) as [string, string | undefined];
      local.set(alias ?? name, { pkg: m[3]!, name });
    }
  }
  for (const m of text.matchAll(/import\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s+"(@aws-sdk\/[^"]+)"/g)) namespaces.set(m[1]!, m[2]!);
  const resolve = (ref: string): { pkg: string; name: string } | undefined => {
    const [head, tail] = ref.split(".") as [string, string | undefined];
    if (tail) return namespaces.has(head) ? { pkg: namespaces.get(head)!, name: tail } : undefined;
    return local.get(head);
  };
  const sends: Use[] = [];
  for (const m of text.matchAll(/\bnew\s+([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)\s*\(/g)) {
    const used = resolve(m[1]!);
    if (!used || !used.name.endsWith("Command")) continue;
    if (used.pkg === "@aws-sdk/lib-dynamodb") {
      const wrapped = readFileSync(join(ROOT, "node_modules/@aws-sdk/lib-dynamodb/dist-es/commands", `${used.name}.js`), "utf8");
      const inner = /import \{ ([A-Za-z0-9]+)Command as __\1Command \} from "@aws-sdk\/client-dynamodb"/.exec(wrapped);
      expect(inner, `lib-dynamodb's ${used.name} wraps a client-dynamodb command`).not.toBeNull();
      sends.push({ file, client: "client-dynamodb", name: inner![1]! });
    } else if (/^@aws-sdk\/client-/.test(used.pkg)) sends.push({ file, client: used.pkg.slice("@aws-sdk/".length), name: used.name.replace(/Command$/, "") });
  }
  const instanceofs: Use[] = [];
  for (const m of text.matchAll(/\binstanceof\s+([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)/g)) {
    const used = resolve(m[1]!);
    if (used && /^@aws-sdk\/client-/.test(used.pkg)) instanceofs.push({ file, client: used.pkg.slice("@aws-sdk/".length), name: used.name });
  }
  return { sends, instanceofs };
}

/** the `instanceof` checks on SDK errors that no command the sources send (of that client) declares */
function undeclaredChecks(sources: { file: string; text: string }[]): Use[] {
  const uses = sources.map((s) => sdkUses(s.file, s.text));
  const sent = new Map<string, Set<string>>();
  for (const u of uses.flatMap((x) => x.sends)) sent.set(u.client, (sent.get(u.client) ?? new Set()).add(u.name));
  return uses
    .flatMap((x) => x.instanceofs)
    .filter((u) => !(plugins.declaredErrors(client(u.client), sent.get(u.client) ?? new Set()) ?? new Set()).has(u.name));
}

function sourcesUnder(...dirs: string[]): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.[cm]?[jt]s$/.test(entry) && !entry.endsWith(".d.ts")) out.push({ file: relative(ROOT, path), text: readFileSync(path, "utf8") });
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  return out;
}

describe("sanboot's instanceof checks on SDK errors", () => {
  const sources = sourcesUnder("lib", "functions", "relay");

  it("finds the commands sanboot sends and the checks it makes", () => {
    const uses = sources.map((s) => sdkUses(s.file, s.text));
    const sends = new Set(uses.flatMap((u) => u.sends).map((u) => `${u.client} ${u.name}`));
    for (const s of ["client-dynamodb PutItem", "client-dynamodb UpdateItem", "client-dynamodb CreateTable", "client-sqs SendMessage", "client-lambda Invoke", "client-kms Decrypt", "client-eventbridge PutEvents"])
      expect(sends).toContain(s);
    const checks = uses.flatMap((u) => u.instanceofs).map((u) => `${u.file} ${u.name}`);
    expect(checks).toEqual(expect.arrayContaining(["lib/store/table-client.ts ConditionalCheckFailedException", "lib/store/table-client.ts ResourceInUseException"]));
  });

  it("names only errors that a command sanboot sends declares", () => {
    expect(undeclaredChecks(sources)).toEqual([]);
  });

  it("would name one that no sent command declares", () => {
    const text = [
      'import { PutItemCommand, TableAlreadyExistsException as Exists } from "@aws-sdk/client-dynamodb";',
      'import * as kms from "@aws-sdk/client-kms";',
      "await client.send(new PutItemCommand({}));",
      "await client.send(new kms.EncryptCommand({}));",
      "if (err instanceof Exists || err instanceof kms.AlreadyExistsException || err instanceof kms.NotFoundException) throw err;",
    ].join("\n");
    expect(undeclaredChecks([{ file: "sample.ts", text }])).toEqual([
      { file: "sample.ts", client: "client-dynamodb", name: "TableAlreadyExistsException" },
      { file: "sample.ts", client: "client-kms", name: "AlreadyExistsException" },
    ]);
  });
});
