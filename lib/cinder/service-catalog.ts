/**
 * Choosing Cinder's endpoint from a Keystone token's service catalog. Pure.
 *
 * Cinder registers itself as service type `block-storage` (the official type) and, on older
 * clouds, `volumev3`; many clouds list both for the same URL. We take `block-storage` first,
 * then `volumev3`, each filtered by the chosen interface and, when one is configured, region.
 */
import { z } from "zod/mini";
import { SanbootError } from "../errors";

export const BLOCK_STORAGE_TYPES = ["block-storage", "volumev3"] as const;

export type EndpointInterface = "public" | "internal" | "admin";

// zod/mini rather than zod, as every schema a function loads: no function bundle then carries
// zod's classic API at all (issue 11, cold start)
export const catalogSchema = z.array(
  z.looseObject({
    type: z.string(),
    name: z.optional(z.string()),
    endpoints: z.array(
      z.looseObject({
        interface: z.string(),
        url: z.string(),
        region: z.optional(z.nullable(z.string())),
        region_id: z.optional(z.nullable(z.string())),
      }),
    ),
  }),
);

export type ServiceCatalog = z.infer<typeof catalogSchema>;

export interface EndpointChoice {
  interface: EndpointInterface;
  /** unset: the first endpoint of the interface, whatever its region */
  region?: string;
}

export function blockStorageEndpoint(catalog: ServiceCatalog, choice: EndpointChoice): string {
  for (const type of BLOCK_STORAGE_TYPES) {
    for (const service of catalog.filter((s) => s.type === type)) {
      const hit = service.endpoints.find(
        (e) => e.interface === choice.interface && (choice.region === undefined || e.region_id === choice.region || e.region === choice.region),
      );
      if (hit) return hit.url;
    }
  }
  const offered = catalog
    .filter((s) => (BLOCK_STORAGE_TYPES as readonly string[]).includes(s.type))
    .flatMap((s) => s.endpoints.map((e) => `${s.type} ${e.interface} ${e.region_id ?? e.region ?? "(no region)"}`));
  const wanted = `interface '${choice.interface}'${choice.region === undefined ? "" : ` in region '${choice.region}'`}`;
  throw new SanbootError(
    "CINDER_AUTH_FAILED",
    `Keystone's service catalog has no block-storage or volumev3 endpoint with ${wanted} (it lists ${offered.length ? offered.join(", ") : "no block-storage service at all"}): set SANBOOT_KEYSTONE_INTERFACE / SANBOOT_KEYSTONE_REGION to one it offers, or ask the cloud's administrator for a Cinder endpoint.`,
  );
}
