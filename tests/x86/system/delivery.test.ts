/*
 * Exception and interrupt delivery, one event at a time: the frame each kind of gate
 * pushes on which stack, the flags it clears, the error codes of faults found on the way,
 * #DF and the triple fault, the monitor's first look, and the real-mode IVT.
 */

import { describe, expect, it } from 'vitest';
import { Ev } from '../../../workers/trace/trace';
import {
  CS, SS, SoftKind, Vec, bounceToHandler, deliverException, deliverExternal, deliverSoftware, isDoubleFault,
} from '../../../workers/x86/system';
import { FakeCpu, faultOf } from './fakecpu';
import { fakeWorld } from './fakeworld';
import {
  Acc, IDT, STACK0, STACK1, STACK3, Sel, TSS, dpl, setGate, stubAddr, writeGate,
} from './world';

const IF = 0x200, TF = 0x100, NT = 0x4000;

/** The dwords at SS:ESP upward (flat stacks). */
function stackDwords(cpu: FakeCpu, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(cpu.mem.read32((cpu.segBase[SS] + cpu.regs[4] + 4 * i) >>> 0) >>> 0);
  return out;
}

describe('protected mode: ring changes through the TSS', () => {
  it('ring 3 -> ring 0: SS0:ESP0 from the TSS, frame SS ESP EFLAGS CS EIP', () => {
    const cpu = fakeWorld(3);
    cpu.eflags = 0x202 | TF;
    const userEsp = cpu.regs[4];
    deliverExternal(cpu, 0x20);
    expect(cpu.cpl).toBe(0);
    expect(cpu.sreg[CS]).toBe(Sel.code0);
    expect(cpu.eip).toBe(stubAddr(0x20));
    expect(cpu.sreg[SS]).toBe(Sel.data0);
    expect(cpu.regs[4]).toBe(STACK0 - 20);
    expect(stackDwords(cpu, 5)).toEqual([0x12345, Sel.code3, 0x202 | TF, userEsp, Sel.data3]);
    expect(cpu.eflags & (IF | TF)).toBe(0);
  });

  it('ring 3 -> ring 1 (a paravirtual kernel): SS1:ESP1 from the TSS', () => {
    const cpu = fakeWorld(3);
    setGate(cpu.mem, 0x80, Sel.code1, dpl(Acc.trapGate32, 3));
    cpu.eflags = 0x202;
    deliverSoftware(cpu, 0x80, 0x12347, SoftKind.IntN);
    expect(cpu.cpl).toBe(1);
    expect(cpu.sreg[CS]).toBe(Sel.code1);
    expect(cpu.sreg[SS]).toBe(Sel.data1);
    expect(cpu.regs[4]).toBe(STACK1 - 20);
    expect(stackDwords(cpu, 3)).toEqual([0x12347, Sel.code3, 0x202]);
    expect(cpu.eflags & IF).toBe(IF); // a trap gate leaves IF alone
    expect(cpu.trace.counts[Ev.Syscall]).toBe(1);
  });

  it('an exception with an error code pushes it below EIP', () => {
    const cpu = fakeWorld(3);
    deliverException(cpu, Vec.GP, 0x28);
    expect(cpu.cpl).toBe(0);
    expect(stackDwords(cpu, 6)).toEqual([0x28, 0x12345, Sel.code3, 2, STACK3 - 0x100, Sel.data3]);
  });

  it('same ring: no stack switch, EFLAGS CS EIP (error code) on the current stack', () => {
    const cpu = fakeWorld(0);
    const esp = cpu.regs[4];
    deliverException(cpu, Vec.PF, 6);
    expect(cpu.regs[4]).toBe(esp - 16);
    expect(stackDwords(cpu, 4)).toEqual([6, 0x12345, Sel.code0, 2]);
  });

  it('a 16-bit gate pushes words', () => {
    const cpu = fakeWorld(0);
    setGate(cpu.mem, 0x21, Sel.code0, Acc.intGate16, 0x1234);
    const esp = cpu.regs[4];
    deliverExternal(cpu, 0x21);
    expect(cpu.regs[4]).toBe(esp - 6);
    expect(cpu.eip).toBe(0x1234);
    expect(cpu.mem.read16(cpu.regs[4])).toBe(0x2345);
    expect(cpu.mem.read16(cpu.regs[4] + 2)).toBe(Sel.code0);
  });

  it('clears NT and TF, keeps the other flags in the pushed image', () => {
    const cpu = fakeWorld(0);
    cpu.eflags = 0x2 | NT | TF | 0x1;
    deliverException(cpu, Vec.UD, -1);
    expect(cpu.eflags & (NT | TF)).toBe(0);
    expect(cpu.eflags & 1).toBe(1);
    expect(stackDwords(cpu, 3)[2]).toBe(0x2 | NT | TF | 0x1);
  });

  it('an expand-down stack segment: offsets above the limit are the valid ones', () => {
    const cpu = fakeWorld(0);
    cpu.segAttr[SS] = 0x4096; // B=1, present, writable expand-down data
    cpu.segLimit[SS] = 0xfff;
    cpu.regs[4] = 0x2000;
    deliverExternal(cpu, 0x20);
    expect(cpu.regs[4]).toBe(0x2000 - 12);
    cpu.regs[4] = 0x1008;
    cpu.eip = 0x12345;
    expect(faultOf(() => deliverSoftware(cpu, 0x20, 0x12347, SoftKind.Int1))).toEqual([Vec.SS, 0]);
    expect(cpu.regs[4]).toBe(0x1008);
  });
  it('a conforming handler runs at the interrupted CPL without a stack switch', () => {
    const cpu = fakeWorld(3);
    setGate(cpu.mem, 0x30, Sel.conforming0, Acc.intGate32, 0x5000);
    const esp = cpu.regs[4];
    deliverExternal(cpu, 0x30);
    expect(cpu.cpl).toBe(3);
    expect(cpu.sreg[CS]).toBe(Sel.conforming0 | 3);
    expect(cpu.regs[4]).toBe(esp - 12);
  });
});

