/*
 * Byte-for-byte comparison with nasm: the CPU benchmark kernel in each of its builds and
 * the corpus (the generated table corpus plus the hand-written feature files). Also checks
 * that the generated corpus really exercises every row of the opcode table the assembler
 * may emit, by decoding our output with the table.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../workers/asm/assembler';
import { disassemble } from '../../workers/asm/disasm';
import type { FileData } from '../../workers/asm/vfs';
import { ATTR_ALT, ATTR_FPU, ATTR_UD, OPCODE_ROWS } from '../../workers/x86/opcodes';
import { generateCorpus } from './gen-corpus';
import { BENCH, CORPUS, firstDiff, nasm, ours } from './helpers';

function same(cwd: string, file: string, defines: string[] = []) {
  const r = ours(cwd, file, defines);
  expect(r.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`)).toEqual([]);
  const ref = nasm(cwd, file, defines);
  const diff = firstDiff(r.image, ref);
  expect(diff).toBe('identical');
  return r;
}

describe('bench.asm matches nasm', () => {
  const combos: string[][] = [[], ['PAGING=1'], ['SCALE=3'], ['PASSES=5'], ['PAGING=1', 'SCALE=9', 'PASSES=1'], ['PAGING=0', 'SCALE=2', 'PASSES=3']];
  for (const defs of combos) {
    it(`with ${defs.join(' ') || 'defaults'}`, () => {
      const r = same(dirname(BENCH), 'bench.asm', defs);
      expect(r.image.length).toBeGreaterThan(20000);
      // the multiboot header is where bench.asm says it is
      expect(new DataView(r.image.buffer).getUint32(0, true)).toBe(0x1badb002);
    });
  }
});

describe('corpus matches nasm', () => {
  it('table32.asm (every table row, 32-bit code)', () => void same(CORPUS, 'table32.asm'));
  it('table16.asm (every table row, 16-bit code)', () => void same(CORPUS, 'table16.asm'));
  for (const mode of ['0', '1', '2']) it(`preproc.asm with -D MODE=${mode}`, () => void same(CORPUS, 'preproc.asm', [`MODE=${mode}`]));
  it('preproc.asm with no -D', () => void same(CORPUS, 'preproc.asm'));
  it('preproc2.asm', () => void same(CORPUS, 'preproc2.asm'));
  it('directives.asm', () => void same(CORPUS, 'directives.asm'));
  it('jumps.asm (short/near selection)', () => void same(CORPUS, 'jumps.asm'));
  it('jumps16.asm', () => void same(CORPUS, 'jumps16.asm'));
  it('addressing.asm', () => void same(CORPUS, 'addressing.asm'));
});

describe('the generated corpus covers the opcode table', () => {
  it('every emittable row appears in table16 or table32 output', () => {
    const seen = new Set<number>();
    for (const bits of [16, 32] as const) {
      const r = ours(CORPUS, `table${bits}.asm`);
      for (const l of disassemble(r.image, { bits, address: r.origin })) seen.add(l.row);
    }
    const missing = OPCODE_ROWS.filter((row) => !(row.attrs & (ATTR_ALT | ATTR_UD | ATTR_FPU)) && !seen.has(row.index)).map((r) => r.source);
    expect(missing).toEqual([]);
  });

  it('the checked-in corpus is what the generator writes from the current table', () => {
    // a difference means the opcode table changed: run `npx tsx tests/asm/gen-corpus.ts`
    for (const bits of [16, 32]) expect(readFileSync(`${CORPUS}/table${bits}.asm`, 'utf8')).toBe(generateCorpus(bits));
  });
});

describe('the guests match nasm', () => {
  const GUESTS = join(import.meta.dirname, '../../guests');
  const files = new Map<string, FileData>();
  for (const sub of ['include', 'user', 'kernel', 'kernel/pv']) {
    for (const f of readdirSync(join(GUESTS, sub))) if (/\.(asm|inc)$/.test(f)) files.set(`${sub}/${f}`, readFileSync(join(GUESTS, sub, f), 'utf8'));
  }
  const programs = [...files.keys()].filter((k) => k.startsWith('user/') && k.endsWith('.asm')).sort();
  const scratch = mkdtempSync(join(tmpdir(), 'guests-'));

  it(`user programs (${programs.length}), built by us into the file map and compared one by one`, () => {
    expect(programs.length).toBeGreaterThan(0);
    for (const p of programs) {
      const r = assemble({ files, main: p, includeDirs: ['include', 'user'] });
      expect(r.errors, p).toEqual([]);
      const out = join(scratch, basename(p, '.asm') + '.bin');
      execFileSync('nasm', ['-f', 'bin', '-w-all', '-I', 'include/', '-I', 'user/', '-o', out, p], { cwd: GUESTS });
      expect(firstDiff(r.image, new Uint8Array(readFileSync(out))), p).toBe('identical');
      files.set(`built/${basename(p, '.asm')}.bin`, r.image);
    }
  });

  // one kernel build per paravirt layer present in guests/kernel/pv
  const modes = readdirSync(join(GUESTS, 'kernel/pv')).filter((f) => f.endsWith('.inc')).map((f) => f.slice(0, -4));
  for (const mode of modes) {
    it(`kernel.asm -D MODE_${mode.toUpperCase()} (incbins the programs we built)`, () => {
      const r = assemble({ files, main: 'kernel/kernel.asm', defines: [`MODE_${mode.toUpperCase()}`], includeDirs: ['include', 'kernel', 'built'] });
      expect(r.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`)).toEqual([]);
      const out = join(scratch, `kernel-${mode}.bin`);
      execFileSync('nasm', ['-f', 'bin', '-w-all', `-DMODE_${mode.toUpperCase()}`, '-I', 'include/', '-I', 'kernel/', '-I', scratch + '/', '-o', out, 'kernel/kernel.asm'], { cwd: GUESTS });
      expect(firstDiff(r.image, new Uint8Array(readFileSync(out)))).toBe('identical');
    });
  }
});
