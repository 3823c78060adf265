/**
 * Redfish error bodies (`error.@Message.ExtendedInfo[]`) with Base registry MessageIds, so
 * clients can be tested on how they surface a BMC's refusal.
 */
export interface ExtendedInfo {
  MessageId: string;
  Message: string;
  MessageArgs: string[];
  RelatedProperties?: string[];
  Severity: "OK" | "Warning" | "Critical";
  Resolution: string;
}

export interface RedfishErrorBody {
  error: { code: string; message: string; "@Message.ExtendedInfo": ExtendedInfo[] };
}

const BASE = "Base.1.8";

function info(id: string, message: string, args: string[], resolution: string, property?: string): ExtendedInfo {
  return {
    MessageId: `${BASE}.${id}`,
    Message: message,
    MessageArgs: args,
    ...(property === undefined ? {} : { RelatedProperties: [`#/${property.replace(/\./g, "/")}`] }),
    Severity: "Warning",
    Resolution: resolution,
  };
}

export const msg = {
  propertyUnknown: (p: string) =>
    info("PropertyUnknown", `The property ${p} is not in the list of valid properties for the resource.`, [p],
      "Remove the unknown property from the request body and resubmit the request if the operation failed.", p),
  propertyNotWritable: (p: string) =>
    info("PropertyNotWritable", `The property ${p} is a read only property and cannot be assigned a value.`, [p],
      "Remove the property from the request body and resubmit the request if the operation failed.", p),
  propertyValueNotInList: (p: string, v: unknown) =>
    info("PropertyValueNotInList", `The value ${show(v)} for the property ${p} is not in the list of acceptable values.`,
      [show(v), p], "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.", p),
  propertyValueTypeError: (p: string, v: unknown) =>
    info("PropertyValueTypeError", `The value ${show(v)} for the property ${p} is of a different type than the property can accept.`,
      [show(v), p], "Correct the value for the property in the request body and resubmit the request if the operation failed.", p),
  propertyValueOutOfRange: (p: string, v: unknown) =>
    info("PropertyValueOutOfRange", `The value ${show(v)} for the property ${p} is not in the supported range of acceptable values.`,
      [show(v), p], "Correct the value for the property in the request body and resubmit the request if the operation failed.", p),
  propertyValueFormatError: (p: string, v: unknown) =>
    info("PropertyValueFormatError", `The value ${show(v)} for the property ${p} is of a different format than the property can accept.`,
      [show(v), p], "Correct the value for the property in the request body and resubmit the request if the operation failed.", p),
  propertyValueConflict: (p: string) =>
    info("PropertyValueConflict", `The property ${p} could not be written because its value would conflict with the value of another property.`,
      [p], "No resolution is required.", p),
  settingsFailed: (p: string) =>
    info("SettingsFailed", `Settings update failed due to invalid value or values for the following properties: ${p}.`, [p],
      "Correct the values in the settings object and resubmit the request."),
  success: () => info("Success", "The request completed successfully.", [], "None."),
  malformedJson: () =>
    info("MalformedJSON", "The request body submitted was malformed JSON and could not be parsed by the receiving service.", [],
      "Ensure that the request body is valid JSON and resubmit the request."),
  resourceMissingAtUri: (uri: string) =>
    info("ResourceMissingAtURI", `The resource at the URI ${uri} was not found.`, [uri],
      "Place a valid resource at the URI or correct the URI and resubmit the request."),
  actionParameterMissing: (action: string, p: string) =>
    info("ActionParameterMissing", `The action ${action} requires the parameter ${p} to be present in the request body.`, [action, p],
      "Supply the action with the required parameter in the request body when the request is resubmitted."),
  actionParameterValueNotInList: (v: string, p: string, action: string) =>
    info("ActionParameterNotSupported", `The parameter ${p} with value ${v} for the action ${action} is not supported on the target resource.`,
      [v, p, action], "Remove the parameter supplied and resubmit the request if the operation failed."),
  operationNotAllowed: (why: string) =>
    info("OperationNotAllowed", `The HTTP method is not allowed: ${why}.`, [], "None."),
  actionRefused: (action: string, why: string) =>
    info("ActionNotSupported", `The action ${action} is not supported by the resource: ${why}.`, [action], "None."),
  preconditionFailed: () =>
    info("PreconditionFailed", "The ETag supplied did not match the ETag required to change this resource.", [],
      "Try the operation again using the appropriate ETag."),
  sessionLimitExceeded: () =>
    info("SessionLimitExceeded", "The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.", [],
      "Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions (if supported)."),
  noValidSession: () =>
    info("NoValidSession", "There is no valid session established with the implementation.", [],
      "Establish a session before attempting any operations."),
  internalError: () =>
    info("InternalError", "The request failed due to an internal service error.  The service is still operational.", [],
      "Resubmit the request.  If the problem persists, consider resetting the service."),
};

export function errorBody(messages: ExtendedInfo[]): RedfishErrorBody {
  return {
    error: {
      code: `${BASE}.GeneralError`,
      message: "A general error has occurred. See ExtendedInfo for more information.",
      "@Message.ExtendedInfo": messages,
    },
  };
}

function show(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}