describe('protected mode: checks on the way', () => {
  it('INT n through a DPL-0 gate from ring 3 is #GP(vector*8+2), nothing pushed', () => {
    const cpu = fakeWorld(3);
    const esp = cpu.regs[4];
    expect(faultOf(() => deliverSoftware(cpu, 0x40, 0x12347, SoftKind.IntN))).toEqual([Vec.GP, 0x40 * 8 + 2]);
    expect(cpu.regs[4]).toBe(esp);
    expect(cpu.cpl).toBe(3);
  });
  it('INT3 is checked too; the same gate taken by an external interrupt is not', () => {
    const cpu = fakeWorld(3);
    expect(faultOf(() => deliverSoftware(cpu, 3, 0x12346, SoftKind.Int3))).toEqual([Vec.GP, 3 * 8 + 2]);
    deliverExternal(cpu, 3);
    expect(cpu.cpl).toBe(0);
  });
  it('a gate outside the IDT limit is #GP(vector*8+2+EXT) for an external interrupt', () => {
    const cpu = fakeWorld(0);
    cpu.idtrLimit = 0x20 * 8 - 1;
    deliverExternal(cpu, 0x20);
    // the #GP itself is then delivered (gate 13 is inside the limit)
    expect(cpu.eip).toBe(stubAddr(13));
    expect(stackDwords(cpu, 1)).toEqual([0x20 * 8 + 3]);
  });
  it('a not-present gate is #NP(vector*8+2+EXT)', () => {
    const cpu = fakeWorld(0);
    writeGate(cpu.mem, IDT + 0x22 * 8, Sel.code0, 0, Acc.intGate32 & ~0x80);
    deliverExternal(cpu, 0x22);
    expect(cpu.eip).toBe(stubAddr(Vec.NP));
    expect(stackDwords(cpu, 1)).toEqual([0x22 * 8 + 3]);
  });
  it('a gate naming a data segment is #GP(selector+EXT)', () => {
    const cpu = fakeWorld(0);
    setGate(cpu.mem, 0x23, Sel.data0, Acc.intGate32);
    deliverExternal(cpu, 0x23);
    expect(stackDwords(cpu, 1)).toEqual([Sel.data0 + 1]);
  });
  it('a not-present handler segment is #NP(selector+EXT)', () => {
    const cpu = fakeWorld(3);
    setGate(cpu.mem, 0x24, Sel.codeNotPresent1 & ~3, Acc.intGate32);
    deliverExternal(cpu, 0x24);
    expect(cpu.eip).toBe(stubAddr(Vec.NP));
    expect(cpu.mem.read32(STACK0 - 24)).toBe(0xa0 + 1);
  });
  it('a ring-0 stack too small for the frame is #SS(SS0), and nothing changes', () => {
    const cpu = fakeWorld(3);
    setGate(cpu.mem, 0x80, Sel.code0, dpl(Acc.intGate32, 3));
    cpu.mem.write16(TSS + 8, Sel.small0);
    cpu.mem.write32(TSS + 4, 0x10);
    const before = [cpu.regs[4], cpu.cpl, cpu.sreg[CS], cpu.sreg[SS], cpu.eip, cpu.eflags];
    expect(faultOf(() => deliverSoftware(cpu, 0x80, 0x12347, SoftKind.IntN))).toEqual([Vec.SS, Sel.small0]);
    expect([cpu.regs[4], cpu.cpl, cpu.sreg[CS], cpu.sreg[SS], cpu.eip, cpu.eflags]).toEqual(before);
  });
  it('a bad SS0 in the TSS is #TS(SS0+EXT)', () => {
    const cpu = fakeWorld(3);
    cpu.mem.write16(TSS + 8, Sel.readOnly0);
    setGate(cpu.mem, Vec.TS, Sel.code1, Acc.intGate32);
    deliverExternal(cpu, 0x20);
    expect(cpu.eip).toBe(stubAddr(Vec.TS));
    expect(cpu.cpl).toBe(1);
    expect(stackDwords(cpu, 1)).toEqual([Sel.readOnly0 + 1]);
  });
  it('a benign exception from ring 3 without a usable TSS becomes #TS(TSS selector+EXT)', () => {
    const cpu = fakeWorld(3);
    cpu.trLimit = 0x3;
    setGate(cpu.mem, Vec.TS, Sel.conforming0, Acc.intGate32);
    deliverException(cpu, Vec.UD, -1);
    expect(cpu.eip).toBe(stubAddr(Vec.TS));
    expect(stackDwords(cpu, 1)).toEqual([Sel.tss + 1]);
  });
  it('a page fault from ring 3 without a usable TSS: #TS makes #DF, which needs the TSS too: triple', () => {
    const cpu = fakeWorld(3);
    cpu.trLimit = 0x3;
    deliverException(cpu, Vec.PF, 4);
    expect(cpu.stopInfo?.kind).toBe('tripleFault');
    expect(cpu.eip).toBe(0x12345);
  });
});

