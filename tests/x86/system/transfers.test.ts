/*
 * Far JMP, far CALL (directly and through call gates, with the parameter copy), RETF to
 * the same and to an outer ring, and IRET with its EFLAGS rules.
 */

import { describe, expect, it } from 'vitest';
import { Ev } from '../../../workers/trace/trace';
import {
  CS, DS, ES, FS, GS, SS, Vec, farCall, farJump, farReturn, iret, popfAllowedMask,
} from '../../../workers/x86/system';
import { FakeCpu, faultOf } from './fakecpu';
import { fakeWorld } from './fakeworld';
import { Acc, GDT, STACK0, STACK1, STACK3, Sel, dpl, writeGate, writeSeg } from './world';

const IF = 0x200, IOPL3 = 0x3000, NT = 0x4000;

function push32(cpu: FakeCpu, v: number): void {
  cpu.regs[4] -= 4;
  cpu.mem.write32(cpu.regs[4] >>> 0, v);
}

describe('far JMP', () => {
  it('to a code segment of the same ring', () => {
    const cpu = fakeWorld(0);
    writeSeg(cpu.mem, GDT + 0x80, 0x1000, 0xffff, Acc.code, 0x4);
    farJump(cpu, 0x80, 0x20, true);
    expect(cpu.sreg[CS]).toBe(0x80);
    expect(cpu.segBase[CS]).toBe(0x1000);
    expect(cpu.eip).toBe(0x20);
  });
  it('past the target limit is #GP(0)', () => {
    const cpu = fakeWorld(0);
    expect(faultOf(() => farJump(cpu, Sel.code16, 0x10000, true))).toEqual([Vec.GP, 0]);
  });
  it('cannot change privilege: a ring-0 code segment from ring 3 is #GP(selector)', () => {
    const cpu = fakeWorld(3);
    expect(faultOf(() => farJump(cpu, Sel.code0, 0, true))).toEqual([Vec.GP, Sel.code0]);
  });
  it('to a conforming ring-0 segment from ring 3 keeps CPL 3', () => {
    const cpu = fakeWorld(3);
    farJump(cpu, Sel.conforming0, 0x100, true);
    expect(cpu.cpl).toBe(3);
    expect(cpu.sreg[CS]).toBe(Sel.conforming0 | 3);
  });
  it('a not-present code segment is #NP(selector)', () => {
    const cpu = fakeWorld(1);
    expect(faultOf(() => farJump(cpu, Sel.codeNotPresent1, 0, true))).toEqual([Vec.NP, 0xa0]);
  });
  it('a 16-bit JMP uses the low 16 bits of the offset', () => {
    const cpu = fakeWorld(0);
    farJump(cpu, Sel.code0, 0x12345678, false);
    expect(cpu.eip).toBe(0x5678);
  });
  it('in real mode loads CS = selector * 16', () => {
    const cpu = new FakeCpu();
    farJump(cpu, 0x1234, 0x10, false);
    expect(cpu.segBase[CS]).toBe(0x12340);
    expect(cpu.eip).toBe(0x10);
  });
  it('a TSS as target stops the machine: task switches are not part of the lab', () => {
    const cpu = fakeWorld(0);
    farJump(cpu, Sel.tss2, 0, true);
    expect(cpu.stopInfo?.kind).toBe('unsupported');
  });
});

