/*
 * Segment register loads (MOV Sreg): the descriptor checks of the manual, one rule a test,
 * each with the exact fault and error code (the selector with RPL cleared).
 */

import { describe, expect, it } from 'vitest';
import { CS, DS, ES, SS, Vec, lldt, loadSeg } from '../../../workers/x86/system';
import { FakeCpu, faultOf } from './fakecpu';
import { fakeWorld } from './fakeworld';
import { Acc, GDT, LDT, Sel, dpl, writeSeg } from './world';

describe('real mode', () => {
  it('base is the selector times 16, the limit is kept', () => {
    const cpu = new FakeCpu();
    cpu.segLimit[DS] = 0xffff;
    loadSeg(cpu, DS, 0x1234);
    expect(cpu.sreg[DS]).toBe(0x1234);
    expect(cpu.segBase[DS]).toBe(0x12340);
    expect(cpu.segLimit[DS]).toBe(0xffff);
  });
  it('a load of SS holds interrupts off for one instruction', () => {
    const cpu = new FakeCpu();
    loadSeg(cpu, ES, 0x10);
    expect(cpu.inhibitIrq).toBe(false);
    loadSeg(cpu, SS, 0x10);
    expect(cpu.inhibitIrq).toBe(true);
  });
});

describe('protected mode: data segments', () => {
  it('loads base, limit and attributes and sets the accessed bit in the GDT', () => {
    const cpu = fakeWorld(3);
    writeSeg(cpu.mem, GDT + 0x80, 0x40000, 0xfff, Acc.data & ~1 | 0x60, 0x4);
    expect(cpu.mem.u8[GDT + 0x85] & 1).toBe(0);
    loadSeg(cpu, DS, 0x83);
    expect(cpu.sreg[DS]).toBe(0x83);
    expect(cpu.segBase[DS]).toBe(0x40000);
    expect(cpu.segLimit[DS]).toBe(0xfff);
    expect(cpu.segAttr[DS]).toBe(0x40f3);
    expect(cpu.mem.u8[GDT + 0x85] & 1).toBe(1);
  });
  it('scales a page-granular limit', () => {
    const cpu = fakeWorld(0);
    loadSeg(cpu, ES, Sel.data0);
    expect(cpu.segLimit[ES] >>> 0).toBe(0xffffffff);
  });
  it('a selector past the GDT limit is #GP(selector)', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => loadSeg(cpu, DS, 0xb3))).toEqual([Vec.GP, 0xb0]);
  });
  it('a not-present segment is #NP(selector)', () => {
    const cpu = fakeWorld(3);
    expect(faultOf(() => loadSeg(cpu, DS, Sel.dataNotPresent))).toEqual([Vec.NP, 0x40]);
  });
  it('an execute-only code segment cannot be loaded into DS', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => loadSeg(cpu, DS, Sel.execOnly0))).toEqual([Vec.GP, 0x48]);
  });
  it('a readable conforming code segment can be loaded from any ring', () => {
    const cpu = fakeWorld(3);
    expect(faultOf(() => loadSeg(cpu, DS, Sel.conforming0 | 3))).toBeNull();
  });
  it('ring 3 cannot load a ring-0 data segment (CPL > DPL)', () => {
    const cpu = fakeWorld(3);
    expect(faultOf(() => loadSeg(cpu, DS, Sel.data0 | 3))).toEqual([Vec.GP, Sel.data0]);
  });
  it('ring 0 with RPL 3 cannot load a ring-0 data segment (RPL > DPL)', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => loadSeg(cpu, DS, Sel.data0 | 3))).toEqual([Vec.GP, Sel.data0]);
  });
  it('a null selector leaves DS unusable (attributes 0), without a fault', () => {
    const cpu = fakeWorld(3);
    expect(faultOf(() => loadSeg(cpu, DS, 3))).toBeNull();
    expect(cpu.sreg[DS]).toBe(3);
    expect(cpu.segAttr[DS]).toBe(0);
  });
  it('a system descriptor (the TSS) is #GP', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => loadSeg(cpu, ES, Sel.tss))).toEqual([Vec.GP, Sel.tss]);
  });
});

describe('protected mode: SS', () => {
  it('a null SS is #GP(0)', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => loadSeg(cpu, SS, 0))).toEqual([Vec.GP, 0]);
  });
  it('RPL must equal CPL', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => loadSeg(cpu, SS, Sel.data0 | 1))).toEqual([Vec.GP, Sel.data0]);
  });
  it('DPL must equal CPL', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => loadSeg(cpu, SS, Sel.data1 & ~3))).toEqual([Vec.GP, Sel.data1 & ~3]);
  });
  it('must be writable', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => loadSeg(cpu, SS, Sel.readOnly0))).toEqual([Vec.GP, Sel.readOnly0]);
  });
  it('not present is #SS(selector), not #NP', () => {
    const cpu = fakeWorld(3);
    expect(faultOf(() => loadSeg(cpu, SS, Sel.dataNotPresent))).toEqual([Vec.SS, 0x40]);
  });
  it('a good load sets the cache and the interrupt shadow', () => {
    const cpu = fakeWorld(1);
    loadSeg(cpu, SS, Sel.data1);
    expect(cpu.sreg[SS]).toBe(Sel.data1);
    expect(cpu.inhibitIrq).toBe(true);
  });
});

describe('protected mode: the LDT', () => {
  it('TI=1 with no LDT loaded is #GP', () => {
    const cpu = fakeWorld(3);
    expect(faultOf(() => loadSeg(cpu, DS, 0x07))).toEqual([Vec.GP, 0x04]);
  });
  it('after LLDT, TI=1 selectors come from the LDT', () => {
    const cpu = fakeWorld(0);
    lldt(cpu, Sel.ldt);
    expect(cpu.ldtrBase).toBe(LDT);
    cpu.cpl = 3;
    loadSeg(cpu, DS, 0x07);
    expect(cpu.segBase[DS]).toBe(0x50000);
    expect(faultOf(() => loadSeg(cpu, DS, 0x0f))).toEqual([Vec.GP, 0x0c]); // ring-0 data in the LDT
    expect(faultOf(() => loadSeg(cpu, DS, 0x17))).toEqual([Vec.GP, 0x14]); // past the LDT limit
  });
  it('LLDT requires an LDT descriptor', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => lldt(cpu, Sel.tss))).toEqual([Vec.GP, Sel.tss]);
  });
});

describe('MOV to CS', () => {
  it('is checked as a same-privilege code segment', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => loadSeg(cpu, CS, Sel.data0))).toEqual([Vec.GP, Sel.data0]);
    writeSeg(cpu.mem, GDT + 0x80, 0, 0xfffff, dpl(Acc.code, 0), 0xc);
    loadSeg(cpu, CS, 0x80);
    expect(cpu.sreg[CS]).toBe(0x80);
  });
});
