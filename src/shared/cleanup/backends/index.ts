import {ManifestStore} from '../manifest-store.js';
import {CleanupBackend, OciRepositoryBackend} from '../oci-backend.js';
import {Policy} from '../policy.js';
import {RegistryClient} from '../../registry/client.js';
import {RegistryLogin} from '../../registry/credentials.js';
import {ProviderContext} from '../../registry/providers/context.js';
import {AcrBackend} from './acr.js';
import {DockerHubBackend, HUB_API} from './dockerhub.js';
import {EcrBackend} from './ecr.js';
import {GAR_API, GarBackend} from './gar.js';
import {HarborBackend} from './harbor.js';

export const BACKENDS = ['ghcr', 'oci', 'ecr', 'acr', 'gar', 'dockerhub', 'harbor'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface VendorContext {
  registry: string;
  repository: string;
  login?: RegistryLogin;
  /** The registry's OCI client (its login), for backends whose API lives on the registry's host. */
  client: RegistryClient;
  apiUrl?: string;
  ctx: ProviderContext;
  concurrency: number;
  store?: ManifestStore;
}

/**
 * Rules a backend cannot honour, said before anything is deleted: Docker Hub's API lists and deletes
 * tags only, so rules about untagged images have nothing to act on there. (Orphaned signatures and
 * attestations are tags, `sha256-<hex>.sig`/`.att`, so delete-orphans works.) Pure.
 */
export function cannotHonour(backend: BackendName, policy: Policy): string | undefined {
  if (backend !== 'dockerhub') return undefined;
  const rules = [
    policy.deleteUntagged && 'delete-untagged',
    policy.keepNUntagged !== undefined && 'keep-n-untagged'
  ].filter((r): r is string => Boolean(r));
  return rules.length
    ? `backend dockerhub: ${rules.join(', ')} cannot be honoured: Docker Hub's API lists and deletes tags, not untagged manifests (Docker Hub removes those itself). Nothing was deleted; drop those rules for this backend.`
    : undefined;
}

/** The backend of one repository. */
export function vendorBackend(name: BackendName, v: VendorContext): CleanupBackend {
  switch (name) {
    case 'ecr':
      return new EcrBackend({
        registry: v.registry,
        repository: v.repository,
        region: v.login?.options?.region,
        role: v.login?.options?.role,
        ctx: v.ctx
      });
    case 'acr':
      return new AcrBackend(v.client, v.repository);
    case 'harbor':
      return new HarborBackend(v.client, v.repository);
    case 'dockerhub':
      return new DockerHubBackend(v.client, v.repository, v.apiUrl ?? HUB_API, v.concurrency, v.store);
    case 'gar':
      return new GarBackend(v.client, v.repository, v.apiUrl ?? GAR_API, v.login?.options?.location);
    default:
      return new OciRepositoryBackend(v.client, v.repository, v.concurrency, v.store);
  }
}
