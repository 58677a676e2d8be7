/*
 * The system instructions and the rules that make the i486 hard to virtualize by trapping:
 * privileged instructions fault outside ring 0, IOPL guards CLI/STI/IN/OUT, the TSS I/O
 * bitmap opens single ports, and LAR/LSL/VERR/VERW answer without faulting.
 */

import { describe, expect, it } from 'vitest';
import { Ev } from '../../../workers/trace/trace';
import {
  CS, DS, SS, Vec, checkIo, cli, clts, hlt, invlpg, lar, lgdt, lidt, lldt, lmsw, lsl, ltr,
  movFromCr, movFromDr, movToCr, movToDr, setFlatProtectedMode, sti, verr, verw,
} from '../../../workers/x86/system';
import { FakeCpu, faultOf } from './fakecpu';
import { fakeWorld } from './fakeworld';
import { Acc, GDT, Sel, TSS, writeGate } from './world';

const IF = 0x200;

describe('privileged instructions are #GP(0) outside ring 0', () => {
  const ops: [string, (c: FakeCpu) => unknown][] = [
    ['mov cr3, r', (c) => movToCr(c, 3, 0x1000)],
    ['mov r, cr0', (c) => movFromCr(c, 0)],
    ['mov dr7, r', (c) => movToDr(c, 7, 0)],
    ['mov r, dr6', (c) => movFromDr(c, 6)],
    ['lgdt', (c) => lgdt(c, 0, 0)],
    ['lidt', (c) => lidt(c, 0, 0)],
    ['lldt', (c) => lldt(c, 0)],
    ['ltr', (c) => ltr(c, Sel.tss2)],
    ['clts', (c) => clts(c)],
    ['lmsw', (c) => lmsw(c, 1)],
    ['hlt', (c) => hlt(c)],
    ['invlpg', (c) => invlpg(c, 0)],
  ];
  for (const [name, op] of ops) {
    it(`${name} in ring 1 and ring 3`, () => {
      for (const ring of [1, 3]) {
        const cpu = fakeWorld(ring);
        const before = [cpu.cr0, cpu.cr3, cpu.gdtrBase, cpu.idtrLimit, cpu.tr, cpu.halted];
        expect(faultOf(() => op(cpu))).toEqual([Vec.GP, 0]);
        expect([cpu.cr0, cpu.cr3, cpu.gdtrBase, cpu.idtrLimit, cpu.tr, cpu.halted]).toEqual(before);
      }
    });
    it(`${name} runs in ring 0`, () => {
      const cpu = fakeWorld(0);
      expect(faultOf(() => op(cpu))).toBeNull();
    });
  }
});

describe('control registers', () => {
  it('CR3 load: masks the low bits, traces Cr3Load with the old value, flushes the TLB', () => {
    const cpu = fakeWorld(0);
    cpu.cr3 = 0x5000;
    movToCr(cpu, 3, 0x12345fff);
    expect(cpu.cr3).toBe(0x12345018);
    expect(cpu.flushes).toBe(1);
    const r = cpu.trace.last(4).find((e) => e.kind === Ev.Cr3Load);
    expect([r?.a, r?.b]).toEqual([0x12345018, 0x5000]);
  });
  it('CR0: PG without PE is #GP(0); NW without CD is #GP(0); ET always reads 1', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => movToCr(cpu, 0, 0x80000000))).toEqual([Vec.GP, 0]);
    expect(faultOf(() => movToCr(cpu, 0, 0x20000001))).toEqual([Vec.GP, 0]);
    movToCr(cpu, 0, 0x80000001);
    expect(cpu.cr0 >>> 0).toBe(0x80000011);
    expect(cpu.flushes).toBe(1);
  });
  it('CR0.PE cleared: back to real mode at CPL 0', () => {
    const cpu = fakeWorld(0);
    movToCr(cpu, 0, 0x10);
    expect(cpu.cr0 & 1).toBe(0);
    expect(cpu.cpl).toBe(0);
  });
  it('CR4: PSE is accepted, reserved bits are #GP(0)', () => {
    const cpu = fakeWorld(0);
    movToCr(cpu, 4, 0x10);
    expect(movFromCr(cpu, 4)).toBe(0x10);
    expect(faultOf(() => movToCr(cpu, 4, 0x20))).toEqual([Vec.GP, 0]);
  });
  it('CR1 and CR5-7 are #UD', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => movToCr(cpu, 1, 0))).toEqual([Vec.UD, -1]);
    expect(faultOf(() => movFromCr(cpu, 6))).toEqual([Vec.UD, -1]);
  });
  it('LMSW sets PE but never clears it; CLTS clears TS', () => {
    const cpu = new FakeCpu();
    lmsw(cpu, 0x9);
    expect(cpu.cr0 & 0xf).toBe(0x9);
    lmsw(cpu, 0x0);
    expect(cpu.cr0 & 0xf).toBe(0x1);
    clts(cpu);
    expect(cpu.cr0 & 0x8).toBe(0);
  });
  it('DR4/DR5 alias DR6/DR7', () => {
    const cpu = fakeWorld(0);
    movToDr(cpu, 5, 0x1);
    movToDr(cpu, 4, 0);
    expect(movFromDr(cpu, 7) & 0x401).toBe(0x401);
    expect(movFromDr(cpu, 4) >>> 0).toBe(0xffff0ff0);
  });
  it('INVLPG drops one page and is traced', () => {
    const cpu = fakeWorld(0);
    invlpg(cpu, 0x400123);
    expect(cpu.invalidated).toEqual([0x400123]);
    expect(cpu.trace.counts[Ev.TlbFlush]).toBe(1);
  });
});

