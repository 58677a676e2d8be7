/*
 * The system instructions: control and debug registers, the descriptor-table registers,
 * LAR/LSL/VERR/VERW, HLT, INVLPG, and the IOPL-sensitive CLI/STI/IN/OUT/POPF rules.
 *
 * The privilege rules live here, in one place, not in the instruction handlers:
 *   - privileged (CPL 0 only, else #GP(0)): MOV to/from CRn and DRn, LGDT, LIDT, LLDT, LTR,
 *     CLTS, LMSW, HLT, INVLPG - each function below checks `requireRing0` itself;
 *   - IOPL-sensitive (#GP(0) when CPL > IOPL): CLI, STI, and IN/OUT/INS/OUTS unless the TSS
 *     I/O permission bitmap allows the port (checkIo);
 *   - POPF at CPL > IOPL does not fault: IF is silently kept (popfAllowedMask, transfers.ts);
 *   - and, by design of the i486, SGDT, SIDT, SLDT, STR, SMSW and PUSHF work at any ring,
 *     reading the real values (the instruction handlers read the fields directly).
 * Those last two facts are why a ring-1 guest kernel cannot be virtualized by trapping
 * alone, and why Xen and VMI change the kernel instead. Next: ../ops/sys.ts, the handlers
 * that decode these instructions and call in here.
 */

import { Ev } from '../../trace/trace';
import {
  CR0_CD, CR0_ET, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR4_DE, CR4_PSE,
  CS, DS, ES, FS, GS, SS, F_IF, Vec,
  fault, flushTlb, flushTlbPage, iopl, isProtected,
  type SysCpu,
} from './cpuview';
import {
  D, dAccess, dAttr, dBase, dDpl, dLimit, dPresent, fetchDescriptor, inhibitInterrupts,
  isConformingAcc, isDataAcc, isNullSel, isReadableCodeAcc, isWritableDataAcc, selErr,
} from './descriptors';

/** The CR0 bits the i486 implements; the rest read as written zeros. */
const CR0_DEFINED = 0xe005003f;
/** The CR4 bits the lab implements (PSE only, see opcodes.ts); setting any other is #GP(0). */
const CR4_DEFINED = CR4_PSE;

/** Opcodes reported in PrivInsn trace events (a = opcode, b = detail). */
export const enum PrivOp {
  MovToCr = 0x0f22, MovToDr = 0x0f23, Lgdt = 0x0f0102, Lidt = 0x0f0103, Lldt = 0x0f0002,
  Ltr = 0x0f0003, Clts = 0x0f06, Lmsw = 0x0f0106, Invlpg = 0x0f0107,
}

/** #GP(0) unless at CPL 0 (real mode is CPL 0). */
export function requireRing0(cpu: SysCpu): void {
  if (cpu.cpl !== 0 && isProtected(cpu)) fault(cpu, Vec.GP, 0);
}

function requireProtected(cpu: SysCpu): void {
  if (!isProtected(cpu)) fault(cpu, Vec.UD, -1);
}

function priv(cpu: SysCpu, op: PrivOp, detail: number): void {
  cpu.trace.emit(Ev.PrivInsn, cpu.cycles, cpu.cpl, cpu.insnStart, op, detail, 0);
}

// ---- control and debug registers --------------------------------------------------------

