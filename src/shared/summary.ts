/**
 * Job summaries as HTML text, built by pure functions and written once. GitHub renders a step's
 * summary as Markdown with HTML allowed through its sanitizer, so only plain elements are used (h3,
 * h4, p, table, details, summary, a, code, br) and every value from outside is escaped.
 */

/** GitHub refuses a step summary over 1 MiB; what we write stays well under it. */
export const SUMMARY_LIMIT = 1024 * 1024;

/** Bytes as MiB with one decimal, for summaries and logs. */
export const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A cell: text (escaped) or HTML made by these helpers. */
export type Cell = string | {html: string};

const cell = (c: Cell): string => (typeof c === 'string' ? esc(c) : c.html);

export const html = (s: string): {html: string} => ({html: s});

export const code = (s: string): {html: string} => html(`<code>${esc(s)}</code>`);

/** A link for http(s) URLs only; anything else is shown as text. */
export function link(url: string | undefined, text: string): {html: string} {
  if (!url || !/^https?:\/\/[^\s"<>]+$/.test(url)) return html(esc(text));
  return html(`<a href="${esc(url)}">${esc(text)}</a>`);
}

export function table(head: string[], rows: Cell[][]): string {
  const th = head.map(h => `<th>${esc(h)}</th>`).join('');
  const body = rows.map(r => `<tr>${r.map(c => `<td>${cell(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<tr>${th}</tr>\n${body}\n</table>\n`;
}

/** A folded section: its one-line title shows, the body opens on a click. */
export const details = (title: Cell, body: string, open = false): string =>
  `<details${open ? ' open' : ''}><summary>${cell(title)}</summary>\n\n${body}\n</details>\n`;

export const heading = (text: Cell, level: 3 | 4 = 3): string => `<h${level}>${cell(text)}</h${level}>\n`;

export const paragraph = (text: Cell): string => `<p>${cell(text)}</p>\n`;

/** sha256:0123456789ab — enough to tell images apart in a table; the outputs carry the full digest. */
export const shortDigest = (digest: string): string => {
  const m = /^([a-z0-9]+):([a-f0-9]{12})[a-f0-9]*$/.exec(digest);
  return m ? `${m[1]}:${m[2]}` : digest;
};

/** The registry host a reference names, if it names one (a first part with a dot or a port, or localhost). */
function refHost(ref: string): string | undefined {
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const first = name.slice(0, Math.max(0, name.indexOf('/')));
  return /[.:]/.test(first) || first === 'localhost' ? first : undefined;
}

/**
 * A reference as a reader scans it: the digest short and, with `dropHost`, repository:tag without the
 * registry host. `ghcr.io/org/app:1.2@sha256:…` → `org/app:1.2@sha256:0123456789ab`. Pure.
 */
export function shortRef(ref: string, dropHost = true): string {
  if (ref.startsWith('oci:')) return ref;
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const digest = at === -1 ? '' : `@${shortDigest(ref.slice(at + 1))}`;
  const host = refHost(ref);
  // A cosign tag (sha256-<64 hex>.sig) is cut like a digest.
  const short = (host && dropHost ? name.slice(host.length + 1) : name).replace(/([a-f0-9]{12})[a-f0-9]{52}/g, '$1…');
  return `${short}${digest}`;
}

/**
 * How the references of one table are shown: the registry host is dropped only when every row names
 * the same one, so rows always tell registries apart (ghcr.io/acme/app and docker.io/acme/app). Pure.
 */
export function refShortener(refs: readonly string[]): (ref: string) => string {
  const dropHost = new Set(refs.filter(r => !r.startsWith('oci:')).map(refHost)).size <= 1;
  return ref => shortRef(ref, dropHost);
}

/**
 * A long reference in code font that may wrap after each '/' and before the tag or digest, so a
 * nested repository path narrows its column instead of pushing the counts out of view.
 */
export const refCode = (ref: string): {html: string} =>
  html(
    `<code>${esc(ref)
      .replace(/\//g, '/<wbr>')
      .replace(/([:@])/g, '<wbr>$1')}</code>`
  );

/**
 * Joins sections in order until the next would pass the limit, then says how many were left out and
 * where the whole result is. Pure.
 */
export function fit(sections: string[], whereTheRestIs: string, limit = SUMMARY_LIMIT - 4096): string {
  let out = '';
  for (let i = 0; i < sections.length; i++) {
    if (Buffer.byteLength(out) + Buffer.byteLength(sections[i]) > limit) {
      return `${out}${paragraph(`${sections.length - i} more section(s) left out to stay under GitHub's 1 MiB summary limit; ${whereTheRestIs}.`)}`;
    }
    out += sections[i];
  }
  return out;
}
