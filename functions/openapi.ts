/** GET /v1/openapi.json: the API's OpenAPI 3.1 document, generated from the schemas the handlers use. No auth. */
import { openApiDocument } from "../lib/api/openapi";
import { provideDeps } from "../lib/deps";
import { apiHandler } from "../lib/http/api-handler";

// touches nothing but the configuration and the log
provideDeps({});

export const handler = apiHandler(async () => ({ status: 200, body: openApiDocument() }), { auth: "none" });
