/*
 * The disassembler against ndisasm, the round trip (assemble, disassemble, reassemble gives
 * the same bytes) over the whole corpus, and the plain-English notes.
 *
 * Normalisations applied to ndisasm's text before comparing (each a harmless format
 * difference, documented in disasm.ts):
 *   1. condition names: ndisasm says jz/jnz/jc/jnc/jna/jpe/jpo/jnl/jng (and setz, ...);
 *      we print the opcode table's names je/jne/jb/jae/jbe/jp/jnp/jge/jle.
 *   2. a near E9 jump: ndisasm prints `jmp 0x...`; we print `jmp near 0x...` so that the
 *      text reassembles to E9 rather than to a short jump.
 *   3. direct far jumps/calls: ndisasm prints `jmp near 0x8:0x1234`; we print
 *      `jmp 0x8:0x1234` (what one writes in NASM).
 *   4. ndisasm glues a WAIT (9B) to the next instruction (`wait pushfw`); we print two
 *      instructions, so the comparison joins ours back.
 *   6. an index register with scale 1 or 2 and no base: ndisasm prints `[eax*2+0x0]`, we
 *      print `[nosplit eax*2+0x0]` (NASM would otherwise encode [eax+eax]).
 *   7. a displacement size NASM would not choose (disp32 holding a small number): we
 *      print `[dword ebx+0x4]` where ndisasm prints `[ebx+0x4]`.
 *   5. a rel8 conditional jump: ndisasm prints `jz 0x30`; we print `je short 0x30` (a jump
 *      to a bare number would otherwise reassemble near, in NASM as in ours).
 */

import { describe, expect, it } from 'vitest';
import { disassemble, disassembleOne, formatListing, type DisasmLine } from '../../workers/asm/disasm';
import { CORPUS, asmText, ndisasm, ours } from './helpers';
import { BENCH } from './helpers';
import { dirname } from 'node:path';

const CC: Record<string, string> = {
  jz: 'je', jnz: 'jne', jc: 'jb', jnc: 'jae', jna: 'jbe', jpe: 'jp', jpo: 'jnp', jnl: 'jge', jng: 'jle',
  setz: 'sete', setnz: 'setne', setc: 'setb', setnc: 'setae', setna: 'setbe', setpe: 'setp', setpo: 'setnp', setnl: 'setge', setng: 'setle',
};

