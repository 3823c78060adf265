/**
 * Holds HTTP answers to an OpenAPI 3.1 document as it was served: finds the operation of a
 * method and path, and checks the answer's status, content type, headers and body against what
 * the document gives for that status, with the document's own JSON Schemas compiled by Ajv
 * (draft 2020-12, strict: a keyword JSON Schema does not know fails the compile).
 */
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { Reply } from "./api";

const DOC_ID = "https://sanboot.invalid/v1/openapi.json";
/** The document's own fields, which are not JSON Schema keywords, for Ajv to pass over at its root. */
const OPENAPI_FIELDS = ["openapi", "info", "jsonSchemaDialect", "servers", "security", "tags", "paths", "components", "webhooks", "externalDocs"];
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

export interface DocumentedOperation {
  method: string;
  template: string;
  operationId: string;
  op: any;
}

const pointer = (...parts: string[]) => "#/" + parts.map((p) => encodeURIComponent(p.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");

export class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();
  readonly operations: DocumentedOperation[] = [];
  /** `${operationId} ${status}` of every answer checked */
  readonly seen = new Set<string>();

  constructor(readonly doc: any) {
    this.ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary(OPENAPI_FIELDS);
    this.ajv.addSchema({ ...doc, $id: DOC_ID });
    for (const [template, item] of Object.entries<any>(doc.paths ?? {})) {
      for (const method of METHODS) {
        if (item[method]) this.operations.push({ method: method.toUpperCase(), template, operationId: item[method].operationId, op: item[method] });
      }
    }
  }

  /** The operation a request went to: templates match one segment per parameter. */
  operation(method: string, path: string): DocumentedOperation | undefined {
    const bare = path.split("?")[0]!;
    return this.operations.find((o) => o.method === method && new RegExp(`^${o.template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`).test(bare));
  }

  /** The validator of the schema at a JSON pointer of the document (refs resolve inside it). */
  validatorAt(ptr: string): ValidateFunction {
    let v = this.compiled.get(ptr);
    if (!v) {
      v = this.ajv.compile({ $ref: `${DOC_ID}${ptr}` });
      this.compiled.set(ptr, v);
    }
    return v;
  }

  /** Every component schema compiles (strictly). */
  compileComponents(): string[] {
    return Object.keys(this.doc.components?.schemas ?? {}).map((id) => (this.validatorAt(pointer("components", "schemas", id)), id));
  }

  /** What is wrong with an answer, by the document; empty when nothing is. */
  problems(method: string, path: string, reply: Reply): string[] {
    const found = this.operation(method, path);
    if (!found) return [`${method} ${path} is not in the document`];
    const where = `${found.operationId} (${method} ${path}) answered ${reply.status}`;
    const response = found.op.responses?.[String(reply.status)];
    if (!response) return [`${where}: the document gives no response for ${reply.status} (${Object.keys(found.op.responses ?? {}).join(", ")})`];
    this.seen.add(`${found.operationId} ${reply.status}`);
    const out: string[] = [];
    for (const [name, h] of Object.entries<any>(response.headers ?? {})) {
      const value = reply.headers[name.toLowerCase()];
      if (value === undefined) {
        if (h.required) out.push(`${where}: header ${name} is missing`);
        continue;
      }
      const v = this.validatorAt(pointer("paths", found.template, found.method.toLowerCase(), "responses", String(reply.status), "headers", name, "schema"));
      if (!v(value)) out.push(`${where}: header ${name}: ${this.ajv.errorsText(v.errors)}`);
    }
    const media = response.content ? Object.keys(response.content) : [];
    if (media.length === 0) {
      if (reply.text !== "") out.push(`${where}: the document gives no body, and the answer has one: ${reply.text.slice(0, 200)}`);
      return out;
    }
    const type = String(reply.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (!media.includes(type)) return [...out, `${where}: content-type ${type || "none"}, the document gives ${media.join(", ")}`];
    const v = this.validatorAt(pointer("paths", found.template, found.method.toLowerCase(), "responses", String(reply.status), "content", type, "schema"));
    if (!v(reply.body)) out.push(`${where}: ${this.ajv.errorsText(v.errors, { separator: "; " })}; body: ${reply.text.slice(0, 400)}`);
    return out;
  }
}
