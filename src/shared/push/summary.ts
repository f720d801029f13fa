import {mib, refCode, code, details, esc, fit, heading, html, shortDigest, refShortener, table} from '../summary.js';
import {PushResult} from './push.js';

/** push-multi's job summary: one row per destination, each failure's message below the table. Pure. */
export function pushSummary(res: PushResult): string {
  const failed = res.results.filter(r => r.error);
  const shortRef = refShortener(res.results.map(r => r.destination));
  const sections = [
    heading(
      `push-multi: ${res.results.length - failed.length} of ${res.results.length} destination(s) ${failed.length ? 'done' : 'done, none failed'}`
    ),
    table(
      ['destination', 'tags', 'digest', 'sent', 'blobs present / mounted / uploaded', 'time', 'status'],
      res.results.map(r => [
        refCode(shortRef(r.destination)),
        r.tags.length ? html(r.tags.map(t => code(t).html).join(' ')) : '(by digest)',
        code(shortDigest(r.digest)),
        mib(r.counters.bytesSent),
        `${r.counters.blobsSkipped} / ${r.counters.blobsMounted} / ${r.counters.blobsUploaded}`,
        `${(r.durationMs / 1000).toFixed(1)} s`,
        r.error ? html(`<strong>${r.status === 'refused' ? 'refused' : 'failed'}</strong>`) : r.status
      ])
    )
  ];
  for (const r of failed)
    sections.push(
      details(
        html(`${code(shortRef(r.destination)).html} ${r.status === 'refused' ? 'refused' : 'failed'}`),
        `<p>${esc(r.error ?? '')}</p>`,
        true
      )
    );
  return fit(sections, 'the results output has every destination');
}