/** MOV CRn, r32. CR0: PG needs PE, NW needs CD; paging changes flush the TLB. */
export function movToCr(cpu: SysCpu, n: number, value: number): void {
  requireRing0(cpu);
  switch (n) {
    case 0: {
      const v = ((value | CR0_ET) & CR0_DEFINED) | 0;
      if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) fault(cpu, Vec.GP, 0);
      if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) fault(cpu, Vec.GP, 0);
      const old = cpu.cr0;
      cpu.cr0 = v;
      if ((v & CR0_PE) === 0) cpu.cpl = 0;
      if (((old ^ v) & (CR0_PG | CR0_PE | CR0_WP)) !== 0) flushTlb(cpu);
      break;
    }
    case 2:
      cpu.cr2 = value | 0;
      break;
    case 3: {
      const old = cpu.cr3;
      cpu.cr3 = value & 0xfffff018;
      cpu.trace.emit(Ev.Cr3Load, cpu.cycles, cpu.cpl, cpu.insnStart, cpu.cr3, old, 0);
      flushTlb(cpu);
      break;
    }
    case 4: {
      if ((value & ~CR4_DEFINED) !== 0) fault(cpu, Vec.GP, 0);
      const old = cpu.cr4;
      cpu.cr4 = value & CR4_DEFINED;
      if (((old ^ cpu.cr4) & CR4_PSE) !== 0) flushTlb(cpu);
      break;
    }
    default:
      fault(cpu, Vec.UD, -1);
  }
  priv(cpu, PrivOp.MovToCr, n);
}

/** MOV r32, CRn. */
export function movFromCr(cpu: SysCpu, n: number): number {
  requireRing0(cpu);
  switch (n) {
    case 0: return cpu.cr0;
    case 2: return cpu.cr2;
    case 3: return cpu.cr3;
    case 4: return cpu.cr4;
    default: return fault(cpu, Vec.UD, -1);
  }
}

/** DR4/DR5 alias DR6/DR7 unless CR4.DE, which makes them #UD. */
function drIndex(cpu: SysCpu, n: number): number {
  if (n === 4 || n === 5) {
    if ((cpu.cr4 & CR4_DE) !== 0) fault(cpu, Vec.UD, -1);
    return n + 2;
  }
  return n;
}

/**
 * MOV DRn, r32. The registers are stored (DR6/DR7 with their fixed bits) but hardware
 * breakpoints are not armed by them: the lab's debugger has its own breakpoints.
 */
export function movToDr(cpu: SysCpu, n: number, value: number): void {
  requireRing0(cpu);
  const i = drIndex(cpu, n & 7);
  if (i === 6) value = (value | 0xffff0ff0) & ~0x1000;
  else if (i === 7) value = (value | 0x400) & ~0xd800;
  cpu.dr[i] = value;
  priv(cpu, PrivOp.MovToDr, i);
}

/** MOV r32, DRn. */
export function movFromDr(cpu: SysCpu, n: number): number {
  requireRing0(cpu);
  return cpu.dr[drIndex(cpu, n & 7)];
}

/** CLTS: clears CR0.TS (the lazy FPU switch flag). */
export function clts(cpu: SysCpu): void {
  requireRing0(cpu);
  cpu.cr0 &= ~CR0_TS;
  priv(cpu, PrivOp.Clts, 0);
}

/** LMSW: loads CR0 bits 0-3; it can set PE but never clear it. */
export function lmsw(cpu: SysCpu, v: number): void {
  requireRing0(cpu);
  const old = cpu.cr0;
  cpu.cr0 = (old & ~0xe) | (v & 0xe) | ((old | v) & CR0_PE);
  if (((old ^ cpu.cr0) & CR0_PE) !== 0) flushTlb(cpu);
  priv(cpu, PrivOp.Lmsw, v & 0xffff);
}

// ---- descriptor-table registers ---------------------------------------------------------

/** LGDT: `base` already cut to 24 bits by the instruction when the operand size is 16. */
export function lgdt(cpu: SysCpu, base: number, limit: number): void {
  requireRing0(cpu);
  cpu.gdtrBase = base | 0;
  cpu.gdtrLimit = limit & 0xffff;
  priv(cpu, PrivOp.Lgdt, base);
}

/** LIDT: as LGDT, for the interrupt descriptor table (the IVT in real mode). */
export function lidt(cpu: SysCpu, base: number, limit: number): void {
  requireRing0(cpu);
  cpu.idtrBase = base | 0;
  cpu.idtrLimit = limit & 0xffff;
  priv(cpu, PrivOp.Lidt, base);
}

