/**
 * Every route the HTTP API serves, as data: the schemas a handler parses on the way in, the
 * schema of what it answers, and the error codes it can answer. lib/api/openapi.ts turns this
 * table into the OpenAPI document; test/api/openapi.contract.test.ts holds it to serverless.yml
 * (every route is here) and to the handlers (every answer matches).
 */
import { z } from "zod";
import type { ErrorCode } from "../errors";
import {
  commandId,
  heartbeatRequest,
  heartbeatResponse,
  leaseRequest,
  leaseResponse,
  releaseRequest,
  releaseResponse,
  resultRequest,
  resultResponse,
  whoamiResponse,
} from "../relay/protocol";
import { nodePageSchema, nodeViewSchema, requestPageSchema, requestViewSchema, siteDetailSchema, sitePageSchema, siteViewSchema } from "../service/view-schemas";
import { bootFromVolume, createSite, enrollNode, listQuery, listRequestsQuery, siteName, updateNode, updateSite, uuid } from "./schemas";

export type Method = "GET" | "POST" | "PATCH" | "DELETE";
export type Tag = "nodes" | "boot-requests" | "sites" | "relay" | "meta";

export interface ResponseHeader {
  description: string;
  required: boolean;
  schema: z.core.$ZodType;
}

export interface Operation {
  operationId: string;
  method: Method;
  /** exactly as serverless.yml declares the route */
  path: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** caller: the bearer token of a project; relay: a site's relay token; none: anyone */
  auth: "caller" | "relay" | "none";
  // core types: the request schemas are zod/mini's (lib/api/schemas.ts, lib/relay/protocol.ts)
  pathParams?: Record<string, z.core.$ZodType>;
  query?: z.core.$ZodObject;
  /** the handler honours an Idempotency-Key header */
  idempotencyKey?: boolean;
  body?: z.core.$ZodType;
  answer: { status: number; description: string; body?: z.core.$ZodType; headers?: Record<string, ResponseHeader> };
  /**
   * 4xx codes the route answers beyond those that follow from the rest of its entry (a bad
   * token, a bad body, a bad parameter, a reader's change); 5xx come from lib/http/error-map.ts.
   */
  errors?: ErrorCode[];
}

/** A minimal view of the document itself, for its own route. */
export const openApiDocumentSchema = z.looseObject({
  openapi: z.string().startsWith("3.1."),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
});

const location = (what: string): ResponseHeader => ({ description: `where to GET ${what}`, required: true, schema: z.string().startsWith("/v1/") });
const nodeId = { node_id: uuid };
const siteParam = { site: siteName };

