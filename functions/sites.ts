/** Sites (admin): POST/GET /v1/sites, GET/PATCH/DELETE /v1/sites/{site}. */
import { createSite as createSchema, listQuery, siteName, updateSite as updateSchema } from "../lib/api/schemas";
import { callerAuth, provideDeps, stateTable } from "../lib/deps";
import { SanbootError } from "../lib/errors";
import { apiHandler, parseInput } from "../lib/http/api-handler";
import { siteView } from "../lib/service/site-views";
import { createSite, deleteSite, listSites, showSite, updateSite } from "../lib/service/sites";

provideDeps({ store: stateTable, callers: callerAuth });

export const handler = apiHandler(async (req, deps) => {
  const name = req.params.site;
  if (name === undefined) {
    if (req.method === "POST") {
      const site = await createSite(deps, req.caller, parseInput(createSchema, req.body ?? {}));
      return { status: 201, body: siteView(site), headers: { location: `/v1/sites/${site.site}` } };
    }
    if (req.method === "GET") {
      const q = parseInput(listQuery, req.query, "query");
      const page = await listSites(deps, req.caller, q.limit, q.cursor);
      return { status: 200, body: { sites: page.items.map(siteView), next_cursor: page.cursor } };
    }
  } else {
    const site = parseInput(siteName, name, "site");
    if (req.method === "GET") return { status: 200, body: await showSite(deps, req.caller, site) };
    if (req.method === "PATCH") return { status: 200, body: siteView(await updateSite(deps, req.caller, site, parseInput(updateSchema, req.body ?? {}))) };
    if (req.method === "DELETE") {
      await deleteSite(deps, req.caller, site);
      return { status: 204 };
    }
  }
  throw new SanbootError("METHOD_NOT_ALLOWED", `${req.method} is not allowed here`);
});
