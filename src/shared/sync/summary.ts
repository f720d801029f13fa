import {code, details, esc, fit, heading, html, mib, paragraph, refCode, shortDigest, table} from '../summary.js';
import {SyncResult} from './run.js';

const list = (tags: string[]): string =>
  tags.length > 8 ? `${tags.slice(0, 8).join(', ')} … (${tags.length})` : tags.join(', ');

/** The sync action's job summary: one row per entry, then what was refused, failed or left. Pure. */
export function syncSummary(res: SyncResult, dryRun: boolean): string {
  const sections = [
    heading(`sync${dryRun ? ' (dry run)' : ''}: ${res.outcome}`),
    ...(res.shard ? [paragraph(res.shard)] : []),
    table(
      ['entry', 'tags selected', dryRun ? 'would copy' : 'copied', 'unchanged', 'refused', 'failed', 'left', 'sent'],
      res.entries.map(e => [
        refCode(e.entry),
        String(e.selected.length),
        String(e.copied.length),
        String(e.unchanged.length),
        String(e.refused.reduce((n, r) => n + r.tags.length, 0)),
        e.error
          ? html('<strong>entry failed</strong>')
          : String(e.failed.reduce((n, r) => n + Math.max(r.tags.length, 1), 0)),
        String(e.left.reduce((n, r) => n + Math.max(r.tags.length, 1), 0)),
        mib(e.bytesSent)
      ])
    )
  ];
  for (const [registry, why] of Object.entries(res.stopped))
    sections.push(
      paragraph(
        html(`<strong>stopped early</strong> for ${esc(registry)}: ${esc(why)}; the next run copies what is left.`)
      )
    );
  const rows = res.entries.flatMap(e => [
    ...(e.error ? [[refCode(e.entry), 'failed', '', e.error]] : []),
    ...e.failed.map(f => [refCode(e.entry), 'failed', list(f.tags), f.error]),
    ...e.refused.map(r => [refCode(e.entry), 'refused', list(r.tags), `${shortDigest(r.digest)}: ${r.reason}`]),
    ...e.left.map(l => [
      refCode(e.entry),
      'left',
      list(l.tags),
      `${shortDigest(l.digest)} for ${l.destinations.join(', ')}`
    ])
  ]);
  if (rows.length)
    sections.push(
      details(
        `${rows.length} image(s) not mirrored`,
        table(['entry', 'state', 'tags', 'why'], rows.slice(0, 500)),
        true
      )
    );
  const copied = res.entries.filter(e => e.copied.length);
  if (copied.length)
    sections.push(
      details(
        `${copied.reduce((n, e) => n + e.copied.length, 0)} tag(s) ${dryRun ? 'to copy' : 'copied'}`,
        table(
          ['entry', 'tags'],
          copied.map(e => [refCode(e.entry), html(e.copied.map(t => code(t).html).join(' '))])
        )
      )
    );
  const sources = Object.entries(res.sources).map(([r, s]) => [
    r,
    String(s.requests),
    String(s.manifestGets),
    s.remaining ?? ''
  ]);
  sections.push(
    details(
      'requests per source registry',
      table(['registry', 'requests', 'manifest GETs (pulls)', 'ratelimit-remaining'], sources)
    )
  );
  return fit(sections, 'the result output has every entry');
}
