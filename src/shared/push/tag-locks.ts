import {errorMessage} from '../errors.js';
import {RegistryClient} from '../registry/client.js';
import {ACR_API_VERSION} from '../cleanup/backends/acr.js';

/**
 * Locks tags where the registry itself can refuse to move or delete them. Azure Container Registry:
 * each tag's writeEnabled and deleteEnabled set false through its data-plane API
 * (`PATCH /acr/v1/{name}/_tags/{reference}`, TagWriteableProperties), as `az acr repository update
 * --write-enabled false --delete-enabled false` does. Returns the tags locked and, when one could not
 * be, why (the copy itself stands).
 */
export async function lockAcrTags(
  client: RegistryClient,
  repository: string,
  tags: string[]
): Promise<{locked: string[]; error?: string}> {
  const locked: string[] = [];
  for (const tag of tags) {
    try {
      const res = await client.request({
        method: 'PATCH',
        repository,
        path: `${client.base}/acr/v1/${repository}/_tags/${encodeURIComponent(tag)}?api-version=${ACR_API_VERSION}`,
        scopes: [`repository:${repository}:metadata_write`],
        headers: {'content-type': 'application/json'},
        body: Buffer.from(JSON.stringify({writeEnabled: false, deleteEnabled: false}))
      });
      await res.body?.cancel();
      locked.push(tag);
    } catch (err) {
      return {locked, error: `${tag}: ${errorMessage(err)}`};
    }
  }
  return {locked};
}
