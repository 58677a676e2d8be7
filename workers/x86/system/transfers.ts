/*
 * Far control transfers: JMP ptr / CALL ptr (direct or through a call gate), RETF and IRET.
 * These are the only ways, besides interrupts, that CS (and so the CPL) changes.
 *
 *   JMP    to a code segment at the same privilege (a conforming one may have DPL < CPL),
 *          or through a call gate, still without a privilege change.
 *   CALL   the same, plus: a call gate to a more privileged non-conforming segment
 *          switches to that ring's TSS stack and copies the gate's parameter count of
 *          words/dwords from the caller's stack (SDM vol. 3, 5.8.5).
 *   RETF   back to the same ring, or to an outer ring: then SS:ESP is popped too, and any
 *          data segment register the outer ring may not use is made null (5.8.6).
 *   IRET   the same shape with EFLAGS between: IF is restored only if CPL <= IOPL and
 *          IOPL only at CPL 0, so a ring-1 kernel cannot enable I/O for itself.
 *
 * The caller (the instruction) has already read the far pointer; for CALL, cpu.eip holds
 * the return address (the next instruction). Checks come before any register changes.
 * Task switches (a TSS or task gate as target, IRET with NT=1) and virtual-8086 mode are
 * left out of the lab and stop the machine with a message. Next: instructions.ts.
 */

import { Ev } from '../../trace/trace';
import {
  CS, ES, GS, SS, F_AC, F_ID, F_IF, F_IOPL, F_NT, F_RF, F_VM, Vec,
  fault, iopl, isProtected, stopMachine,
  type SysCpu,
} from './cpuview';
import {
  D, checkCodeSamePrivilege, dAccess, dAttr, dBase, dDpl, dLimit, dPresent, fetchDescriptor,
  frameReset, framePush, isCodeAcc, isConformingAcc, isNullSel, isWritableDataAcc, loadCs,
  loadNull, loadReal, markAccessed, selErr, stackAdd, stackRead, writeFrame, setSsCache } from './descriptors';
import { checkInnerSs, readTssStack, tssStackEsp, tssStackSs } from './interrupts';

/** The arithmetic flags plus TF, DF, NT: what POPF and IRET may always change. */
const FLAGS_ALWAYS = 0x4dd5;

/**
 * The EFLAGS bits POPF (and IRET at the same CPL) may change: IF only when CPL <= IOPL
 * (otherwise it is silently kept - the classic obstacle to trap-and-emulate), IOPL only at
 * CPL 0, never VM or RF (POPF clears RF itself if it models it). 16-bit forms: low word.
 */
export function popfAllowedMask(cpu: SysCpu, op32: boolean): number {
  let m = FLAGS_ALWAYS;
  if (op32) m |= F_AC | F_ID;
  if (!isProtected(cpu)) m |= F_IF | F_IOPL;
  else {
    if (cpu.cpl <= iopl(cpu)) m |= F_IF;
    if (cpu.cpl === 0) m |= F_IOPL;
  }
  return op32 ? m : m & 0xffff;
}

function checkCsLimit(cpu: SysCpu, offset: number): void {
  if ((offset >>> 0) > (cpu.segLimit[CS] >>> 0)) fault(cpu, Vec.GP, 0);
}

function unsupportedTask(cpu: SysCpu, what: string, sel: number): void {
  stopMachine(cpu, 'unsupported', `${what} to selector ${sel.toString(16)}: hardware task switching is not part of the lab`);
}

/** The target of a far JMP/CALL through a call gate in D: checks it, returns its selector. */
let gateOffset = 0, gateParams = 0, gate32 = false;
function readCallGate(cpu: SysCpu, sel: number): number {
  const dpl = dDpl();
  if (dpl < cpu.cpl || dpl < (sel & 3)) fault(cpu, Vec.GP, selErr(sel));
  if (!dPresent()) fault(cpu, Vec.NP, selErr(sel));
  gate32 = (D.hi & 0x800) !== 0;
  gateOffset = gate32 ? ((D.lo & 0xffff) | (D.hi & 0xffff0000)) >>> 0 : D.lo & 0xffff;
  gateParams = D.hi & 0x1f;
  const target = D.lo >>> 16;
  if (isNullSel(target)) fault(cpu, Vec.GP, 0);
  if (!fetchDescriptor(cpu, target)) fault(cpu, Vec.GP, selErr(target));
  const acc = dAccess();
  if (!isCodeAcc(acc) || dDpl() > cpu.cpl) fault(cpu, Vec.GP, selErr(target));
  if (!dPresent()) fault(cpu, Vec.NP, selErr(target));
  return target;
}

