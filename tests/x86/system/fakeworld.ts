/*
 * The standard world (world.ts) loaded into a FakeCpu: protected mode, the GDT/IDT/TSS in
 * place, flat segments of ring `cpl`, and a stack for that ring.
 */

import { FakeCpu } from './fakecpu';
import { GDT, GDT_LIMIT, IDT, Sel, STACK0, STACK1, STACK2, STACK3, TSS, buildWorld } from './world';

const CODE_SEL = [Sel.code0, Sel.code1, Sel.code2, Sel.code3];
const DATA_SEL = [Sel.data0, Sel.data1, Sel.data2, Sel.data3];
const STACK = [STACK0, STACK1, STACK2, STACK3];

/** Puts segment register `seg` in the state a successful load of `sel` (flat, DPL) leaves. */
export function flatSeg(cpu: FakeCpu, seg: number, sel: number, code: boolean): void {
  const d = (sel & 3);
  cpu.sreg[seg] = sel;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = -1;
  cpu.segAttr[seg] = 0xc000 | (code ? 0x9b : 0x93) | (d << 5);
}

export function fakeWorld(cpl = 0): FakeCpu {
  const cpu = new FakeCpu();
  buildWorld(cpu.mem);
  cpu.cr0 = 0x11;
  cpu.gdtrBase = GDT; cpu.gdtrLimit = GDT_LIMIT;
  cpu.idtrBase = IDT; cpu.idtrLimit = 256 * 8 - 1;
  cpu.tr = Sel.tss; cpu.trBase = TSS; cpu.trLimit = 0x68 + 32; cpu.trAttr = 0x8b;
  setRing(cpu, cpl);
  cpu.eip = 0x12345;
  return cpu;
}

/** Flat code, data and stack segments of ring `cpl`. */
export function setRing(cpu: FakeCpu, cpl: number): void {
  cpu.cpl = cpl;
  flatSeg(cpu, 1, CODE_SEL[cpl], true);
  for (const s of [0, 2, 3, 4, 5]) flatSeg(cpu, s, DATA_SEL[cpl], false);
  cpu.regs[4] = STACK[cpl] - 0x100;
}