describe('LTR and the busy bit', () => {
  it('marks the TSS descriptor busy; loading a busy TSS is #GP(selector)', () => {
    const cpu = fakeWorld(0);
    ltr(cpu, Sel.tss2);
    expect(cpu.tr).toBe(Sel.tss2);
    expect(cpu.trBase).toBe(TSS + 0x200);
    expect(cpu.trLimit).toBe(0x67);
    expect(cpu.mem.u8[GDT + 0x88 + 5] & 0xf).toBe(0xb);
    expect(faultOf(() => ltr(cpu, Sel.tss2))).toEqual([Vec.GP, Sel.tss2]);
  });
  it('a non-TSS descriptor is #GP; a null selector is #GP(0)', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => ltr(cpu, Sel.data0))).toEqual([Vec.GP, Sel.data0]);
    expect(faultOf(() => ltr(cpu, 0))).toEqual([Vec.GP, 0]);
  });
  it('LTR and LLDT are #UD in real mode', () => {
    const cpu = new FakeCpu();
    expect(faultOf(() => ltr(cpu, 0x38))).toEqual([Vec.UD, -1]);
    expect(faultOf(() => lldt(cpu, 0))).toEqual([Vec.UD, -1]);
  });
});

describe('LAR, LSL, VERR, VERW', () => {
  it('LAR returns the access rights dword; -1 for what the caller may not see', () => {
    const cpu = fakeWorld(3);
    expect(lar(cpu, Sel.code3) >>> 0).toBe(0x00cffa00 & 0x00f0ff00);
    expect(lar(cpu, Sel.data0)).toBe(-1); // DPL 0 < CPL 3
    expect(lar(cpu, Sel.conforming0) >>> 0).toBe(0x00c09e00); // conforming: always visible
    expect(lar(cpu, 0)).toBe(-1);
    expect(lar(cpu, 0xf8)).toBe(-1); // outside the GDT
  });
  it('LAR sees TSS and LDT descriptors at ring 0 but not gates that are not call gates', () => {
    const cpu = fakeWorld(0);
    expect((lar(cpu, Sel.tss) >>> 8) & 0xff).toBe(0x89);
    expect((lar(cpu, Sel.ldt) >>> 8) & 0xff).toBe(0x82);
    writeGate(cpu.mem, GDT + 0x58, Sel.code0, 0, Acc.intGate32);
    expect(lar(cpu, Sel.gateA)).toBe(-1);
    writeGate(cpu.mem, GDT + 0x58, Sel.code0, 0, Acc.callGate32);
    expect((lar(cpu, Sel.gateA) >>> 8) & 0xff).toBe(0x8c);
    expect(lsl(cpu, Sel.gateA)).toBe(-1);
  });
  it('LSL returns the byte limit (unsigned), -1 if not visible', () => {
    const cpu = fakeWorld(0);
    expect(lsl(cpu, Sel.data0)).toBe(0xffffffff);
    expect(lsl(cpu, Sel.small0)).toBe(0xfff);
    expect(lsl(cpu, Sel.tss)).toBe(0x88);
    cpu.cpl = 3;
    expect(lsl(cpu, Sel.small0)).toBe(-1);
  });
  it('VERR and VERW', () => {
    const cpu = fakeWorld(3);
    expect(verr(cpu, Sel.data3)).toBe(0);
    expect(verw(cpu, Sel.data3)).toBe(0);
    expect(verr(cpu, Sel.code3)).toBe(0);
    expect(verw(cpu, Sel.code3)).toBe(-1);
    expect(verr(cpu, Sel.execOnly0)).toBe(-1);
    expect(verr(cpu, Sel.data0)).toBe(-1);
    expect(verw(cpu, Sel.data0)).toBe(-1);
    expect(verr(cpu, Sel.conforming0)).toBe(0);
    expect(verw(cpu, Sel.tss)).toBe(-1);
  });
});

