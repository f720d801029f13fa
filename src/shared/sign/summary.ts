import {code, esc, fit, refCode, heading, html, refShortener, table} from '../summary.js';
import {SignResult} from './sign.js';
import {VerifiedImage} from './verify.js';

const tagsCell = (tags: string[]): ReturnType<typeof html> | string =>
  tags.length ? html(tags.map(t => code(t).html).join(' ')) : '';

/** The sign action's job summary: one row per digest signed, and the attestations written on each. Pure. */
export function signSummary(res: SignResult): string {
  const attested = new Map<string, string[]>();
  for (const a of res.attestations) attested.set(a.reference, [...(attested.get(a.reference) ?? []), a.type]);
  const shortRef = refShortener(res.images.map(i => i.reference));
  return fit(
    [
      heading(
        `sign: ${res.images.length} digest(s)${res.attestations.length ? `, ${res.attestations.length} attestation(s)` : ''}`
      ),
      table(
        [
          'image',
          'platform',
          'tags',
          'signatures before → after',
          'written',
          ...(attested.size ? ['attestations'] : [])
        ],
        res.images.map(i => [
          refCode(shortRef(i.reference)),
          i.platform ?? '(index or image)',
          tagsCell(i.tags),
          `${i.signaturesBefore} → ${i.signaturesAfter}`,
          i.signatures.length ? html(i.signatures.map(s => refCode(shortRef(s)).html).join('<br>')) : '—',
          ...(attested.size ? [(attested.get(i.reference) ?? []).join(', ') || '—'] : [])
        ])
      )
    ],
    'the images output has every digest'
  );
}

/** The verify mode's job summary: one row per digest, failures with their reason. Pure. */
export function verifySummary(res: VerifiedImage[]): string {
  const failed = res.filter(i => !i.verified).length;
  const shortRef = refShortener(res.map(i => i.reference));
  return fit(
    [
      heading(`verify: ${res.length - failed} of ${res.length} digest(s) verified`),
      table(
        ['image', 'platform', 'tags', 'result'],
        res.map(i => [
          refCode(shortRef(i.reference)),
          i.platform ?? '',
          tagsCell(i.tags),
          i.requirements
            ? html(
                i.requirements
                  .map(r =>
                    r.ok ? `✓ ${esc(r.requirement)}` : `<strong>✗ ${esc(r.requirement)}</strong>: ${esc(r.detail)}`
                  )
                  .join('<br>')
              )
            : i.verified
              ? `verified (${i.signatures ?? '?'} signature(s))`
              : html(`<strong>failed</strong>: ${esc(i.error ?? '')}`)
        ])
      )
    ],
    'the outputs have every digest'
  );
}
