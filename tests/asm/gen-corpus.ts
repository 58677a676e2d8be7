/*
 * Writes tests/asm/corpus/table16.asm and table32.asm: for every row of the shared opcode
 * table that an assembler may emit, a few instructions in that row's operand form (register
 * and memory variants, both operand sizes, both address sizes), so the corpus follows the
 * table when it grows. The output is checked in; run it again after a table change:
 *     npx tsx tests/asm/gen-corpus.ts
 * The corpus tests then compare our bytes with nasm's and check every row is covered.
 */

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ATTR_ALT, ATTR_FPU, ATTR_UD, OPCODE_ROWS, type OpcodeRow } from '../../workers/x86/opcodes';

const here = dirname(fileURLToPath(import.meta.url));

const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

/** Operand texts for one code at operand size `osz` (16/32) in `bits` mode. */
function choices(code: string, osz: number, bits: number, row: OpcodeRow, variant: number): string[] {
  const regs = (sfx: string) => (sfx === 'b' ? R8 : sfx === 'w' ? R16 : sfx === 'd' ? R32 : osz === 32 ? R32 : R16);
  const sizeKw = (sfx: string) => (sfx === 'b' ? 'byte' : sfx === 'w' ? 'word' : sfx === 'd' ? 'dword' : osz === 32 ? 'dword' : 'word');
  const mem = bits === 32 ? ['[ebx+4]', '[ebp-0x10]', '[esi+ecx*4+0x12345]', '[bx+si]'] : ['[bx+si+4]', '[bp-0x10]', '[di+0x1234]', '[ebx+ecx*2]'];
  const m = mem[variant % mem.length];
  const k = code[0];
  const sfx = code.slice(1);
  switch (code) {
    case 'AL': return ['al'];
    case 'CL': return ['cl'];
    case 'DX': return ['dx'];
    case 'AX': return ['ax'];
    case 'eAX': return [osz === 32 ? 'eax' : 'ax'];
    case '1': return ['1'];
    case 'ES': case 'CS': case 'SS': case 'DS': case 'FS': case 'GS': return [code.toLowerCase()];
  }
  switch (k) {
    case 'E': {
      const r = regs(sfx)[(variant * 3 + 1) % 8];
      const plainMem = row.size === 'w' || (sfx === 'v' && (row.mnemonic === 'call' || row.mnemonic === 'jmp')) ? m : `${sizeKw(sfx)} ${m}`;
      return [r, plainMem];
    }
    case 'M':
      if (sfx === 'p' && (row.mnemonic === 'call' || row.mnemonic === 'jmp')) return [`far ${m}`];
      return [m];
    case 'G': return [regs(sfx)[(variant * 5 + 2) % 8]];
    case 'R': return [R32[(variant + 3) % 8]];
    case 'Z': return [regs(sfx)[(variant * 3 + 1) % 8], regs(sfx)[(variant * 3 + 6) % 8]];
    case 'S': return row.byte === 0x8e ? ['ds', 'es', 'ss'] : ['ds', 'cs', 'gs'];
    case 'C': return ['cr0', 'cr3'];
    case 'D': return ['dr7'];
    case 'O': return [bits === 32 ? '[0x12345678]' : '[0x1234]'];
    case 'I':
      {
        // an immediate alone (push) carries the operand size when it is not the mode's
        const alone = !row.operands.some((c) => 'EGZO'.includes(c[0]) || c === 'eAX');
        const kw = alone && osz !== bits && sfx !== 'b' && sfx !== 'w' ? (osz === 32 ? 'dword ' : 'word ') : '';
        if (sfx === 'bs') return [kw + '5', kw + '-3'];
        if (sfx === 'b') return ['0x7f'];
        if (sfx === 'w') return ['0x1234'];
        return [kw + (osz === 32 ? '0x12345678' : '0x1234')];
      }
    case 'J':
      if (sfx === 'b') return [row.mnemonic === 'jmp' ? 'short $' : '$'];
      if (osz !== bits) return [`${row.mnemonic === 'call' ? '' : 'near '}${osz === 32 ? 'dword' : 'word'} forward`];
      return [row.mnemonic === 'call' ? 'forward' : 'near forward'];
    case 'A': return [osz === bits ? '0x08:0x1234' : `${osz === 32 ? 'dword' : 'word'} 0x08:0x1234`];
  }
  throw new Error(`no operand choices for ${code}`);
}

function cartesian(lists: string[][]): string[][] {
  let acc: string[][] = [[]];
  for (const l of lists) acc = acc.flatMap((a) => l.map((x) => [...a, x]));
  return acc;
}

function lineFor(row: OpcodeRow, bits: number): string[] {
  const out: string[] = [];
  const implicit = row.operands.some((c) => c[0] === 'X' || c[0] === 'Y');
  const sizes = row.size === 'v' || row.operands.some((c) => c === 'Jz' || c === 'Ap') ? [16, 32] : [bits];
  for (const osz of sizes) {
    let mn = row.mnemonic === row.mnemonic32 ? row.mnemonic : osz === 16 ? row.mnemonic : row.mnemonic32;
    // mode-sized names: pusha/pushf/... are the mode's size; the explicit names carry a suffix
    if (['pusha', 'popa', 'pushf', 'popf', 'iret'].includes(row.mnemonic)) mn = osz === 16 ? row.mnemonic + 'w' : row.mnemonic32;
    if (row.attrs & 0x80 /* address-size pair */ && row.mnemonic === row.mnemonic32 && osz !== bits) continue;
    if (implicit || row.operands.length === 0) {
      out.push(mn);
      continue;
    }
    // movzx/movsx from a word need a 32-bit destination
    if ((row.mnemonic === 'movzx' || row.mnemonic === 'movsx') && row.operands[1] === 'Ew' && osz === 16) continue;
    for (let variant = 0; variant < 2; variant++) {
      const lists = row.operands.map((c) => choices(c, osz, bits, row, variant));
      for (const ops of cartesian(lists)) {
        // the Ev,Sw / Sw,Ew rows are word-sized in memory whatever the operand size
        out.push(`${mn} ${ops.join(', ')}`);
      }
    }
  }
  return out;
}

/** The corpus text for one mode (deterministic: the same table gives the same text). */
export function generateCorpus(bits: number): string {
  const lines: string[] = [
    `; Generated by tests/asm/gen-corpus.ts from workers/x86/opcodes.ts: do not edit.`,
    `; Every row the assembler may emit, in ${bits}-bit code. Compared byte for byte with nasm.`,
    `bits ${bits}`,
    `org 0x${bits === 32 ? '10000' : '1000'}`,
    `back:`,
  ];
  const seen = new Set<string>();
  for (const row of OPCODE_ROWS) {
    if (row.attrs & (ATTR_ALT | ATTR_UD | ATTR_FPU)) continue;
    if (row.mnemonic === 'ud2') {
      lines.push('    ud2');
      continue;
    }
    // segment loads of CS are not valid (mov cs, ax); pop cs does not exist
    for (const l of lineFor(row, bits)) {
      if (/^mov (cs|.*cs), /.test(l) && row.byte === 0x8e) continue;
      if (/ (cs), /.test(l) && row.byte === 0x8e) continue;
      if (seen.has(l)) continue;
      seen.add(l);
      lines.push(`    ${l}`);
    }
  }
  lines.push('    times 300 nop', 'forward:', '    ret', '');
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const bits of [16, 32]) {
    const path = join(here, 'corpus', `table${bits}.asm`);
    writeFileSync(path, generateCorpus(bits));
    console.log(`wrote ${path}`);
  }
}
