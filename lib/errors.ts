/**
 * One error taxonomy for the whole service. Every failure that crosses a module boundary is a
 * SanbootError with a stable `code` (API answers, step history and events carry it), a
 * `retryable` flag the workflow's retry policy reads, and the original `cause`.
 * Vendor errors (Cinder bodies, Redfish ExtendedInfo, SDK exceptions) are translated into these
 * inside their adapter and never leave it.
 */
export type ErrorCode =
  // caller input and auth (HTTP 4xx)
  | "VALIDATION_FAILED"
  | "MALFORMED_JSON"
  | "BODY_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  /** sanboot cannot check callers' tokens right now (Keystone down, or refusing sanboot's validation) */
  | "AUTH_UNAVAILABLE"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "NODE_NOT_FOUND"
  | "REQUEST_NOT_FOUND"
  | "NODE_EXISTS"
  | "NODE_BUSY"
  | "NO_ACTIVE_DEPLOYMENT"
  | "IDEMPOTENCY_KEY_REUSED"
  | "IDEMPOTENCY_KEY_IN_FLIGHT"
  | "VERSION_CONFLICT"
  | "LEASE_LOST"
  | "SITE_NOT_FOUND"
  | "SITE_EXISTS"
  /** a site that still has nodes cannot be deleted */
  | "SITE_HAS_NODES"
  /** a site from SANBOOT_RELAY_TOKENS / SANBOOT_SITE_KEYS: POST it to /v1/sites to manage it here */
  | "SITE_IN_ENVIRONMENT"
  /** no relay of the node's site was heard from within SANBOOT_RELAY_OFFLINE_SECONDS: a boot would only wait out its deadlines */
  | "SITE_RELAY_OFFLINE"
  // block storage
  | "VOLUME_NOT_FOUND"
  | "VOLUME_NOT_BOOTABLE"
  | "VOLUME_NOT_AVAILABLE"
  | "VOLUME_WRONG_PROJECT"
  | "VOLUME_WRONG_PROTOCOL"
  | "CINDER_REJECTED"
  /** Keystone refused sanboot's (or the service user's) credentials, no block-storage endpoint, no service credentials */
  | "CINDER_AUTH_FAILED"
  | "CINDER_UNAVAILABLE"
  // BMC and relay
  | "BMC_UNREACHABLE"
  /** the BMC's certificate failed verification (unknown CA, name mismatch, expired, not the pinned one) */
  | "BMC_TLS_UNTRUSTED"
  | "BMC_REJECTED"
  /** a settings object, job or task reported that a change failed to apply (SettingsFailed, job Failed) */
  | "BMC_SETTINGS_FAILED"
  | "BMC_AUTH_FAILED"
  | "BMC_CAPABILITY_MISSING"
  | "BMC_CREDENTIALS_MISSING"
  | "BMC_ETAG_MISMATCH"
  | "BMC_POWER_TIMEOUT"
  /** the firmware reported that the boot failed (a Boot Error in the BMC's event log), with what the console showed */
  | "BMC_BOOT_FAILED"
  | "RELAY_TIMEOUT"
  /** a command's secret is sealed to a site key this relay does not hold */
  | "SECRET_UNREADABLE"
  // workflow and internals
  | "STEP_TIMEOUT"
  | "STORE_UNAVAILABLE"
  | "DISPATCH_FAILED"
  | "INTERNAL";

export interface ErrorDetail {
  field?: string;
  message: string;
}

export interface SanbootErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  details?: ErrorDetail[];
}

export class SanbootError extends Error {
  override readonly name: string = "SanbootError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, options: SanbootErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? [];
  }
}

/** Input that failed validation: always a 4xx naming the field, never retryable. */
export class ValidationError extends SanbootError {
  override readonly name = "ValidationError";
  constructor(message: string, details: ErrorDetail[], code: ErrorCode = "VALIDATION_FAILED") {
    super(code, message, { details });
  }
}

/** A conditional write lost its race: someone else changed the item first. */
export class ConflictError extends SanbootError {
  override readonly name = "ConflictError";
  constructor(code: ErrorCode, message: string, options: SanbootErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Failures of systems we call (Cinder, BMC, DynamoDB): retryable unless said otherwise. */
export class DependencyError extends SanbootError {
  override readonly name = "DependencyError";
}

/** Anything thrown that is not ours becomes INTERNAL; the message stays inside. */
export function asSanbootError(err: unknown): SanbootError {
  if (err instanceof SanbootError) return err;
  return new SanbootError("INTERNAL", "internal error", { cause: err, retryable: true });
}

/** The stored / reported form of an error: code and message only, never a stack or cause. */
export interface ErrorRecord {
  code: ErrorCode;
  message: string;
  retryable?: boolean;
}

export function toErrorRecord(err: unknown): ErrorRecord {
  const e = asSanbootError(err);
  return { code: e.code, message: e.message, retryable: e.retryable };
}
