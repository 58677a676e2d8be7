/*
 * The assembler's outputs other than the image: symbols, the line map, the listing, the
 * virtual file system (includes, include directories, incbin, -D), section layout and
 * the pass loop. (Byte-for-byte agreement with nasm is in nasm-compare.test.ts.)
 */

import { describe, expect, it } from 'vitest';
import { assemble } from '../../workers/asm/assembler';
import { asmText } from './helpers';

const hex = (u: Uint8Array) => [...u].map((b) => b.toString(16).padStart(2, '0')).join(' ');

describe('symbols', () => {
  const r = asmText(`bits 32
org 0x1000
SIZE equ 16
start:
  nop
.inner:
  jmp .inner
section .data
table: dd start
section .bss
buf: resb SIZE
`);
  it('gives labels their final addresses and sections', () => {
    expect(r.errors).toEqual([]);
    const sym = (n: string) => r.symbols.find((s) => s.name === n);
    expect(sym('start')).toMatchObject({ value: 0x1000, section: '.text', kind: 'label', line: 4 });
    expect(sym('start.inner')).toMatchObject({ value: 0x1001, section: '.text' });
    expect(sym('SIZE')).toMatchObject({ value: 16, section: null, kind: 'equ' });
    // .text is 3 bytes; .data follows aligned to 4; .bss after it
    expect(sym('table')).toMatchObject({ value: 0x1004, section: '.data' });
    expect(sym('buf')).toMatchObject({ value: 0x1008, section: '.bss' });
    expect(hex(r.image)).toBe('90 eb fe 00 00 10 00 00');
  });
});

describe('line map and listing', () => {
  const src = `bits 32
org 0x2000
%macro two 0
  inc eax
  inc ebx
%endmacro
  mov eax, 1
  two
msg: db "hi", 0
`;
  const r = asmText(src);
  it('maps addresses to lines and lines to addresses', () => {
    expect(r.lineMap.lineAt(0x2000)).toMatchObject({ line: 7, code: true, bits: 32, length: 5 });
    expect(r.lineMap.lineAt(0x2004)).toMatchObject({ line: 7 });
    // the two instructions of the macro map to the line that used it
    expect(r.lineMap.addressesOf('main.asm', 8)).toEqual([0x2005, 0x2006]);
    expect(r.lineMap.lineAt(0x2007)).toMatchObject({ line: 9, code: false });
    expect(r.lineMap.lineAt(0x200a)).toBeUndefined();
  });
  it('lists every line with its address and bytes', () => {
    expect(r.listing).toContain('00002000 B801000000');
    expect(r.listing).toMatch(/\s9 00002007 686900\s+msg: db "hi", 0/);
  });
});

describe('files, includes and defines', () => {
  it('finds includes beside the including file, then in include directories', () => {
    const files = new Map<string, string | Uint8Array>([
      ['src/main.asm', '%include "near.inc"\n%include "far.inc"\ndb NEAR, FAR\n'],
      ['src/near.inc', '%define NEAR 1\n'],
      ['lib/far.inc', '%define FAR 2\n'],
    ]);
    const r = assemble({ files, main: 'src/main.asm', includeDirs: ['lib'] });
    expect(r.errors).toEqual([]);
    expect([...r.image]).toEqual([1, 2]);
  });
  it('takes -D definitions, with and without a value', () => {
    const r = asmText('%ifdef FLAG\ndb VALUE\n%endif\n', {}, ['FLAG', 'VALUE=7*6']);
    expect([...r.image]).toEqual([42]);
  });
  it('reads incbin data from bytes in the file system', () => {
    const files = new Map<string, string | Uint8Array>([['m.asm', 'incbin "b.bin", 1, 2\n'], ['b.bin', new Uint8Array([9, 8, 7, 6])]]);
    expect([...assemble({ files, main: 'm.asm' }).image]).toEqual([8, 7]);
  });
});

describe('passes', () => {
  it('settles a chain of forward jumps and reports how many passes it took', () => {
    const body = Array.from({ length: 40 }, (_, i) => `  jmp l${i}\n  times 4 nop`).join('\n') + '\n' + Array.from({ length: 40 }, (_, i) => `l${i}:`).join('\n');
    const r = asmText(`bits 32\n${body}\n`);
    expect(r.errors).toEqual([]);
    expect(r.passes).toBeGreaterThan(1);
    // the first jumps are near (more than 127 bytes to go), the last ones short
    expect(r.image[0]).toBe(0xe9);
    expect(r.image[r.image.length - 6]).toBe(0xeb);
  });
  it('keeps $ at the start of the statement in every copy made by times, as NASM does', () => {
    expect(hex(asmText('bits 16\norg 0x100\nmov ax, $\ntimes 2 dw $\ntimes 2 jmp $\n').image)).toBe('b8 00 01 03 01 03 01 eb fe eb fc');
  });
  it('builds structures with struc and istruc', () => {
    const r = asmText('struc s\n.a: resw 1\n.b: resd 1\nendstruc\nistruc s\nat s.b, dd 0x11223344\niend\ndb s_size\n');
    expect(hex(r.image)).toBe('00 00 44 33 22 11 06');
  });
});