function normaliseNdisasm(text: string): string {
  const t = text
    .split(' ')
    .map((w, k) => (k <= 1 && CC[w] ? CC[w] : w))
    .join(' ');
  return t
    .replace(/^(j(?!mp|cxz|ecxz)[a-z]+) (0x)/, '$1 short $2')
    .replace(/^jmp (0x)/, 'jmp near $1')
    .replace(/\[((?:[a-z]{2}:)?)(e[a-z]{2}\*[12]\+)/, '[$1nosplit $2').replace(/^(jmp|call) near (0x[0-9a-f]+:)/, '$1 $2');
}

function compareWithNdisasm(image: Uint8Array, bits: 16 | 32, origin: number): string[] {
  const mine = disassemble(image, { bits, address: origin });
  const byAddr = new Map<number, DisasmLine>(mine.map((l) => [l.address, l]));
  const problems: string[] = [];
  for (const l of ndisasm(image, bits, origin)) {
    const m = /^([0-9A-F]{8})\s+([0-9A-F]+)\s+(.*)$/.exec(l);
    if (!m) continue;
    const addr = parseInt(m[1], 16);
    const want = normaliseNdisasm(m[3].trim());
    let got = byAddr.get(addr);
    if (got && got.text === 'wait' && want.startsWith('wait ') && m[2].length > 2) {
      const nx = byAddr.get(addr + 1);
      if (nx) got = { ...nx, text: `wait ${nx.text}`, length: nx.length + 1 };
    }
    if (got) got = { ...got, text: got.text.replace(/\[((?:[a-z]{2}:)?)(?:dword|word|byte) ([a-z])/, '[$1$2') };
    if (!got) problems.push(`${m[1]}: no instruction starts here in ours; ndisasm: ${l}`);
    else if (got.text !== want || got.length * 2 !== m[2].length) problems.push(`${m[1]} ${m[2]}: ndisasm '${want}', ours '${got.text}' (${got.length} bytes)`);
  }
  return problems;
}

describe('disassembler vs ndisasm', () => {
  for (const bits of [16, 32] as const) {
    it(`table${bits}.asm output`, () => {
      const r = ours(CORPUS, `table${bits}.asm`);
      expect(r.ok).toBe(true);
      expect(compareWithNdisasm(r.image, bits, r.origin)).toEqual([]);
    });
  }
  it('the code of bench.asm', () => {
    const r = ours(dirname(BENCH), 'bench.asm', ['PAGING=1']);
    // only the bytes the line map marks as code: data between them is zeroed to nops' cousin
    // 0x90 so both disassemblers stay in step
    const code = new Uint8Array(r.image.length).fill(0x90);
    for (const e of r.lineMap.entries.filter((x) => x.code)) code.set(r.image.subarray(e.address - r.origin, e.address - r.origin + e.length), e.address - r.origin);
    expect(compareWithNdisasm(code, 32, r.origin)).toEqual([]);
  });
});

/** Rebuilds source from an image: instructions as our disassembly, everything else as db. */
function reconstruct(r: ReturnType<typeof ours>): string {
  const out = [`org ${r.origin}`];
  let at = r.origin;
  const end = r.origin + r.image.length;
  const entries = r.lineMap.entries.filter((e) => e.code);
  const db = (from: number, to: number) => {
    for (let a = from; a < to; a += 16) out.push(`db ${[...r.image.subarray(a - r.origin, Math.min(to, a + 16) - r.origin)].join(',')}`);
  };
  for (const e of entries) {
    if (e.address < at) continue;
    db(at, e.address);
    out.push(`bits ${e.bits}`);
    const lines = disassemble(r.image.subarray(e.address - r.origin, e.address - r.origin + e.length + 15), { bits: e.bits as 16 | 32, address: e.address });
    let a = e.address;
    for (const l of lines) {
      if (a >= e.address + e.length) break;
      out.push(l.text);
      a += l.length;
    }
    at = a;
  }
  db(at, end);
  return out.join('\n') + '\n';
}

describe('round trip: assemble, disassemble, reassemble', () => {
  const cases: [string, string, string[]][] = [
    [CORPUS, 'table32.asm', []],
    [CORPUS, 'table16.asm', []],
    [CORPUS, 'preproc.asm', ['MODE=1']],
    [CORPUS, 'directives.asm', []],
    [CORPUS, 'preproc2.asm', []],
    [CORPUS, 'jumps.asm', []],
    [CORPUS, 'jumps16.asm', []],
    [CORPUS, 'addressing.asm', []],
    [dirname(BENCH), 'bench.asm', ['PAGING=1']],
  ];
  for (const [dir, file, defs] of cases) {
    it(`${file} ${defs.join(' ')}`, () => {
      const r = ours(dir, file, defs);
      expect(r.ok).toBe(true);
      const text = reconstruct(r);
      const again = asmText(text);
      expect(again.errors.map((e) => `${e.line}: ${e.message}: ${text.split('\n')[e.line - 1]}`)).toEqual([]);
      const diffAt = again.image.findIndex((b, i) => b !== r.image[i]);
      const at = diffAt < 0 ? '' : again.listing.split('\n').find((l) => l.includes((r.origin + diffAt).toString(16).toUpperCase().padStart(8, '0')));
      expect(at ?? `byte ${diffAt}`).toBe('');
      expect(again.image.length).toBe(r.image.length);
    });
  }
});

describe('notes and details', () => {
  const one = (src: string, bits: 16 | 32 = 32) => {
    const r = asmText(`bits ${bits}\n${src}\n`);
    expect(r.errors).toEqual([]);
    return disassembleOne(r.image, 0, 0, bits);
  };
  it('explains system instructions in plain English', () => {
    expect(one('mov cr3, eax').note).toMatch(/switch address space/);
    expect(one('lgdt [eax]').note).toBe('load the GDT register');
    expect(one('cli').note).toBe('disable interrupts');
    expect(one('iret').note).toBe('return from interrupt');
    expect(one('int 0x80').note).toMatch(/system call/);
    expect(one('int 0x82').note).toMatch(/hypercall/);
    expect(one('mov eax, cr2').note).toMatch(/page fault/);
    expect(one('add eax, ebx').note).toBeNull();
  });
  it('reports direct branch targets', () => {
    const l = disassembleOne(asmText('bits 32\norg 0x1000\njmp 0x1234\n').image, 0, 0x1000, 32);
    expect(l.target).toBe(0x1234);
    expect(l.text).toBe('jmp near 0x1234');
  });
  it('turns undecodable bytes into db and never throws', () => {
    const bad = new Uint8Array([0x0f, 0xff, 0xd8, 0x00, 0x66]);
    const lines = disassemble(bad, { bits: 32 });
    expect(lines[0].text).toBe('db 0xf');
    expect(lines.reduce((n, l) => n + l.length, 0)).toBe(bad.length);
    expect(disassembleOne(new Uint8Array([0x8b]), 0, 0, 32).text).toBe('db 0x8b');
  });
  it('decodes any byte soup without throwing, each instruction 1 to 15 bytes', () => {
    let seed = 12345;
    const soup = new Uint8Array(1 << 16).map(() => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24));
    for (const bits of [16, 32] as const) {
      const lines = disassemble(soup, { bits });
      expect(lines.reduce((n, l) => n + l.length, 0)).toBe(soup.length);
      expect(lines.every((l) => l.length >= 1 && l.length <= 15 && l.text.length > 0)).toBe(true);
      // and most of it decodes to real instructions
      expect(lines.filter((l) => l.row >= 0).length).toBeGreaterThan(lines.length * 0.8);
    }
  });
  it('formats a listing like ndisasm', () => {
    const r = asmText('bits 32\nmov eax, [ebx+ecx*4+8]\n');
    expect(formatListing(disassemble(r.image))).toBe('00000000  8B448B08          mov eax,[ebx+ecx*4+0x8]');
  });
});
