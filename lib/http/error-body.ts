/**
 * The one error shape the API answers, as a zod schema (errorAnswer builds it; the OpenAPI
 * document is generated from it), and every stable code with what it means. The table is a
 * Record over ErrorCode, so a code added to lib/errors.ts without a meaning here fails to compile.
 */
import { z } from "zod";
import type { ErrorCode } from "../errors";
import { httpStatusOf } from "./error-map";

export const ERROR_MEANINGS: Record<ErrorCode, string> = {
  VALIDATION_FAILED: "a field is missing, unknown, of the wrong type or out of range (details name it)",
  MALFORMED_JSON: "the body is not JSON",
  BODY_TOO_LARGE: "the body is larger than SANBOOT_MAX_BODY_BYTES",
  UNSUPPORTED_MEDIA_TYPE: "a body not sent as application/json",
  UNAUTHENTICATED: "no or unknown bearer token",
  FORBIDDEN: "not allowed to this caller: enrolling a node into another project, a change by a reader, the sites API without the admin role",
  AUTH_UNAVAILABLE: "the caller's token cannot be checked right now; retry",
  NOT_FOUND: "no such endpoint",
  METHOD_NOT_ALLOWED: "the path does not take this method",
  NODE_NOT_FOUND: "unknown (or another project's) node",
  REQUEST_NOT_FOUND: "unknown (or another project's) boot request",
  NODE_EXISTS: "the node exists already",
  NODE_BUSY: "the node has an active boot request",
  NO_ACTIVE_DEPLOYMENT: "undeploy of a node with nothing deployed",
  IDEMPOTENCY_KEY_REUSED: "the Idempotency-Key was used with another body",
  IDEMPOTENCY_KEY_IN_FLIGHT: "the first request with that Idempotency-Key is still running",
  VERSION_CONFLICT: "a concurrent change won; read again",
  LEASE_LOST: "(relay) the command was leased to another relay",
  SITE_NOT_FOUND: "unknown site",
  SITE_EXISTS: "the site exists already",
  SITE_HAS_NODES: "the site still has nodes: delete them or move them to another site first",
  SITE_IN_ENVIRONMENT: "the site is defined by SANBOOT_RELAY_TOKENS / SANBOOT_SITE_KEYS: POST it to /v1/sites to manage it through the API",
  SITE_RELAY_OFFLINE: "no relay of the node's site called the service within SANBOOT_RELAY_OFFLINE_SECONDS: start or check it (sanboot-relay check), then ask again",
  VOLUME_NOT_FOUND: "the volume does not exist",
  VOLUME_NOT_BOOTABLE: "the volume is not bootable",
  VOLUME_NOT_AVAILABLE: "the volume is not available (in use, or not ready)",
  VOLUME_WRONG_PROJECT: "the volume belongs to another project",
  VOLUME_WRONG_PROTOCOL: "the volume's backend does not offer the protocol asked for",
  CINDER_REJECTED: "Cinder refused the call",
  CINDER_AUTH_FAILED: "Keystone refused sanboot's credentials, or has no block-storage endpoint for it",
  CINDER_UNAVAILABLE: "Cinder is unavailable; retry",
  BMC_UNREACHABLE: "the relay could not reach the BMC",
  BMC_TLS_UNTRUSTED: "the BMC's certificate failed verification",
  BMC_REJECTED: "the BMC refused a request (with its @Message.ExtendedInfo)",
  BMC_SETTINGS_FAILED: "the BMC reported that a change failed to apply",
  BMC_AUTH_FAILED: "the BMC refused the relay's credentials",
  BMC_CAPABILITY_MISSING: "the BMC cannot do what the boot needs",
  BMC_CREDENTIALS_MISSING: "the relay has no credentials for the node's credentials_ref",
  BMC_ETAG_MISMATCH: "the BMC resource changed under the write",
  BMC_POWER_TIMEOUT: "the system did not reach the power state in time",
  BMC_BOOT_FAILED: "the firmware reported that the boot failed",
  RELAY_TIMEOUT: "the site's relay did not answer in time",
  SECRET_UNREADABLE: "the site's relay lacks the site key the secret was sealed to",
  STEP_TIMEOUT: "a workflow step took longer than its budget",
  STORE_UNAVAILABLE: "the state store is unavailable; retry",
  DISPATCH_FAILED: "the request could not be handed on; retry",
  INTERNAL: "a bug; the message says nothing more",
};

export const ERROR_CODES = Object.keys(ERROR_MEANINGS) as [ErrorCode, ...ErrorCode[]];

/** The codes the API answers with `status` (lib/http/error-map.ts decides). */
export const codesWithStatus = (status: number): ErrorCode[] => ERROR_CODES.filter((c) => httpStatusOf(c) === status);

export const errorCode = z.enum(ERROR_CODES).meta({
  description: `A stable error code:\n\n${ERROR_CODES.map((c) => `- \`${c}\` (${httpStatusOf(c)}): ${ERROR_MEANINGS[c]}`).join("\n")}`,
});

export const errorDetail = z.strictObject({
  /** the field (dotted path), query parameter, path parameter or header at fault */
  field: z.string().optional(),
  message: z.string(),
});

export const errorBody = z.strictObject({
  error: z.strictObject({
    code: errorCode,
    message: z.string().min(1),
    details: z.array(errorDetail),
  }),
});
export type ErrorBody = z.infer<typeof errorBody>;
