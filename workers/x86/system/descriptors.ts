/*
 * Segmentation: how a selector becomes a segment. A selector (index << 3 | TI << 2 | RPL)
 * names an 8-byte descriptor in the GDT (TI=0) or the current LDT (TI=1). A code or data
 * descriptor holds a base, a 20-bit limit (in 4 KiB units when G=1), and an access byte:
 *
 *   bit 7 P present | bits 6-5 DPL | bit 4 S (1 = code/data) | bits 3-0 type
 *   code: 1 C R A (conforming, readable, accessed)   data: 0 E W A (expand-down, writable)
 *
 * Loading a segment register checks the descriptor against the manual's rules (Intel SDM
 * vol. 3, 5.5-5.8, and the MOV/POP/LDS pseudo-code) and copies base, limit and attributes
 * into the hidden part of the register (cpu.segBase / segLimit / segAttr), so later accesses
 * never read the table again. A null selector may be loaded into DS/ES/FS/GS; the segment is
 * then unusable: segAttr is 0 (P clear) and any access through it must raise #GP(0).
 *
 * Also here: the ring-stack helpers used by interrupts, calls and returns, which write a
 * whole frame only after every check has passed, so a fault leaves the registers untouched.
 * Next: interrupts.ts.
 */

import {
  CS, SS, Vec, fault, isProtected,
  type SysCpu,
} from './cpuview';

/** Access-byte masks (descriptor bits 40..47). */
export const ACC_P = 0x80, ACC_S = 0x10, ACC_CODE = 0x08, ACC_A = 0x01;

/** System descriptor types (S = 0). */
export const enum SysType {
  Tss16 = 1, Ldt = 2, Tss16Busy = 3, CallGate16 = 4, TaskGate = 5, IntGate16 = 6, TrapGate16 = 7,
  Tss32 = 9, Tss32Busy = 11, CallGate32 = 12, IntGate32 = 14, TrapGate32 = 15,
}

/**
 * The descriptor last fetched: its two dwords and its linear address. One preallocated
 * object, filled by fetchDescriptor, read right after (nothing here is re-entrant).
 */
export const D = { lo: 0, hi: 0, addr: 0 };

export function dAccess(): number { return (D.hi >>> 8) & 0xff; }
export function dDpl(): number { return (D.hi >>> 13) & 3; }
export function dPresent(): boolean { return (D.hi & 0x8000) !== 0; }
export function dBase(): number { return ((D.lo >>> 16) | ((D.hi & 0xff) << 16) | (D.hi & 0xff000000)) | 0; }
export function dLimit(): number {
  const raw = (D.lo & 0xffff) | (D.hi & 0xf0000);
  return (D.hi & 0x800000) !== 0 ? ((raw << 12) | 0xfff) : raw;
}
/** Bits 40..55 as the segAttr field stores them: access byte + the G/D-B/L/AVL nibble. */
export function dAttr(): number { return (D.hi >>> 8) & 0xf0ff; }

export function isCodeAcc(acc: number): boolean { return (acc & 0x18) === 0x18; }
export function isDataAcc(acc: number): boolean { return (acc & 0x18) === 0x10; }
export function isConformingAcc(acc: number): boolean { return (acc & 0x1c) === 0x1c; }
export function isReadableCodeAcc(acc: number): boolean { return (acc & 0x1a) === 0x1a; }
export function isWritableDataAcc(acc: number): boolean { return (acc & 0x1a) === 0x12; }
/** Selector with RPL stripped, as error codes carry it. */
export function selErr(sel: number): number { return sel & 0xfffc; }
export function isNullSel(sel: number): boolean { return (sel & 0xfffc) === 0; }

/**
 * Reads the descriptor `sel` names into D. False when it lies beyond the table's limit
 * (or TI=1 with no LDT loaded): the caller raises the fault its instruction defines. Page
 * faults while reading the table propagate, as on hardware.
 */
export function fetchDescriptor(cpu: SysCpu, sel: number): boolean {
  const index = sel & 0xfff8;
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((cpu.ldtr & 0xfffc) === 0) return false;
    base = cpu.ldtrBase; limit = cpu.ldtrLimit;
  } else {
    base = cpu.gdtrBase; limit = cpu.gdtrLimit;
  }
  if ((index + 7) > (limit >>> 0)) return false;
  const addr = (base + index) | 0;
  D.addr = addr;
  D.lo = cpu.sysReadLin32(addr);
  D.hi = cpu.sysReadLin32((addr + 4) | 0);
  return true;
}