describe('IOPL and the I/O permission bitmap', () => {
  it('CLI/STI: allowed at CPL <= IOPL, #GP(0) above', () => {
    const cpu = fakeWorld(1);
    cpu.eflags = 0x202;
    expect(faultOf(() => cli(cpu))).toEqual([Vec.GP, 0]);
    expect(cpu.eflags & IF).toBe(IF);
    cpu.eflags = 0x1202; // IOPL 1
    cli(cpu);
    expect(cpu.eflags & IF).toBe(0);
    sti(cpu);
    expect(cpu.eflags & IF).toBe(IF);
    expect(cpu.inhibitIrq).toBe(true);
  });
  it('STI when IF is already set opens no interrupt shadow', () => {
    const cpu = fakeWorld(0);
    cpu.eflags = 0x202;
    sti(cpu);
    expect(cpu.inhibitIrq).toBe(false);
  });
  it('IN/OUT at CPL <= IOPL need no bitmap', () => {
    const cpu = fakeWorld(3);
    cpu.eflags = 0x3002;
    expect(faultOf(() => checkIo(cpu, 0x3f8, 1))).toBeNull();
  });
  it('at CPL > IOPL only the ports whose bitmap bits are clear', () => {
    const cpu = fakeWorld(3);
    expect(faultOf(() => checkIo(cpu, 0x80, 1))).toBeNull();
    expect(faultOf(() => checkIo(cpu, 0x61, 1))).toBeNull();
    expect(faultOf(() => checkIo(cpu, 0x60, 1))).toEqual([Vec.GP, 0]);
    expect(faultOf(() => checkIo(cpu, 0x80, 2))).toEqual([Vec.GP, 0]); // 0x81 is denied
    expect(faultOf(() => checkIo(cpu, 0x3f8, 1))).toEqual([Vec.GP, 0]); // past the TSS limit
  });
  it('a word access spanning two bitmap bytes checks both', () => {
    const cpu = fakeWorld(3);
    cpu.mem.u8[TSS + 0x68 + 0x0e] = 0x7f; // port 0x77 open
    cpu.mem.u8[TSS + 0x68 + 0x0f] = 0xfe; // port 0x78 open
    expect(faultOf(() => checkIo(cpu, 0x77, 2))).toBeNull();
    expect(faultOf(() => checkIo(cpu, 0x77, 4))).toEqual([Vec.GP, 0]);
  });
  it('a TSS without a bitmap denies every port at CPL > IOPL', () => {
    const cpu = fakeWorld(0);
    ltr(cpu, Sel.tss2);
    cpu.mem.write16(TSS + 0x200 + 0x66, 0x68);
    cpu.cpl = 1;
    expect(faultOf(() => checkIo(cpu, 0x80, 1))).toEqual([Vec.GP, 0]);
  });
  it('real mode: no checks', () => {
    const cpu = new FakeCpu();
    expect(faultOf(() => checkIo(cpu, 0x3f8, 4))).toBeNull();
    expect(faultOf(() => cli(cpu))).toBeNull();
  });
});

describe('HLT and the Multiboot entry state', () => {
  it('HLT halts and is traced', () => {
    const cpu = fakeWorld(0);
    hlt(cpu);
    expect(cpu.halted).toBe(true);
    expect(cpu.trace.counts[Ev.Halt]).toBe(1);
  });
  it('setFlatProtectedMode: CS 0x08 flat 32-bit code, data 0x10, PE, CPL 0, IF 0', () => {
    const cpu = new FakeCpu();
    cpu.eflags = 0x202;
    setFlatProtectedMode(cpu);
    expect(cpu.cr0 & 0x80000001).toBe(1);
    expect(cpu.cpl).toBe(0);
    expect(cpu.sreg[CS]).toBe(0x08);
    expect(cpu.segAttr[CS]).toBe(0xc09b);
    expect(cpu.sreg[SS]).toBe(0x10);
    expect(cpu.sreg[DS]).toBe(0x10);
    expect(cpu.segLimit[DS] >>> 0).toBe(0xffffffff);
    expect(cpu.eflags & IF).toBe(0);
  });
});
