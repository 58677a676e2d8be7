/*
 * A stand-in for the Cpu with no instruction set: just the state fields system.ts reads
 * and writes, over real PhysicalMemory with paging off (linear = physical). It lets the
 * descriptor, delivery and frame rules be checked one call at a time, with the exact
 * fault each call raises. Whole programs on the real Cpu are in the *.prog.test.ts files.
 */

import { PhysicalMemory } from '../../../workers/x86/memory';
import { TraceBuffer } from '../../../workers/trace/trace';
import type { SysCpu, SysMonitor } from '../../../workers/x86/system';

export class Fault {
  constructor(public vector: number, public errorCode: number) {}
}

export class FakeCpu implements SysCpu {
  regs = new Int32Array(8);
  eip = 0;
  insnStart = 0;
  sreg = new Uint16Array(6);
  segBase = new Int32Array(6);
  segLimit = new Int32Array(6).fill(0xffff);
  segAttr = new Int32Array(6).fill(0x93);
  cr0 = 0x10; cr2 = 0; cr3 = 0; cr4 = 0;
  dr = new Int32Array(8);
  gdtrBase = 0; gdtrLimit = 0; idtrBase = 0; idtrLimit = 0x3ff;
  ldtr = 0; ldtrBase = 0; ldtrLimit = 0;
  tr = 0; trBase = 0; trLimit = 0; trAttr = 0;
  cpl = 0;
  halted = false;
  cycles = 0;
  trace = new TraceBuffer(256);
  monitor: SysMonitor | null = null;
  eflags = 2;
  inhibitIrq = false;
  stopInfo: { kind: string; what: string; code: number } | null = null;
  flushes = 0;
  invalidated: number[] = [];
  mmu = {
    flush: () => { this.flushes++; },
    invalidatePage: (lin: number) => { this.invalidated.push(lin); },
  };

  constructor(readonly mem = new PhysicalMemory(1 << 20)) {}

  getEflags(): number { return this.eflags; }
  setEflags(v: number): void { this.eflags = (v | 2) >>> 0; }
  raise(vector: number, errorCode = -1): void { throw new Fault(vector, errorCode); }
  stop(kind: string, what: string, code = 5): void { this.stopInfo = { kind, what, code }; }

  sysReadLin8(a: number): number { return this.mem.read8(a >>> 0); }
  sysReadLin16(a: number): number { return this.mem.read16(a >>> 0); }
  sysReadLin32(a: number): number { return this.mem.read32(a >>> 0); }
  sysWriteLin8(a: number, v: number): void { this.mem.write8(a >>> 0, v); }
  sysWriteLin16(a: number, v: number): void { this.mem.write16(a >>> 0, v); }
  sysWriteLin32(a: number, v: number): void { this.mem.write32(a >>> 0, v); }
  readLin16(a: number): number { return this.mem.read16(a >>> 0); }
  readLin32(a: number): number { return this.mem.read32(a >>> 0); }
  writeLin16(a: number, v: number): void { this.mem.write16(a >>> 0, v); }
  writeLin32(a: number, v: number): void { this.mem.write32(a >>> 0, v); }
}

/** Runs `fn` and returns the fault it raised ([vector, error code]), or null. */
export function faultOf(fn: () => void): [number, number] | null {
  try {
    fn();
  } catch (e) {
    if (e instanceof Fault) return [e.vector, e.errorCode];
    throw e;
  }
  return null;
}
