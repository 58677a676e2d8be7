/*
 * Exceptions and interrupts: how the CPU leaves what it was doing and enters a handler.
 *
 * Every event takes the same road (Intel SDM vol. 3, 6.12 and the INT n pseudo-code):
 *   1. the trace records it, and a hypervisor's monitor (cpu.monitor) sees it first and
 *      may handle it itself (that is how the Xen and VMI modes take over the machine);
 *   2. real mode: the 4-byte vector in the IVT at IDTR.base, a FLAGS/CS/IP frame;
 *   3. protected mode: the 8-byte gate in the IDT. Interrupt and trap gates name a code
 *      segment; if its DPL is below the CPL the CPU switches to the inner ring's stack,
 *      taken from the TSS (SS0:ESP0 for ring 0, SS1:ESP1 for ring 1 - where a paravirtual
 *      guest kernel runs - and SS2:ESP2), and pushes the old SS:ESP before EFLAGS, CS, EIP
 *      and the error code. An interrupt gate also clears IF; a trap gate leaves it.
 *      Only INT n / INT3 / INTO check the gate's DPL against the CPL (#GP(vector*8+2)).
 *   4. If delivering an exception faults, the two are combined as the manual's table says:
 *      benign + anything is delivered one after the other, contributory + contributory or
 *      page fault + (page fault or contributory) becomes #DF, and a fault while delivering
 *      #DF is a triple fault: the machine stops with a report and nothing is thrown.
 *
 * Error codes of faults found during delivery carry EXT (bit 0) for events that did not
 * come from an INT instruction, and IDT (bit 1) when they name a gate (vector*8+2).
 * Task gates and task switches are left out of the lab: they stop the machine clearly.
 * Trace events emitted here: Exception (PageFault is paging.ts's), Interrupt, SoftInt, Syscall
 * (INT 0x80), TripleFault. Next: transfers.ts (far JMP/CALL/RET and IRET).
 */

import { Ev } from '../../trace/trace';
import {
  CS, SS, F_AC, F_IF, F_NT, F_RF, F_TF, F_VM, Vec,
  asFault, fault, isProtected, stopMachine,
  type SysCpu,
} from './cpuview';
import {
  D, dAccess, dAttr, dBase, dDpl, dLimit, dPresent, fetchDescriptor, frameReset, framePush,
  isCodeAcc, isConformingAcc, isNullSel, isWritableDataAcc, loadCs, loadReal, markAccessed,
  selErr, writeFrame, setSsCache } from './descriptors';

/** What raised the event: decides EXT, the gate DPL check and the trace kind. */
export const enum EventKind {
  Exception = 0,
  External = 1,
  /** INT n, INT3, INTO: the gate DPL must be >= CPL. */
  Software = 2,
  /** INT1 (ICEBP): a software #DB without the gate DPL check. */
  Icebp = 3,
}

/** The INT-family instruction passed to deliverSoftware. */
export const enum SoftKind { IntN = 0, Int3 = 1, Into = 2, Int1 = 3 }

/** The vector of the Unix system call, traced as Syscall rather than SoftInt. */
export const SYSCALL_VECTOR = 0x80;

function hasErrorCode(vector: number): boolean {
  return vector === Vec.DF || (vector >= Vec.TS && vector <= Vec.PF) || vector === Vec.AC;
}

/** 0 benign, 1 contributory, 2 page fault (SDM vol. 3, table 6-4/6-5). */
function faultClass(vector: number): number {
  if (vector === Vec.PF) return 2;
  if (vector === Vec.DE || (vector >= Vec.TS && vector <= Vec.GP)) return 1;
  return 0;
}

/** The second fault, raised while delivering the first, makes a #DF. */
export function isDoubleFault(first: number, second: number): boolean {
  const a = faultClass(first), b = faultClass(second);
  return (a === 1 && b === 1) || (a === 2 && b !== 0);
}

// ---- entry points ----------------------------------------------------------------------

/**
 * Delivers a CPU exception (the run loop calls this after rewinding EIP to the faulting
 * instruction, or past it for traps). `errorCode` -1 means none. Never throws a guest
 * fault: faults during delivery become the next exception, #DF or a triple fault.
 */
