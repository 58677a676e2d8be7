/*
 * The decoder against the opcode table and against ndisasm (a reference disassembler used
 * only by tests): every row has a handler factory, and for every row and a spread of ModRM
 * forms the decoder's instruction length equals ndisasm's, in 16- and 32-bit code.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTR_ALT, ATTR_FPU, EXT_NONE, EXT_R, OPCODE_ROWS, lookupRow } from '../../../workers/x86/opcodes';
import { HANDLER_FACTORIES } from '../../../workers/x86/ops/registry';
import { decode, Insn, udHandler, type CodeReader } from '../../../workers/x86/decoder';

class Bytes implements CodeReader {
  constructor(readonly b: Uint8Array) {}
  codeByte(k: number): number { return this.b[k] ?? 0x90; }
  raise(v: number): never { throw new Error(`raise ${v}`); }
}

function decodedLength(bytes: Uint8Array, def32: boolean): number {
  const i = new Insn();
  decode(new Bytes(bytes), def32, i);
  return i.len;
}

const dir = mkdtempSync(join(tmpdir(), 'x86dec-'));
const SLOT = 32;
/** Lengths ndisasm gives for each candidate: one run, each candidate in its own 32-byte slot with a sync point. */
function ndisasmLengths(cands: Uint8Array[], bits: 16 | 32): number[] {
  const f = join(dir, `i${bits}.bin`);
  const buf = new Uint8Array(cands.length * SLOT).fill(0x90);
  cands.forEach((c, k) => buf.set(c, k * SLOT));
  writeFileSync(f, buf);
  const syncs = cands.flatMap((_, k) => ['-s', String(k * SLOT)]);
  const out = execFileSync('/usr/bin/ndisasm', ['-b', String(bits), ...syncs, f], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const starts = new Set<number>();
  const offsets = out.split('\n').filter((l) => /^[0-9A-F]{8}\s/.test(l)).map((l) => parseInt(l.slice(0, 8), 16));
  offsets.forEach((o) => starts.add(o));
  return cands.map((_, k) => {
    const at = k * SLOT;
    const idx = offsets.indexOf(at);
    return idx >= 0 && idx + 1 < offsets.length ? offsets[idx + 1] - at : -1;
  });
}

/** Encodings to try for one row: opcode bytes, ModRM variants, then filler for disp/imm. */
function encodings(row: (typeof OPCODE_ROWS)[number]): Uint8Array[] {
  const op = row.map === 2 ? [0x0f, row.byte] : [row.byte];
  const tail = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x08];
  if (row.ext === EXT_NONE) return [Uint8Array.from([...op, ...tail])];
  // ndisasm wants /0 in SETcc's (ignored) reg field, and mod = 3 for MOV CRn/DRn.
  const reg = row.sem === 'setcc' ? 0 : row.ext === EXT_R ? 2 : row.ext;
  const memOnly = row.operands.some((o) => o[0] === 'M');
  if (row.operands.includes('Rd')) return [Uint8Array.from([...op, 0xc0 | (reg << 3) | 1, ...tail])];
  const forms = [
    [0x05, ...tail], // mod 0, rm 5: disp32 (32-bit) / [di] (16-bit)
    [0x06, ...tail], // mod 0, rm 6: [esi] / disp16
    [0x44, 0x24, ...tail], // mod 1, SIB
    [0x80, ...tail], // mod 2, rm 0
    [0x04, 0x25, ...tail], // SIB with no base: disp32
  ];
  if (!memOnly) forms.push([0xc1, ...tail]);
  return forms.map(([m, ...rest]) => Uint8Array.from([...op, (m & 0xc7) | (reg << 3), ...rest]));
}

describe('opcode table', () => {
  it('has a handler factory for every semantic key', () => {
    const missing = [...new Set(OPCODE_ROWS.map((r) => r.sem))].filter((s) => HANDLER_FACTORIES[s] === undefined);
    expect(missing).toEqual([]);
  });

  it('resolves every row back from its encoding', () => {
    for (const r of OPCODE_ROWS) {
      const reg = r.ext >= 0 && r.ext < 8 ? r.ext : 0;
      const back = lookupRow(r.map, r.byte + (r.plusR ? 1 : 0), reg);
      expect(back?.sem, r.source).toBe(r.sem);
    }
  });

  it('decodes undefined opcodes to #UD', () => {
    const i = new Insn();
    decode(new Bytes(Uint8Array.from([0x0f, 0xff])), true, i);
    expect(i.handler).toBe(udHandler);
    decode(new Bytes(Uint8Array.from([0xfe, 0x38])), true, i); // FE /7
    expect(i.handler).toBe(udHandler);
    decode(new Bytes(Uint8Array.from([0x8d, 0xc0])), true, i); // LEA with a register operand
    expect(i.handler).toBe(udHandler);
    decode(new Bytes(Uint8Array.from([0xf0, 0x01, 0xc0])), true, i); // LOCK on a register destination
    expect(i.handler).toBe(udHandler);
  });
});

describe.runIf(existsSync('/usr/bin/ndisasm'))('instruction lengths agree with ndisasm', () => {
  for (const bits of [32, 16] as const) {
    it(`${bits}-bit code, every row`, () => {
      const cands: Uint8Array[] = [];
      const names: string[] = [];
      for (const row of OPCODE_ROWS) {
        // ndisasm decodes x87 register forms as other instructions, and not the 82 alias.
        // It also folds WAIT into the next instruction.
        if ((row.attrs & (ATTR_FPU | ATTR_ALT)) !== 0 || row.sem === 'wait') continue;
        // ndisasm rejects the (valid) 16-bit operand forms MOVZX/MOVSX r16,r/m16 and BSWAP r16.
        const o16Unknown = row.operands[1] === 'Ew' && (row.sem === 'movzx' || row.sem === 'movsx') || row.sem === 'bswap';
        for (const enc of encodings(row)) {
          for (const prefix of [[], [0x66], [0x67]]) {
            if (o16Unknown && (bits === 16) === (prefix[0] !== 0x66)) continue;
            cands.push(Uint8Array.from([...prefix, ...enc]));
            names.push(row.source.split(/\s+/).slice(0, 4).join(' '));
          }
        }
      }
      const ref = ndisasmLengths(cands, bits);
      const bad: string[] = [];
      cands.forEach((b, k) => {
        const ours = decodedLength(b, bits === 32);
        if (ours !== ref[k]) bad.push(`${names[k]} [${[...b].slice(0, 8).map((x) => x.toString(16)).join(' ')}]: ours ${ours} ndisasm ${ref[k]}`);
      });
      expect(cands.length).toBeGreaterThan(1000);
      expect(bad).toEqual([]);
    }, 60_000);
  }
});
