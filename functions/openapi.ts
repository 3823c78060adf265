/** GET /v1/openapi.json: the API's OpenAPI 3.1 document, generated from the schemas the handlers use. No auth. */
import { openApiDocument } from "../lib/api/openapi";
import { apiHandler } from "../lib/http/api-handler";

export const handler = apiHandler(async () => ({ status: 200, body: openApiDocument() }), { auth: "none" });