export function deliverException(cpu: SysCpu, vector: number, errorCode: number): void {
  deliverExceptionNested(cpu, vector, errorCode, 0);
}

function deliverExceptionNested(cpu: SysCpu, vector: number, errorCode: number, depth: number): void {
  const tr = cpu.trace;
  tr.emit(Ev.Exception, cpu.cycles, cpu.cpl, cpu.eip, vector, errorCode, vector === Vec.PF ? cpu.cr2 : 0);
  const mon = cpu.monitor;
  try {
    // A monitor that bounces the event into the guest may fault doing so, like the CPU.
    if (mon !== null && mon.onException(cpu as never, vector, errorCode)) return;
    deliver(cpu, vector, hasErrorCode(vector) ? (errorCode === -1 ? 0 : errorCode) : -1, EventKind.Exception, cpu.eip);
  } catch (e) {
    const f = asFault(e);
    if (f === null) throw e;
    if (vector === Vec.DF || depth > 3) { tripleFault(cpu, vector, f.vector); return; }
    if (isDoubleFault(vector, f.vector)) deliverExceptionNested(cpu, Vec.DF, 0, depth + 1);
    else deliverExceptionNested(cpu, f.vector, f.errorCode, depth + 1);
  }
}

/** An external interrupt acknowledged from the PIC, taken at an instruction boundary. */
export function deliverExternal(cpu: SysCpu, vector: number): void {
  cpu.halted = false;
  cpu.trace.emit(Ev.Interrupt, cpu.cycles, cpu.cpl, cpu.eip, vector, -1, 0);
  const mon = cpu.monitor;
  try {
    if (mon !== null && mon.onInterrupt(cpu as never, vector)) return;
    deliver(cpu, vector, -1, EventKind.External, cpu.eip);
  } catch (e) {
    const f = asFault(e);
    if (f === null) throw e;
    deliverException(cpu, f.vector, f.errorCode);
  }
}

/**
 * INT n / INT3 / INTO / INT1, called from the instruction with the address of the next
 * instruction. A fault here (the gate DPL check, a bad gate) is thrown as a fault of the
 * INT instruction itself, so the run loop delivers it with EIP at the INT.
 */
export function deliverSoftware(cpu: SysCpu, vector: number, nextEip: number, kind: SoftKind): void {
  vector &= 0xff;
  if (vector === SYSCALL_VECTOR && kind === SoftKind.IntN) {
    cpu.trace.emit(Ev.Syscall, cpu.cycles, cpu.cpl, cpu.insnStart, cpu.regs[0], cpu.regs[3], 0);
  } else {
    cpu.trace.emit(Ev.SoftInt, cpu.cycles, cpu.cpl, cpu.insnStart, vector, kind, 0);
  }
  const mon = cpu.monitor;
  if (mon !== null && mon.softIntMask[vector] !== 0 && mon.onSoftInt(cpu as never, vector, nextEip)) return;
  deliver(cpu, vector, -1, kind === SoftKind.Int1 ? EventKind.Icebp : EventKind.Software, nextEip);
}

/**
 * For a hypervisor: deliver an event to a guest handler it names directly (Xen's trap
 * table, a VMI ROM's table) instead of through the IDT, with exactly the frame, ring and
 * stack switch an interrupt gate (`clearIf`) or trap gate would make, returning to
 * `returnEip`. Faults found on the way are thrown like those of any delivery. Traced as
 * Bounce (a = vector).
 */
export function bounceToHandler(cpu: SysCpu, vector: number, errorCode: number, sel: number, offset: number,
  clearIf: boolean, returnEip: number): void {
  cpu.trace.emit(Ev.Bounce, cpu.cycles, cpu.cpl, cpu.insnStart, vector, errorCode, sel);
  enterHandler(cpu, sel & 0xffff, offset >>> 0, true, !clearIf, errorCode, 1, returnEip);
}

// ---- the delivery itself ----------------------------------------------------------------

