import {mib, code, details, esc, fit, heading, html, paragraph, shortDigest, table} from '../summary.js';
import {CleanupResult} from './run.js';

/** Rows listed per package; the report output has them all. */
const ROWS = 500;

/** ghcr-cleanup's job summary: per package its counts in one line, its decisions folded below. Pure. */
export function cleanupSummary(res: CleanupResult, dryRun: boolean): string {
  const sections = [heading(`ghcr-cleanup${dryRun ? ' (dry run)' : ''}: ${res.packages.length} package(s)`)];
  if (res.shard) sections.push(paragraph(res.shard));
  const left = res.packages.reduce((n, p) => n + p.left.length, 0);
  if (res.outcome === 'incomplete')
    sections.push(
      paragraph(
        html(
          `<strong>incomplete</strong>: stopped by ${esc(res.stopped ?? 'a stop request')} after finishing the images being deleted; ${left} planned change(s) left for the next run`
        )
      )
    );
  for (const p of res.packages) {
    sections.push(heading(code(p.package), 4));
    if (p.error) {
      sections.push(paragraph(html(`<strong>failed</strong>: ${esc(p.error)}`)));
      continue;
    }
    if (p.blocked) sections.push(paragraph(`nothing changed: ${p.blocked}`));
    sections.push(
      paragraph(
        `${dryRun ? 'would delete' : 'deleted'} ${p.deleted.length}, untagged ${p.untagged.length}, kept ${p.kept.length}, already gone ${p.alreadyGone}, skipped ${p.skipped.length}, failed ${p.failed.length}; ${mib(p.bytesReclaimed)} reclaimed`
      )
    );
    const rows = [
      ...p.failed.map(d => [String(d.id), code(shortDigest(d.digest)), d.tags.join(', '), 'failed', d.error]),
      ...p.deleted.map(d => [String(d.id), code(shortDigest(d.digest)), d.tags.join(', '), 'delete', d.reason]),
      ...p.untagged.map(d => [String(d.id), code(shortDigest(d.digest)), d.removed.join(', '), 'untag', d.reason]),
      ...p.kept
        .filter(d => d.tags.length)
        .map(d => [String(d.id), code(shortDigest(d.digest)), d.tags.join(', '), 'keep', d.reason])
    ];
    if (!rows.length) continue;
    const shown = rows.slice(0, ROWS);
    sections.push(
      details(
        `${rows.length} decision(s)${rows.length > shown.length ? ` (first ${shown.length} listed; the report output has all)` : ''}`,
        table(['version', 'digest', 'tags', 'action', 'why'], shown),
        p.failed.length > 0
      )
    );
  }
  return fit(sections, 'the report output has every decision');
}