describe('far CALL', () => {
  it('same ring: pushes CS and the return EIP', () => {
    const cpu = fakeWorld(0);
    const esp = cpu.regs[4];
    farCall(cpu, Sel.code0, 0x4000, true);
    expect(cpu.eip).toBe(0x4000);
    expect(cpu.regs[4]).toBe(esp - 8);
    expect(cpu.mem.read32(cpu.regs[4])).toBe(0x12345);
    expect(cpu.mem.read32(cpu.regs[4] + 4)).toBe(Sel.code0);
  });
  it('through a call gate from ring 3 to ring 0, copying two parameters', () => {
    const cpu = fakeWorld(3);
    writeGate(cpu.mem, GDT + 0x58, Sel.code0, 0x7000, dpl(Acc.callGate32, 3), 2);
    push32(cpu, 0xbbbb); // second parameter
    push32(cpu, 0xaaaa); // first parameter
    const userEsp = cpu.regs[4];
    farCall(cpu, Sel.gateA | 3, 0xdead, true); // the offset is ignored for a gate
    expect(cpu.cpl).toBe(0);
    expect(cpu.eip).toBe(0x7000);
    expect(cpu.sreg[SS]).toBe(Sel.data0);
    expect(cpu.regs[4]).toBe(STACK0 - 24);
    const s = [0, 1, 2, 3, 4, 5].map((i) => cpu.mem.read32(cpu.regs[4] + 4 * i) >>> 0);
    expect(s).toEqual([0x12345, Sel.code3, 0xaaaa, 0xbbbb, userEsp, Sel.data3]);
  });
  it('a 16-bit call gate copies words and pushes a 16-bit frame', () => {
    const cpu = fakeWorld(3);
    writeGate(cpu.mem, GDT + 0x58, Sel.code0, 0x7000, dpl(Acc.callGate16, 3), 1);
    cpu.regs[4] -= 2;
    cpu.mem.write16(cpu.regs[4] >>> 0, 0xabcd);
    const userEsp = cpu.regs[4];
    farCall(cpu, Sel.gateA | 3, 0, false);
    expect(cpu.cpl).toBe(0);
    expect(cpu.regs[4]).toBe(STACK0 - 10);
    const w = [0, 1, 2, 3, 4].map((i) => cpu.mem.read16(cpu.regs[4] + 2 * i));
    expect(w).toEqual([0x2345, Sel.code3, 0xabcd, userEsp & 0xffff, Sel.data3]);
  });
  it('a call gate with DPL 0 cannot be used from ring 3', () => {
    const cpu = fakeWorld(3);
    writeGate(cpu.mem, GDT + 0x58, Sel.code0, 0x7000, Acc.callGate32, 0);
    expect(faultOf(() => farCall(cpu, Sel.gateA | 3, 0, true))).toEqual([Vec.GP, Sel.gateA]);
  });
  it('a call gate to ring 1 uses SS1:ESP1 (a paravirtual kernel entry)', () => {
    const cpu = fakeWorld(3);
    writeGate(cpu.mem, GDT + 0x60, Sel.code1, 0x7100, dpl(Acc.callGate32, 3), 0);
    farCall(cpu, Sel.gateB | 3, 0, true);
    expect(cpu.cpl).toBe(1);
    expect(cpu.sreg[SS]).toBe(Sel.data1);
    expect(cpu.regs[4]).toBe(STACK1 - 16);
  });
  it('JMP through a call gate to a more privileged segment is #GP(target)', () => {
    const cpu = fakeWorld(3);
    writeGate(cpu.mem, GDT + 0x58, Sel.code0, 0x7000, dpl(Acc.callGate32, 3), 0);
    expect(faultOf(() => farJump(cpu, Sel.gateA | 3, 0, true))).toEqual([Vec.GP, Sel.code0]);
  });
  it('a not-present call gate is #NP(gate selector)', () => {
    const cpu = fakeWorld(3);
    writeGate(cpu.mem, GDT + 0x58, Sel.code0, 0x7000, dpl(Acc.callGate32, 3) & ~0x80, 0);
    expect(faultOf(() => farCall(cpu, Sel.gateA | 3, 0, true))).toEqual([Vec.NP, Sel.gateA]);
  });
});

describe('far RET', () => {
  it('to the same ring pops EIP, CS and releases imm16 bytes', () => {
    const cpu = fakeWorld(0);
    push32(cpu, 0x1111); // a parameter
    push32(cpu, Sel.code0);
    push32(cpu, 0x4444);
    const esp = cpu.regs[4];
    farReturn(cpu, true, 4);
    expect(cpu.eip).toBe(0x4444);
    expect(cpu.regs[4]).toBe(esp + 12);
  });
  it('to an outer ring pops SS:ESP and nulls data segments the outer ring may not use', () => {
    const cpu = fakeWorld(0);
    push32(cpu, Sel.data3);
    push32(cpu, 0x6e000);
    push32(cpu, Sel.code3);
    push32(cpu, 0x5555);
    // DS stays ring 0 data, ES is reloaded with a ring-3 one, FS with conforming code.
    cpu.sreg[ES] = Sel.data3; cpu.segAttr[ES] = 0xc0f3;
    cpu.sreg[FS] = Sel.conforming0; cpu.segAttr[FS] = 0xc09f;
    farReturn(cpu, true, 0);
    expect(cpu.cpl).toBe(3);
    expect(cpu.sreg[CS]).toBe(Sel.code3);
    expect(cpu.sreg[SS]).toBe(Sel.data3);
    expect(cpu.regs[4]).toBe(0x6e000);
    expect(cpu.sreg[DS]).toBe(0);
    expect(cpu.segAttr[DS]).toBe(0);
    expect(cpu.sreg[GS]).toBe(0);
    expect(cpu.sreg[ES]).toBe(Sel.data3);
    expect(cpu.sreg[FS]).toBe(Sel.conforming0);
  });
  it('to a more privileged ring is #GP(selector)', () => {
    const cpu = fakeWorld(3);
    push32(cpu, Sel.code0);
    push32(cpu, 0x5555);
    expect(faultOf(() => farReturn(cpu, true, 0))).toEqual([Vec.GP, Sel.code0]);
  });
  it('to an outer ring with an SS of the wrong RPL is #GP(SS)', () => {
    const cpu = fakeWorld(0);
    push32(cpu, Sel.data1);
    push32(cpu, 0x6e000);
    push32(cpu, Sel.code3);
    push32(cpu, 0x5555);
    expect(faultOf(() => farReturn(cpu, true, 0))).toEqual([Vec.GP, Sel.data1 & ~3]);
    expect(cpu.cpl).toBe(0);
  });
});