describe('double and triple faults', () => {
  it('classifies pairs as the manual does', () => {
    expect(isDoubleFault(Vec.GP, Vec.NP)).toBe(true);
    expect(isDoubleFault(Vec.PF, Vec.PF)).toBe(true);
    expect(isDoubleFault(Vec.PF, Vec.GP)).toBe(true);
    expect(isDoubleFault(Vec.GP, Vec.PF)).toBe(false);
    expect(isDoubleFault(Vec.BP, Vec.GP)).toBe(false);
    expect(isDoubleFault(Vec.DE, Vec.TS)).toBe(true);
    expect(isDoubleFault(Vec.UD, Vec.NP)).toBe(false);
  });
  it('#GP whose gate is not present becomes #DF with error code 0', () => {
    const cpu = fakeWorld(0);
    writeGate(cpu.mem, IDT + Vec.GP * 8, Sel.code0, 0, Acc.intGate32 & ~0x80);
    deliverException(cpu, Vec.GP, 0);
    expect(cpu.eip).toBe(stubAddr(Vec.DF));
    expect(stackDwords(cpu, 2)).toEqual([0, 0x12345]);
    expect(cpu.stopInfo).toBeNull();
    const ex = cpu.trace.last(3).filter((r) => r.kind === Ev.Exception).map((r) => r.a);
    expect(ex).toEqual([Vec.GP, Vec.DF]); // the #NP was found, never delivered
  });
  it('a benign exception whose gate is missing delivers the #NP instead, not #DF', () => {
    const cpu = fakeWorld(0);
    writeGate(cpu.mem, IDT + Vec.UD * 8, Sel.code0, 0, Acc.intGate32 & ~0x80);
    deliverException(cpu, Vec.UD, -1);
    expect(cpu.eip).toBe(stubAddr(Vec.NP));
    expect(stackDwords(cpu, 1)).toEqual([Vec.UD * 8 + 3]);
  });
  it('an IDT too small for anything: #GP -> #DF -> triple fault, a clean stop, no throw', () => {
    const cpu = fakeWorld(0);
    cpu.idtrLimit = 7;
    const esp = cpu.regs[4];
    expect(() => deliverException(cpu, Vec.GP, 0)).not.toThrow();
    expect(cpu.stopInfo?.kind).toBe('tripleFault');
    expect(cpu.stopInfo?.code).toBe(4);
    expect(cpu.stopInfo?.what).toMatch(/triple fault/);
    expect(cpu.trace.counts[Ev.TripleFault]).toBe(1);
    expect(cpu.regs[4]).toBe(esp);
  });
  it('a ring-3 page fault with a bad ring-0 stack: #PF -> #TS... -> #DF', () => {
    const cpu = fakeWorld(3);
    cpu.mem.write16(TSS + 8, 0); // SS0 = null: every ring-0 entry is #TS
    setGate(cpu.mem, Vec.DF, Sel.conforming0, Acc.intGate32);
    deliverException(cpu, Vec.PF, 7);
    expect(cpu.eip).toBe(stubAddr(Vec.DF));
    expect(cpu.cpl).toBe(3);
  });
});