/** LLDT: an LDT descriptor from the GDT, or a null selector (no LDT). */
export function lldt(cpu: SysCpu, selector: number): void {
  requireProtected(cpu);
  requireRing0(cpu);
  const sel = selector & 0xffff;
  if (isNullSel(sel)) {
    cpu.ldtr = sel; cpu.ldtrBase = 0; cpu.ldtrLimit = 0;
  } else {
    if ((sel & 4) !== 0 || !fetchDescriptor(cpu, sel)) fault(cpu, Vec.GP, selErr(sel));
    if ((dAccess() & 0x1f) !== 2) fault(cpu, Vec.GP, selErr(sel));
    if (!dPresent()) fault(cpu, Vec.NP, selErr(sel));
    cpu.ldtr = sel; cpu.ldtrBase = dBase(); cpu.ldtrLimit = dLimit();
  }
  priv(cpu, PrivOp.Lldt, sel);
}

/** LTR: an available TSS from the GDT; it is marked busy in memory. */
export function ltr(cpu: SysCpu, selector: number): void {
  requireProtected(cpu);
  requireRing0(cpu);
  const sel = selector & 0xffff;
  if (isNullSel(sel)) fault(cpu, Vec.GP, 0);
  if ((sel & 4) !== 0 || !fetchDescriptor(cpu, sel)) fault(cpu, Vec.GP, selErr(sel));
  const t = dAccess() & 0x1f;
  if (t !== 1 && t !== 9) fault(cpu, Vec.GP, selErr(sel));
  if (!dPresent()) fault(cpu, Vec.NP, selErr(sel));
  D.hi |= 0x200;
  cpu.sysWriteLin8((D.addr + 5) | 0, dAccess());
  cpu.tr = sel; cpu.trBase = dBase(); cpu.trLimit = dLimit(); cpu.trAttr = dAttr();
  priv(cpu, PrivOp.Ltr, sel);
}

// ---- LAR, LSL, VERR, VERW: ask about a selector without faulting -------------------------

/** Fetches `sel` for LAR/LSL/VERR/VERW: false if null or outside its table. */
function probe(cpu: SysCpu, sel: number): boolean {
  requireProtected(cpu);
  return !isNullSel(sel) && fetchDescriptor(cpu, sel);
}

/** DPL >= max(CPL, RPL), the visibility rule for all but conforming code. */
function visible(cpu: SysCpu, sel: number): boolean {
  const dpl = dDpl();
  return dpl >= cpu.cpl && dpl >= (sel & 3);
}

/** LAR: the access rights dword (descriptor dword 1 & 0x00F0FF00), or -1 (ZF=0). */
export function lar(cpu: SysCpu, selector: number): number {
  const sel = selector & 0xffff;
  if (!probe(cpu, sel)) return -1;
  const acc = dAccess();
  if ((acc & 0x10) === 0) {
    const t = acc & 0xf;
    if (t === 0 || t === 6 || t === 7 || t === 8 || t === 10 || t === 13 || t === 14 || t === 15) return -1;
  }
  if (!isConformingAcc(acc) && !visible(cpu, sel)) return -1;
  return D.hi & 0x00f0ff00;
}

/** LSL: the segment's byte limit as an unsigned number (0..0xFFFFFFFF), or -1 (ZF=0). */
export function lsl(cpu: SysCpu, selector: number): number {
  const sel = selector & 0xffff;
  if (!probe(cpu, sel)) return -1;
  const acc = dAccess();
  if ((acc & 0x10) === 0) {
    const t = acc & 0xf;
    if (t !== 1 && t !== 2 && t !== 3 && t !== 9 && t !== 11) return -1;
  }
  if (!isConformingAcc(acc) && !visible(cpu, sel)) return -1;
  return dLimit() >>> 0;
}

/** VERR: 0 (ZF=1) if the segment is readable from here, else -1. */
export function verr(cpu: SysCpu, selector: number): number {
  const sel = selector & 0xffff;
  if (!probe(cpu, sel)) return -1;
  const acc = dAccess();
  if (!(isDataAcc(acc) || isReadableCodeAcc(acc))) return -1;
  if (!isConformingAcc(acc) && !visible(cpu, sel)) return -1;
  return 0;
}