/** Real mode: IVT entry = IP, CS; push FLAGS, CS, IP; clear IF, TF, AC. */
function deliverReal(cpu: SysCpu, vector: number, returnEip: number): void {
  const off = vector << 2;
  if (off + 3 > (cpu.idtrLimit >>> 0)) fault(cpu, Vec.GP, 0);
  const ip = cpu.sysReadLin16((cpu.idtrBase + off) | 0);
  const cs = cpu.sysReadLin16((cpu.idtrBase + off + 2) | 0);
  const flags = cpu.getEflags();
  frameReset();
  framePush(flags & 0xffff);
  framePush(cpu.sreg[CS]);
  framePush(returnEip & 0xffff);
  cpu.regs[4] = writeFrame(cpu, cpu.segBase[SS], cpu.segLimit[SS], cpu.segAttr[SS], cpu.regs[4], 2, true, 0);
  loadReal(cpu, CS, cs);
  cpu.eip = ip;
  cpu.setEflags(flags & ~(F_IF | F_TF | F_AC));
}

/** The ring stack for `dpl` read from the current TSS (32- or 16-bit format). */
let tssSs = 0, tssEsp = 0;
export function readTssStack(cpu: SysCpu, dpl: number, ext: number): void {
  const limit = cpu.trLimit >>> 0;
  const busyOrAvail = cpu.trAttr & 0x17;
  if ((cpu.tr & 0xfffc) === 0 || (busyOrAvail & 0x15) !== 1) fault(cpu, Vec.TS, selErr(cpu.tr) + ext);
  if ((cpu.trAttr & 8) !== 0) {
    const off = 4 + dpl * 8;
    if (off + 5 > limit) fault(cpu, Vec.TS, selErr(cpu.tr) + ext);
    tssEsp = cpu.sysReadLin32((cpu.trBase + off) | 0);
    tssSs = cpu.sysReadLin16((cpu.trBase + off + 4) | 0);
  } else {
    const off = 2 + dpl * 4;
    if (off + 3 > limit) fault(cpu, Vec.TS, selErr(cpu.tr) + ext);
    tssEsp = cpu.sysReadLin16((cpu.trBase + off) | 0);
    tssSs = cpu.sysReadLin16((cpu.trBase + off + 2) | 0);
  }
}
export function tssStackSs(): number { return tssSs; }
export function tssStackEsp(): number { return tssEsp; }

/**
 * Checks the inner stack segment taken from the TSS for a change to ring `cpl`; fills D
 * with its descriptor. Faults are #TS (or #SS when not present), with EXT.
 */
export function checkInnerSs(cpu: SysCpu, ss: number, cpl: number, ext: number): void {
  if (isNullSel(ss)) fault(cpu, Vec.TS, ext);
  if ((ss & 3) !== cpl) fault(cpu, Vec.TS, selErr(ss) + ext);
  if (!fetchDescriptor(cpu, ss)) fault(cpu, Vec.TS, selErr(ss) + ext);
  if (!isWritableDataAcc(dAccess()) || dDpl() !== cpl) fault(cpu, Vec.TS, selErr(ss) + ext);
  if (!dPresent()) fault(cpu, Vec.SS, selErr(ss) + ext);
}

/**
 * Protected-mode delivery through the IDT. `errorCode` -1: none pushed. All checks and
 * stack writes happen before any register changes, so a fault leaves the state as it was.
 */
function deliver(cpu: SysCpu, vector: number, errorCode: number, kind: EventKind, returnEip: number): void {
  if (!isProtected(cpu)) { deliverReal(cpu, vector, returnEip); return; }
  const ext = kind === EventKind.Software ? 0 : 1;
  const gateErr = (vector << 3) + 2 + ext;
  if ((vector << 3) + 7 > (cpu.idtrLimit >>> 0)) fault(cpu, Vec.GP, gateErr);
  const gAddr = (cpu.idtrBase + (vector << 3)) | 0;
  const gLo = cpu.sysReadLin32(gAddr);
  const gHi = cpu.sysReadLin32((gAddr + 4) | 0);
  const gType = (gHi >>> 8) & 0x1f;
  if (gType !== 0x0e && gType !== 0x0f && gType !== 0x06 && gType !== 0x07 && gType !== 0x05) {
    fault(cpu, Vec.GP, gateErr);
  }
  if (kind === EventKind.Software && ((gHi >>> 13) & 3) < cpu.cpl) fault(cpu, Vec.GP, (vector << 3) + 2);
  if ((gHi & 0x8000) === 0) fault(cpu, Vec.NP, gateErr);
  if (gType === 0x05) {
    stopMachine(cpu, 'unsupported', `task gate in IDT entry ${vector}: hardware task switching is not part of the lab`);
    return;
  }
  const gate32 = (gType & 8) !== 0;
  const sel = gLo >>> 16;
  const offset = gate32 ? ((gLo & 0xffff) | (gHi & 0xffff0000)) >>> 0 : gLo & 0xffff;
  enterHandler(cpu, sel, offset, gate32, (gType & 1) !== 0, errorCode, ext, returnEip);
}