describe('the monitor sees events first', () => {
  function monitorCpu(handle: boolean) {
    const cpu = fakeWorld(3);
    const seen: string[] = [];
    const mask = new Uint8Array(256);
    mask[0x82] = 1;
    cpu.monitor = {
      onException: (_c, v, e) => { seen.push(`exc ${v} ${e}`); return handle; },
      onInterrupt: (_c, v) => { seen.push(`irq ${v}`); return handle; },
      softIntMask: mask,
      onSoftInt: (_c, v, next) => { seen.push(`int ${v} ${next.toString(16)}`); return handle; },
    };
    return { cpu, seen };
  }
  it('a handled event never reaches the IDT', () => {
    const { cpu, seen } = monitorCpu(true);
    const esp = cpu.regs[4];
    deliverException(cpu, Vec.GP, 0x10);
    deliverExternal(cpu, 0x20);
    deliverSoftware(cpu, 0x82, 0x12347, SoftKind.IntN);
    expect(seen).toEqual(['exc 13 16', 'irq 32', 'int 130 12347']);
    expect(cpu.cpl).toBe(3);
    expect(cpu.regs[4]).toBe(esp);
  });
  it('INT vectors outside the mask go straight to the IDT', () => {
    const { cpu, seen } = monitorCpu(true);
    setGate(cpu.mem, 0x80, Sel.code1, dpl(Acc.trapGate32, 3));
    deliverSoftware(cpu, 0x80, 0x12347, SoftKind.IntN);
    expect(seen).toEqual([]);
    expect(cpu.cpl).toBe(1);
  });
  it('an event the monitor declines is delivered through the IDT', () => {
    const { cpu, seen } = monitorCpu(false);
    deliverException(cpu, Vec.GP, 0x10);
    expect(seen).toEqual(['exc 13 16']);
    expect(cpu.cpl).toBe(0);
  });
});

