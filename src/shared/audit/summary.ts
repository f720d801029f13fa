import {code, details, esc, fit, heading, html, link, mib, paragraph, refCode, shortDigest, table} from '../summary.js';
import {ImageCompliance} from './compliance.js';
import {AuditResult, RepositoryAudit} from './run.js';

/** Repositories the chart shows; the table lists them all. */
const CHART = 10;
/** Rows per table; the report file has every image. */
const ROWS = 300;

/** A Mermaid category label: the repository's last path parts, short; Mermaid's quotes and brackets cannot appear in one. */
function label(repository: string): string {
  const clean = repository.replace(/["[\]]/g, '');
  const short = clean.length > 24 ? `…${clean.slice(-23)}` : clean;
  return `"${short}"`;
}
/** Bytes as a reader takes them in: MiB, or GiB from 10 GiB on. */
const size = (n: number): string => (n >= 10 * 1073741824 ? `${(n / 1073741824).toFixed(1)} GiB` : mib(n));
const mibNumber = (n: number): string => (n / 1048576).toFixed(1);

/**
 * The largest repositories as a bar chart (GitHub renders Mermaid in summaries): stored MiB, with the
 * reclaimable MiB drawn over it. Pure.
 */
export function storageChart(repos: RepositoryAudit[]): string {
  const top = repos
    .filter(r => !r.error)
    .sort((a, b) => b.storedBytes - a.storedBytes)
    .slice(0, CHART);
  if (!top.length) return '';
  return [
    '',
    '```mermaid',
    // Horizontal: repository names read along the bars however long they are.
    'xychart-beta horizontal',
    `  title "MiB stored (reclaimable inside), largest ${top.length} repositories"`,
    `  x-axis [${top.map(r => label(r.repository)).join(', ')}]`,
    `  y-axis "MiB" 0 --> ${Math.max(1, Math.ceil(top[0].storedBytes / 1048576))}`,
    `  bar [${top.map(r => mibNumber(r.storedBytes)).join(', ')}]`,
    `  bar [${top.map(r => mibNumber(r.reclaimableBytes)).join(', ')}]`,
    '```',
    '',
    ''
  ].join('\n');
}

/** Text that may wrap after each '/' (identities and URLs in reasons are long). */
const breakable = (s: string): string => esc(s).replace(/\//g, '/<wbr>');

const digestCell = (i: ImageCompliance): {html: string} => link(i.url, shortDigest(i.digest));

const failureText = (i: ImageCompliance): {html: string} =>
  html(
    i.failures
      .map(
        f =>
          `<strong>${esc(f.requirement)}</strong>${f.platform ? ` (${esc(f.platform)})` : f.digest !== i.digest ? ` (${esc(shortDigest(f.digest))})` : ''}: ${breakable(f.reason)}`
      )
      .join('<br>')
  );

/** The audit's job summary: totals, the storage chart, non-compliant served tags first, then every repository. Pure. */
export function auditSummary(res: AuditResult): string {
  const ok = res.repositories.filter(r => !r.error);
  const sum = (f: (r: RepositoryAudit) => number): number => ok.reduce((n, r) => n + f(r), 0);
  const served = res.repositories.flatMap(r => r.served);
  const bad = served.filter(i => !i.compliant);
  const sections = [heading(`audit of ${res.registry}: ${res.repositories.length} repositories`)];
  if (res.shard) sections.push(paragraph(res.shard));
  if (res.outcome === 'incomplete')
    sections.push(
      paragraph(
        html(
          `<strong>incomplete</strong>: stopped by ${esc(res.stopped ?? 'a stop request')}; ${res.left.length} repositories left for the next run: ${esc(res.left.join(', '))}`
        )
      )
    );
  sections.push(
    paragraph(
      `${sum(r => r.images.tagged + r.images.untagged)} images (${sum(r => r.images.tagged)} tagged), ${sum(r => r.tags)} tags, ${sum(r => r.manifests)} manifests; ${size(sum(r => r.storedBytes))} stored, ${size(sum(r => r.reclaimableBytes))} reclaimable under the retention policy` +
        (served.length
          ? `; ${bad.length} of ${served.length} served images non-compliant (${res.verifications.done} verified with cosign${res.verifications.notVerified ? `, ${res.verifications.notVerified} over the verification cap checked by presence only` : ''})`
          : '')
    )
  );
  sections.push(storageChart(ok));
  if (bad.length) {
    const rows = bad
      .slice(0, ROWS)
      .map(i => [code(i.repository), i.tags.join(', '), digestCell(i), i.checked, failureText(i)]);
    sections.push(
      heading(`Non-compliant served tags (${bad.length})`, 4),
      table(['repository', 'tags', 'digest', 'checked', 'fails'], rows)
    );
    if (bad.length > ROWS) sections.push(paragraph(`${bad.length - ROWS} more in the report file.`));
  }
  const errored = res.repositories.filter(r => r.error);
  for (const r of errored)
    sections.push(paragraph(html(`<strong>${esc(r.repository)}</strong>: not audited: ${esc(r.error ?? '')}`)));
  const repoRows = [...ok]
    .sort((a, b) => b.storedBytes - a.storedBytes)
    .slice(0, ROWS)
    .map(r => [
      r.url ? link(r.url, r.repository) : refCode(r.repository),
      `${r.images.tagged} / ${r.images.untagged}`,
      String(r.tags),
      r.platforms.join(', '),
      size(r.storedBytes),
      r.blocked ? `— (${r.blocked})` : size(r.reclaimableBytes),
      html(`${esc(r.oldestPush?.slice(0, 10) ?? '—')}<br>${esc(r.newestPush?.slice(0, 10) ?? '—')}`)
    ]);
  sections.push(
    heading('Repositories', 4),
    table(['repository', 'tagged / untagged', 'tags', 'platforms', 'stored', 'reclaimable', 'pushed'], repoRows)
  );
  const good = served.filter(i => i.compliant);
  if (good.length)
    sections.push(
      details(
        `${good.length} compliant served image(s)`,
        table(
          ['repository', 'tags', 'digest', 'checked', 'newest scan'],
          good
            .slice(0, ROWS)
            .map(i => [
              code(i.repository),
              i.tags.join(', '),
              digestCell(i),
              i.checked,
              i.scan ? `${i.scan.ageDays ?? '?'} day(s) old, worst ${i.scan.worst?.toLowerCase() ?? 'none'}` : '—'
            ])
        )
      )
    );
  return fit(sections, 'the report file has every repository and image');
}
