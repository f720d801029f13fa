#!/usr/bin/env node
// Regenerates the inputs/outputs tables in README.md from each <action>/action.yml.
// usage: node scripts/docs.mjs          rewrite README.md
//        node scripts/docs.mjs --check  exit 1 when README.md is out of date
import fs from 'node:fs';
import path from 'node:path';
import {parse} from 'yaml';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cell = s =>
  String(s ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();

export function tablesFor(action) {
  const meta = parse(fs.readFileSync(path.join(root, action, 'action.yml'), 'utf8'));
  const inputs = Object.entries(meta.inputs ?? {}).map(
    ([name, i]) =>
      `| \`${name}\` | ${cell(i.description)} | ${i.default !== undefined && i.default !== '' ? `\`${cell(i.default)}\`` : ''} |`
  );
  const outputs = Object.entries(meta.outputs ?? {}).map(([name, o]) => `| \`${name}\` | ${cell(o.description)} |`);
  return [
    '| input | description | default |',
    '| --- | --- | --- |',
    ...inputs,
    '',
    '| output | description |',
    '| --- | --- |',
    ...outputs
  ].join('\n');
}

export function render(readme) {
  return readme.replace(
    /(<!-- action-docs:([a-z-]+) -->\n)[\s\S]*?(<!-- action-docs:end -->)/g,
    (_all, start, action, end) => `${start}${tablesFor(action)}\n${end}`
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const file = path.join(root, 'README.md');
  const current = fs.readFileSync(file, 'utf8');
  const next = render(current);
  if (process.argv.includes('--check')) {
    if (current !== next) {
      console.error('README.md tables are out of date: run node scripts/docs.mjs');
      process.exit(1);
    }
  } else {
    fs.writeFileSync(file, next);
  }
}
