/*
 * The CPU: an i486-level 32-bit x86 interpreter. This file holds the architectural state,
 * the memory path (segmentation -> paging -> physical memory), the cache of decoded
 * instructions and the run loop; instruction semantics are in ops/, the decoder in
 * decoder.ts, paging and the TLB in paging.ts, and the protected-mode system machinery
 * (descriptor loads, interrupts, far transfers, control registers) in system.ts.
 *
 * The run loop, read aloud: at each instruction boundary, if something special is pending
 * (an interrupt to check, single-step, a breakpoint, a stop request) handle it; then take
 * the decoded record for CS:EIP, advance EIP past it, call its handler, count one cycle.
 * A guest exception is a throw of one preallocated CpuFault: the loop catches it, rewinds
 * EIP to the start of the faulting instruction and hands it to system.deliverException.
 *
 * When the loop checks for interrupts: INTR can only change because of something the
 * machine does between run() calls (device events in virtual time) or because the CPU
 * touched a device (IN/OUT) or changed IF. So the loop asks intr.pending() at the start of
 * each run(), after any I/O instruction and after any change of EFLAGS, and not otherwise.
 *
 * Decoded code is cached per physical 4 KiB frame (one array slot per byte offset) and
 * dropped when the frame is written (memory.ts calls onCodeWrite). The current frame's
 * array is kept at hand (fp*) so a fetch is a subtraction, a compare and an array load.
 *
 * Hot runs of cached records (straight lines, or traces through direct jumps and calls)
 * are also translated into one JavaScript function each (jit/blocks.ts, which explains why that changes nothing observable); the
 * loop enters such a block only when no boundary work is pending and the whole block fits
 * in the budget. Next: decoder.ts.
 */

import { TraceBuffer, type TraceRecord } from '../trace/trace';
import type { InterruptLine, IoBus } from './bus';
import { PAGE_SHIFT, type PhysicalMemory } from './memory';
import * as opcodesModule from './opcodes';
import * as flagsModule from './flags';
import { decode, Insn, type CodeReader, type Handler } from './decoder';
import { Mmu } from './paging';
import * as pagingModule from './paging';
import * as sys from './system';
import { installHandlers } from './ops/registry';
import { stringOp } from './ops/string';
import { Block, buildBlock, HOT_THRESHOLD, killBlocks } from './jit/blocks';

// Imported bindings copied to module constants: some module loaders turn every read
// of an imported name into a getter call, too slow for the per-instruction paths.
const { CF, DF, IF, OSZAPC, TF } = opcodesModule;
const { getCF, materialise, statusFlags } = flagsModule;
const { READ_MASK_SUP, READ_MASK_USER, TLB_CODE, TLB_VALID, WRITE_MASK_SUP, WRITE_MASK_USER } = pagingModule;

export const enum Stop { Budget = 0, Halted = 1, Breakpoint = 2, Requested = 3, TripleFault = 4, Error = 5 }

export interface Monitor {
  onException(cpu: Cpu, vector: number, errorCode: number): boolean;
  onInterrupt(cpu: Cpu, vector: number): boolean;
  softIntMask: Uint8Array;
  onSoftInt(cpu: Cpu, vector: number, nextEip: number): boolean;
}

export interface StopInfo {
  kind: 'tripleFault' | 'error' | 'unsupported';
  what: string;
  /** Linear address of the instruction concerned. */
  where: number;
  cs: number;
  eip: number;
  lastEvents: TraceRecord[];
}

export interface RegisterFile {
  eax: number; ecx: number; edx: number; ebx: number; esp: number; ebp: number; esi: number; edi: number;
  eip: number; eflags: number;
  es: number; cs: number; ss: number; ds: number; fs: number; gs: number;
  cr0: number; cr2: number; cr3: number; cr4: number; cpl: number; halted: boolean;
  segBase: number[]; segLimit: number[]; segAttr: number[];
  gdtrBase: number; gdtrLimit: number; idtrBase: number; idtrLimit: number;
  ldtr: number; tr: number;
}

export interface CpuSnapshot {
  regs: Int32Array; eip: number; eflags: number;
  sreg: Uint16Array; segBase: Int32Array; segLimit: Int32Array; segAttr: Int32Array;
  cr0: number; cr2: number; cr3: number; cr4: number; dr: Int32Array;
  gdtrBase: number; gdtrLimit: number; idtrBase: number; idtrLimit: number;
  ldtr: number; ldtrBase: number; ldtrLimit: number;
  tr: number; trBase: number; trLimit: number; trAttr: number;
  cpl: number; halted: boolean; cycles: number; instructions: number; inhibitIrq: boolean;
}

/** The one exception object the CPU throws (never allocated per fault). */
export class CpuFault {
  vector = 0;
  errorCode = -1;
}

const EFLAGS_SUPPORTED = 0x277fd5;
/** Int32Array word accesses equal guest (little-endian) dwords only on a little-endian host. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Handlers never put in a translated block (REP string ops count their own cycles). */
const NO_BLOCK: ReadonlySet<Handler> = new Set<Handler>([stringOp]);
const CR0_PE = 1;

