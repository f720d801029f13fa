import {UserError, errorMessage} from '../errors.js';
import type {GitHubClient} from '../github/client.js';
import {Logger} from '../log.js';

/**
 * GitHub's attestation store (POST /repos/{owner}/{repo}/attestations, `attestations: write`): each
 * attestation bundle the sign action makes is recorded there once per digest, however many registries
 * hold the image, so `gh attestation verify oci://… --owner …` finds it without --bundle-from-oci.
 */
export interface AttestationStore {
  /** Records a bundle; undefined when a refusal was turned into a warning (github-attestations: warn). */
  post(bundle: unknown, what: string): Promise<number | undefined>;
}

export interface StoreOptions {
  token: string;
  apiUrl: string;
  /** owner/name, the repository the attestations belong to (GITHUB_REPOSITORY). */
  repository: string;
  /** fail: a refusal fails the step; warn: it is a warning and nothing more is posted. */
  onRefusal: 'fail' | 'warn';
  log: Logger;
}

const PERMISSION = `permissions:
  id-token: write
  attestations: write`;

export function githubAttestationStore(o: StoreOptions): AttestationStore {
  const [owner, repo] = o.repository.split('/');
  // The client's code (Octokit) is loaded only with the store: a sign step without it does not pay for it.
  const client = import('../github/client.js');
  let octokit: GitHubClient | undefined;
  let refused: string | undefined;
  return {
    post: async (bundle, what) => {
      if (refused) return undefined;
      const {githubClient, statusOf} = await client;
      octokit ??= githubClient({
        token: o.token,
        baseUrl: o.apiUrl,
        userAgent: 'registry-actions/sign',
        waitForRateLimit: true,
        maxPrimaryWait: 60,
        log: o.log
      }).octokit;
      try {
        const {data} = await octokit.request('POST /repos/{owner}/{repo}/attestations', {
          owner,
          repo,
          bundle: bundle as Record<string, unknown>
        });
        return (data as {id?: number}).id;
      } catch (err) {
        const status = statusOf(err);
        const why =
          status === 403
            ? `the token may not write attestations of ${o.repository} (HTTP 403). Add to the job:\n${PERMISSION}`
            : status === 404
              ? `${o.apiUrl} has no attestations API for ${o.repository} (HTTP 404: GitHub Enterprise Server before 3.16, or the repository is not there)`
              : `${errorMessage(err)}`;
        const message = `github-attestations: recording ${what} in GitHub's attestation store failed: ${why}. The attestation is in the registry either way (gh attestation verify --bundle-from-oci finds it); github-attestations: warn makes this a warning, false skips the store.`;
        if (o.onRefusal === 'fail') throw new UserError(message);
        // Digests post in parallel: one warning, and nothing more is posted.
        if (refused) return undefined;
        refused = message;
        o.log.warning(message);
        return undefined;
      }
    }
  };
}

/** The github-attestations input: false (default), true, or warn. Pure. */
export function readStoreMode(value: string): 'off' | 'fail' | 'warn' {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'false') return 'off';
  if (v === 'true') return 'fail';
  if (v === 'warn') return 'warn';
  throw new UserError(`github-attestations: "${value}" is not one of true, false, warn.`);
}
