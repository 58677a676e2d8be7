import { describe, expect, it } from 'vitest';
import { TestCpu, Stop } from './harness';

const PD = 0x10000, PT = 0x11000;
const P = 1, W = 2, U = 4, A = 0x20, D = 0x40, PS = 0x80;

/** Identity-maps 0-4 MiB with 4 KiB pages (supervisor, writable) and returns the helper. */
function tables(): TestCpu {
  const t = new TestCpu(16).flat32();
  const m = t.mem;
  m.write32(PD, PT | P | W | U);
  for (let i = 0; i < 1024; i++) m.write32(PT + i * 4, (i << 12) | P | W);
  return t;
}

/** Paging turned on from JS, then `code` runs at CPL `cpl`. */
function pagedAt(cpl: number, code: string, setup: (t: TestCpu) => void): TestCpu {
  const t = tables();
  setup(t);
  t.cpu.cr3 = PD;
  t.cpu.cr0 |= 0x80000000;
  t.cpu.cpl = cpl;
  t.cpu.afterSystem();
  t.asm(code);
  return t;
}

/** Paging turned on by the guest code itself (MOV CR3, MOV CR0), then `extra` runs. */
function paged(extra = ''): TestCpu {
  const t = tables();
  t.asm(`
    mov eax, ${PD}
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    ${extra}
  `);
  return t;
}

describe('paging: 4 KiB pages', () => {
  it('translates through a page table and sets A and D', () => {
    const t = paged(`
      mov dword [0x400010], 0x12345678
      mov ebx, [0x401020]
    `);
    const m = t.mem;
    const pt2 = 0x12000;
    m.write32(PD + 4, pt2 | P | W);
    m.write32(pt2, 0x200000 | P | W); // 0x400000 -> 0x200000
    m.write32(pt2 + 4, 0x300000 | P | W); // 0x401000 -> 0x300000
    m.write32(0x300020, 0xcafe);
    expect(t.run()).toBe(Stop.Halted);
    expect(t.faults).toEqual([]);
    expect(m.read32(0x200010) >>> 0).toBe(0x12345678);
    expect(t.r[3]).toBe(0xcafe);
    expect(m.read32(pt2) & (A | D)).toBe(A | D);
    expect(m.read32(pt2 + 4) & (A | D)).toBe(A); // read only: no D
    expect(m.read32(PD + 4) & A).toBe(A);
  });

  it('raises #PF with CR2 and error code for a not-present page (read and write)', () => {
    const t = paged('mov eax, [0x800004]');
    t.run();
    expect(t.faults).toHaveLength(1);
    expect(t.faults[0]).toMatchObject({ vector: 14, errorCode: 0, cr2: 0x800004 });
    const t2 = paged('mov dword [0x800008], 1');
    t2.run();
    expect(t2.faults[0]).toMatchObject({ vector: 14, errorCode: 2, cr2: 0x800008 });
    // EIP is the faulting instruction: re-running it after mapping the page succeeds
    const pt2 = 0x12000;
    t2.mem.write32(PD + 8, pt2 | P | W);
    t2.mem.write32(pt2, 0x250000 | P | W);
    t2.cpu.halted = false;
    expect(t2.run()).toBe(Stop.Halted);
    expect(t2.faults).toHaveLength(1);
    expect(t2.mem.read32(0x250008)).toBe(1);
  });

  it('checks U/S and R/W at CPL 3 (error codes 5 and 7)', () => {
    const userCode = (t: TestCpu) => t.mem.write32(PT + 1 * 4, 0x1000 | P | W | U);
    const t = pagedAt(3, 'mov eax, [0x3000]', userCode);
    t.run();
    expect(t.faults[0]).toMatchObject({ vector: 14, errorCode: 5, cr2: 0x3000 });

    const t2 = pagedAt(3, 'mov [0x3000], eax', (x) => { userCode(x); x.mem.write32(PT + 3 * 4, 0x3000 | P | U); });
    t2.run();
    expect(t2.faults[0]).toMatchObject({ vector: 14, errorCode: 7, cr2: 0x3000 });

    const t3 = pagedAt(3, 'mov eax, [0x3000]', (x) => { userCode(x); x.mem.write32(PT + 3 * 4, 0x3000 | P | U); x.mem.write32(0x3000, 77); });
    t3.run();
    expect(t3.r[0]).toBe(77);
    // the load worked; the HLT after it is privileged at CPL 3
    expect(t3.faults).toEqual([{ vector: 13, errorCode: 0, eip: 0x1005, cr2: 0 }]);
  });

  it('faults on a user fetch from a supervisor page (error code 5, at the fetch)', () => {
    const t = pagedAt(3, 'nop', () => {});
    t.run();
    expect(t.faults[0]).toMatchObject({ vector: 14, errorCode: 5, cr2: 0x1000, eip: 0x1000 });
  });

  it('lets the supervisor write read-only pages unless CR0.WP', () => {
    const t = paged('mov dword [0x5000], 7');
    t.mem.write32(PT + 5 * 4, 0x5000 | P);
    t.run();
    expect(t.faults).toEqual([]);
    expect(t.mem.read32(0x5000)).toBe(7);

    const t2 = paged('mov eax, cr0\n or eax, 0x10000\n mov cr0, eax\n mov dword [0x5000], 7');
    t2.mem.write32(PT + 5 * 4, 0x5000 | P);
    t2.run();
    expect(t2.faults[0]).toMatchObject({ vector: 14, errorCode: 3, cr2: 0x5000 });
  });
});

