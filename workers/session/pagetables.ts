/*
 * Reading a guest's page tables from its physical memory, for the page-table views: the
 * walk of one virtual address, every mapping of an address space coalesced into ranges,
 * and the page grid (who owns each physical frame). It reads RAM directly and changes
 * nothing (no accessed or dirty bits are set, no TLB is touched), so looking never alters
 * what the guest does. 32-bit two-level paging as the i486 has it, plus 4 MiB pages when
 * CR4.PSE is set (Intel SDM vol. 3, 4.3). Next: session.ts, which calls these at every stop.
 */

import type { MappingRange, PageFlags, PageGrid, PageWalk } from '../api';
import type { PhysicalMemory } from '../x86/memory';

export const PTE_P = 1 << 0;
export const PTE_W = 1 << 1;
export const PTE_U = 1 << 2;
export const PTE_PWT = 1 << 3;
export const PTE_PCD = 1 << 4;
export const PTE_A = 1 << 5;
export const PTE_D = 1 << 6;
export const PTE_PS = 1 << 7;
export const PTE_G = 1 << 8;
const CR0_PG = 0x80000000;
const CR4_PSE = 1 << 4;

export function decodeFlags(e: number): PageFlags {
  return {
    present: (e & PTE_P) !== 0, writable: (e & PTE_W) !== 0, user: (e & PTE_U) !== 0,
    writeThrough: (e & PTE_PWT) !== 0, cacheDisable: (e & PTE_PCD) !== 0,
    accessed: (e & PTE_A) !== 0, dirty: (e & PTE_D) !== 0, large: (e & PTE_PS) !== 0, global: (e & PTE_G) !== 0,
  };
}

const hex = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');

/** The paging registers the walk needs. */
export interface PagingRegs {
  cr0: number;
  cr3: number;
  cr4: number;
}

export function pagingOn(r: PagingRegs): boolean {
  return (r.cr0 & CR0_PG) !== 0;
}

/** Walks one virtual address through the tables at cr3 (no side effects). */
export function walk(mem: PhysicalMemory, r: PagingRegs, virtual: number): PageWalk {
  const va = virtual >>> 0;
  const cr3 = r.cr3 >>> 0;
  const pdeIndex = va >>> 22;
  const pteIndex = (va >>> 12) & 0x3ff;
  const base: PageWalk = {
    virtual: va, paging: pagingOn(r), cr3, pdeIndex, pdeAddress: 0, pde: 0, pdeFlags: decodeFlags(0),
    pteIndex, pteAddress: 0, pte: 0, pteFlags: null, physical: va, note: '',
  };
  if (!base.paging) {
    base.note = 'Paging is off (CR0.PG = 0): the linear address is the physical address.';
    return base;
  }
  const pdeAddress = ((cr3 & ~0xfff) + pdeIndex * 4) >>> 0;
  const pde = mem.read32(pdeAddress) >>> 0;
  base.pdeAddress = pdeAddress;
  base.pde = pde;
  base.pdeFlags = decodeFlags(pde);
  if (!(pde & PTE_P)) {
    base.physical = -1;
    base.note = `Page directory entry ${pdeIndex} (at ${hex(pdeAddress)}) is not present: an access here page-faults.`;
    return base;
  }
  if ((pde & PTE_PS) && (r.cr4 & CR4_PSE)) {
    base.physical = ((pde & 0xffc00000) + (va & 0x3fffff)) >>> 0;
    base.note = `A 4 MiB page: directory entry ${pdeIndex} maps it directly to frame ${hex(pde & 0xffc00000)}.`;
    return base;
  }
  const pteAddress = ((pde & ~0xfff) + pteIndex * 4) >>> 0;
  const pte = mem.read32(pteAddress) >>> 0;
  base.pteAddress = pteAddress;
  base.pte = pte;
  base.pteFlags = decodeFlags(pte);
  if (!(pte & PTE_P)) {
    base.physical = -1;
    base.note = `Page table entry ${pteIndex} (at ${hex(pteAddress)}) is not present: an access here page-faults.`;
    return base;
  }
  base.physical = ((pte & ~0xfff) + (va & 0xfff)) >>> 0;
  const user = pde & pte & PTE_U ? 'user and kernel' : 'kernel only';
  const write = pde & pte & PTE_W ? 'read-write' : 'read-only';
  base.note = `Mapped to frame ${hex(pte & ~0xfff)}: ${write}, ${user}.`;
  return base;
}

/** Physical address of a virtual one, or -1 when not mapped (identity when paging is off). */
export function translate(mem: PhysicalMemory, r: PagingRegs, virtual: number): number {
  const va = virtual >>> 0;
  if (!pagingOn(r)) return va;
  const pde = mem.read32(((r.cr3 & ~0xfff) + (va >>> 22) * 4) >>> 0);
  if (!(pde & PTE_P)) return -1;
  if ((pde & PTE_PS) && (r.cr4 & CR4_PSE)) return ((pde & 0xffc00000) + (va & 0x3fffff)) >>> 0;
  const pte = mem.read32(((pde & ~0xfff) + ((va >>> 12) & 0x3ff) * 4) >>> 0);
  if (!(pte & PTE_P)) return -1;
  return ((pte & ~0xfff) + (va & 0xfff)) >>> 0;
}