describe('a hypervisor bounces an event to the guest kernel', () => {
  it('bounceToHandler builds the frame a gate would, on the ring-1 stack, without the IDT', () => {
    const cpu = fakeWorld(3);
    cpu.eflags = 0x202;
    cpu.monitor = {
      onException: (c, v, e) => { bounceToHandler(c as unknown as FakeCpu, v, e, Sel.code1, 0x5000, true, (c as unknown as FakeCpu).eip); return true; },
      onInterrupt: () => false,
      softIntMask: new Uint8Array(256),
      onSoftInt: () => false,
    };
    writeGate(cpu.mem, IDT + Vec.GP * 8, 0, 0, 0); // the guest IDT is not used
    deliverException(cpu, Vec.GP, 0x10);
    expect(cpu.cpl).toBe(1);
    expect(cpu.sreg[CS]).toBe(Sel.code1);
    expect(cpu.eip).toBe(0x5000);
    expect(stackDwords(cpu, 6)).toEqual([0x10, 0x12345, Sel.code3, 0x202, STACK3 - 0x100, Sel.data3]);
    expect(cpu.eflags & IF).toBe(0);
    expect(cpu.trace.counts[Ev.Bounce]).toBe(1);
  });
});

describe('real mode', () => {
  it('takes CS:IP from the IVT and pushes FLAGS, CS, IP', () => {
    const cpu = new FakeCpu();
    cpu.mem.write16(0x21 * 4, 0x0100);
    cpu.mem.write16(0x21 * 4 + 2, 0x2000);
    cpu.sreg[CS] = 0x1000; cpu.segBase[CS] = 0x10000;
    cpu.sreg[SS] = 0x0; cpu.segBase[SS] = 0; cpu.regs[4] = 0x7000;
    cpu.eflags = 0x302;
    deliverSoftware(cpu, 0x21, 0x0042, SoftKind.IntN);
    expect(cpu.sreg[CS]).toBe(0x2000);
    expect(cpu.segBase[CS]).toBe(0x20000);
    expect(cpu.eip).toBe(0x100);
    expect(cpu.regs[4]).toBe(0x7000 - 6);
    expect([cpu.mem.read16(0x6ffa), cpu.mem.read16(0x6ffc), cpu.mem.read16(0x6ffe)]).toEqual([0x42, 0x1000, 0x302]);
    expect(cpu.eflags & (IF | TF)).toBe(0);
  });
  it('uses SP, not ESP, on a 16-bit stack', () => {
    const cpu = new FakeCpu();
    cpu.regs[4] = 0x12340002;
    deliverExternal(cpu, 8);
    expect(cpu.regs[4] >>> 0).toBe(0x1234fffc);
  });
  it('an IVT limit too small ends in a triple fault', () => {
    const cpu = new FakeCpu();
    cpu.idtrLimit = 0;
    deliverException(cpu, Vec.UD, -1);
    expect(cpu.stopInfo?.kind).toBe('tripleFault');
  });
});

describe('ring 2 and the stack of ring 1 are independent', () => {
  it('ring 2 -> ring 1 uses SS1:ESP1', () => {
    const cpu = fakeWorld(2);
    setGate(cpu.mem, 0x31, Sel.code1, Acc.intGate32);
    deliverExternal(cpu, 0x31);
    expect(cpu.cpl).toBe(1);
    expect(cpu.regs[4]).toBe(STACK1 - 20);
    expect(stackDwords(cpu, 5)[4]).toBe(Sel.data2);
  });
});
