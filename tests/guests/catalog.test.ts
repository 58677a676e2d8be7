/*
 * The built-in guest catalog and its build function (workers/guests): the teaching kernel
 * builds from a file map with the lab's assembler, its symbols and line map name the files
 * they came from, mistakes come back as file:line errors, modes without a paravirt layer
 * are refused, and the JSON bundle the browser loads carries the same sources.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import type { FileData } from '../../workers/asm/vfs';
import {
  buildGuest, builtModes, findGuest, GuestBuildCache, formatGuestDiagnostic, GUESTS, guestFilesFromBundle, layerFile,
  makeGuestBundle, programSources, type GuestBuild,
} from '../../workers/guests';
import { readGuestFiles } from '../../tools/guests-fs';

/** A copy of `files` with line `line` (1-based) of `path` replaced by `text`. */
function withLine(files: ReadonlyMap<string, FileData>, path: string, line: number, text: string): Map<string, FileData> {
  const copy = new Map(files);
  const lines = String(copy.get(path)).split('\n');
  lines[line - 1] = text;
  copy.set(path, lines.join('\n'));
  return copy;
}

/** The 1-based number of the first line of `path` matching `re`. */
function lineOf(files: ReadonlyMap<string, FileData>, path: string, re: RegExp): number {
  const i = String(files.get(path)).split('\n').findIndex((l) => re.test(l));
  if (i < 0) throw new Error(`no line matching ${re} in ${path}`);
  return i + 1;
}

describe('the guest catalog', () => {
  it('lists the teaching kernel and its panic variant, with the modes written so far', () => {
    const files = readGuestFiles();
    expect(GUESTS.map((g) => g.id)).toEqual(['kernel', 'panic']);
    const k = findGuest('kernel')!;
    expect(files.has(k.main)).toBe(true);
    expect(layerFile(k, 'xen')).toBe('guests/kernel/pv/xen.inc');
    expect(builtModes(k, files)).toContain('native');
    expect(findGuest('bench')).toBeUndefined();
    expect(programSources(k, files).map(([n]) => n)).toEqual(expect.arrayContaining(['sh', 'hello', 'echo', 'ps', 'primes', 'lmbench']));
  });
});

describe('buildGuest', () => {
  let files: Map<string, FileData>;
  let built: GuestBuild;
  beforeAll(() => {
    files = readGuestFiles();
    built = buildGuest(files, { guest: 'kernel', mode: 'native' });
  });

  it('builds the native teaching kernel with a Multiboot header, programs first', () => {
    expect(built.errors.map(formatGuestDiagnostic)).toEqual([]);
    expect(built.ok).toBe(true);
    expect(built.origin).toBe(0xc0100000);
    const magic = new DataView(built.image.buffer, built.image.byteOffset).getUint32(0, true);
    expect(magic).toBe(0x1badb002);
    expect(built.programs.length).toBe(programSources(findGuest('kernel')!, files).length);
    for (const p of built.programs) {
      expect(p.ok, p.name).toBe(true);
      expect(p.origin).toBe(0x400000);
      expect(String.fromCharCode(...p.image.subarray(0, 4))).toBe('PVX1');
    }
    // every program's image is inside the kernel image (incbin)
    const hello = built.programs.find((p) => p.name === 'hello')!;
    const at = Buffer.from(built.image).indexOf(Buffer.from(hello.image));
    expect(at).toBeGreaterThan(0);
  });

  it('leaves the caller’s file map as it was', () => {
    expect([...files.keys()].some((k) => k.startsWith('bin/'))).toBe(false);
  });

  it('gives symbols and a line map that name the source file of every line', () => {
    const kmain = built.symbols.find((s) => s.name === 'kmain')!;
    expect(kmain).toMatchObject({ kind: 'label', file: 'guests/kernel/kernel.asm' });
    expect(kmain.line).toBe(lineOf(files, 'guests/kernel/kernel.asm', /^kmain:/));
    // the instruction at kmain comes from the line after the label, in kernel.asm
    const e = built.lineMap.lineAt(kmain.value)!;
    expect(e.file).toBe('guests/kernel/kernel.asm');
    expect(e.code).toBe(true);
    const fileNames = new Set(built.lineMap.entries.map((x) => x.file));
    for (const f of ['guests/kernel/kernel.asm', 'guests/kernel/mm.inc', 'guests/kernel/trap.inc', 'guests/kernel/pv/native.inc']) expect(fileNames).toContain(f);
    expect(built.listing).toMatch(/kmain:/);
    const hello = built.programs.find((p) => p.name === 'hello')!;
    expect(hello.lineMap.entries.some((x) => x.file === 'guests/user/hello.asm')).toBe(true);
  });

  it('reports a kernel mistake at its file and line, and gives no image', () => {
    const path = 'guests/kernel/mm.inc';
    const line = lineOf(files, path, /^\s+(mov|add|push)\s/);
    const r = buildGuest(withLine(files, path, line, '        movv eax, 1'), { mode: 'native' });
    expect(r.ok).toBe(false);
    expect(r.image.length).toBe(0);
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors[0]).toMatchObject({ file: path, line });
    expect(formatGuestDiagnostic(r.errors[0])).toMatch(new RegExp(`^guests/kernel/mm\\.inc:${line}:\\d+: error: `));
  });

  it('reports a user program mistake at its line, without a second error at the incbin', () => {
    const path = 'guests/user/hello.asm';
    const line = lineOf(files, path, /^\s+(mov|SYS|call)\b/);
    const r = buildGuest(withLine(files, path, line, '        jmp nowhere_at_all'), { mode: 'native' });
    expect(r.ok).toBe(false);
    expect(r.errors.map((d) => `${d.file}:${d.line}`)).toEqual([`${path}:${line}`]);
    expect(r.errors[0].message).toMatch(/nowhere_at_all/);
    expect(r.programs.find((p) => p.name === 'hello')!.ok).toBe(false);
  });

  it('refuses modes whose paravirt layer is not written, unknown modes and unknown guests', () => {
    for (const mode of ['xen', 'vmi'] as const) {
      if (files.has(layerFile(findGuest('kernel')!, mode))) continue;
      const r = buildGuest(files, { mode });
      expect(r.ok).toBe(false);
      expect(r.errors.map(formatGuestDiagnostic)).toEqual([expect.stringMatching(new RegExp(`^error: ${mode} mode not built yet`))]);
    }
    expect(buildGuest(files, { mode: 'hvm' }).errors[0].message).toMatch(/unknown mode "hvm"/);
    expect(buildGuest(files, { guest: 'bench' }).errors[0].message).toMatch(/no built-in guest "bench" \(there are: kernel, panic\)/);
    expect(buildGuest(new Map(), {}).errors[0].message).toMatch(/guests\/kernel\/kernel\.asm is not in the guest sources/);
    expect(buildGuest(null as unknown as Map<string, string>).ok).toBe(false);
  });

  it('builds the panic variant: the same kernel with PANIC_TEST', () => {
    const p = buildGuest(files, { guest: 'panic' });
    expect(p.ok).toBe(true);
    expect(p.image.length).toBeGreaterThan(built.image.length);
    // a -D from the caller does the same
    const d = buildGuest(files, { guest: 'kernel', defines: ['PANIC_TEST'] });
    expect(Buffer.from(d.image).equals(Buffer.from(p.image))).toBe(true);
  });
});

