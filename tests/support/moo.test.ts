/*
 * Tests of the MOO reader (tests/support/moo.ts): a file built here chunk by chunk, bad
 * input, and one real file of the 80286 suite checked against the example the suite's own
 * README prints for its first test.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMoo, readMooFile, readRevocationList } from './moo';
import { CONFORMANCE_ROOT } from './shared';

/** Builds one chunk: type, uint32 length, payload. */
function chunk(type: string, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(8 + len);
  for (let i = 0; i < 4; i++) out[i] = type.charCodeAt(i);
  new DataView(out.buffer).setUint32(4, len, true);
  let at = 8;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
function u32(...v: number[]): Uint8Array {
  const b = new Uint8Array(4 * v.length);
  v.forEach((x, i) => new DataView(b.buffer).setUint32(4 * i, x, true));
  return b;
}
function u16(...v: number[]): Uint8Array {
  const b = new Uint8Array(2 * v.length);
  v.forEach((x, i) => new DataView(b.buffer).setUint16(2 * i, x, true));
  return b;
}
const bytes = (...v: number[]) => Uint8Array.from(v);
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function synthetic(): Uint8Array {
  const header = chunk('MOO ', bytes(1, 1, 0, 0), u32(1), ascii('C286'));
  const init = chunk('INIT',
    chunk('REGS', u16(0b11_1111_1111_1111), u16(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0xf002)),
    chunk('RAM ', u32(2), u32(0x1000), bytes(0x90), u32(0x1001), bytes(0xf4)),
    chunk('QUEU', u32(0)));
  const fina = chunk('FINA',
    chunk('REGS', u16((1 << 12) | (1 << 0)), u16(0xaaaa, 0x1002)),
    chunk('RMSK', u16(1 << 13), u16(0xffef)),
    chunk('RAM ', u32(1), u32(0x2000), bytes(0x55)));
  const test = chunk('TEST', u32(7),
    chunk('NAME', u32(3), ascii('nop')),
    chunk('BYTS', u32(2), bytes(0x90, 0xf4)),
    chunk('XTRA', bytes(1, 2, 3)), // unknown sub-chunk: skipped
    init, fina,
    chunk('EXCP', bytes(6), u32(0x1234)),
    chunk('HASH', Uint8Array.from({ length: 20 }, (_, i) => i)));
  const parts = [header, chunk('ZZZZ', bytes(9)), test];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

describe('MOO reader', () => {
  it('reads every chunk kind of a file built here, skipping unknown ones', () => {
    const f = parseMoo(synthetic());
    expect(f.cpu).toBe('C286');
    expect(f.declaredCount).toBe(1);
    expect(f.tests).toHaveLength(1);
    const t = f.tests[0];
    expect(t.index).toBe(7);
    expect(t.name).toBe('nop');
    expect([...t.bytes]).toEqual([0x90, 0xf4]);
    expect(t.init.regs).toMatchObject({ ax: 1, bx: 2, cs: 5, ip: 13, flags: 0xf002 });
    expect(t.init.ram).toEqual([[0x1000, 0x90], [0x1001, 0xf4]]);
    expect(t.fina.regs).toEqual({ ax: 0xaaaa, ip: 0x1002 });
    expect(t.fina.masks).toEqual({ flags: 0xffef });
    expect(t.fina.ram).toEqual([[0x2000, 0x55]]);
    expect(t.exception).toEqual({ vector: 6, flagsAddress: 0x1234 });
    expect(t.hash).toBe('000102030405060708090a0b0c0d0e0f10111213');
  });

  it('rejects truncated and foreign data with a message', () => {
    const good = synthetic();
    expect(() => parseMoo(good.subarray(0, good.length - 5))).toThrow(/MOO: truncated/);
    expect(() => parseMoo(ascii('JSON0000'))).toThrow(/first chunk/);
    expect(() => parseMoo(new Uint8Array(0))).toThrow(/empty/);
  });

  it('gunzips compressed files and reads the revocation list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moo-'));
    writeFileSync(join(dir, 't.MOO.gz'), gzipSync(synthetic()));
    expect(readMooFile(join(dir, 't.MOO.gz')).tests[0].name).toBe('nop');
    writeFileSync(join(dir, 'rev.txt'), '# comment\nABCDEF\n\n  0123  \n');
    expect([...readRevocationList(join(dir, 'rev.txt'))]).toEqual(['abcdef', '0123']);
  });

  const real = `${CONFORMANCE_ROOT}/80286-real-mode/00.MOO.gz`;
  it.runIf(existsSync(real))('reads the real 80286 file for opcode 00 as its README shows it', () => {
    const f = readMooFile(real);
    expect(f.cpu).toBe('C286');
    expect(f.tests).toHaveLength(f.declaredCount);
    expect(f.tests.length).toBe(5000);
    expect(f.meta?.mnemonic).toBe('add');
    const t = f.tests[0];
    expect(t.name).toBe('add [bx+0Eh],bl');
    expect([...t.bytes]).toEqual([0, 95, 14, 244]);
    expect(t.init.regs).toEqual({
      ax: 715, bx: 26659, cx: 49548, dx: 64181, cs: 65535, ss: 41175, ds: 65535, es: 43996,
      sp: 39769, bp: 65535, si: 35262, di: 34633, ip: 38072, flags: 6291,
    });
    expect(t.init.ram[0]).toEqual([1086632, 0]);
    expect(t.fina.regs).toEqual({ ip: 38076, flags: 19 });
    expect(t.fina.ram).toEqual([[1075233, 1]]);
    expect(t.hash).toBe('626be5084b331080eb08256c12a62d24afdf2a03');
  });
});