export const OPERATIONS: readonly Operation[] = [
  {
    operationId: "enrollNode",
    method: "POST",
    path: "/v1/nodes",
    tag: "nodes",
    summary: "Enroll a node",
    description:
      "The node gets a generated initiator_iqn; its FC ports (fc_ports) are read through the site's relay right after, and inventory_error says why when the BMC could not be read.",
    auth: "caller",
    body: enrollNode,
    answer: { status: 201, description: "the node, enrolled", body: nodeViewSchema, headers: { Location: location("the node") } },
    errors: ["FORBIDDEN", "NODE_EXISTS"],
  },
  {
    operationId: "listNodes",
    method: "GET",
    path: "/v1/nodes",
    tag: "nodes",
    summary: "List the caller's nodes, a page at a time",
    auth: "caller",
    query: listQuery,
    answer: { status: 200, description: "a page of nodes", body: nodePageSchema },
  },
  {
    operationId: "showNode",
    method: "GET",
    path: "/v1/nodes/{node_id}",
    tag: "nodes",
    summary: "Show a node",
    auth: "caller",
    pathParams: nodeId,
    answer: { status: 200, description: "the node", body: nodeViewSchema },
    errors: ["NODE_NOT_FOUND"],
  },
  {
    operationId: "updateNode",
    method: "PATCH",
    path: "/v1/nodes/{node_id}",
    tag: "nodes",
    summary: "Change a node's fields",
    description: "Refused while a boot request holds the node. A changed bmc has its FC ports read again.",
    auth: "caller",
    pathParams: nodeId,
    body: updateNode,
    answer: { status: 200, description: "the node, changed", body: nodeViewSchema },
    errors: ["NODE_NOT_FOUND", "NODE_BUSY", "VERSION_CONFLICT"],
  },
  {
    operationId: "deleteNode",
    method: "DELETE",
    path: "/v1/nodes/{node_id}",
    tag: "nodes",
    summary: "Delete a node",
    description: "Refused while a boot request holds the node.",
    auth: "caller",
    pathParams: nodeId,
    answer: { status: 204, description: "deleted" },
    errors: ["NODE_NOT_FOUND", "NODE_BUSY"],
  },
  {
    operationId: "bootFromVolume",
    method: "POST",
    path: "/v1/nodes/{node_id}/boot-from-volume",
    tag: "boot-requests",
    summary: "Boot the node from a Cinder volume",
    description:
      "Accepts a boot request and answers at once; GET the Location to follow it. With an Idempotency-Key, the same key and body answer the first answer again (marked idempotent-replayed); the key with another body is refused.",
    auth: "caller",
    pathParams: nodeId,
    idempotencyKey: true,
    body: bootFromVolume,
    answer: {
      status: 202,
      description: "the boot request, accepted",
      body: requestViewSchema,
      headers: {
        Location: location("the boot request"),
        "idempotent-replayed": { description: "the answer of an earlier request with the same Idempotency-Key", required: false, schema: z.literal("true") },
      },
    },
    errors: ["NODE_NOT_FOUND", "NODE_BUSY", "VERSION_CONFLICT", "IDEMPOTENCY_KEY_IN_FLIGHT", "IDEMPOTENCY_KEY_REUSED", "SITE_RELAY_OFFLINE"],
  },
  {
    operationId: "undeploy",
    method: "DELETE",
    path: "/v1/nodes/{node_id}/boot-from-volume",
    tag: "boot-requests",
    summary: "Undeploy: power off, clear the boot target, detach the volume",
    description: "The node's active boot request moves to detaching and ends detached. Idempotent while it is under way.",
    auth: "caller",
    pathParams: nodeId,
    answer: { status: 202, description: "the boot request, undeploying", body: requestViewSchema, headers: { Location: location("the boot request") } },
    errors: ["NODE_NOT_FOUND", "NO_ACTIVE_DEPLOYMENT", "NODE_BUSY", "VERSION_CONFLICT"],
  },
  {
    operationId: "listBootRequests",
    method: "GET",
    path: "/v1/boot-requests",
    tag: "boot-requests",
    summary: "List the caller's boot requests, a page at a time",
    auth: "caller",
    query: listRequestsQuery,
    answer: { status: 200, description: "a page of boot requests", body: requestPageSchema },
  },
  {
    operationId: "showBootRequest",
    method: "GET",
    path: "/v1/boot-requests/{request_id}",
    tag: "boot-requests",
    summary: "Show a boot request: its state, history, target and what changed on the BMC",
    auth: "caller",
    pathParams: { request_id: uuid },
    answer: { status: 200, description: "the boot request", body: requestViewSchema },
    errors: ["REQUEST_NOT_FOUND"],
  },
  {
    operationId: "createSite",
    method: "POST",
    path: "/v1/sites",
    tag: "sites",
    summary: "Create a site (admin): the relay tokens it accepts, as SHA-256, and its sealing key",
    description:
      "A site named in SANBOOT_RELAY_TOKENS / SANBOOT_SITE_KEYS may be created here too: from then on its record decides and the environment's entries for it are ignored. A token serves one site.",
    auth: "caller",
    body: createSite,
    answer: { status: 201, description: "the site, created", body: siteViewSchema, headers: { Location: location("the site") } },
    errors: ["FORBIDDEN", "SITE_EXISTS"],
  },
  {
    operationId: "listSites",
    method: "GET",
    path: "/v1/sites",
    tag: "sites",
    summary: "List the sites (admin), a page at a time; the first page also holds those from the environment",
    auth: "caller",
    query: listQuery,
    answer: { status: 200, description: "a page of sites", body: sitePageSchema },
    errors: ["FORBIDDEN"],
  },
  {
    operationId: "showSite",
    method: "GET",
    path: "/v1/sites/{site}",
    tag: "sites",
    summary: "Show a site (admin): its relays (last seen, version, concurrency, online) and its command queue",
    auth: "caller",
    pathParams: siteParam,
    answer: { status: 200, description: "the site with its relays and queue", body: siteDetailSchema },
    errors: ["FORBIDDEN", "SITE_NOT_FOUND"],
  },
  {
    operationId: "updateSite",
    method: "PATCH",
    path: "/v1/sites/{site}",
    tag: "sites",
    summary: "Change a site (admin): rotate a relay token (send old and new, later the new alone), its sealing key, its description",
    auth: "caller",
    pathParams: siteParam,
    body: updateSite,
    answer: { status: 200, description: "the site, changed", body: siteViewSchema },
    errors: ["FORBIDDEN", "SITE_NOT_FOUND", "SITE_IN_ENVIRONMENT", "VERSION_CONFLICT"],
  },
  {
    operationId: "deleteSite",
    method: "DELETE",
    path: "/v1/sites/{site}",
    tag: "sites",
    summary: "Delete a site without nodes (admin); its relay tokens stop working",
    auth: "caller",
    pathParams: siteParam,
    answer: { status: 204, description: "deleted" },
    errors: ["FORBIDDEN", "SITE_NOT_FOUND", "SITE_IN_ENVIRONMENT", "SITE_HAS_NODES"],
  },
  {
    operationId: "relayWhoami",
    method: "GET",
    path: "/v1/relay/whoami",
    tag: "relay",
    summary: "Relay: the site this token belongs to (sanboot-relay check)",
    auth: "relay",
    answer: { status: 200, description: "the token's site", body: whoamiResponse },
  },
  {
    operationId: "leaseCommands",
    method: "POST",
    path: "/v1/relay/lease",
    tag: "relay",
    summary: "Relay: long-poll the site's commands",
    description: "Answers as soon as commands are leasable, or with none after wait_seconds.",
    auth: "relay",
    body: leaseRequest,
    answer: { status: 200, description: "the commands leased (possibly none)", body: leaseResponse },
  },
  {
    operationId: "heartbeatCommand",
    method: "POST",
    path: "/v1/relay/commands/{command_id}/heartbeat",
    tag: "relay",
    summary: "Relay: extend a lease, storing the command's evidence before a write",
    auth: "relay",
    pathParams: { command_id: commandId },
    body: heartbeatRequest,
    answer: { status: 200, description: "the lease, extended", body: heartbeatResponse },
    errors: ["LEASE_LOST"],
  },
  {
    operationId: "releaseCommand",
    method: "POST",
    path: "/v1/relay/commands/{command_id}/release",
    tag: "relay",
    summary: "Relay: hand back a command it has not started",
    auth: "relay",
    pathParams: { command_id: commandId },
    body: releaseRequest,
    answer: { status: 200, description: "handed back", body: releaseResponse },
    errors: ["LEASE_LOST"],
  },
  {
    operationId: "reportCommandResult",
    method: "POST",
    path: "/v1/relay/commands/{command_id}/result",
    tag: "relay",
    summary: "Relay: report a command's outcome",
    auth: "relay",
    pathParams: { command_id: commandId },
    body: resultRequest,
    answer: { status: 200, description: "recorded", body: resultResponse },
    errors: ["LEASE_LOST"],
  },
  {
    operationId: "getOpenApiDocument",
    method: "GET",
    path: "/v1/openapi.json",
    tag: "meta",
    summary: "This document",
    auth: "none",
    answer: { status: 200, description: "the OpenAPI 3.1 document of this API", body: openApiDocumentSchema },
  },
];