/** Kind of the descriptor in D: 1 code, 2 call gate, 3 TSS/task gate, 0 anything else. */
function targetKind(): number {
  const acc = dAccess();
  if (isCodeAcc(acc)) return 1;
  if ((acc & 0x10) !== 0) return 0;
  const t = acc & 0xf;
  if (t === 4 || t === 12) return 2;
  if (t === 1 || t === 9 || t === 5) return 3;
  return 0;
}

/** JMP ptr16:16/32 and JMP m16:16/32. */
export function farJump(cpu: SysCpu, selector: number, offset: number, op32: boolean): void {
  const sel = selector & 0xffff;
  const off = op32 ? offset >>> 0 : offset & 0xffff;
  if (!isProtected(cpu)) {
    checkCsLimit(cpu, off);
    loadReal(cpu, CS, sel);
    cpu.eip = off;
    return;
  }
  if (isNullSel(sel)) fault(cpu, Vec.GP, 0);
  if (!fetchDescriptor(cpu, sel)) fault(cpu, Vec.GP, selErr(sel));
  const kind = targetKind();
  if (kind === 1) {
    checkCodeSamePrivilege(cpu, sel);
    if (off > (dLimit() >>> 0)) fault(cpu, Vec.GP, 0);
    markAccessed(cpu);
    loadCs(cpu, sel, cpu.cpl);
    cpu.eip = off;
  } else if (kind === 2) {
    const target = readCallGate(cpu, sel);
    if (!isConformingAcc(dAccess()) && dDpl() !== cpu.cpl) fault(cpu, Vec.GP, selErr(target));
    if (gateOffset > (dLimit() >>> 0)) fault(cpu, Vec.GP, 0);
    markAccessed(cpu);
    loadCs(cpu, target, cpu.cpl);
    cpu.eip = gateOffset;
  } else if (kind === 3) {
    unsupportedTask(cpu, 'far JMP', sel);
  } else {
    fault(cpu, Vec.GP, selErr(sel));
  }
}

/** CALL ptr16:16/32 and CALL m16:16/32; cpu.eip is the return address. */
export function farCall(cpu: SysCpu, selector: number, offset: number, op32: boolean): void {
  const sel = selector & 0xffff;
  const off = op32 ? offset >>> 0 : offset & 0xffff;
  const size = op32 ? 4 : 2;
  if (!isProtected(cpu)) {
    checkCsLimit(cpu, off);
    frameReset();
    framePush(cpu.sreg[CS]);
    framePush(cpu.eip);
    cpu.regs[4] = writeFrame(cpu, cpu.segBase[SS], cpu.segLimit[SS], cpu.segAttr[SS], cpu.regs[4], size, true, 0);
    loadReal(cpu, CS, sel);
    cpu.eip = off;
    return;
  }
  if (isNullSel(sel)) fault(cpu, Vec.GP, 0);
  if (!fetchDescriptor(cpu, sel)) fault(cpu, Vec.GP, selErr(sel));
  const kind = targetKind();
  if (kind === 1) {
    checkCodeSamePrivilege(cpu, sel);
    if (off > (dLimit() >>> 0)) fault(cpu, Vec.GP, 0);
    frameReset();
    framePush(cpu.sreg[CS]);
    framePush(cpu.eip);
    const esp = writeFrame(cpu, cpu.segBase[SS], cpu.segLimit[SS], cpu.segAttr[SS], cpu.regs[4], size, false, 0);
    markAccessed(cpu);
    cpu.regs[4] = esp;
    loadCs(cpu, sel, cpu.cpl);
    cpu.eip = off;
  } else if (kind === 2) {
    callGate(cpu, sel);
  } else if (kind === 3) {
    unsupportedTask(cpu, 'far CALL', sel);
  } else {
    fault(cpu, Vec.GP, selErr(sel));
  }
}