export class Cpu implements CodeReader {
  readonly mem: PhysicalMemory;
  io: IoBus;
  intr: InterruptLine | null = null;
  monitor: Monitor | null = null;
  trace: TraceBuffer = new TraceBuffer();
  readonly mmu: Mmu;
  /** The TLB array itself (mmu.tlb), held here for the hot path. */
  readonly tlb: Int32Array;
  readonly u8: Uint8Array;
  /** The same RAM as 32-bit words, for aligned dword accesses on the fast path. */
  readonly i32: Int32Array;

  // ---- architectural state ----
  readonly regs = new Int32Array(8);
  eip = 0;
  readonly sreg = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Int32Array(6);
  readonly segAttr = new Int32Array(6);
  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  readonly dr = new Int32Array(8);
  gdtrBase = 0; gdtrLimit = 0; idtrBase = 0; idtrLimit = 0;
  ldtr = 0; ldtrBase = 0; ldtrLimit = 0;
  tr = 0; trBase = 0; trLimit = 0; trAttr = 0;
  cpl = 0;
  halted = false;

  // ---- EFLAGS: stored bits plus lazy arithmetic flags (flags.ts) ----
  flags = 2;
  lazy = 0;
  lop = 0;
  la = 0;
  lb = 0;
  lres = 0;
  lsz = 0;

  cycles = 0;
  instructions = 0;
  readonly breakpoints = new Set<number>();
  stopInfo: StopInfo | null = null;

  // ---- run-loop bookkeeping ----
  /** EIP of the instruction being executed (faults rewind to it). */
  insnStart = 0;
  /** Nonzero: the next boundary must take the slow path (boundary()). */
  boundaryWork = 1;
  private irqCheck = true;
  private inhibit = false;
  private stopRequested = false;
  private bpActive = false;
  private bpResume = -1;
  private dead: Stop = Stop.Budget;
  readonly fault = new CpuFault();

  // ---- segment fast-path limits: largest offset+size-1 allowed without the slow path ----
  readonly segLimR = new Float64Array(6);
  readonly segLimW = new Float64Array(6);
  /** TLB hit masks for the current CPL. */
  rmask = READ_MASK_SUP;
  wmask = WRITE_MASK_SUP;

  // ---- decoded-code cache ----
  private codeCache: (Insn | null)[][] | null[];
  private cacheD = -1;
  private fpBase = 0;
  private fpLen = 0;
  private fpArr: (Insn | null)[] = new Array<Insn | null>(4096).fill(null);
  private fpFrame = -1;
  private readonly scratch = new Insn();
  private lastCr3 = 0;
  private lastCr0 = 0;
  private lastCr4 = 0;
  /** Decoded-code counters (for the UI and tests). */
  decodes = 0;
  codeInvalidations = 0;
  /** Translated blocks per physical frame (for invalidation). */
  private frameBlocks: (Block[] | null)[];
  /**
   * Whether to build new blocks (tests compare runs with and without). Blocks already
   * built keep running until the code cache is flushed (flushCodeCache, reset, restore).
   */
  useBlocks = true;

  constructor(mem: PhysicalMemory, io: IoBus) {
    installHandlers();
    this.mem = mem;
    this.io = io;
    this.u8 = mem.u8;
    this.i32 = new Int32Array(mem.u8.buffer, mem.u8.byteOffset, mem.u8.byteLength >>> 2);
    this.mmu = new Mmu(mem, this);
    this.tlb = this.mmu.tlb;
    this.mmu.onFlush = () => { this.fpLen = 0; this.boundaryWork = 1; };
    this.codeCache = new Array<null>(mem.size >>> PAGE_SHIFT).fill(null);
    this.frameBlocks = new Array<null>(mem.size >>> PAGE_SHIFT).fill(null);
    mem.onCodeWrite = (frame) => this.onCodeWrite(frame);
    this.reset();
  }

  /** Power-on state: real mode, CS:IP = F000:FFF0 (base FFFF0000), interrupts off. */
  reset(): void {
    this.regs.fill(0);
    this.regs[2] = 0x0400; // EDX = family 4 at reset
    this.eip = 0xfff0;
    for (let s = 0; s < 6; s++) {
      this.sreg[s] = 0;
      this.segBase[s] = 0;
      this.segLimit[s] = 0xffff;
      this.segAttr[s] = 0x93;
    }
    this.sreg[1] = 0xf000;
    this.segBase[1] = 0xffff0000 | 0;
    this.segAttr[1] = 0x9b;
    this.cr0 = 0x60000010;
    this.cr2 = this.cr3 = this.cr4 = 0;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    this.gdtrBase = 0; this.gdtrLimit = 0xffff;
    this.idtrBase = 0; this.idtrLimit = 0xffff;
    this.ldtr = this.ldtrBase = 0; this.ldtrLimit = 0xffff;
    this.tr = this.trBase = 0; this.trLimit = 0xffff; this.trAttr = 0x8b;
    this.cpl = 0;
    this.halted = false;
    this.flags = 2;
    this.lazy = 0;
    this.stopInfo = null;
    this.dead = Stop.Budget;
    this.inhibit = false;
    this.mmu.flush();
    this.flushCodeCache();
    this.afterSystem();
  }

