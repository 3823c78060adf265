/**
 * The OpenAPI 3.1 document of the HTTP API, generated (never written by hand) from the route
 * table (operations.ts) and the zod schemas the handlers parse with and answer by. Request
 * bodies are described as zod reads them (io "input": defaults optional), answers as they come
 * out (io "output"). Schemas of JSON Schema draft 2020-12, the dialect of OpenAPI 3.1.
 */
import { z } from "zod";
import { version } from "../../package.json";
import type { ErrorCode } from "../errors";
import { codesWithStatus, errorBody, errorCode, errorDetail } from "../http/error-body";
import { httpStatusOf } from "../http/error-map";
import {
  bmcTarget,
  commandBody,
  heartbeatRequest,
  heartbeatResponse,
  jsonValue,
  leaseRequest,
  leaseResponse,
  leasedCommand,
  releaseRequest,
  releaseResponse,
  resultRequest,
  resultResponse,
} from "../relay/protocol";
import { nodePageSchema, nodeViewSchema, requestPageSchema, requestViewSchema } from "../service/view-schemas";
import { bootFromVolume, enrollNode, idempotencyKey, updateNode } from "./schemas";
import { OPERATIONS, openApiDocumentSchema, type Operation } from "./operations";

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string; license: { name: string; identifier: string } };
  jsonSchemaDialect: string;
  servers: Array<{ url: string; description: string }>;
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, JsonSchema>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

/** Named schemas, each once under components/schemas; anything not named here is inlined. */
const named = (io: "input" | "output", entries: Array<[z.core.$ZodType, string]>) => {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of entries) registry.add(schema, { id });
  return { io, registry };
};

function componentsOf(ops: readonly Operation[]) {
  const input = named("input", [
    [jsonValue, "JsonValue"],
    [enrollNode, "EnrollNode"],
    [updateNode, "NodeChanges"],
    [bootFromVolume, "BootFromVolume"],
    [leaseRequest, "LeaseRequest"],
    [heartbeatRequest, "HeartbeatRequest"],
    [releaseRequest, "ReleaseRequest"],
    [resultRequest, "ResultRequest"],
  ]);
  const output = named("output", [
    [jsonValue, "JsonValue"],
    [errorBody, "Error"],
    [errorCode, "ErrorCode"],
    [errorDetail, "ErrorDetail"],
    [nodeViewSchema, "Node"],
    [nodePageSchema, "NodePage"],
    [requestViewSchema, "BootRequest"],
    [requestPageSchema, "BootRequestPage"],
    [bmcTarget, "BmcTarget"],
    [leaseResponse, "LeaseResponse"],
    [leasedCommand, "LeasedCommand"],
    [commandBody, "CommandBody"],
    [heartbeatResponse, "HeartbeatResponse"],
    [releaseResponse, "ReleaseResponse"],
    [resultResponse, "ResultResponse"],
    [openApiDocumentSchema, "OpenApiDocument"],
  ]);
  // a body or answer not named above is named after its operation
  for (const op of ops) {
    const title = op.operationId[0]!.toUpperCase() + op.operationId.slice(1);
    if (op.body && !input.registry.has(op.body)) input.registry.add(op.body, { id: `${title}Request` });
    if (op.answer.body && !output.registry.has(op.answer.body)) output.registry.add(op.answer.body, { id: `${title}Response` });
  }
  return { input, output };
}

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

function emit({ io, registry }: ReturnType<typeof named>): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(registry, { io, target: "draft-2020-12", unrepresentable: "throw", uri: (id) => ref(id).$ref });
  if ("__shared" in schemas) throw new Error("a schema would be defined without a name (a recursive one?): name it in lib/api/openapi.ts");
  return Object.fromEntries(Object.entries(schemas).map(([id, s]) => [id, plain(s as JsonSchema)]));
}

/** A schema as OpenAPI embeds it: the dialect is the document's, ids are its component names. */
function plain(s: JsonSchema): JsonSchema {
  const { $schema: _dialect, $id: _id, ...rest } = s;
  return rest;
}

const inline = (schema: z.core.$ZodType, io: "input" | "output" = "input"): JsonSchema => plain(z.toJSONSchema(schema, { io, unrepresentable: "throw" }) as JsonSchema);

const STATUS_TEXT: Record<number, string> = {
  400: "bad input (details name each field)",
  401: "no or unknown token",
  403: "not allowed",
  404: "not found (or another project's)",
  409: "conflict",
  413: "body too large",
  415: "body not sent as application/json",
  422: "refused",
  500: "internal error (the message says nothing more)",
  503: "a dependency is unavailable; retry later",
};

