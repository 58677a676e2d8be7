// The multiboot loader: images built here byte by byte (a.out kludge, ELF32, flat), the
// information structure, and every malformed image giving a clear error with RAM untouched.
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../workers/x86/memory';
import { BOOT_INFO_ADDR, loadKernel, writeBootInfo } from '../../workers/machine/multiboot';

const MAGIC = 0x1badb002;

class Builder {
  bytes: number[] = [];
  u8(v: number) { this.bytes.push(v & 0xff); return this; }
  u16(v: number) { return this.u8(v).u8(v >> 8); }
  u32(v: number) { return this.u16(v & 0xffff).u16(v >>> 16); }
  pad(to: number, fill = 0) { while (this.bytes.length < to) this.bytes.push(fill); return this; }
  raw(b: ArrayLike<number>) { for (let i = 0; i < b.length; i++) this.bytes.push(b[i]); return this; }
  build() { return Uint8Array.from(this.bytes); }
}

/** A flat kernel with the a.out-kludge header at `hdrOff`, loaded at 1 MiB. */
function aoutImage(opts: { hdrOff?: number; code?: number[]; bss?: number; flags?: number; checksumDelta?: number; loadEndDelta?: number } = {}) {
  const hdrOff = opts.hdrOff ?? 0;
  const load = 0x100000;
  const code = opts.code ?? [0xfa, 0xf4, 0xeb, 0xfd]; // cli; hlt; jmp $-1
  const flags = opts.flags ?? 0x00010003;
  const headerEnd = hdrOff + 32;
  const fileLen = headerEnd + code.length;
  const b = new Builder().pad(hdrOff, 0x90);
  b.u32(MAGIC).u32(flags).u32((-(MAGIC + flags) + (opts.checksumDelta ?? 0)) >>> 0);
  b.u32(load + hdrOff).u32(load).u32(load + fileLen + (opts.loadEndDelta ?? 0)).u32(load + fileLen + (opts.bss ?? 0x2000)).u32(load + headerEnd);
  b.raw(code);
  return b.build();
}

/** An ELF32 i386 executable with a higher-half text segment and a data+bss segment. */
function elfImage(opts: { machine?: number; klass?: number; segAddr?: number } = {}) {
  const text = [0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4]; // mov eax,1; hlt
  const data = [1, 2, 3, 4];
  const phoff = 52, phnum = 2, textOff = 0x100, dataOff = 0x200;
  const vbase = 0xc0100000, pbase = opts.segAddr ?? 0x100000;
  const b = new Builder();
  b.raw([0x7f, 0x45, 0x4c, 0x46, opts.klass ?? 1, 1, 1, 0]).pad(16);
  b.u16(2).u16(opts.machine ?? 3).u32(1).u32(vbase + 2).u32(phoff).u32(0).u32(0);
  b.u16(52).u16(32).u16(phnum).u16(40).u16(0).u16(0);
  // PT_LOAD text: vaddr 0xC0100000 -> paddr 1 MiB
  b.u32(1).u32(textOff).u32(vbase).u32(pbase).u32(text.length).u32(text.length).u32(5).u32(0x1000);
  // PT_LOAD data with 0x100 bytes of bss, at 1 MiB + 64 KiB
  b.u32(1).u32(dataOff).u32(vbase + 0x10000).u32(pbase + 0x10000).u32(data.length).u32(0x100).u32(6).u32(0x1000);
  b.pad(textOff).raw(text).pad(dataOff).raw(data);
  // A multiboot header without the address flag, inside the first 8 KiB.
  b.pad(0x300).u32(MAGIC).u32(0x3).u32(-(MAGIC + 3) >>> 0);
  return b.build();
}

function ram(mib = 4) {
  const m = new PhysicalMemory(mib << 20);
  m.u8.fill(0xaa);
  return m;
}