/** Sets the descriptor's accessed bit in memory (code and data segments), as the CPU does. */
export function markAccessed(cpu: SysCpu): void {
  if ((D.hi & 0x100) === 0) {
    D.hi |= 0x100;
    cpu.sysWriteLin8((D.addr + 5) | 0, (D.hi >>> 8) & 0xff);
  }
}

/** Copies D into a segment register's hidden part. */
export function loadCache(cpu: SysCpu, seg: number, sel: number): void {
  cpu.sreg[seg] = sel;
  cpu.segBase[seg] = dBase();
  cpu.segLimit[seg] = dLimit();
  cpu.segAttr[seg] = dAttr();
}

/** Sets SS and its hidden part from values checked earlier (a ring change commits its new stack). */
export function setSsCache(cpu: SysCpu, sel: number, base: number, limit: number, attr: number): void {
  cpu.sreg[SS] = sel;
  cpu.segBase[SS] = base;
  cpu.segLimit[SS] = limit;
  cpu.segAttr[SS] = attr;
}

/** Loads CS from D at privilege `cpl` (the selector's RPL becomes the new CPL). */
export function loadCs(cpu: SysCpu, sel: number, cpl: number): void {
  loadCache(cpu, CS, (sel & 0xfffc) | cpl);
  cpu.cpl = cpl;
}

/** An unusable segment, as a null selector or a return to an outer ring leaves it. */
export function loadNull(cpu: SysCpu, seg: number, sel: number): void {
  cpu.sreg[seg] = sel;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = 0;
  cpu.segAttr[seg] = 0;
}

/** Real-mode segment load: base = selector * 16; limit and attributes are kept. */
export function loadReal(cpu: SysCpu, seg: number, sel: number): void {
  sel &= 0xffff;
  cpu.sreg[seg] = sel;
  cpu.segBase[seg] = sel << 4;
}

/** Set after a load of SS (and by STI): interrupts are held off for the next instruction. */
export function inhibitInterrupts(cpu: SysCpu): void {
  (cpu as SysCpu & { inhibitIrq: boolean }).inhibitIrq = true;
}

/**
 * MOV Sreg / POP Sreg / LDS..LGS: load segment register `seg` (ES, SS, DS, FS, GS; a CS
 * load here is treated as a same-privilege far jump's code check) with `selector`.
 */
export function loadSeg(cpu: SysCpu, seg: number, selector: number): void {
  const sel = selector & 0xffff;
  if (!isProtected(cpu)) {
    loadReal(cpu, seg, sel);
    if (seg === SS) inhibitInterrupts(cpu);
    return;
  }
  if (seg === SS) { loadSs(cpu, sel); inhibitInterrupts(cpu); return; }
  if (seg === CS) { loadCsSamePrivilege(cpu, sel); return; }
  if (isNullSel(sel)) { loadNull(cpu, seg, sel); return; }
  if (!fetchDescriptor(cpu, sel)) fault(cpu, Vec.GP, selErr(sel));
  const acc = dAccess();
  if (!(isDataAcc(acc) || isReadableCodeAcc(acc))) fault(cpu, Vec.GP, selErr(sel));
  if (!isConformingAcc(acc)) {
    const dpl = dDpl();
    if ((sel & 3) > dpl || cpu.cpl > dpl) fault(cpu, Vec.GP, selErr(sel));
  }
  if (!dPresent()) fault(cpu, Vec.NP, selErr(sel));
  markAccessed(cpu);
  loadCache(cpu, seg, sel);
}

/** SS at the current privilege: writable data, RPL = DPL = CPL, present (#SS otherwise). */
function loadSs(cpu: SysCpu, sel: number): void {
  if (isNullSel(sel)) fault(cpu, Vec.GP, 0);
  if ((sel & 3) !== cpu.cpl) fault(cpu, Vec.GP, selErr(sel));
  if (!fetchDescriptor(cpu, sel)) fault(cpu, Vec.GP, selErr(sel));
  const acc = dAccess();
  if (!isWritableDataAcc(acc) || dDpl() !== cpu.cpl) fault(cpu, Vec.GP, selErr(sel));
  if (!dPresent()) fault(cpu, Vec.SS, selErr(sel));
  markAccessed(cpu);
  loadCache(cpu, SS, sel);
}