/**
 * Calls `visit(virtualPage, frame, effectiveFlags, large)` for every present 4 KiB page of
 * the address space at cr3 (a 4 MiB page is reported once, with large = true). Effective
 * flags combine the directory and table entries as the MMU does (U and W need both).
 */
export function forEachMapping(
  mem: PhysicalMemory, cr3: number, pse: boolean,
  visit: (virtualPage: number, frame: number, flags: number, large: boolean, tableFrame: number) => void,
): void {
  const dir = (cr3 & ~0xfff) >>> 0;
  for (let i = 0; i < 1024; i++) {
    const pde = mem.read32(dir + i * 4) >>> 0;
    if (!(pde & PTE_P)) continue;
    if ((pde & PTE_PS) && pse) {
      visit((i << 22) >>> 0, (pde & 0xffc00000) >>> 0, pde & 0x1ff, true, -1);
      continue;
    }
    const table = (pde & ~0xfff) >>> 0;
    if (table >= mem.size) continue;
    for (let j = 0; j < 1024; j++) {
      const pte = mem.read32(table + j * 4) >>> 0;
      if (!(pte & PTE_P)) continue;
      const flags = (pte & 0x1ff & ~(PTE_U | PTE_W)) | (pte & pde & (PTE_U | PTE_W));
      visit(((i << 22) | (j << 12)) >>> 0, (pte & ~0xfff) >>> 0, flags, false, table);
    }
  }
}

/** Every mapping of the address space at cr3, coalesced into ranges (at most `max`). */
export function mappings(mem: PhysicalMemory, r: PagingRegs, max = 4096): MappingRange[] {
  const out: MappingRange[] = [];
  if (!pagingOn(r)) return out;
  let cur: MappingRange | null = null;
  forEachMapping(mem, r.cr3, (r.cr4 & CR4_PSE) !== 0, (vp, frame, flags, large) => {
    const size = large ? 0x400000 : 0x1000;
    const writable = (flags & PTE_W) !== 0;
    const user = (flags & PTE_U) !== 0;
    if (cur && cur.virtualStart + cur.length === vp && cur.physicalStart + cur.length === frame &&
        cur.writable === writable && cur.user === user && cur.large === large) {
      cur.length += size;
      return;
    }
    if (out.length >= max) return;
    cur = { virtualStart: vp, length: size, physicalStart: frame, writable, user, large };
    out.push(cur);
  });
  return out;
}

const OWNER_FREE = 0;
const OWNER_KERNEL = 1;
const OWNER_TABLE = 2;
const OWNER_PROCESS = 3;
export const GRID_USER = 1;
export const GRID_SHARED = 2;
export const GRID_CURRENT = 4;

/**
 * The page grid: one cell per physical frame, coloured by owner across all the address
 * spaces in `cr3s` (the CR3 values seen so far; the current one is `current`). A frame
 * mapped user-accessible belongs to the first address space that maps it so; one mapped
 * only supervisor is the kernel's; directory and table frames are marked as such.
 */
export function pageGrid(mem: PhysicalMemory, cr3s: number[], current: number, pse: boolean): PageGrid {
  const frames = mem.size >>> 12;
  const owner = new Uint8Array(frames);
  const flags = new Uint8Array(frames);
  const seenBy = new Int16Array(frames).fill(-1);
  cr3s.forEach((cr3, n) => {
    const dirFrame = cr3 >>> 12;
    if (dirFrame < frames) owner[dirFrame] = OWNER_TABLE;
    forEachMapping(mem, cr3, pse, (_vp, frame, f, large, tableFrame) => {
      if (tableFrame >= 0 && tableFrame >>> 12 < frames) owner[tableFrame >>> 12] = OWNER_TABLE;
      const count = large ? 1024 : 1;
      for (let k = 0; k < count; k++) {
        const pf = (frame >>> 12) + k;
        if (pf >= frames) break;
        if (cr3 === current) flags[pf] |= GRID_CURRENT;
        if (owner[pf] === OWNER_TABLE) continue;
        if (f & PTE_U) {
          if (seenBy[pf] >= 0 && seenBy[pf] !== n) flags[pf] |= GRID_SHARED;
          seenBy[pf] = n;
          flags[pf] |= GRID_USER;
          if (owner[pf] < OWNER_PROCESS) owner[pf] = Math.min(255, OWNER_PROCESS + n);
        } else if (owner[pf] === OWNER_FREE) {
          owner[pf] = OWNER_KERNEL;
        }
      }
    });
  });
  return { frames, owner, flags, cr3s: cr3s.slice(), current };
}
