/*
 * The part of the Cpu that the protected-mode machinery touches, and the constants it
 * shares: segment register indices, EFLAGS and CR0 bits, exception vectors, and the one
 * way this folder raises a fault (`fault`, which never returns) or stops the machine
 * (`stopMachine`, for a triple fault or an architectural feature the lab leaves out).
 *
 * The interface is written out here, instead of importing the Cpu class, so that the
 * system layer reads on its own and so that cpu.ts (which calls into this folder) and this
 * folder do not import each other at run time. The Cpu class satisfies it structurally.
 * Next: descriptors.ts, where selectors become segments.
 */

import { Ev, type TraceBuffer } from '../../trace/trace';

/** The hypervisor's hook, as docs/internals.md declares it (the Cpu passes itself). */
export interface SysMonitor {
  onException(cpu: never, vector: number, errorCode: number): boolean;
  onInterrupt(cpu: never, vector: number): boolean;
  softIntMask: Uint8Array;
  onSoftInt(cpu: never, vector: number, nextEip: number): boolean;
}

/** The CPU state and services used by system.ts. Field names are fixed by docs/internals.md. */
export interface SysCpu {
  regs: Int32Array;
  eip: number;
  /** EIP of the instruction being executed (for trace records). */
  insnStart: number;
  sreg: Uint16Array;
  segBase: Int32Array;
  segLimit: Int32Array;
  segAttr: Int32Array;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  dr: Int32Array;
  gdtrBase: number;
  gdtrLimit: number;
  idtrBase: number;
  idtrLimit: number;
  ldtr: number;
  ldtrBase: number;
  ldtrLimit: number;
  tr: number;
  trBase: number;
  trLimit: number;
  trAttr: number;
  cpl: number;
  halted: boolean;
  cycles: number;
  trace: TraceBuffer;
  monitor: SysMonitor | null;
  /** The MMU (paging.ts): flushed on CR3 loads and paging-mode changes, per page by INVLPG. */
  mmu: { flush(): void; invalidatePage(linear: number): void };
  /** Ends the run for good with a report (cpu.ts's Stop code: 4 triple fault, 5 error). */
  stop(kind: 'tripleFault' | 'error' | 'unsupported', what: string, code?: number): void;
  getEflags(): number;
  setEflags(value: number): void;
  /** Throws the CPU's preallocated fault; never returns. */
  raise(vector: number, errorCode?: number): void;
  sysReadLin8(lin: number): number;
  sysReadLin16(lin: number): number;
  sysReadLin32(lin: number): number;
  sysWriteLin8(lin: number, v: number): void;
  sysWriteLin16(lin: number, v: number): void;
  sysWriteLin32(lin: number, v: number): void;
  readLin16(lin: number): number;
  readLin32(lin: number): number;
  writeLin16(lin: number, v: number): void;
  writeLin32(lin: number, v: number): void;
}

/** Segment register indices (the encoding order of the Sreg field). */
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

/** EFLAGS bits. */
export const F_CF = 1 << 0, F_PF = 1 << 2, F_AF = 1 << 4, F_ZF = 1 << 6, F_SF = 1 << 7;
export const F_TF = 1 << 8, F_IF = 1 << 9, F_DF = 1 << 10, F_OF = 1 << 11;
export const F_IOPL = 3 << 12, F_NT = 1 << 14, F_RF = 1 << 16, F_VM = 1 << 17;
export const F_AC = 1 << 18, F_ID = 1 << 21;
export const IOPL_SHIFT = 12;

/** CR0 bits. ET is wired to 1 on the i486. */
export const CR0_PE = 1 << 0, CR0_MP = 1 << 1, CR0_EM = 1 << 2, CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4, CR0_NE = 1 << 5, CR0_WP = 1 << 16, CR0_AM = 1 << 18;
export const CR0_NW = 1 << 29, CR0_CD = 1 << 30, CR0_PG = 1 << 31;

/** CR4 bits the lab implements (the rest are reserved and #GP when set). */
export const CR4_TSD = 1 << 2, CR4_DE = 1 << 3, CR4_PSE = 1 << 4;

/** Exception vectors. */
export const enum Vec {
  DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
  TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17,
}

/** Raises an exception through the CPU; typed `never` so control flow reads right. */
export function fault(cpu: SysCpu, vector: number, errorCode: number): never {
  cpu.raise(vector, errorCode);
  // cpu.raise throws; reaching here means the CPU object is broken.
  throw new Error(`cpu.raise(${vector}) returned`);
}

/** Protected mode (CR0.PE). Virtual-8086 mode is not part of the lab. */
export function isProtected(cpu: SysCpu): boolean {
  return (cpu.cr0 & CR0_PE) !== 0;
}

/** EFLAGS.IOPL of the current flags. */
export function iopl(cpu: SysCpu): number {
  return (cpu.getEflags() >>> IOPL_SHIFT) & 3;
}

/**
 * The CPU's fault object as it is thrown by cpu.raise: the vector and error code are read
 * off it. Anything else thrown (a JS bug) is not a guest fault and is passed on.
 */
export interface ThrownFault {
  vector: number;
  errorCode: number;
}

export function asFault(e: unknown): ThrownFault | null {
  if (e !== null && typeof e === 'object' && typeof (e as ThrownFault).vector === 'number' &&
    typeof (e as ThrownFault).errorCode === 'number') {
    return e as ThrownFault;
  }
  return null;
}

/** Drops every TLB entry (CR3 load, CR0.PG/PE/WP or CR4.PSE change) and traces it. */
export function flushTlb(cpu: SysCpu): void {
  cpu.mmu.flush();
  cpu.trace.emit(Ev.TlbFlush, cpu.cycles, cpu.cpl, cpu.insnStart, 0, 0, 0);
}

/** INVLPG: drops one page's TLB entry and traces it. */
export function flushTlbPage(cpu: SysCpu, linear: number): void {
  cpu.mmu.invalidatePage(linear);
  cpu.trace.emit(Ev.TlbFlush, cpu.cycles, cpu.cpl, cpu.insnStart, 1, linear, 0);
}

/** Why system.ts stopped the machine. */
export type SysStopKind = 'tripleFault' | 'unsupported';

/**
 * Stops the machine from inside an instruction or an event delivery: a triple fault, or a
 * feature the lab leaves out (task switches, virtual-8086 mode). Sets cpu.stopInfo (what,
 * where, the last trace events) and asks the run loop to end; never throws.
 */
export function stopMachine(cpu: SysCpu, kind: SysStopKind, what: string): void {
  cpu.stop(kind, what, kind === 'tripleFault' ? STOP_TRIPLE_FAULT : STOP_ERROR);
}

/** cpu.ts's Stop.TripleFault and Stop.Error (numbers, so this folder needs no import of cpu.ts). */
const STOP_TRIPLE_FAULT = 4, STOP_ERROR = 5;