describe('IRET', () => {
  function iretFrame(cpu: FakeCpu, cs: number, eip: number, flags: number, ss?: number, esp?: number): void {
    if (ss !== undefined) { push32(cpu, ss); push32(cpu, esp ?? 0); }
    push32(cpu, flags);
    push32(cpu, cs);
    push32(cpu, eip);
  }
  it('ring 0 -> ring 3: the way into user mode', () => {
    const cpu = fakeWorld(0);
    iretFrame(cpu, Sel.code3, 0x8000, 0x202, Sel.data3, STACK3);
    iret(cpu, true);
    expect(cpu.cpl).toBe(3);
    expect(cpu.eip).toBe(0x8000);
    expect(cpu.regs[4]).toBe(STACK3);
    expect(cpu.eflags).toBe(0x202);
    expect(cpu.trace.counts[Ev.Iret]).toBe(1);
  });
  it('ring 1 -> ring 3 cannot raise IOPL, but may set IF (CPL 1 <= IOPL 1)', () => {
    const cpu = fakeWorld(1);
    cpu.eflags = 0x1002; // IOPL 1
    iretFrame(cpu, Sel.code3, 0x8000, 0x3202, Sel.data3, STACK3);
    iret(cpu, true);
    expect(cpu.eflags & IOPL3).toBe(0x1000);
    expect(cpu.eflags & IF).toBe(IF);
  });
  it('at CPL > IOPL, IF in the popped image is ignored', () => {
    const cpu = fakeWorld(1);
    cpu.eflags = 0x2; // IOPL 0, IF 0
    iretFrame(cpu, Sel.code1, 0x8000, 0x202);
    iret(cpu, true);
    expect(cpu.eflags & IF).toBe(0);
  });
  it('at CPL 0 both IOPL and IF follow the image', () => {
    const cpu = fakeWorld(0);
    iretFrame(cpu, Sel.code0, 0x8000, 0x3202);
    iret(cpu, true);
    expect(cpu.eflags & (IF | IOPL3)).toBe(IF | IOPL3);
  });
  it('to a more privileged ring is #GP(CS)', () => {
    const cpu = fakeWorld(3);
    iretFrame(cpu, Sel.code0, 0x8000, 0x202);
    expect(faultOf(() => iret(cpu, true))).toEqual([Vec.GP, Sel.code0]);
  });
  it('with NT set stops the machine: nested tasks are not part of the lab', () => {
    const cpu = fakeWorld(0);
    cpu.eflags = 2 | NT;
    iret(cpu, true);
    expect(cpu.stopInfo?.kind).toBe('unsupported');
  });
  it('real mode: IP, CS, FLAGS', () => {
    const cpu = new FakeCpu();
    cpu.regs[4] = 0x1000;
    cpu.mem.write16(0x1000, 0x0123);
    cpu.mem.write16(0x1002, 0x2000);
    cpu.mem.write16(0x1004, 0x0246);
    iret(cpu, false);
    expect(cpu.eip).toBe(0x123);
    expect(cpu.segBase[CS]).toBe(0x20000);
    expect(cpu.eflags & 0xffff).toBe(0x246);
    expect(cpu.regs[4]).toBe(0x1006);
  });
});

describe('POPF mask', () => {
  it('IF only when CPL <= IOPL; IOPL only at CPL 0', () => {
    const cpu = fakeWorld(0);
    expect(popfAllowedMask(cpu, true) & (IF | IOPL3)).toBe(IF | IOPL3);
    cpu.cpl = 1;
    expect(popfAllowedMask(cpu, true) & (IF | IOPL3)).toBe(0);
    cpu.eflags = 0x1002;
    expect(popfAllowedMask(cpu, true) & (IF | IOPL3)).toBe(IF);
    cpu.cpl = 3;
    expect(popfAllowedMask(cpu, true) & (IF | IOPL3)).toBe(0);
    expect(popfAllowedMask(cpu, true) & 0x8d5).toBe(0x8d5); // OF DF? SF ZF AF PF CF always
  });
  it('never VM or RF; the 16-bit form only the low word', () => {
    const cpu = fakeWorld(0);
    expect(popfAllowedMask(cpu, true) & 0x30000).toBe(0);
    expect(popfAllowedMask(cpu, false) >>> 16).toBe(0);
  });
  it('real mode is CPL 0', () => {
    const cpu = new FakeCpu();
    cpu.cpl = 0;
    expect(popfAllowedMask(cpu, false) & (IF | IOPL3)).toBe(IF | IOPL3);
  });
});