  // ==== EFLAGS ============================================================================

  getEflags(): number {
    return ((this.flags & ~OSZAPC) | statusFlags(this) | 2) >>> 0 | 0;
  }

  /** Writes every EFLAGS bit (privilege rules are the caller's). */
  setEflags(value: number): void {
    this.flags = (value & EFLAGS_SUPPORTED) | 2;
    this.lazy = 0;
    this.irqCheck = true;
    this.boundaryWork = 1;
  }

  /** CF as 0/1. */
  getCF(): number {
    return getCF(this);
  }

  // ==== exceptions ========================================================================

  /** Raises a guest exception: throws the preallocated CpuFault (errorCode -1: none). */
  raise(vector: number, errorCode = -1): never {
    this.fault.vector = vector;
    this.fault.errorCode = errorCode;
    throw this.fault;
  }

  /** Set by SS loads and STI: no interrupt before the next instruction completes. */
  get inhibitIrq(): boolean {
    return this.inhibit;
  }
  set inhibitIrq(v: boolean) {
    this.inhibit = v;
    if (v) this.boundaryWork = 1;
  }

  /**
   * Call after anything in system.ts ran: CS, CPL, CR0/CR3/CR4 or segment caches may have
   * changed. Recomputes the fast-path limits and masks, drops the code-page shortcut,
   * flushes the TLB if paging state changed behind our back, and rechecks interrupts.
   */
  afterSystem(): void {
    const pm = (this.cr0 & CR0_PE) !== 0;
    for (let s = 0; s < 6; s++) {
      const lim = this.segLimit[s] >>> 0;
      if (!pm) {
        this.segLimR[s] = lim;
        this.segLimW[s] = lim;
        continue;
      }
      const a = this.segAttr[s];
      if ((a & 0x80) === 0 || (a & 0x10) === 0 || (a & 0x0c) === 0x04) {
        // not present, system, or expand-down data: slow path checks everything
        this.segLimR[s] = -1;
        this.segLimW[s] = -1;
      } else if ((a & 0x08) !== 0) {
        this.segLimR[s] = (a & 2) !== 0 ? lim : -1;
        this.segLimW[s] = -1;
      } else {
        this.segLimR[s] = lim;
        this.segLimW[s] = (a & 2) !== 0 ? lim : -1;
      }
    }
    const user = this.cpl === 3;
    this.rmask = user ? READ_MASK_USER : READ_MASK_SUP;
    this.wmask = user ? WRITE_MASK_USER : WRITE_MASK_SUP;
    if (this.cr3 !== this.lastCr3 || ((this.cr0 ^ this.lastCr0) & 0x80010001) !== 0 || ((this.cr4 ^ this.lastCr4) & 0x10) !== 0) {
      // Paging state changed; system.ts flushes (and traces) on its paths, this catches
      // direct writes to the fields (tests, snapshot restore).
      if (this.mmu.flushes === this.lastFlushes) this.mmu.flush();
      this.lastCr3 = this.cr3;
      this.lastCr0 = this.cr0;
      this.lastCr4 = this.cr4;
    }
    this.lastFlushes = this.mmu.flushes;
    this.fpLen = 0;
    this.irqCheck = true;
    this.boundaryWork = 1;
  }
  private lastFlushes = -1;

  // ==== linear memory (paging) ============================================================

  private xlate(lin: number, write: boolean, user: boolean): number {
    return this.mmu.translateSlow(lin, write, user);
  }

