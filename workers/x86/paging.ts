/*
 * Paging: linear address -> physical address, and the TLB that makes it cheap.
 *
 * The i486 walk (Intel SDM vol. 3, "Paging"): CR3 holds the page directory's frame; bits
 * 31-22 of the linear address pick a page-directory entry (PDE), bits 21-12 a page-table
 * entry (PTE), bits 11-0 the byte. With CR4.PSE a PDE with PS (bit 7) set maps a whole
 * 4 MiB page. Entry bits used here: P (0) present, R/W (1), U/S (2), A (5) accessed,
 * D (6) dirty, PS (7). A user access needs U/S=1 at both levels and a user write R/W=1 at
 * both; a supervisor write to a read-only page faults only when CR0.WP is set. The walk
 * sets A in each entry it uses and D in the final entry on a write. A failed check raises
 * #PF with CR2 = the linear address and an error code: bit 0 P (the page was present, so
 * this was a protection violation), bit 1 W/R (a write), bit 2 U/S (at CPL 3).
 *
 * The TLB is one Int32Array indexed by linear page number (1 Mi entries). An entry is the
 * physical page address with permission bits in its low 12 bits, so the hot path of a
 * memory access is one load, one mask-and-compare against the mask for the current access
 * kind (read/write, user/supervisor), and the access itself. A write to a page whose D bit
 * is still clear misses (both RO bits are set) so that the walk can set D. The same TLB is
 * used with paging off (identity entries), so the hot path never asks whether paging is on.
 * A list of live entries makes a flush touch only what was filled.
 * Next: cpu.ts, which holds the TLB and calls translateSlow() on a miss.
 */

import { Ev, type TraceBuffer } from '../trace/trace';
import type { PhysicalMemory } from './memory';

export const TLB_VALID = 1;
/** The page is not accessible at CPL 3. */
export const TLB_NOUSER = 2;
/** Writes at CPL 3 must take the slow path (read-only for user, or D still clear). */
export const TLB_RO_USER = 4;
/** Writes at CPL 0-2 must take the slow path (WP and read-only, or D still clear). */
export const TLB_RO_SUP = 8;
/** The physical page is not RAM (reads as ones): always the slow path. */
export const TLB_OUTSIDE = 16;
/** The frame holds decoded code: writes take the slow path so the cache is told. */
export const TLB_CODE = 32;

/** Masks for `(entry & mask) === TLB_VALID` hits. */
export const READ_MASK_SUP = TLB_VALID | TLB_OUTSIDE;
export const READ_MASK_USER = TLB_VALID | TLB_OUTSIDE | TLB_NOUSER;
export const WRITE_MASK_SUP = TLB_VALID | TLB_OUTSIDE | TLB_RO_SUP | TLB_CODE;
export const WRITE_MASK_USER = TLB_VALID | TLB_OUTSIDE | TLB_NOUSER | TLB_RO_USER | TLB_CODE;

const CR0_WP = 1 << 16;
const CR0_PG = 1 << 31;
const CR4_PSE = 1 << 4;
const PTE_P = 1, PTE_W = 2, PTE_U = 4, PTE_A = 0x20, PTE_D = 0x40, PTE_PS = 0x80;

/** What the MMU needs from the CPU. */
export interface MmuHost {
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  cpl: number;
  cycles: number;
  eip: number;
  trace: TraceBuffer;
  raise(vector: number, errorCode?: number): void;
}

const LIVE_MAX = 8192;

export class Mmu {
  readonly tlb = new Int32Array(1 << 20);
  private readonly live = new Int32Array(LIVE_MAX);
  private liveCount = 0;
  /**
   * TLB hits are not counted: a hit is the CPU's inline fast path (readLin8/16/32 and writeLin8/16/32 in cpu.ts)
   * and a counter there would cost on every memory access. Stays 0; read misses and flushes.
   */
  hits = 0;
  /** Page walks (TLB misses), including those that ended in #PF. */
  misses = 0;
  /** Full flushes (CR3 loads, paging-mode changes, live-list overflow). */
  flushes = 0;
  /** Called after every flush (the CPU drops its current-code-page shortcut). */
  onFlush: () => void = () => {};

  constructor(readonly mem: PhysicalMemory, readonly host: MmuHost) {}

  /** Drops every entry (CR3 load, CR0.PG/WP or CR4.PSE change). */
  flush(): void {
    const t = this.tlb, l = this.live;
    for (let i = 0; i < this.liveCount; i++) t[l[i]] = 0;
    this.liveCount = 0;
    this.flushes++;
    this.onFlush();
  }

  /** INVLPG: drops one page's entry. */
  invalidatePage(linear: number): void {
    this.tlb[linear >>> 12] = 0;
    this.onFlush();
  }

  /** A frame now holds decoded code: make writes through live entries take the slow path. */
  markCode(frame: number): void {
    const t = this.tlb, l = this.live;
    for (let i = 0; i < this.liveCount; i++) {
      const e = t[l[i]];
      if (e !== 0 && (e >>> 12) === frame) t[l[i]] = e | TLB_CODE;
    }
  }

  private insert(page: number, entry: number): void {
    if (this.tlb[page] === 0) {
      if (this.liveCount === LIVE_MAX) this.flush();
      this.live[this.liveCount++] = page;
    }
    this.tlb[page] = entry;
  }

