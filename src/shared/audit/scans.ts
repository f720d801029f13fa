import {ManifestStore, storedOrRead} from '../cleanup/manifest-store.js';
import {RegistryClient} from '../registry/client.js';
import {mapLimit} from '../registry/limit.js';
import {ImageManifest, MEDIA} from '../registry/media.js';
import {TrivyReport, Severity, SEVERITIES, severityRank} from '../scan/report.js';
import {ScanFacts, VULN_PREDICATE} from './compliance.js';

interface Statement {
  predicateType?: string;
  predicate?: {metadata?: {scanFinishedOn?: string}; scanner?: {result?: TrivyReport}};
}

/** The scan's finish time and worst severity from a vuln statement. Pure. */
export function scanFacts(statement: Statement): ScanFacts {
  let worst: Severity | undefined;
  for (const r of statement.predicate?.scanner?.result?.Results ?? [])
    for (const v of r.Vulnerabilities ?? []) {
      const s = (v.Severity ?? 'UNKNOWN').toUpperCase() as Severity;
      if ((SEVERITIES as readonly string[]).includes(s) && severityRank(s) > severityRank(worst)) worst = s;
    }
  const finished = statement.predicate?.metadata?.scanFinishedOn;
  return {...(finished ? {finished} : {}), ...(worst ? {worst} : {})};
}

/** The in-toto statements in a blob: a Sigstore bundle's DSSE envelope, or a bare DSSE envelope. Pure. */
export function statementsIn(blob: Buffer): Statement[] {
  try {
    const j = JSON.parse(blob.toString('utf8')) as {dsseEnvelope?: {payload?: string}; payload?: string};
    const payload = j.dsseEnvelope?.payload ?? j.payload;
    return payload ? [JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as Statement] : [];
  } catch {
    return [];
  }
}

/**
 * What each scan attestation says (its payload, not verified): for the newest scan's age and worst
 * severity. Manifests and blobs come from the store when it has them (a weekly audit of an unchanged
 * registry reads none), else from the registry, then stored. Returns the facts and the reads made.
 */
export async function readScans(
  client: RegistryClient,
  repository: string,
  attestations: string[],
  store: ManifestStore | undefined,
  concurrency: number
): Promise<{scans: Map<string, ScanFacts>; reads: number}> {
  let reads = 0;
  const bytes = async (digest: string, read: () => Promise<Buffer | undefined>): Promise<Buffer | undefined> => {
    const got = await storedOrRead(store, digest, () => read().catch(() => undefined));
    if (got.fresh) reads++;
    return got.body;
  };
  const scans = new Map<string, ScanFacts>();
  await mapLimit([...new Set(attestations)], concurrency, async a => {
    const body = await bytes(a, async () => (await client.getManifest(repository, a))?.body);
    if (!body) return;
    const m = JSON.parse(body.toString('utf8')) as ImageManifest;
    const layers = (m.layers ?? []).filter(
      l =>
        l.mediaType === MEDIA.sigstoreBundle ||
        (l.mediaType === MEDIA.dsse && (l.annotations?.predicateType ?? VULN_PREDICATE) === VULN_PREDICATE)
    );
    const found: ScanFacts[] = [];
    for (const l of layers) {
      const blob = await bytes(l.digest, async () =>
        Buffer.concat(await (await client.getBlob(repository, l.digest)).toArray())
      );
      for (const s of blob ? statementsIn(blob) : []) if (s.predicateType === VULN_PREDICATE) found.push(scanFacts(s));
    }
    const newest = found.sort((x, y) => Date.parse(y.finished ?? '') - Date.parse(x.finished ?? ''))[0];
    if (newest) scans.set(a, newest);
  });
  return {scans, reads};
}
