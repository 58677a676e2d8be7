/*
 * Byte-for-byte comparison with nasm: the CPU benchmark kernel in each of its builds and
 * the corpus (the generated table corpus plus the hand-written feature files). Also checks
 * that the generated corpus really exercises every row of the opcode table the assembler
 * may emit, by decoding our output with the table.
 */

import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { disassemble } from '../../workers/asm/disasm';
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
