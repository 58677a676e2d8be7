/*
 * The teaching kernel's build and its paravirt seam: the kernel assembles with nasm into a
 * valid Multiboot image, and no privileged or sensitive instruction appears anywhere in
 * guests/ outside guests/kernel/pv/, so that swapping the layer really changes every
 * privileged operation.
 */

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests, GUESTS, privilegedLines, pvMacros, pvMacrosUsed, seamViolations, type BuiltGuests } from './build';

const u32 = (b: Uint8Array, off: number) => (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;

describe('the seam check itself', () => {
  it('finds privileged instructions, with labels, prefixes and any case', () => {
    const src = [
      'nop',
      '        cli',
      '.x:     mov     cr3, eax',
      'foo:    STI',
      '        mov     eax, cr2           ; read the fault address',
      '        out     dx, al',
      '        rep insb',
      '        iretd',
      '        popfd',
      '        invlpg  [eax]',
      '        lgdt    [gdt_desc]',
    ].join('\n');
    expect(privilegedLines(src)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('ignores comments, strings, and names that merely contain a mnemonic', () => {
    const src = [
      '; cli in a comment, and mov cr3, eax',
      'msg: db "cli; hlt", 0',
      '        call    out_byte',
      '        mov     [inp], eax',
      '        PV_IRQ_DISABLE',
      '        pushfd',
      'interrupt: ret',
    ].join('\n');
    expect(privilegedLines(src)).toEqual([]);
  });
});

describe('the kernel sources', () => {
  it('use no privileged instruction outside guests/kernel/pv/', () => {
    const v = seamViolations();
    expect(v.map((x) => `${x.file}:${x.line}: ${x.text}`)).toEqual([]);
  });

  it('keep their privileged instructions inside the native layer', () => {
    const native = readFileSync(join(GUESTS, 'kernel/pv/native.inc'), 'utf8');
    expect(privilegedLines(native).length).toBeGreaterThan(20);
  });

  it('only use PV_* operations that every paravirt layer defines', () => {
    const used = pvMacrosUsed();
    expect(used.size).toBeGreaterThan(20);
    for (const f of readdirSync(join(GUESTS, 'kernel/pv')).filter((n) => n.endsWith('.inc'))) {
      const defined = pvMacros(join(GUESTS, 'kernel/pv', f));
      const missing = [...used].filter((m) => !defined.has(m));
      expect({ layer: f, missing }).toEqual({ layer: f, missing: [] });
    }
  });
});

describe('the build', () => {
  let g: BuiltGuests;
  beforeAll(() => {
    g = buildGuests('native');
  });

  it('is a Multiboot v1 a.out-kludge image loaded at 1 MiB', () => {
    const k = g.kernel;
    expect(u32(k, 0)).toBe(0x1badb002);
    const flags = u32(k, 4);
    expect(flags & 0x10000).toBe(0x10000);
    expect((u32(k, 0) + flags + u32(k, 8)) >>> 0).toBe(0);
    const [headerAddr, loadAddr, loadEnd, bssEnd, entry] = [12, 16, 20, 24, 28].map((o) => u32(k, o));
    expect(headerAddr).toBe(0x100000);
    expect(loadAddr).toBe(0x100000);
    expect(loadEnd - loadAddr).toBe(k.length);
    expect(bssEnd).toBeGreaterThan(loadEnd);
    expect(entry).toBeGreaterThan(loadAddr);
    expect(entry).toBeLessThan(loadEnd);
  });

  it('links every user program at 0x400000 with a consistent header', () => {
    const names = [...g.user.keys()].sort();
    expect(names).toEqual(expect.arrayContaining(['echo', 'hello', 'lmbench', 'primes', 'ps', 'sh', 'true']));
    for (const [name, img] of g.user) {
      expect({ name, magic: u32(img, 0) }).toEqual({ name, magic: 0x31585650 });
      const entry = u32(img, 4);
      const fileSize = u32(img, 8);
      const memSize = u32(img, 12);
      expect({ name, fileSize }).toEqual({ name, fileSize: img.length });
      expect(memSize).toBeGreaterThanOrEqual(fileSize);
      expect(entry).toBeGreaterThanOrEqual(0x400010);
      expect(entry).toBeLessThan(0x400000 + fileSize);
    }
  });

  it('carries every user program image inside the kernel', () => {
    const k = Buffer.from(g.kernel);
    for (const [name, img] of g.user) expect({ name, found: k.indexOf(Buffer.from(img)) >= 0 }).toEqual({ name, found: true });
  });
});
