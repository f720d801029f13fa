import {execFile} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {requireTool} from './tools.js';

/**
 * Renders a job summary the way a reader sees it on GitHub: headless Chromium (Debian's), a 1280 px
 * window, the summary in the run page's main column (the job list takes the left 320 px) with the
 * Markdown styles that matter for width (GitHub's `.markdown-body` tables are blocks that scroll
 * sideways inside themselves, at most 100 % wide). A script in the page measures what fits.
 */
export const chromium = (): string | undefined => requireTool('chromium');

/** Elements GitHub's HTML sanitizer lets through (html-pipeline's allow list, as used for Markdown). */
const ALLOWED = new Set(
  'h1 h2 h3 h4 h5 h6 br b i strong em a pre code img tt div ins del sup sub p ol ul table thead tbody tfoot blockquote dl dt dd kbd q samp var hr li tr td th s strike summary details caption wbr'.split(
    ' '
  )
);

/** Elements of a rendered Mermaid chart (GitHub draws it in its own viewer). */
const CHART_TAGS = new Set(
  'svg g rect text tspan line path style defs marker foreignobject span title desc'.split(' ')
);

export interface RenderedTable {
  head: string[];
  /** Header cells whose right edge is past the table's visible width (reached only by scrolling). */
  hidden: string[];
  /** The table scrolls sideways at all. */
  scrolls: boolean;
  /** Whether the table was inside a folded <details> before the measurement opened everything. */
  folded: boolean;
  rows: number;
}

export interface Rendered {
  /** Width of the column the summary is shown in. */
  width: number;
  /** The page itself scrolls sideways. */
  pageOverflow: boolean;
  tables: RenderedTable[];
  links: Array<{text: string; href: string}>;
  details: Array<{summary: string; open: boolean}>;
  headings: string[];
  /** Elements GitHub would strip. */
  disallowed: string[];
  /** The text a reader sees with every <details> folded as written. */
  visibleText: string;
  bytes: number;
  /** Mermaid charts as rendered: whether mermaid parsed each, its bars and x-axis labels. */
  charts: Array<{ok: boolean; error?: string; title?: string; bars?: number; labels?: string[]}>;
}

/** mermaid's browser bundle: GitHub renders a summary's ```mermaid blocks as charts with it. */
const MERMAID = path.join(
  path.dirname(new URL(import.meta.url).pathname),
  '..',
  '..',
  'node_modules',
  'mermaid',
  'dist',
  'mermaid.min.js'
);

/** Markdown's ```mermaid fences (a blank line before and after) as the elements mermaid renders. */
const withCharts = (summary: string): string =>
  summary.replace(
    /\n```mermaid\n([\s\S]*?)\n```\n/g,
    (_m, body: string) => `\n<pre class="mermaid">${body.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>\n`
  );