  private frameFlags(pa: number): number {
    const frame = pa >>> 12;
    let f = 0;
    if (pa >= this.mem.size || pa < 0) f |= TLB_OUTSIDE;
    else if (this.mem.codePages[frame] !== 0) f |= TLB_CODE;
    return f;
  }

  /**
   * TLB miss: walks the tables for an access of the given kind, sets A/D, fills the TLB and
   * returns the physical address (as an unsigned number). Raises #PF on failure.
   */
  translateSlow(lin: number, write: boolean, user: boolean): number {
    this.misses++;
    const h = this.host;
    const page = lin >>> 12;
    if ((h.cr0 & CR0_PG) === 0) {
      const pa = page << 12 >>> 0;
      this.insert(page, (pa | TLB_VALID | this.frameFlags(pa)) | 0);
      return (pa | (lin & 0xfff)) >>> 0;
    }
    const mem = this.mem;
    const pdeAddr = ((h.cr3 & ~0xfff) | ((lin >>> 20) & 0xffc)) >>> 0;
    const pde = mem.read32(pdeAddr);
    if ((pde & PTE_P) === 0) this.pageFault(lin, 0, write, user);
    let pa: number;
    let uOk: boolean, wOk: boolean, dirty: boolean;
    if ((pde & PTE_PS) !== 0 && (h.cr4 & CR4_PSE) !== 0) {
      uOk = (pde & PTE_U) !== 0;
      wOk = (pde & PTE_W) !== 0;
      this.check(lin, uOk, wOk, write, user);
      let upd = pde | PTE_A;
      if (write) upd |= PTE_D;
      if (upd !== pde) mem.write32(pdeAddr, upd);
      dirty = (upd & PTE_D) !== 0;
      pa = ((pde & 0xffc00000) | (lin & 0x3ff000)) >>> 0;
    } else {
      const pteAddr = ((pde & ~0xfff) | ((lin >>> 10) & 0xffc)) >>> 0;
      const pte = mem.read32(pteAddr);
      if ((pte & PTE_P) === 0) this.pageFault(lin, 0, write, user);
      uOk = (pde & pte & PTE_U) !== 0;
      wOk = (pde & pte & PTE_W) !== 0;
      this.check(lin, uOk, wOk, write, user);
      if ((pde & PTE_A) === 0) mem.write32(pdeAddr, pde | PTE_A);
      let upd = pte | PTE_A;
      if (write) upd |= PTE_D;
      if (upd !== pte) mem.write32(pteAddr, upd);
      dirty = (upd & PTE_D) !== 0;
      pa = (pte & ~0xfff) >>> 0;
    }
    const wp = (h.cr0 & CR0_WP) !== 0;
    let flags = TLB_VALID | this.frameFlags(pa);
    if (!uOk) flags |= TLB_NOUSER;
    if (!wOk || !dirty) flags |= TLB_RO_USER;
    if ((wp && !wOk) || !dirty) flags |= TLB_RO_SUP;
    this.insert(page, (pa | flags) | 0);
    return (pa | (lin & 0xfff)) >>> 0;
  }

  private check(lin: number, uOk: boolean, wOk: boolean, write: boolean, user: boolean): void {
    if (user) {
      if (!uOk || (write && !wOk)) this.pageFault(lin, 1, write, user);
    } else if (write && !wOk && (this.host.cr0 & CR0_WP) !== 0) {
      this.pageFault(lin, 1, write, user);
    }
  }

  private pageFault(lin: number, present: number, write: boolean, user: boolean): never {
    const h = this.host;
    const code = present | (write ? 2 : 0) | (user ? 4 : 0);
    h.cr2 = lin >>> 0;
    h.trace.emit(Ev.PageFault, h.cycles, h.cpl, h.eip, lin, code, 0);
    h.raise(14, code);
    throw new Error('raise returned');
  }

  /**
   * Side-effect-free translation for debuggers: the physical address, or -1 when the access
   * would fault. Sets no A/D bits, fills no TLB entry, counts nothing.
   */
  peek(lin: number, write: boolean, user: boolean): number {
    const h = this.host;
    lin >>>= 0;
    if ((h.cr0 & CR0_PG) === 0) return lin;
    const mem = this.mem;
    const pde = mem.read32(((h.cr3 & ~0xfff) | ((lin >>> 20) & 0xffc)) >>> 0);
    if ((pde & PTE_P) === 0) return -1;
    let u: boolean, w: boolean, pa: number;
    if ((pde & PTE_PS) !== 0 && (h.cr4 & CR4_PSE) !== 0) {
      u = (pde & PTE_U) !== 0; w = (pde & PTE_W) !== 0;
      pa = ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
    } else {
      const pte = mem.read32(((pde & ~0xfff) | ((lin >>> 10) & 0xffc)) >>> 0);
      if ((pte & PTE_P) === 0) return -1;
      u = (pde & pte & PTE_U) !== 0; w = (pde & pte & PTE_W) !== 0;
      pa = ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
    }
    if (user && (!u || (write && !w))) return -1;
    if (!user && write && !w && (h.cr0 & CR0_WP) !== 0) return -1;
    return pa;
  }

  /** Live entries (for the UI's TLB view and tests). */
  get size(): number {
    return this.liveCount;
  }
}
