/*
 * The CPU failure digest, .tmp/cpu-failures.md: a short page to read after
 * a conformance or differential run (per opcode: how many cases failed, one example with
 * expected vs got, and the command that reproduces it). Each source (conformance,
 * differential, the full conformance script) writes its own section into
 * .tmp/cpu-failures.d/<source>.md, and the digest is rebuilt from every section present.
 */

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIGEST = join(ROOT, '.tmp/cpu-failures.md');
const PARTS = join(ROOT, '.tmp/cpu-failures.d');

export interface DigestEntry {
  /** Opcode file or table row, e.g. 'F7.6' or 'shl Ev,CL'. */
  what: string;
  failed: number;
  total: number;
  example: string;
}

/** Writes one source's section and rebuilds the digest. */
export function writeDigestSection(source: string, title: string, reproduce: string, entries: DigestEntry[], extra = ''): void {
  mkdirSync(PARTS, { recursive: true });
  const failing = entries.filter((e) => e.failed > 0);
  const lines = [`## ${title}`, '', `Written ${new Date().toISOString()}. Reproduce: \`${reproduce}\``, ''];
  if (failing.length === 0) lines.push('No failures.', '');
  else {
    lines.push('| opcode / form | failed | of | example (expected != got) |', '| --- | ---: | ---: | --- |');
    for (const e of failing) lines.push(`| ${e.what} | ${e.failed} | ${e.total} | ${e.example.replace(/\|/g, '\\|').slice(0, 400)} |`);
    lines.push('');
  }
  if (extra) lines.push(extra, '');
  writeFileSync(join(PARTS, `${source}.md`), lines.join('\n'));
  const parts = readdirSync(PARTS).filter((f) => f.endsWith('.md')).sort();
  const body = parts.map((f) => readFileSync(join(PARTS, f), 'utf8')).join('\n');
  writeFileSync(DIGEST, `# CPU failure digest\n\nRebuilt after every conformance or differential run (sections below, newest data per source).\n\n${body}`);
}
