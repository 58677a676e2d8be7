/*
 * Test helpers for the assembler: load a directory into a virtual file system, run the
 * reference tools (nasm, ndisasm: installed on the test machines, never needed by the lab)
 * and assemble with ours.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { assemble, type AssembleResult } from '../../workers/asm/assembler';
import type { FileData } from '../../workers/asm/vfs';
import { BENCH_ASM } from '../support/shared';

export const CORPUS = join(import.meta.dirname, 'corpus');
export const BENCH = BENCH_ASM;

/** Every file under `dir`, keyed by its path relative to `dir`. */
export function loadDir(dir: string): Map<string, FileData> {
  const files = new Map<string, FileData>();
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), new Uint8Array(readFileSync(p)));
    }
  };
  walk(dir);
  return files;
}

const scratch = mkdtempSync(join(tmpdir(), 'asm-test-'));

/** nasm's flat binary for `file` (run in `cwd`, so includes resolve as ours do). */
export function nasm(cwd: string, file: string, defines: readonly string[] = []): Uint8Array {
  const out = join(scratch, `nasm-${Math.random().toString(36).slice(2)}.bin`);
  execFileSync('nasm', ['-f', 'bin', '-w-all', ...defines.map((d) => `-D${d}`), '-o', out, file], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Uint8Array(readFileSync(out));
}

/** ndisasm's text for `bytes`. */
export function ndisasm(bytes: Uint8Array, bits: number, origin: number): string[] {
  const f = join(scratch, `nd-${Math.random().toString(36).slice(2)}.bin`);
  writeFileSync(f, bytes);
  return execFileSync('ndisasm', ['-b', String(bits), '-o', String(origin), f], { maxBuffer: 1 << 26 }).toString().split('\n').filter(Boolean);
}

export function ours(cwd: string, file: string, defines: readonly string[] = []): AssembleResult {
  return assemble({ files: loadDir(cwd), main: file, defines });
}

/** Assembles a single in-memory source; extra files may be given. */
export function asmText(text: string, extra: Record<string, string> = {}, defines: string[] = []): AssembleResult {
  return assemble({ files: new Map<string, FileData>([['main.asm', text], ...Object.entries(extra)]), main: 'main.asm', defines });
}

/** First differing offset, for a readable failure. */
export function firstDiff(a: Uint8Array, b: Uint8Array): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `differ at offset 0x${i.toString(16)}: ours ${a[i].toString(16)} nasm ${b[i].toString(16)}`;
  return a.length === b.length ? 'identical' : `lengths differ: ours ${a.length} nasm ${b.length}`;
}