function callGate(cpu: SysCpu, sel: number): void {
  const target = readCallGate(cpu, sel);
  const dpl = dDpl();
  const size = gate32 ? 4 : 2;
  if (gateOffset > (dLimit() >>> 0)) fault(cpu, Vec.GP, 0);
  const csLo = D.lo, csHi = D.hi, csAddr = D.addr;
  const newEip = gateOffset;
  let newCpl = cpu.cpl;
  let newEsp: number;
  let ss = -1, ssBase = 0, ssLimit = 0, ssAttr = 0;
  if (!isConformingAcc(dAccess()) && dpl < cpu.cpl) {
    // More privileged: the new ring's stack from the TSS, then the parameters.
    const params = gateParams;
    readTssStack(cpu, dpl, 0);
    ss = tssStackSs();
    checkInnerSs(cpu, ss, dpl, 0);
    ssBase = dBase(); ssLimit = dLimit();
    frameReset();
    framePush(cpu.sreg[SS]);
    framePush(cpu.regs[4]);
    for (let i = params - 1; i >= 0; i--) framePush(stackRead(cpu, i * size, size));
    framePush(cpu.sreg[CS]);
    framePush(cpu.eip);
    newEsp = writeFrame(cpu, ssBase, ssLimit, dAttr(), tssStackEsp(), size, true, selErr(ss));
    markAccessed(cpu);
    ssAttr = dAttr();
    newCpl = dpl;
  } else {
    frameReset();
    framePush(cpu.sreg[CS]);
    framePush(cpu.eip);
    newEsp = writeFrame(cpu, cpu.segBase[SS], cpu.segLimit[SS], cpu.segAttr[SS], cpu.regs[4], size, false, 0);
  }
  D.lo = csLo; D.hi = csHi; D.addr = csAddr;
  markAccessed(cpu);
  if (ss !== -1) {
    setSsCache(cpu, ss, ssBase, ssLimit, ssAttr);
  }
  cpu.regs[4] = newEsp;
  loadCs(cpu, target, newCpl);
  cpu.eip = newEip;
}

/** Checks the CS popped by RETF/IRET (RPL >= CPL, matching DPL rules); fills D. */
function checkReturnCs(cpu: SysCpu, cs: number): void {
  if (isNullSel(cs)) fault(cpu, Vec.GP, 0);
  if (!fetchDescriptor(cpu, cs)) fault(cpu, Vec.GP, selErr(cs));
  const acc = dAccess();
  const rpl = cs & 3;
  if (!isCodeAcc(acc) || rpl < cpu.cpl) fault(cpu, Vec.GP, selErr(cs));
  if (isConformingAcc(acc) ? dDpl() > rpl : dDpl() !== rpl) fault(cpu, Vec.GP, selErr(cs));
  if (!dPresent()) fault(cpu, Vec.NP, selErr(cs));
}

/** Checks the SS popped on a return to ring `rpl`; fills D. */
function checkReturnSs(cpu: SysCpu, ss: number, rpl: number): void {
  if (isNullSel(ss)) fault(cpu, Vec.GP, 0);
  if ((ss & 3) !== rpl) fault(cpu, Vec.GP, selErr(ss));
  if (!fetchDescriptor(cpu, ss)) fault(cpu, Vec.GP, selErr(ss));
  if (!isWritableDataAcc(dAccess()) || dDpl() !== rpl) fault(cpu, Vec.GP, selErr(ss));
  if (!dPresent()) fault(cpu, Vec.SS, selErr(ss));
}

/**
 * After a return to an outer ring: a data (or non-conforming code) segment register whose
 * DPL is below the new CPL would leak inner-ring access, so it becomes null.
 */
function nullInaccessibleSegments(cpu: SysCpu): void {
  for (let s = ES; s <= GS; s++) {
    if (s === CS || s === SS) continue;
    const attr = cpu.segAttr[s];
    if ((attr & 0x80) === 0) continue;
    const conformingCode = (attr & 0x1c) === 0x1c;
    if (!conformingCode && ((attr >>> 5) & 3) < cpu.cpl) loadNull(cpu, s, 0);
  }
}

/** Commits a return to an outer ring: CS from (csLo, csHi), SS from D. */
function commitOuterReturn(cpu: SysCpu, cs: number, rpl: number, eip: number, ss: number, esp: number,
  csLo: number, csHi: number, csAddr: number): void {
  markAccessed(cpu);
  const ssBase = dBase(), ssLimit = dLimit(), ssAttr = dAttr();
  D.lo = csLo; D.hi = csHi; D.addr = csAddr;
  markAccessed(cpu);
  loadCs(cpu, cs, rpl);
  cpu.eip = eip;
  setSsCache(cpu, ss, ssBase, ssLimit, ssAttr);
  cpu.regs[4] = (ssAttr & 0x4000) !== 0 ? esp | 0 : ((cpu.regs[4] & ~0xffff) | (esp & 0xffff));
  nullInaccessibleSegments(cpu);
}