  readLin8(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.rmask) === TLB_VALID) return this.u8[(e & ~0xfff) | (lin & 0xfff)];
    return this.mem.read8(this.xlate(lin, false, this.cpl === 3));
  }
  readLin16(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.rmask) === TLB_VALID && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      return this.u8[pa] | (this.u8[pa + 1] << 8);
    }
    return this.readLinSlow(lin, 2, this.cpl === 3);
  }
  readLin32(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.rmask) === TLB_VALID && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if ((pa & 3) === 0 && LITTLE_ENDIAN) return this.i32[pa >> 2] | 0;
      const m = this.u8;
      return m[pa] | (m[pa + 1] << 8) | (m[pa + 2] << 16) | (m[pa + 3] << 24);
    }
    return this.readLinSlow(lin, 4, this.cpl === 3);
  }
  writeLin8(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.wmask) === TLB_VALID) { this.u8[(e & ~0xfff) | (lin & 0xfff)] = v; return; }
    this.writeLinSlow(lin, 1, v, this.cpl === 3);
  }
  writeLin16(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.wmask) === TLB_VALID && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      this.u8[pa] = v;
      this.u8[pa + 1] = v >> 8;
      return;
    }
    this.writeLinSlow(lin, 2, v, this.cpl === 3);
  }
  writeLin32(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.wmask) === TLB_VALID && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if ((pa & 3) === 0 && LITTLE_ENDIAN) { this.i32[pa >> 2] = v; return; }
      const m = this.u8;
      m[pa] = v; m[pa + 1] = v >> 8; m[pa + 2] = v >> 16; m[pa + 3] = v >> 24;
      return;
    }
    this.writeLinSlow(lin, 4, v, this.cpl === 3);
  }

  /** Checks (and, on a miss, walks for) write access to `size` bytes at lin without writing. */
  probeWrite(lin: number, size: number): void {
    const user = this.cpl === 3;
    const e = this.tlb[lin >>> 12];
    if ((e & this.wmask) !== TLB_VALID) this.xlate(lin, true, user);
    // A fault on the second page reports its first byte in CR2.
    const next = ((lin | 0xfff) + 1) | 0;
    if ((lin & 0xfff) + size > 0x1000 && (this.tlb[next >>> 12] & this.wmask) !== TLB_VALID) this.xlate(next, true, user);
  }

  private readLinSlow(lin: number, size: number, user: boolean): number {
    const pa0 = this.xlate(lin, false, user);
    if (((lin & 0xfff) + size) <= 0x1000) return size === 2 ? this.mem.read16(pa0) : this.mem.read32(pa0);
    let v = 0;
    for (let k = 0; k < size; k++) {
      const l = (lin + k) | 0;
      const pa = k === 0 ? pa0 : this.xlate(l, false, user);
      v |= this.mem.read8(pa) << (8 * k);
    }
    return size === 2 ? v & 0xffff : v;
  }

  private writeLinSlow(lin: number, size: number, v: number, user: boolean): void {
    const off = lin & 0xfff;
    if (off + size <= 0x1000) {
      // A TLB hit except for the has-code bit: no walk needed, just tell the code cache.
      const e = this.tlb[lin >>> 12];
      const pa = (e & (this.wmask & ~TLB_CODE)) === TLB_VALID ? ((e & ~0xfff) | off) >>> 0 : this.xlate(lin, true, user);
      this.writePhys(pa, size, v);
      return;
    }
    // Crossing a page: translate both halves before writing anything.
    const pa0 = this.xlate(lin, true, user);
    const pa1 = this.xlate(((lin | 0xfff) + 1) | 0, true, user);
    const split = 0x1000 - off;
    for (let k = 0; k < size; k++) {
      const pa = k < split ? pa0 + k : pa1 + (k - split);
      this.writePhys(pa, 1, (v >>> (8 * k)) & 0xff);
    }
  }

  /**
   * A CPU store to physical memory outside the fast path. If the frame holds decoded code,
   * only the records that overlap the stored bytes are dropped (an instruction is at
   * most 15 bytes), so code and data sharing a page do not throw the whole page away.
   */
  private writePhys(pa: number, size: number, v: number): void {
    const frame = pa >>> 12;
    if (pa < this.mem.size && this.mem.codePages[frame] !== 0) {
      const arr = this.codeCache[frame];
      if (arr !== null) {
        const o = pa & 0xfff;
        for (let k = Math.max(0, o - 14); k < o; k++) {
          const r = arr[k];
          if (r !== null && k + r.len > o) arr[k] = null;
        }
        const end = Math.min(4096, o + size);
        for (let k = o; k < end; k++) arr[k] = null;
        this.codeInvalidations++;
        // A translated block over these bytes dies; if it is the one running, it stops
        // after this instruction (boundaryWork), like the loop refetching the next record.
        const bl = this.frameBlocks[frame];
        if (bl != null && bl.length !== 0 && killBlocks(bl, o, o + size) !== 0) this.boundaryWork = 1;
      }
      this.ownWrite = true;
    }
    if (size === 1) this.mem.write8(pa, v & 0xff);
    else if (size === 2) this.mem.write16(pa, v & 0xffff);
    else this.mem.write32(pa, v);
    this.ownWrite = false;
  }
  private ownWrite = false;

  /** Supervisor accesses (descriptor tables, the TSS, interrupt frames at any CPL). */
  sysReadLin8(lin: number): number { return this.mem.read8(this.sysPa(lin, false)); }
  sysReadLin16(lin: number): number {
    if ((lin & 0xfff) !== 0xfff) return this.mem.read16(this.sysPa(lin, false));
    return this.sysReadLin8(lin) | (this.sysReadLin8((lin + 1) | 0) << 8);
  }
  sysReadLin32(lin: number): number {
    if ((lin & 0xfff) <= 0xffc) return this.mem.read32(this.sysPa(lin, false));
    return this.sysReadLin16(lin) | (this.sysReadLin16((lin + 2) | 0) << 16);
  }
  sysWriteLin8(lin: number, v: number): void { this.mem.write8(this.sysPa(lin, true), v & 0xff); }
  sysWriteLin16(lin: number, v: number): void {
    if ((lin & 0xfff) !== 0xfff) { this.mem.write16(this.sysPa(lin, true), v & 0xffff); return; }
    this.sysPa(lin, true); this.sysPa((lin + 1) | 0, true);
    this.sysWriteLin8(lin, v); this.sysWriteLin8((lin + 1) | 0, v >> 8);
  }
  sysWriteLin32(lin: number, v: number): void {
    if ((lin & 0xfff) <= 0xffc) { this.mem.write32(this.sysPa(lin, true), v); return; }
    this.sysPa(lin, true); this.sysPa(((lin | 0xfff) + 1) | 0, true);
    this.sysWriteLin16(lin, v); this.sysWriteLin16((lin + 2) | 0, v >>> 16);
  }
  private sysPa(lin: number, write: boolean): number {
    const e = this.tlb[lin >>> 12];
    if ((e & (write ? WRITE_MASK_SUP : READ_MASK_SUP)) === TLB_VALID) return ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
    return this.xlate(lin, write, false);
  }

  // ==== segmented memory ==================================================================

  /**
   * The full segment check for an access the fast path refused: present, type (read/write
   * permission), limit (expand-down too). Raises #GP(0), or #SS(0) for SS. Returns linear.
   */
  segCheck(seg: number, off: number, size: number, write: boolean): number {
    const o = off >>> 0;
    const attr = this.segAttr[seg];
    const lim = this.segLimit[seg] >>> 0;
    const vec = seg === 2 ? 12 : 13;
    if ((this.cr0 & CR0_PE) !== 0) {
      if ((attr & 0x80) === 0) this.raise(vec, 0);
      if ((attr & 0x10) === 0) this.raise(vec, 0);
      if ((attr & 0x08) !== 0) {
        if (write || (attr & 2) === 0) this.raise(13, 0);
      } else if (write && (attr & 2) === 0) {
        this.raise(vec, 0);
      }
      if ((attr & 0x0c) === 0x04) {
        const upper = (attr & 0x4000) !== 0 ? 0xffffffff : 0xffff;
        if (o <= lim || o + size - 1 > upper) this.raise(vec, 0);
        return (this.segBase[seg] + o) | 0;
      }
    }
    if (o + size - 1 > lim) this.raise(vec, 0);
    return (this.segBase[seg] + o) | 0;
  }

  readMem8(seg: number, off: number): number {
    const o = off >>> 0;
    const lin = o > this.segLimR[seg] ? this.segCheck(seg, off, 1, false) : (this.segBase[seg] + o) | 0;
    return this.readLin8(lin);
  }
  readMem16(seg: number, off: number): number {
    const o = off >>> 0;
    const lin = o + 1 > this.segLimR[seg] ? this.segCheck(seg, off, 2, false) : (this.segBase[seg] + o) | 0;
    return this.readLin16(lin);
  }
  readMem32(seg: number, off: number): number {
    const o = off >>> 0;
    const lin = o + 3 > this.segLimR[seg] ? this.segCheck(seg, off, 4, false) : (this.segBase[seg] + o) | 0;
    return this.readLin32(lin);
  }
  writeMem8(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    const lin = o > this.segLimW[seg] ? this.segCheck(seg, off, 1, true) : (this.segBase[seg] + o) | 0;
    this.writeLin8(lin, v);
  }
  writeMem16(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    const lin = o + 1 > this.segLimW[seg] ? this.segCheck(seg, off, 2, true) : (this.segBase[seg] + o) | 0;
    this.writeLin16(lin, v);
  }
  writeMem32(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    const lin = o + 3 > this.segLimW[seg] ? this.segCheck(seg, off, 4, true) : (this.segBase[seg] + o) | 0;
    this.writeLin32(lin, v);
  }
  /**
   * Read-modify-write: checks the segment for writing and the page for writing (so a fault
   * comes before anything changes), returns the linear address to read and then write.
   */
  rmwLin(seg: number, off: number, size: number): number {
    const o = off >>> 0;
    const lin = o + size - 1 > this.segLimW[seg] ? this.segCheck(seg, off, size, true) : (this.segBase[seg] + o) | 0;
    this.probeWrite(lin, size);
    return lin;
  }

  // ==== stack =============================================================================

  /** SS.B: 32-bit stack pointer. */
  stack32(): boolean {
    return (this.segAttr[2] & 0x4000) !== 0;
  }
  push16(v: number): void {
    if (this.stack32()) {
      const sp = (this.regs[4] - 2) | 0;
      this.writeMem16(2, sp, v);
      this.regs[4] = sp;
    } else {
      const sp = (this.regs[4] - 2) & 0xffff;
      this.writeMem16(2, sp, v);
      this.regs[4] = (this.regs[4] & ~0xffff) | sp;
    }
  }
  push32(v: number): void {
    if (this.stack32()) {
      const sp = (this.regs[4] - 4) | 0;
      this.writeMem32(2, sp, v);
      this.regs[4] = sp;
    } else {
      const sp = (this.regs[4] - 4) & 0xffff;
      this.writeMem32(2, sp, v);
      this.regs[4] = (this.regs[4] & ~0xffff) | sp;
    }
  }
  pop16(): number {
    if (this.stack32()) {
      const v = this.readMem16(2, this.regs[4]);
      this.regs[4] = (this.regs[4] + 2) | 0;
      return v;
    }
    const sp = this.regs[4] & 0xffff;
    const v = this.readMem16(2, sp);
    this.regs[4] = (this.regs[4] & ~0xffff) | ((sp + 2) & 0xffff);
    return v;
  }
  pop32(): number {
    if (this.stack32()) {
      const v = this.readMem32(2, this.regs[4]);
      this.regs[4] = (this.regs[4] + 4) | 0;
      return v;
    }
    const sp = this.regs[4] & 0xffff;
    const v = this.readMem32(2, sp);
    this.regs[4] = (this.regs[4] & ~0xffff) | ((sp + 4) & 0xffff);
    return v;
  }
  /** Reads the stack at ESP + k without popping. */
  peekStack(k: number, size: number): number {
    const sp = this.stack32() ? (this.regs[4] + k) | 0 : (this.regs[4] + k) & 0xffff;
    return size === 4 ? this.readMem32(2, sp) : this.readMem16(2, sp);
  }
  addSp(k: number): void {
    if (this.stack32()) this.regs[4] = (this.regs[4] + k) | 0;
    else this.regs[4] = (this.regs[4] & ~0xffff) | ((this.regs[4] + k) & 0xffff);
  }

  // ==== code fetch and the decoded-code cache =============================================

  /** Byte k of the instruction at insnStart, through CS and paging (the decoder's reader). */
  codeByte(k: number): number {
    const off = (this.insnStart + k) >>> 0;
    if (off > (this.segLimit[1] >>> 0)) this.raise(13, 0);
    const lin = (this.segBase[1] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.rmask) === TLB_VALID) return this.u8[(e & ~0xfff) | (lin & 0xfff)];
    return this.mem.read8(this.xlate(lin, false, this.cpl === 3));
  }

  /** The decoded record for CS:EIP (decoding and caching it if needed). */
  fetch(): Insn {
    const off = this.eip - this.fpBase;
    if (off >= 0 && off < this.fpLen) {
      const r = this.fpArr[off];
      if (r !== null) return r;
    }
    return this.fetchSlow();
  }

  private fetchSlow(): Insn {
    const eip = this.eip;
    const csLim = this.segLimit[1] >>> 0;
    if (eip > csLim) this.raise(13, 0);
    const lin = (this.segBase[1] + eip) | 0;
    const pa = this.xlate(lin, false, this.cpl === 3);
    const d = (this.segAttr[1] >> 14) & 1;
    if (d !== this.cacheD) {
      this.flushCodeCache();
      this.cacheD = d;
    }
    const frame = pa >>> 12;
    if (pa >= this.mem.size) {
      decode(this, d === 1, this.scratch);
      this.decodes++;
      return this.scratch;
    }
    let arr = this.codeCache[frame];
    if (arr === null) {
      arr = new Array<Insn | null>(4096).fill(null);
      this.codeCache[frame] = arr;
      this.mem.codePages[frame] = 1;
      this.mmu.markCode(frame);
    }
    const pageOff = lin & 0xfff;
    this.fpArr = arr;
    this.fpFrame = frame;
    this.fpBase = eip - pageOff;
    this.fpLen = Math.min(4096, csLim - this.fpBase + 1);
    const rec = arr[pageOff];
    if (rec !== null) return rec;
    // Decode into the scratch record; keep a copy only if it lies wholly in this page.
    const sc = this.scratch;
    decode(this, d === 1, sc);
    this.decodes++;
    if (pageOff + sc.len > this.fpLen) return sc;
    const i = new Insn();
    i.copyFrom(sc);
    arr[pageOff] = i;
    return i;
  }

  /** memory.ts: a frame with decoded code was written by someone else (DMA, the loader, descriptor-table stores). */
  private onCodeWrite(frame: number): void {
    if (this.ownWrite) return;
    this.codeCache[frame] = null;
    this.frameBlocks[frame] = null;
    this.boundaryWork = 1;
    this.mem.codePages[frame] = 0;
    this.codeInvalidations++;
    if (frame === this.fpFrame) {
      this.fpLen = 0;
      this.fpFrame = -1;
    }
  }

  /** Drops every decoded instruction. */
  flushCodeCache(): void {
    const cc = this.codeCache;
    for (let f = 0; f < cc.length; f++) {
      if (cc[f] !== null) {
        cc[f] = null;
        this.mem.codePages[f] = 0;
      }
      this.frameBlocks[f] = null;
    }
    this.fpLen = 0;
    this.fpFrame = -1;
  }

  // ==== the run loop ======================================================================

  /** Ends run() at the next instruction boundary with Stop.Requested. */
  requestStop(): void {
    this.stopRequested = true;
    this.boundaryWork = 1;
  }

  /** Runs at most `budget` cycles. Never throws. */
  run(budget: number): Stop {
    if (this.dead !== Stop.Budget) return this.dead;
    const limit = this.cycles + budget;
    this.bpActive = this.breakpoints.size > 0;
    // Anyone (the machine, a monitor, a debugger) may have changed the state between runs.
    this.afterSystem();
    for (;;) {
      try {
        return this.loop(limit);
      } catch (e) {
        if (e !== this.fault) return this.internalError(e);
        this.dispatchFault();
        if (this.dead !== Stop.Budget) return this.dead;
      }
    }
  }

  /** One instruction (or one interrupt delivery). */
  step(): Stop {
    if (this.dead !== Stop.Budget) return this.dead;
    // Stepping ignores a breakpoint at the current instruction.
    this.bpResume = this.linearEip();
    return this.run(1);
  }

  private loop(limit: number): Stop {
    for (;;) {
      if (this.cycles >= limit) return Stop.Budget;
      if (this.boundaryWork !== 0) {
        const s = this.boundary();
        if (s >= 0) return s;
        if (s === -2) continue;
      }
      const eip = this.eip;
      this.insnStart = eip;
      // fetch(), inlined: the current code page's record for this EIP, else the slow path.
      const off = eip - this.fpBase;
      let i: Insn | null = off >= 0 && off < this.fpLen ? this.fpArr[off] : null;
      if (i === null) i = this.fetchSlow();
      const blk = i.block;
      if (blk !== null) {
        // A translated block: only if it fits in the budget and within the CS limit.
        if (this.cycles + blk.count <= limit && blk.endOff <= this.fpLen) {
          blk.fn(this, limit);
          continue;
        }
      } else if (++i.hits >= HOT_THRESHOLD && this.useBlocks && i !== this.scratch) {
        this.translate_(i, eip);
      }
      this.eip = eip + i.len;
      i.handler(this, i);
      this.cycles++;
      this.instructions++;
    }
  }

  /** Builds a block at the record `i` (the current page's record for `eip`); never throws. */
  private translate_(i: Insn, eip: number): void {
    i.hits = 0;
    const off = eip - this.fpBase;
    if (off < 0 || off >= this.fpLen || this.fpArr[off] !== i || this.fpFrame < 0) return;
    let b: Block | null;
    try {
      b = buildBlock(this.fpArr, off, this.fpLen, NO_BLOCK);
    } catch {
      // A host that forbids run-time code (a Content-Security-Policy without
      // 'unsafe-eval') makes new Function throw: interpret everything from now on.
      this.useBlocks = false;
      return;
    }
    if (b === null) return;
    i.block = b;
    let list = this.frameBlocks[this.fpFrame];
    if (list == null) { list = []; this.frameBlocks[this.fpFrame] = list; }
    list.push(b);
  }

  /** -1: go on; -2: an instruction or event was handled here, loop again; >= 0: stop. */
  private boundary(): number {
    if (this.dead !== Stop.Budget) return this.dead;
    if (this.stopRequested) {
      this.stopRequested = false;
      return Stop.Requested;
    }
    if (this.inhibit) {
      // The instruction after MOV SS / STI runs before any interrupt or trap.
      this.inhibit = false;
      this.boundaryWork = 1;
      return -1;
    }
    if (this.irqCheck) {
      if ((this.flags & IF) !== 0 && this.intr !== null && this.intr.pending()) {
        const vector = this.intr.acknowledge() & 0xff;
        this.halted = false;
        this.insnStart = this.eip;
        sys.deliverExternal(this, vector);
        this.cycles++;
        this.afterSystem();
        return this.dead !== Stop.Budget ? this.dead : -2;
      }
      this.irqCheck = false;
    }
    if (this.halted) {
      this.irqCheck = true;
      this.boundaryWork = 1;
      return Stop.Halted;
    }
    if (this.bpActive) {
      const lin = this.linearEip();
      if (this.breakpoints.has(lin) && lin !== this.bpResume) {
        this.bpResume = lin;
        return Stop.Breakpoint;
      }
      this.bpResume = -1;
    }
    if ((this.flags & TF) !== 0) {
      this.singleStep();
      return this.dead !== Stop.Budget ? this.dead : -2;
    }
    this.boundaryWork = this.bpActive || this.irqCheck || this.inhibit || this.halted || this.stopRequested ? 1 : 0;
    return -1;
  }

  /** Runs one instruction with EFLAGS.TF set, then takes the single-step #DB trap. */
  private singleStep(): void {
    const eip = this.eip;
    this.insnStart = eip;
    const i = this.fetch();
    this.eip = eip + i.len;
    i.handler(this, i);
    this.cycles++;
    this.instructions++;
    this.dr[6] |= 0x4000; // BS
    this.insnStart = this.eip;
    this.halted = false; // a trap after HLT is taken, as an interrupt would be
    sys.deliverException(this, 1, -1);
    this.afterSystem();
  }

  private dispatchFault(): void {
    const vector = this.fault.vector;
    const code = this.fault.errorCode;
    this.eip = this.insnStart;
    this.halted = false;
    this.cycles++;
    try {
      sys.deliverException(this, vector, code);
    } catch (e) {
      if (e === this.fault) this.stop('error', `fault ${this.fault.vector} escaped exception delivery`, Stop.Error);
      else this.internalError(e);
    }
    this.afterSystem();
  }

  private internalError(e: unknown): Stop {
    const msg = e instanceof Error ? `${e.message}` : String(e);
    this.stop('error', `internal error: ${msg}`, Stop.Error);
    return Stop.Error;
  }

  /** Stops the machine for good (until reset or restore) with a report. */
  stop(kind: StopInfo['kind'], what: string, code: Stop = Stop.Error): void {
    this.stopInfo = {
      kind, what, where: this.linearEip(), cs: this.sreg[1], eip: this.eip >>> 0,
      lastEvents: this.trace.last(16),
    };
    this.dead = code;
    this.boundaryWork = 1;
  }

  linearEip(): number {
    return (this.segBase[1] + this.eip) >>> 0;
  }

  // ==== debugger views ====================================================================

  translate(linear: number, write: boolean, user: boolean): number {
    return this.mmu.peek(linear, write, user);
  }

  readLinear(linear: number, length: number): Uint8Array | null {
    if (length < 0 || length > 1 << 20) return null;
    const out = new Uint8Array(length);
    for (let k = 0; k < length; k++) {
      const pa = this.mmu.peek((linear + k) | 0, false, false);
      if (pa < 0) return null;
      out[k] = this.mem.read8(pa);
    }
    return out;
  }

  readRegisters(): RegisterFile {
    const r = this.regs;
    return {
      eax: r[0] >>> 0, ecx: r[1] >>> 0, edx: r[2] >>> 0, ebx: r[3] >>> 0,
      esp: r[4] >>> 0, ebp: r[5] >>> 0, esi: r[6] >>> 0, edi: r[7] >>> 0,
      eip: this.eip >>> 0, eflags: this.getEflags() >>> 0,
      es: this.sreg[0], cs: this.sreg[1], ss: this.sreg[2], ds: this.sreg[3], fs: this.sreg[4], gs: this.sreg[5],
      cr0: this.cr0 >>> 0, cr2: this.cr2 >>> 0, cr3: this.cr3 >>> 0, cr4: this.cr4 >>> 0,
      cpl: this.cpl, halted: this.halted,
      segBase: Array.from(this.segBase, (v) => v >>> 0),
      segLimit: Array.from(this.segLimit, (v) => v >>> 0),
      segAttr: Array.from(this.segAttr),
      gdtrBase: this.gdtrBase >>> 0, gdtrLimit: this.gdtrLimit, idtrBase: this.idtrBase >>> 0, idtrLimit: this.idtrLimit,
      ldtr: this.ldtr, tr: this.tr,
    };
  }

  snapshot(): CpuSnapshot {
    return {
      regs: this.regs.slice(), eip: this.eip, eflags: this.getEflags(),
      sreg: this.sreg.slice(), segBase: this.segBase.slice(), segLimit: this.segLimit.slice(), segAttr: this.segAttr.slice(),
      cr0: this.cr0, cr2: this.cr2, cr3: this.cr3, cr4: this.cr4, dr: this.dr.slice(),
      gdtrBase: this.gdtrBase, gdtrLimit: this.gdtrLimit, idtrBase: this.idtrBase, idtrLimit: this.idtrLimit,
      ldtr: this.ldtr, ldtrBase: this.ldtrBase, ldtrLimit: this.ldtrLimit,
      tr: this.tr, trBase: this.trBase, trLimit: this.trLimit, trAttr: this.trAttr,
      cpl: this.cpl, halted: this.halted, cycles: this.cycles, instructions: this.instructions, inhibitIrq: this.inhibit,
    };
  }

  restore(s: CpuSnapshot): void {
    this.regs.set(s.regs); this.eip = s.eip;
    this.sreg.set(s.sreg); this.segBase.set(s.segBase); this.segLimit.set(s.segLimit); this.segAttr.set(s.segAttr);
    this.cr0 = s.cr0; this.cr2 = s.cr2; this.cr3 = s.cr3; this.cr4 = s.cr4; this.dr.set(s.dr);
    this.gdtrBase = s.gdtrBase; this.gdtrLimit = s.gdtrLimit; this.idtrBase = s.idtrBase; this.idtrLimit = s.idtrLimit;
    this.ldtr = s.ldtr; this.ldtrBase = s.ldtrBase; this.ldtrLimit = s.ldtrLimit;
    this.tr = s.tr; this.trBase = s.trBase; this.trLimit = s.trLimit; this.trAttr = s.trAttr;
    this.cpl = s.cpl; this.halted = s.halted; this.cycles = s.cycles; this.instructions = s.instructions;
    this.setEflags(s.eflags);
    this.inhibit = s.inhibitIrq;
    this.stopInfo = null;
    this.dead = Stop.Budget;
    this.mmu.flush();
    this.flushCodeCache();
    this.afterSystem();
  }

  // ==== small helpers for handlers ========================================================

  /** Materialises the lazy flags and sets/clears CF (CLC, STC, CMC and friends). */
  setCF(v: number): void {
    materialise(this);
    this.flags = (this.flags & ~CF) | (v & 1);
  }
  /** DF as +1 / -1 step multiplier. */
  dir(): number {
    return (this.flags & DF) !== 0 ? -1 : 1;
  }
  /** Interrupt check after I/O (a device may have raised INTR). */
  ioDone(): void {
    this.irqCheck = true;
    this.boundaryWork = 1;
  }
}