/** Every code an operation answers: those its entry names, those that follow from it, and the 5xx the error map allows. */
function errorCodesOf(op: Operation): ErrorCode[] {
  const codes = new Set<ErrorCode>(op.errors ?? []);
  if (op.auth !== "none") codes.add("UNAUTHENTICATED");
  if (op.auth === "caller" && op.method !== "GET") codes.add("FORBIDDEN"); // a reader's change
  if (op.body) for (const c of ["VALIDATION_FAILED", "MALFORMED_JSON", "BODY_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"] as const) codes.add(c);
  if (op.pathParams || op.query || op.idempotencyKey) codes.add("VALIDATION_FAILED");
  for (const c of codesWithStatus(500)) codes.add(c);
  if (op.auth !== "none") for (const c of codesWithStatus(503)) codes.add(c);
  return [...codes];
}

function errorResponses(op: Operation): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of errorCodesOf(op)) byStatus.set(httpStatusOf(c), [...(byStatus.get(httpStatusOf(c)) ?? []), c]);
  const out: Record<string, JsonSchema> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const narrowed = z.object({ error: z.object({ code: z.enum(codes as [ErrorCode, ...ErrorCode[]]) }) });
    out[String(status)] = {
      description: `${STATUS_TEXT[status] ?? "error"}: ${codes.join(", ")}`,
      content: { "application/json": { schema: { allOf: [ref("Error"), inline(narrowed)] } } },
    };
  }
  return out;
}

function parameters(op: Operation): JsonSchema[] {
  const params: JsonSchema[] = [];
  for (const [name, schema] of Object.entries(op.pathParams ?? {})) params.push({ name, in: "path", required: true, schema: inline(schema) });
  for (const [name, s] of Object.entries(op.query?._zod.def.shape ?? {})) {
    params.push({ name, in: "query", required: !z.safeParse(s, undefined).success, schema: inline(s) });
  }
  if (op.idempotencyKey) {
    params.push({
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description: "the same key with the same body answers the first answer again (for 24 hours); with another body, 422 IDEMPOTENCY_KEY_REUSED",
      schema: inline(idempotencyKey),
    });
  }
  return params;
}

function operationObject(op: Operation, ids: { input: z.core.$ZodRegistry<{ id: string }>; output: z.core.$ZodRegistry<{ id: string }> }): JsonSchema {
  const idOf = (reg: z.core.$ZodRegistry<{ id: string }>, s: z.core.$ZodType) => ref(reg.get(s)!.id);
  const { answer } = op;
  const params = parameters(op);
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.auth === "relay" ? { security: [{ relayToken: [] }] } : op.auth === "none" ? { security: [] } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: idOf(ids.input, op.body) } } } } : {}),
    responses: {
      [String(answer.status)]: {
        description: answer.description,
        ...(answer.headers
          ? { headers: Object.fromEntries(Object.entries(answer.headers).map(([name, h]) => [name, { description: h.description, required: h.required, schema: inline(h.schema, "output") }])) }
          : {}),
        ...(answer.body ? { content: { "application/json": { schema: idOf(ids.output, answer.body) } } } : {}),
      },
      ...errorResponses(op),
    },
  };
}

export function buildOpenApiDocument(ops: readonly Operation[] = OPERATIONS): OpenApiDocument {
  const { input, output } = componentsOf(ops);
  const requests = emit(input);
  const answers = emit(output);
  for (const id of Object.keys(requests)) {
    if (id in answers && JSON.stringify(requests[id]) !== JSON.stringify(answers[id])) throw new Error(`${id} names two different schemas`);
  }
  const paths: OpenApiDocument["paths"] = {};
  for (const op of ops) (paths[op.path] ??= {})[op.method.toLowerCase()] = operationObject(op, { input: input.registry, output: output.registry });
  return {
    openapi: "3.1.0",
    info: {
      title: "sanboot",
      version,
      description: "Boot bare-metal servers from OpenStack Cinder volumes. Errors have one shape (Error) with a stable code.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    servers: [{ url: "/", description: "the host that serves this document" }],
    // either header carries a caller's token
    security: [{ bearer: [] }, { xAuthToken: [] }],
    tags: [
      { name: "nodes", description: "bare-metal servers and their BMCs" },
      { name: "boot-requests", description: "booting a node from a volume, and undeploying it" },
      { name: "sites", description: "where relays serve BMCs: the tokens a site's relays use, its sealing key, its relays' health (admin)" },
      { name: "relay", description: "the protocol of the relay agent that runs at each site (its site's relay token, not a caller's)" },
      { name: "meta", description: "about the API itself" },
    ],
    paths,
    components: {
      schemas: { ...requests, ...answers },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "a caller's token: it names a project and a role (member, reader: reads only, admin: every project)" },
        xAuthToken: { type: "apiKey", in: "header", name: "X-Auth-Token", description: "the caller's token in the header OpenStack clients send (a Keystone token with SANBOOT_AUTH=keystone)" },
        relayToken: { type: "http", scheme: "bearer", description: "a site's relay token: the relay endpoints answer only to the relay of that site" },
      },
    },
  };
}

let built: OpenApiDocument | undefined;
/** The document, built once per process. */
export const openApiDocument = (): OpenApiDocument => (built ??= buildOpenApiDocument());
