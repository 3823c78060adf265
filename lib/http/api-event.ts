/** The parts of an API Gateway HTTP API (payload 2.0) event and result that we use. */
export interface HttpApiEvent {
  version?: string;
  routeKey?: string;
  rawPath: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined> | null;
  pathParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext: { http: { method: string; path?: string }; requestId?: string };
}

export interface HttpApiResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}
