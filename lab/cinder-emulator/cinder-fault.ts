/**
 * Cinder's error answers. A real Cinder wraps every error as `{"<kind>": {"code": N, "message"}}`
 * where the kind comes from the HTTP status (its wsgi Fault table); statuses missing from that
 * table (500, 406, ...) are all called `computeFault`.
 */
const FAULT_KINDS: Record<number, string> = {
  400: "badRequest",
  401: "unauthorized",
  403: "forbidden",
  404: "itemNotFound",
  405: "badMethod",
  409: "conflictingRequest",
  413: "overLimit",
  415: "badMediaType",
  429: "overLimit",
  501: "notImplemented",
  503: "serviceUnavailable",
};

export function faultKind(status: number): string {
  return FAULT_KINDS[status] ?? "computeFault";
}

export class CinderFault extends Error {
  override readonly name = "CinderFault";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  body(): Record<string, { code: number; message: string }> {
    return { [faultKind(this.status)]: { code: this.status, message: this.message } };
  }
}

/** The messages a real Cinder (Zed) answers, word for word (see notes/cinder-zed-transcript.txt). */
export const faults = {
  resourceNotFound: () => new CinderFault(404, "The resource could not be found."),
  volumeNotFound: (id: string) => new CinderFault(404, `Volume ${id} could not be found.`),
  attachmentNotFound: (id: string) =>
    new CinderFault(404, `Volume attachment could not be found with filter: attachment_id = ${id}.`),
  malformedBody: () => new CinderFault(400, "Malformed request body"),
  noSuchAction: (name: string) =>
    new CinderFault(400, `There is no such action: ${name}. Verify the request body and Content-Type header and try again.`),
  unsupportedContentType: () => new CinderFault(415, "Unsupported Content-Type"),
  cannotComply: () =>
    new CinderFault(400, "The server could not comply with the request since it is either malformed or otherwise incorrect."),
  invalidVolume: (reason: string) => new CinderFault(400, `Invalid volume: ${reason}`),
  invalidInput: (reason: string) => new CinderFault(400, `Invalid input received: ${reason}`),
  internal: () =>
    new CinderFault(500, "The server has either erred or is incapable of performing the requested operation."),
  /** a hex project in the URL that is not the token's */
  projectMismatch: () => new CinderFault(400, "Malformed request url"),
  policyForbids: (action: string) => new CinderFault(403, `Policy doesn't allow ${action} to be performed.`),
  /** POST /volumes with an unknown volume_type (seen on Zed) */
  volumeTypeNameNotFound: (name: string) => new CinderFault(404, `Volume type with name ${name} could not be found.`),
  /** GET /types/{id} (seen on Zed) */
  volumeTypeNotFound: (id: string) => new CinderFault(404, `Volume type ${id} could not be found.`),
  novaUsingAttachment: (instanceId: string) =>
    new CinderFault(409, `ConflictNovaUsingAttachment: Detach volume from instance ${instanceId} using the Compute API`),
};

export const MISSING_CONNECTOR_INFO = "Connector doesn't have required information";
export const MISSING_INITIATOR = `${MISSING_CONNECTOR_INFO}: initiator`;