/**
 * The second half of a gate: enter handler `sel:offset` (switching to the inner ring's
 * TSS stack if needed), push the frame, clear TF/NT/RF/VM and, for an interrupt gate, IF.
 */
function enterHandler(cpu: SysCpu, sel: number, offset: number, gate32: boolean, trapGate: boolean,
  errorCode: number, ext: number, returnEip: number): void {
  if (isNullSel(sel)) fault(cpu, Vec.GP, ext);
  if (!fetchDescriptor(cpu, sel)) fault(cpu, Vec.GP, selErr(sel) + ext);
  const acc = dAccess();
  const dpl = dDpl();
  if (!isCodeAcc(acc) || dpl > cpu.cpl) fault(cpu, Vec.GP, selErr(sel) + ext);
  if (!dPresent()) fault(cpu, Vec.NP, selErr(sel) + ext);
  if (offset > (dLimit() >>> 0)) fault(cpu, Vec.GP, 0);
  const csLo = D.lo, csHi = D.hi, csAddr = D.addr;

  const flags = cpu.getEflags();
  const size = gate32 ? 4 : 2;
  const oldCs = cpu.sreg[CS];
  let newCpl = cpu.cpl;
  let newEsp: number;
  let ss = -1, ssBase = 0, ssLimit = 0, ssAttr = 0;
  if (!isConformingAcc(acc) && dpl < cpu.cpl) {
    // Inner ring: switch to the TSS stack of ring `dpl`.
    readTssStack(cpu, dpl, ext);
    ss = tssSs;
    checkInnerSs(cpu, ss, dpl, ext);
    ssBase = dBase(); ssLimit = dLimit();
    frameReset();
    framePush(cpu.sreg[SS]);
    framePush(cpu.regs[4]);
    framePush(flags);
    framePush(oldCs);
    framePush(returnEip);
    if (errorCode !== -1) framePush(errorCode);
    newEsp = writeFrame(cpu, ssBase, ssLimit, dAttr(), tssEsp, size, true, selErr(ss) + ext);
    markAccessed(cpu);
    ssAttr = dAttr();
    newCpl = dpl;
  } else if (isConformingAcc(acc) || dpl === cpu.cpl) {
    frameReset();
    framePush(flags);
    framePush(oldCs);
    framePush(returnEip);
    if (errorCode !== -1) framePush(errorCode);
    newEsp = writeFrame(cpu, cpu.segBase[SS], cpu.segLimit[SS], cpu.segAttr[SS], cpu.regs[4], size, false, 0);
  } else {
    return fault(cpu, Vec.GP, selErr(sel) + ext);
  }
  D.lo = csLo; D.hi = csHi; D.addr = csAddr;
  markAccessed(cpu);
  // Every check passed and every write is done: commit.
  if (ss !== -1) {
    setSsCache(cpu, ss, ssBase, ssLimit, ssAttr);
  }
  cpu.regs[4] = newEsp;
  loadCs(cpu, sel, newCpl);
  cpu.eip = offset;
  let nf = flags & ~(F_TF | F_NT | F_RF | F_VM);
  if (!trapGate) nf &= ~F_IF;
  cpu.setEflags(nf);
}

/** A fault while delivering #DF: the processor shuts down. Report, stop, never throw. */
function tripleFault(cpu: SysCpu, firstVector: number, secondVector: number): void {
  cpu.trace.emit(Ev.TripleFault, cpu.cycles, cpu.cpl, cpu.eip, secondVector, firstVector, 0);
  stopMachine(cpu, 'tripleFault',
    `triple fault: exception ${secondVector} while delivering exception ${firstVector} at ` +
    `${cpu.sreg[CS].toString(16).padStart(4, '0')}:${(cpu.eip >>> 0).toString(16).padStart(8, '0')}`);
}