describe('paging: 4 MiB pages', () => {
  it('maps a large page with CR4.PSE and sets its A and D bits', () => {
    const t = paged('mov eax, cr4\n or eax, 0x10\n mov cr4, eax\n mov dword [0x800123], 0xabcd\n mov ecx, [0xbffff0]');
    t.mem.write32(PD + 8, 0x400000 | P | W | PS); // 8 MiB -> 4 MiB
    t.mem.write32(0x7ffff0, 0x5555);
    expect(t.run()).toBe(Stop.Halted);
    expect(t.faults).toEqual([]);
    expect(t.mem.read32(0x400123)).toBe(0xabcd);
    expect(t.r[1]).toBe(0x5555);
    expect(t.mem.read32(PD + 8) & (A | D)).toBe(A | D);
  });

  it('ignores PS without CR4.PSE (the PDE points to a page table)', () => {
    const t = paged('mov eax, [0x800000]');
    t.mem.write32(PD + 8, 0x13000 | P | W | PS);
    t.mem.write32(0x13000, 0x240000 | P | W);
    t.mem.write32(0x240000, 99);
    t.run();
    expect(t.faults).toEqual([]);
    expect(t.r[0]).toBe(99);
  });
});

describe('the TLB', () => {
  it('keeps a stale translation until INVLPG, and counts hits, misses and flushes', () => {
    const t = paged(`
      mov eax, [0x6000]      ; fills the TLB
      mov dword [${PT + 6 * 4}], 0x7000 | 3   ; remap 0x6000 -> 0x7000
      mov ebx, [0x6000]      ; stale: still the old frame
      invlpg [0x6000]
      mov ecx, [0x6000]      ; new frame
    `);
    t.mem.write32(0x6000, 111);
    t.mem.write32(0x7000, 222);
    const mmu = t.cpu.mmu;
    const f0 = mmu.flushes;
    t.run();
    expect([t.r[0], t.r[3], t.r[1]]).toEqual([111, 111, 222]);
    expect(mmu.misses).toBeGreaterThan(0);
    expect(mmu.flushes).toBeGreaterThan(f0);
    expect(t.cpu.trace.counts[9]).toBeGreaterThan(0); // Ev.TlbFlush
  });

  it('flushes on a CR3 reload', () => {
    const t = paged(`
      mov eax, [0x6000]
      mov dword [${PT + 6 * 4}], 0x7000 | 3
      mov ebx, [0x6000]
      mov edx, cr3
      mov cr3, edx
      mov ecx, [0x6000]
    `);
    t.mem.write32(0x6000, 111);
    t.mem.write32(0x7000, 222);
    t.run();
    expect([t.r[0], t.r[3], t.r[1]]).toEqual([111, 111, 222]);
  });

  it('takes the slow path for the first write to a clean page so that D is set', () => {
    const t = paged('mov eax, [0x9000]\n mov dword [0x9000], 5');
    t.run();
    expect(t.mem.read32(PT + 9 * 4) & (A | D)).toBe(A | D);
  });

  it('translate() has no side effects', () => {
    const t = paged();
    t.run();
    t.mem.write32(PT + 0x20 * 4, 0x20000 | P | W);
    expect(t.cpu.translate(0x20010, false, false)).toBe(0x20010);
    expect(t.mem.read32(PT + 0x20 * 4) & A).toBe(0);
    expect(t.cpu.translate(0x20010, false, true)).toBe(-1); // supervisor page
    expect(t.cpu.translate(0x900000, false, false)).toBe(-1);
  });
});

describe('restartable string instructions', () => {
  it('a REP CMPSD that faults part way keeps the flags, ECX, ESI and EDI of the last completed iteration', () => {
    const t = tables();
    t.mem.write32(PT + 0x303 * 4, 0); // 0x303000 not present
    t.cpu.cr3 = PD;
    t.cpu.cr0 |= 0x80000000;
    t.cpu.afterSystem();
    t.asm('mov esi, 0x302ff5\n mov edi, 0x301040\n mov ecx, 6\n mov eax, 0x80000000\n add eax, eax\n repne cmpsd');
    t.mem.write32(0x302ff5, 0x01020304);
    t.mem.write32(0x302ff9, 0xfcfbfaf9);
    let flagsAtFault = -1;
    const mon = t.cpu.monitor!;
    const onException = mon.onException;
    mon.onException = (cpu, v, e) => { flagsAtFault = cpu.getEflags(); return onException.call(mon, cpu, v, e); };
    t.run();
    expect(t.faults[0]).toMatchObject({ vector: 14, errorCode: 0, cr2: 0x303000 });
    expect(t.u32(6)).toBe(0x302ffd);
    expect(t.u32(7)).toBe(0x301048);
    expect(t.r[1]).toBe(4);
    // flags of 0xfcfbfaf9 - 0: SF and PF; not those of the ADD before (CF ZF PF OF)
    expect(flagsAtFault & 0x8d5).toBe(0x84);
  });
});