/** A code segment reachable without a privilege change (JMP's rules); fills D. */
export function checkCodeSamePrivilege(cpu: SysCpu, sel: number): void {
  if (isNullSel(sel)) fault(cpu, Vec.GP, 0);
  if (!fetchDescriptor(cpu, sel)) fault(cpu, Vec.GP, selErr(sel));
  const acc = dAccess();
  if (!isCodeAcc(acc)) fault(cpu, Vec.GP, selErr(sel));
  if (isConformingAcc(acc)) {
    if (dDpl() > cpu.cpl) fault(cpu, Vec.GP, selErr(sel));
  } else if ((sel & 3) > cpu.cpl || dDpl() !== cpu.cpl) {
    fault(cpu, Vec.GP, selErr(sel));
  }
  if (!dPresent()) fault(cpu, Vec.NP, selErr(sel));
}

function loadCsSamePrivilege(cpu: SysCpu, sel: number): void {
  checkCodeSamePrivilege(cpu, sel);
  markAccessed(cpu);
  loadCs(cpu, sel, cpu.cpl);
}

// ---- stacks ---------------------------------------------------------------------------

/** The stack pointer's width for a stack segment: B=1 uses ESP, B=0 uses SP. */
export function stackMask(ssAttr: number): number {
  return (ssAttr & 0x4000) !== 0 ? -1 : 0xffff;
}

/** True when `size` bytes at `off` lie inside the segment (expand-down aware). */
export function inLimit(attr: number, limit: number, off: number, size: number): boolean {
  const o = off >>> 0;
  const end = o + size - 1;
  if ((attr & 0x1c) === 0x14) {
    const upper = (attr & 0x4000) !== 0 ? 0xffffffff : 0xffff;
    return o > (limit >>> 0) && end <= upper;
  }
  return end <= (limit >>> 0);
}

/** Values to push, in push order; a call gate copies up to 31 parameters. */
export const frame = new Int32Array(40);
export let frameLen = 0;
export function frameReset(): void { frameLen = 0; }
export function framePush(v: number): void { frame[frameLen++] = v; }

/**
 * Writes the frame below `esp` on the stack described by (base, limit, attr), `size`
 * bytes a slot, and returns the new ESP (only SP changes on a 16-bit stack). Checks every
 * slot first (#SS(ssErr)), then writes: a fault leaves no register changed. Supervisor
 * frames (inner-ring stacks) are written as supervisor accesses.
 */
export function writeFrame(cpu: SysCpu, base: number, limit: number, attr: number, esp: number,
  size: number, supervisor: boolean, ssErr: number): number {
  const mask = stackMask(attr);
  const n = frameLen;
  const low = (esp - n * size) & mask;
  if ((low >>> 0) + n * size - 1 <= (mask >>> 0) && (attr & 0x1c) !== 0x14) {
    // The common case, one contiguous range: one check.
    if (!inLimit(attr, limit, low, n * size)) fault(cpu, Vec.SS, ssErr);
  } else {
    for (let i = 0; i < n; i++) {
      const off = (esp - (i + 1) * size) & mask;
      if (!inLimit(attr, limit, off, size)) fault(cpu, Vec.SS, ssErr);
    }
  }
  for (let i = 0; i < n; i++) {
    const lin = (base + ((esp - (i + 1) * size) & mask)) | 0;
    const v = frame[i];
    if (size === 4) {
      if (supervisor) cpu.sysWriteLin32(lin, v); else cpu.writeLin32(lin, v);
    } else if (supervisor) cpu.sysWriteLin16(lin, v & 0xffff); else cpu.writeLin16(lin, v & 0xffff);
  }
  const newSp = (esp - n * size) & mask;
  return mask === -1 ? newSp | 0 : ((esp & ~0xffff) | newSp);
}

/** Reads the slot `k` bytes above ESP on the current stack (for RET/IRET); #SS(0) past the limit. */
export function stackRead(cpu: SysCpu, k: number, size: number): number {
  const attr = cpu.segAttr[SS];
  const off = (cpu.regs[4] + k) & stackMask(attr);
  if (!inLimit(attr, cpu.segLimit[SS], off, size)) fault(cpu, Vec.SS, 0);
  const lin = (cpu.segBase[SS] + off) | 0;
  return size === 4 ? cpu.readLin32(lin) : cpu.readLin16(lin);
}

/** ESP += k on the current stack, keeping the high half on a 16-bit stack. */
export function stackAdd(cpu: SysCpu, k: number): void {
  const mask = stackMask(cpu.segAttr[SS]);
  const esp = cpu.regs[4];
  cpu.regs[4] = mask === -1 ? (esp + k) | 0 : ((esp & ~0xffff) | ((esp + k) & 0xffff));
}