/** VERW: 0 (ZF=1) if the segment is writable from here, else -1. */
export function verw(cpu: SysCpu, selector: number): number {
  const sel = selector & 0xffff;
  if (!probe(cpu, sel)) return -1;
  if (!isWritableDataAcc(dAccess()) || !visible(cpu, sel)) return -1;
  return 0;
}

// ---- HLT, INVLPG --------------------------------------------------------------------------

/** HLT: the CPU idles until an interrupt (the run loop returns Stop.Halted). */
export function hlt(cpu: SysCpu): void {
  requireRing0(cpu);
  cpu.halted = true;
  cpu.trace.emit(Ev.Halt, cpu.cycles, cpu.cpl, cpu.insnStart, 0, 0, 0);
}

/** INVLPG m: drops one page's translation. */
export function invlpg(cpu: SysCpu, linear: number): void {
  requireRing0(cpu);
  flushTlbPage(cpu, linear | 0);
  priv(cpu, PrivOp.Invlpg, linear | 0);
}

// ---- IOPL-sensitive instructions ----------------------------------------------------------

/**
 * IN/OUT/INS/OUTS permission: allowed in real mode or at CPL <= IOPL; otherwise every bit
 * of the port range must be clear in the 32-bit TSS's I/O permission bitmap (its offset is
 * the word at TSS+0x66; a port past the TSS limit counts as denied). Denied: #GP(0).
 */
export function checkIo(cpu: SysCpu, port: number, size: number): void {
  if (!isProtected(cpu) || cpu.cpl <= iopl(cpu)) return;
  const limit = cpu.trLimit >>> 0;
  if ((cpu.tr & 0xfffc) === 0 || (cpu.trAttr & 0xf) !== 0xb || limit < 0x67) fault(cpu, Vec.GP, 0);
  const mapBase = cpu.sysReadLin16((cpu.trBase + 0x66) | 0);
  const p = port & 0xffff;
  const at = mapBase + (p >>> 3);
  if (at + 1 > limit) fault(cpu, Vec.GP, 0);
  const bits = cpu.sysReadLin16((cpu.trBase + at) | 0);
  const want = ((1 << size) - 1) << (p & 7);
  if ((bits & want) !== 0) fault(cpu, Vec.GP, 0);
}

/** CLI: #GP(0) at CPL > IOPL in protected mode. */
export function cli(cpu: SysCpu): void {
  if (isProtected(cpu) && cpu.cpl > iopl(cpu)) fault(cpu, Vec.GP, 0);
  cpu.setEflags(cpu.getEflags() & ~F_IF);
}

/** STI: as CLI; setting IF holds interrupts off for one more instruction (the STI shadow). */
export function sti(cpu: SysCpu): void {
  if (isProtected(cpu) && cpu.cpl > iopl(cpu)) fault(cpu, Vec.GP, 0);
  const f = cpu.getEflags();
  if ((f & F_IF) === 0) {
    cpu.setEflags(f | F_IF);
    inhibitInterrupts(cpu);
  }
}

// ---- the Multiboot entry state ------------------------------------------------------------

/**
 * The machine state a Multiboot loader hands over (Multiboot 0.6.96, section 3.2): flat
 * 4 GiB 32-bit code in CS (selector 0x08) and data in DS/ES/FS/GS/SS (0x10), PE=1, PG=0,
 * CPL 0, IF=0. GDTR is left as it is: the kernel must load its own GDT before reloading
 * a segment register.
 */
export function setFlatProtectedMode(cpu: SysCpu): void {
  cpu.cr0 = (cpu.cr0 | CR0_PE | CR0_ET) & ~CR0_PG;
  cpu.cpl = 0;
  for (const s of [ES, CS, SS, DS, FS, GS]) {
    cpu.sreg[s] = s === CS ? 0x08 : 0x10;
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = -1;
    cpu.segAttr[s] = s === CS ? 0xc09b : 0xc093;
  }
  cpu.setEflags((cpu.getEflags() & ~(F_IF | 0x20000)) | 2);
  flushTlb(cpu);
}