describe('multiboot loader', () => {
  describe('a.out kludge', () => {
    it('loads the file at load_addr, zeroes the bss and takes entry_addr', () => {
      const mem = ram();
      const img = aoutImage();
      const r = loadKernel(mem, img);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.kernel.format).toBe('aout-kludge');
      expect(r.kernel.entry).toBe(0x100020);
      expect(Array.from(mem.u8.subarray(0x100000, 0x100000 + img.length))).toEqual(Array.from(img));
      const loadEnd = 0x100000 + img.length;
      expect(mem.u8.subarray(loadEnd, loadEnd + 0x2000).every((v) => v === 0)).toBe(true);
      expect(mem.u8[loadEnd + 0x2000]).toBe(0xaa);
      expect(r.kernel.end).toBe(loadEnd + 0x2000);
    });

    it('finds a header later in the file and loads from header_addr - load_addr before it', () => {
      const mem = ram();
      const img = aoutImage({ hdrOff: 0x400 });
      const r = loadKernel(mem, img);
      expect(r.ok && r.kernel.header?.offset).toBe(0x400);
      expect(mem.u8[0x100000]).toBe(0x90);
      expect(mem.read32(0x100400)).toBe(MAGIC);
    });

    it('rejects a header beyond the first 8 KiB', () => {
      const r = loadKernel(ram(), aoutImage({ hdrOff: 8192 }));
      expect(r).toEqual({ ok: false, error: expect.stringMatching(/no multiboot header/) });
    });
  });

  describe('ELF32', () => {
    it('loads PT_LOAD segments at their physical addresses and translates the entry', () => {
      const mem = ram();
      const r = loadKernel(mem, elfImage());
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.kernel.format).toBe('elf32');
      expect(r.kernel.entry).toBe(0x100002);
      expect(Array.from(mem.u8.subarray(0x100000, 0x100006))).toEqual([0xb8, 1, 0, 0, 0, 0xf4]);
      expect(Array.from(mem.u8.subarray(0x110000, 0x110004))).toEqual([1, 2, 3, 4]);
      expect(mem.u8.subarray(0x110004, 0x110100).every((v) => v === 0)).toBe(true);
      expect(mem.u8[0x110100]).toBe(0xaa);
      expect(r.kernel.segments).toEqual([{ addr: 0x100000, fileBytes: 6, memBytes: 6 }, { addr: 0x110000, fileBytes: 4, memBytes: 0x100 }]);
    });

    it('refuses 64-bit and non-i386 files', () => {
      expect(loadKernel(ram(), elfImage({ klass: 2 }))).toEqual({ ok: false, error: expect.stringMatching(/32-bit/) });
      expect(loadKernel(ram(), elfImage({ machine: 62 }))).toEqual({ ok: false, error: expect.stringMatching(/i386/) });
    });
  });

  describe('flat binaries', () => {
    it('loads a headerless file at the given address when asked', () => {
      const mem = ram();
      const img = Uint8Array.from([0xf4, 0xeb, 0xfd]);
      expect(loadKernel(mem, img).ok).toBe(false);
      const r = loadKernel(mem, img, { flatAddress: 0x7c00 });
      expect(r.ok && r.kernel.format).toBe('flat');
      expect(r.ok && r.kernel.entry).toBe(0x7c00);
      expect(mem.u8[0x7c00]).toBe(0xf4);
    });
  });

  describe('malformed images', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /empty/],
      ['bad checksum', aoutImage({ checksumDelta: 1 }), /bad checksum/],
      ['segment outside RAM', elfImage({ segAddr: 0x3ff000 }), /outside the machine's 4 MiB/],
      ['load_end beyond the file', aoutImage({ loadEndDelta: 100 }), /asks for/],
      ['a video mode', aoutImage({ flags: 0x00010004 }), /video mode/],
      ['unknown required flags', aoutImage({ flags: 0x00010008 }), /0x8/],
      ['no address fields and not ELF', new Builder().u32(MAGIC).u32(0).u32(-MAGIC >>> 0).pad(64).build(), /not ELF/],
    ];
    for (const [what, img, msg] of cases) {
      it(`${what}: a clear error, RAM untouched`, () => {
        const mem = ram();
        const r = loadKernel(mem, img);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toMatch(msg);
        expect(mem.u8.every((v) => v === 0xaa)).toBe(true);
      });
    }

    it('a random image never throws', () => {
      let seed = 12345;
      const mem = ram(2);
      for (let n = 0; n < 200; n++) {
        const img = new Uint8Array(64 + (n % 300));
        for (let i = 0; i < img.length; i++) img[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
        if (n % 2) img.set([0x02, 0xb0, 0xad, 0x1b], (n * 4) % 60); // a magic in the middle of noise
        expect(() => loadKernel(mem, img)).not.toThrow();
      }
    });
  });

  describe('information structure', () => {
    it('gives memory sizes, the command line and a memory map', () => {
      const mem = ram(8);
      const r = loadKernel(mem, aoutImage());
      if (!r.ok) throw new Error(r.error);
      const info = writeBootInfo(mem, r.kernel, { cmdline: 'console=ttyS0 quiet' });
      expect(info).toBe(BOOT_INFO_ADDR);
      const flags = mem.read32(info);
      expect(flags & 0b1).toBe(1);
      expect(flags & 0b100).toBe(0b100);
      expect(flags & 0b100_0000).toBe(0b100_0000);
      expect(mem.read32(info + 4)).toBe(640);
      expect(mem.read32(info + 8)).toBe(7 * 1024);
      const cmd = mem.read32(info + 16);
      const text = new TextDecoder().decode(mem.u8.subarray(cmd, mem.u8.indexOf(0, cmd)));
      expect(text).toBe('console=ttyS0 quiet');
      const len = mem.read32(info + 44), map = mem.read32(info + 48);
      const entries = [];
      for (let p = map; p < map + len; p += mem.read32(p) + 4) {
        entries.push({ base: mem.read32(p + 4), len: mem.read32(p + 12), type: mem.read32(p + 20) });
      }
      expect(entries.at(-1)).toEqual({ base: 0x100000, len: 7 << 20, type: 1 });
      expect(entries.filter((e) => e.type === 1).reduce((s, e) => s + e.len, 0)).toBe(0x9fc00 + (7 << 20));
    });

    it('moves above the kernel when the kernel sits on its page', () => {
      const mem = ram();
      const r = loadKernel(mem, Uint8Array.from([0xf4]), { flatAddress: 0x9000 });
      if (!r.ok) throw new Error(r.error);
      expect(writeBootInfo(mem, r.kernel)).toBe(0xa000);
    });
  });
});