const PAGE = (summary: string): string => `<!doctype html>
<html><head><meta charset="utf-8"><style>
body { margin: 0; font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
#sidebar { position: absolute; left: 0; top: 0; width: 320px; }
#main { margin-left: 320px; padding: 24px; }
.markdown-body table { display: block; width: max-content; max-width: 100%; overflow: auto; border-spacing: 0; border-collapse: collapse; }
.markdown-body td, .markdown-body th { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body code { font: 85% ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; padding: .2em .4em; }
</style></head><body><div id="sidebar"></div><div id="main"><div id="summary" class="markdown-body">
${withCharts(summary)}
</div></div><pre id="result" style="display:none"></pre>
<script src="file://${MERMAID}"></script>
<script>
async function charts() {
  const blocks = [...document.querySelectorAll('pre.mermaid')];
  if (!blocks.length) return [];
  mermaid.initialize({startOnLoad: false});
  const out = [];
  for (const [i, b] of blocks.entries()) {
    try {
      const {svg} = await mermaid.render('chart' + i, b.textContent);
      b.outerHTML = '<div class="chart">' + svg + '</div>';
      out.push({ok: true});
    } catch (err) {
      out.push({ok: false, error: String(err && err.message || err)});
    }
  }
  return out;
}
charts().then(chartResults => {
const root = document.getElementById('summary');
const svgs = [...root.querySelectorAll('div.chart svg')].map(svg => ({
  ...chartResults.shift(),
  title: (svg.querySelector('text.chart-title, g.chart-title text') || {}).textContent || '',
  bars: svg.querySelectorAll('g.plot rect').length,
  labels: [...svg.querySelectorAll('text')].map(t => t.textContent)
}));
const text = (e) => (e.innerText || e.textContent || '').replace(/\\s+/g, ' ').trim();
const visibleText = text(root);
const details = [...root.querySelectorAll('details')].map(d => ({summary: text(d.querySelector('summary')), open: d.open}));
const folded = new Set([...root.querySelectorAll('table')].filter(t => t.closest('details:not([open])')));
root.querySelectorAll('details').forEach(d => { d.open = true; });
const tables = [...root.querySelectorAll('table')].map(t => {
  const box = t.getBoundingClientRect();
  const head = [...t.rows[0].cells];
  return {
    head: head.map(text),
    hidden: head.filter(c => c.getBoundingClientRect().right > box.left + t.clientWidth + 0.5).map(text),
    scrolls: t.scrollWidth > t.clientWidth,
    folded: folded.has(t),
    rows: t.rows.length - 1
  };
});
const tags = new Set([...root.querySelectorAll('*')].map(e => e.tagName.toLowerCase()));
document.getElementById('result').textContent = JSON.stringify({
  width: root.clientWidth,
  pageOverflow: document.documentElement.scrollWidth > window.innerWidth,
  tables,
  links: [...root.querySelectorAll('a')].map(a => ({text: text(a), href: a.getAttribute('href')})),
  details,
  headings: [...root.querySelectorAll('h1,h2,h3,h4')].map(text),
  tags: [...tags],
  visibleText,
  charts: [...svgs, ...chartResults]
});
});
</script></body></html>`;

/**
 * REGISTRY_ACTIONS_SUMMARY_SCREENSHOTS=<dir> also keeps each rendered page and a screenshot of it there,
 * to look at what the assertions measured.
 */
async function keepScreenshot(browser: string, file: string): Promise<void> {
  const dir = process.env.REGISTRY_ACTIONS_SUMMARY_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, {recursive: true});
  const name = `summary-${Date.now()}-${process.pid}`;
  fs.copyFileSync(file, path.join(dir, `${name}.html`));
  await promisify(execFile)(browser, [
    ...FLAGS(path.dirname(file)),
    `--screenshot=${path.join(dir, `${name}.png`)}`,
    `file://${file}`
  ]);
}

const FLAGS = (dir: string): string[] => [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  `--user-data-dir=${path.join(dir, 'profile')}`,
  '--window-size=1280,900',
  '--virtual-time-budget=3000'
];

export async function renderSummary(summary: string): Promise<Rendered> {
  const browser = chromium();
  if (!browser) throw new Error('chromium is not installed: run scripts/setup.sh');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'summary-'));
  try {
    const file = path.join(dir, 'page.html');
    fs.writeFileSync(file, PAGE(summary));
    const {stdout} = await promisify(execFile)(browser, [...FLAGS(dir), '--dump-dom', `file://${file}`], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000
    });
    const m = /<pre id="result"[^>]*>([\s\S]*?)<\/pre>/.exec(stdout);
    await keepScreenshot(browser, file);
    if (!m || !m[1]) throw new Error(`chromium rendered no measurement:\n${stdout.slice(0, 2000)}`);
    const decoded = m[1]
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    const r = JSON.parse(decoded) as Omit<Rendered, 'disallowed' | 'bytes'> & {tags: string[]};
    return {
      width: r.width,
      pageOverflow: r.pageOverflow,
      tables: r.tables,
      links: r.links,
      details: r.details,
      headings: r.headings,
      visibleText: r.visibleText,
      charts: r.charts,
      // svg and the chart's wrapper come from GitHub's own Mermaid viewer, not from the summary.
      disallowed: r.tags.filter(t => !ALLOWED.has(t) && !CHART_TAGS.has(t)),
      bytes: Buffer.byteLength(summary)
    };
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}