describe('the guest source bundle', () => {
  it('round-trips the sources and refuses what is not a bundle', () => {
    const files = readGuestFiles();
    const json = JSON.parse(JSON.stringify(makeGuestBundle(files))) as unknown;
    const back = guestFilesFromBundle(json);
    expect(back.ok).toBe(true);
    if (back.ok) expect(back.files).toEqual(files);
    expect(guestFilesFromBundle(null)).toMatchObject({ ok: false });
    expect(guestFilesFromBundle({ format: 'x' })).toMatchObject({ ok: false, error: expect.stringMatching(/not a guest source bundle/) });
    expect(guestFilesFromBundle({ format: 'paravirt-lab guest sources', version: 2, files: {} })).toMatchObject({ ok: false, error: expect.stringMatching(/version 2/) });
    expect(guestFilesFromBundle({ format: 'paravirt-lab guest sources', version: 1, files: { a: 1 } })).toMatchObject({ ok: false, error: expect.stringMatching(/^a: not text/) });
  });
});

describe('rebuilding with a GuestBuildCache', () => {
  it('assembles again only what an edit touched, with the same result as a fresh build', () => {
    const files = readGuestFiles();
    const cache = new GuestBuildCache();
    const first = buildGuest(files, { cache });
    const programs = first.programs.length;
    expect(first.ok).toBe(true);
    expect([cache.hits, cache.misses]).toEqual([0, programs + 1]);

    // nothing changed: nothing is assembled
    const again = buildGuest(files, { cache });
    expect([cache.hits, cache.misses]).toEqual([programs + 1, programs + 1]);
    expect(again.image).toBe(first.image);

    // an edit to a kernel file: only the kernel again
    const path = 'guests/kernel/console.inc';
    const edited = new Map(files);
    edited.set(path, `${String(files.get(path))}\n; a comment added\n`);
    const k = buildGuest(edited, { cache });
    expect([cache.hits, cache.misses]).toEqual([2 * programs + 1, programs + 2]);
    expect(Buffer.from(k.image).equals(Buffer.from(first.image))).toBe(true);

    // an edit to a user program: that program, and the kernel that includes it
    const hello = 'guests/user/hello.asm';
    const text = String(files.get(hello));
    expect(text).toContain('hello, world');
    edited.set(hello, text.replace('hello, world', 'HELLO, WORLD'));
    const h = buildGuest(edited, { cache });
    expect([cache.hits, cache.misses]).toEqual([3 * programs, programs + 4]);
    const fresh = buildGuest(edited);
    expect(Buffer.from(h.image).equals(Buffer.from(fresh.image))).toBe(true);
    expect(Buffer.from(h.image).includes(Buffer.from('HELLO, WORLD'))).toBe(true);

    // a new file that an include would now find first is an edit too
    const lib = 'guests/user/lib.inc';
    expect(files.has(lib)).toBe(true);
    const shadow = new Map(edited);
    shadow.set('guests/user/abi.inc', '%error "shadowed"\n'); // found beside the program before guests/include
    const s = buildGuest(shadow, { cache });
    expect(s.ok).toBe(false);
    expect(s.errors.some((d) => /shadowed/.test(d.message))).toBe(true);
  });
});
