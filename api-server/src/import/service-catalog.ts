import { z } from 'zod';
import { identityV3Root, type Fetch } from '../auth/keystone-client.js';

// Only what the glance endpoint lookup reads; validated because it comes from the network.
const catalogDocument = z.object({
  catalog: z.array(
    z.object({
      type: z.string(),
      endpoints: z
        .array(z.object({ interface: z.string(), region: z.string().nullish(), url: z.string() }))
        .default([]),
    }),
  ),
});

export type ServiceCatalog = z.output<typeof catalogDocument>['catalog'];

/** Keystone would not give the token's catalog. */
export class CatalogUnavailable extends Error {
  override readonly name = 'CatalogUnavailable';
}

/**
 * The service catalog of a user's token, as keystonemiddleware hands it to glance (X-Service-Catalog): read
 * with that token itself, so the user sees exactly the services their token is entitled to.
 */
export async function fetchServiceCatalog(
  identityUrl: string,
  token: string,
  opts: { fetch: Fetch; timeoutMs: number },
): Promise<ServiceCatalog> {
  const url = `${identityV3Root(identityUrl)}/auth/catalog`;
  let response: Response;
  try {
    response = await opts.fetch(url, {
      headers: { 'X-Auth-Token': token, Accept: 'application/json' },
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    throw new CatalogUnavailable(
      `Could not read the service catalog from ${url}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new CatalogUnavailable(
      `Could not read the service catalog: Keystone answered HTTP ${response.status}`,
    );
  }
  const parsed = catalogDocument.safeParse(await response.json().catch(() => null));
  if (!parsed.success)
    throw new CatalogUnavailable('Keystone returned a service catalog that cannot be read');
  return parsed.data.catalog;
}

/**
 * upstream's get_glance_endpoint on keystonemiddleware's v2 form of the catalog: the first `image` service
 * with an entry for the region (compared case-insensitively) decides, and gives its `<interface>URL` or
 * nothing. Endpoints without a region have no v2 entry that could match.
 */
export function glanceEndpoint(catalog: ServiceCatalog, region: string, iface: string): string | null {
  for (const service of catalog) {
    if (service.type !== 'image') continue;
    const regions = new Map<string, Map<string, string>>();
    for (const endpoint of service.endpoints) {
      if (!endpoint.region) continue;
      const urls = regions.get(endpoint.region) ?? new Map<string, string>();
      urls.set(`${endpoint.interface.toLowerCase()}URL`, endpoint.url);
      regions.set(endpoint.region, urls);
    }
    for (const [name, urls] of regions) {
      if (name.toLowerCase() === region.toLowerCase()) return urls.get(`${iface}URL`) ?? null;
    }
  }
  return null;
}
