// The page-table readers behind the page-table view (workers/session/pagetables.ts), on
// page tables written by hand into a PhysicalMemory, checked against the SDM's two-level
// walk: 10 bits of directory index, 10 of table index, 12 of offset; 4 MiB pages with PSE.
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../workers/x86/memory';
import { GRID_CURRENT, GRID_SHARED, GRID_USER, mappings, pageGrid, translate, walk } from '../../workers/session/pagetables';

const PG = 0x80000001;
const P = 1, W = 2, U = 4, PS = 0x80;

/** Two address spaces: both share a kernel table (0..4 MiB identity, supervisor) and frame 0x700000 (user). */
function build() {
  const mem = new PhysicalMemory(16 << 20);
  const dirA = 0x10000, dirB = 0x11000, kernelPt = 0x12000, ptA = 0x13000, ptB = 0x14000;
  for (let i = 0; i < 1024; i++) mem.write32(kernelPt + i * 4, (i << 12) | P | W);
  mem.write32(kernelPt, 0); // page 0 unmapped
  for (const [dir, pt] of [[dirA, ptA], [dirB, ptB]]) {
    mem.write32(dir + 0 * 4, kernelPt | P | W | U);
    mem.write32(dir + 1 * 4, pt | P | W | U);
  }
  mem.write32(ptA + 0 * 4, 0x600000 | P | W | U); // A: 0x400000 -> 0x600000
  mem.write32(ptA + 1 * 4, 0x601000 | P | W | U); // A: 0x401000 -> 0x601000 (contiguous)
  mem.write32(ptA + 5 * 4, 0x700000 | P | U); //     A: 0x405000 -> 0x700000 read-only, shared
  mem.write32(ptB + 0 * 4, 0x700000 | P | W | U); // B: 0x400000 -> 0x700000
  return { mem, dirA, dirB, kernelPt, ptA, ptB };
}

describe('walk', () => {
  it('follows the directory and table entries to the frame', () => {
    const { mem, dirA, ptA } = build();
    const w = walk(mem, { cr0: PG, cr3: dirA, cr4: 0 }, 0x401234);
    expect(w.pdeIndex).toBe(1);
    expect(w.pteIndex).toBe(1);
    expect(w.pdeAddress).toBe(dirA + 4);
    expect(w.pteAddress).toBe(ptA + 4);
    expect(w.physical).toBe(0x601234);
    expect(w.pteFlags?.user).toBe(true);
    expect(w.note).toMatch(/read-write, user/);
  });
  it('reports a missing table entry and a missing directory entry', () => {
    const { mem, dirA } = build();
    const r = { cr0: PG, cr3: dirA, cr4: 0 };
    expect(walk(mem, r, 0x402000).physical).toBe(-1);
    expect(walk(mem, r, 0x402000).note).toMatch(/table entry 2 .*not present/);
    expect(walk(mem, r, 0x800000).note).toMatch(/directory entry 2 .*not present/);
    expect(walk(mem, r, 0x0).physical).toBe(-1); // page 0 unmapped
  });
  it('treats PS as a 4 MiB page only when CR4.PSE is set', () => {
    const { mem, dirA } = build();
    mem.write32(dirA + 3 * 4, 0x800000 | P | W | PS);
    expect(walk(mem, { cr0: PG, cr3: dirA, cr4: 0x10 }, 0xc12345).physical).toBe(0x812345);
    expect(translate(mem, { cr0: PG, cr3: dirA, cr4: 0x10 }, 0xc12345)).toBe(0x812345);
    // without PSE the entry points at a "page table" at 0x800000 (all zero): not present
    expect(translate(mem, { cr0: PG, cr3: dirA, cr4: 0 }, 0xc12345)).toBe(-1);
  });
  it('is the identity with paging off', () => {
    const { mem } = build();
    const w = walk(mem, { cr0: 1, cr3: 0, cr4: 0 }, 0x12345);
    expect(w.paging).toBe(false);
    expect(w.physical).toBe(0x12345);
  });
  it('does not set accessed or dirty bits', () => {
    const { mem, dirA, ptA } = build();
    const before = mem.u8.slice(ptA, ptA + 16);
    walk(mem, { cr0: PG, cr3: dirA, cr4: 0 }, 0x400000);
    mappings(mem, { cr0: PG, cr3: dirA, cr4: 0 });
    expect(mem.u8.slice(ptA, ptA + 16)).toEqual(before);
  });
});

describe('mappings', () => {
  it('coalesces contiguous pages with equal access and splits on a change', () => {
    const { mem, dirA } = build();
    const m = mappings(mem, { cr0: PG, cr3: dirA, cr4: 0 });
    expect(m[0]).toEqual({ virtualStart: 0x1000, length: 0x3ff000, physicalStart: 0x1000, writable: true, user: false, large: false });
    expect(m[1]).toEqual({ virtualStart: 0x400000, length: 0x2000, physicalStart: 0x600000, writable: true, user: true, large: false });
    expect(m[2]).toEqual({ virtualStart: 0x405000, length: 0x1000, physicalStart: 0x700000, writable: false, user: true, large: false });
    expect(m).toHaveLength(3);
  });
  it('is empty with paging off', () => {
    const { mem } = build();
    expect(mappings(mem, { cr0: 1, cr3: 0, cr4: 0 })).toEqual([]);
  });
});

describe('pageGrid', () => {
  it('colours frames by owner and marks user, shared and current pages', () => {
    const { mem, dirA, dirB, kernelPt, ptA } = build();
    const g = pageGrid(mem, [dirA, dirB], dirB, false);
    expect(g.frames).toBe(4096);
    expect(g.owner[dirA >>> 12]).toBe(2);
    expect(g.owner[kernelPt >>> 12]).toBe(2);
    expect(g.owner[ptA >>> 12]).toBe(2);
    expect(g.owner[0x100]).toBe(1); // 1 MiB: kernel (supervisor identity map)
    expect(g.flags[0x100] & GRID_SHARED).toBe(0); // mapped by both, but not user-accessible
    expect(g.owner[0x600]).toBe(3); // process 0 (dirA) owns 0x600000
    expect(g.flags[0x600] & GRID_USER).toBe(GRID_USER);
    expect(g.flags[0x600] & GRID_CURRENT).toBe(0); // not mapped in dirB
    expect(g.flags[0x600] & GRID_SHARED).toBe(0);
    expect(g.owner[0x700]).toBe(3); // first seen user in A
    expect(g.flags[0x700] & GRID_SHARED).toBe(GRID_SHARED);
    expect(g.flags[0x700] & GRID_CURRENT).toBe(GRID_CURRENT);
    expect(g.owner[0x500]).toBe(0); // 5 MiB: mapped nowhere
    expect(g.cr3s).toEqual([dirA, dirB]);
  });
});