/** RETF / RETF imm16: `popBytes` parameter bytes are released on both stacks. */
export function farReturn(cpu: SysCpu, op32: boolean, popBytes: number): void {
  const size = op32 ? 4 : 2;
  const eipRaw = stackRead(cpu, 0, size);
  const cs = stackRead(cpu, size, size) & 0xffff;
  const eip = op32 ? eipRaw >>> 0 : eipRaw & 0xffff;
  if (!isProtected(cpu)) {
    checkCsLimit(cpu, eip);
    loadReal(cpu, CS, cs);
    cpu.eip = eip;
    stackAdd(cpu, 2 * size + popBytes);
    return;
  }
  checkReturnCs(cpu, cs);
  const rpl = cs & 3;
  if (eip > (dLimit() >>> 0)) fault(cpu, Vec.GP, 0);
  if (rpl === cpu.cpl) {
    markAccessed(cpu);
    loadCs(cpu, cs, rpl);
    cpu.eip = eip;
    stackAdd(cpu, 2 * size + popBytes);
    return;
  }
  const csLo = D.lo, csHi = D.hi, csAddr = D.addr;
  const espRaw = stackRead(cpu, 2 * size + popBytes, size);
  const ss = stackRead(cpu, 3 * size + popBytes, size) & 0xffff;
  checkReturnSs(cpu, ss, rpl);
  const esp = (op32 ? espRaw : espRaw & 0xffff) + popBytes;
  commitOuterReturn(cpu, cs, rpl, eip, ss, esp, csLo, csHi, csAddr);
}

/** IRET / IRETD. */
export function iret(cpu: SysCpu, op32: boolean): void {
  const size = op32 ? 4 : 2;
  const fromCpl = cpu.cpl;
  const flags = cpu.getEflags();
  if (isProtected(cpu) && (flags & F_NT) !== 0) {
    stopMachine(cpu, 'unsupported', 'IRET with NT=1 (return from a nested task): hardware task switching is not part of the lab');
    return;
  }
  const eipRaw = stackRead(cpu, 0, size);
  const cs = stackRead(cpu, size, size) & 0xffff;
  const popped = stackRead(cpu, 2 * size, size);
  const eip = op32 ? eipRaw >>> 0 : eipRaw & 0xffff;
  if (!isProtected(cpu)) {
    checkCsLimit(cpu, eip);
    const mask = op32 ? (0x257fd5 & ~F_VM) : 0x7fd5;
    loadReal(cpu, CS, cs);
    cpu.eip = eip;
    cpu.setEflags((flags & ~mask) | (popped & mask) | 2);
    stackAdd(cpu, 3 * size);
    cpu.trace.emit(Ev.Iret, cpu.cycles, fromCpl, cpu.insnStart, cs, eip, 0);
    return;
  }
  if (op32 && (popped & F_VM) !== 0 && cpu.cpl === 0) {
    stopMachine(cpu, 'unsupported', 'IRET to virtual-8086 mode: not part of the lab');
    return;
  }
  checkReturnCs(cpu, cs);
  const rpl = cs & 3;
  if (eip > (dLimit() >>> 0)) fault(cpu, Vec.GP, 0);
  // Which flags the popped image may change is decided at the CPL IRET runs at.
  let mask = popfAllowedMask(cpu, op32);
  if (op32) mask |= F_RF;
  const newFlags = (flags & ~mask) | (popped & mask) | 2;
  if (rpl === cpu.cpl) {
    markAccessed(cpu);
    loadCs(cpu, cs, rpl);
    cpu.eip = eip;
    stackAdd(cpu, 3 * size);
    cpu.setEflags(newFlags);
  } else {
    const csLo = D.lo, csHi = D.hi, csAddr = D.addr;
    const espRaw = stackRead(cpu, 3 * size, size);
    const ss = stackRead(cpu, 4 * size, size) & 0xffff;
    checkReturnSs(cpu, ss, rpl);
    commitOuterReturn(cpu, cs, rpl, eip, ss, op32 ? espRaw : espRaw & 0xffff, csLo, csHi, csAddr);
    cpu.setEflags(newFlags);
  }
  cpu.trace.emit(Ev.Iret, cpu.cycles, fromCpl, cpu.insnStart, cs, eip, 0);
}
