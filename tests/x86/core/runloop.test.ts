import { describe, expect, it } from 'vitest';
import { TestCpu, Stop } from './harness';
import type { InterruptLine } from '../../../workers/x86/bus';

/** An INTR line raised by the test: vector v pending until acknowledged. */
class Line implements InterruptLine {
  queue: number[] = [];
  pending(): boolean { return this.queue.length > 0; }
  acknowledge(): number { return this.queue.shift() ?? 0xff; }
}

function realWithIvt(): TestCpu {
  const t = new TestCpu().real16();
  t.cpu.monitor = null;
  // vector 0x20 -> 0000:2000: inc bx; iret.  vector 1 (#DB) -> 0000:2100: inc si; iret
  t.mem.write16(0x20 * 4, 0x2000); t.mem.write16(0x20 * 4 + 2, 0);
  t.load(0x2000, [0x43, 0xcf]);
  t.mem.write16(1 * 4, 0x2100); t.mem.write16(1 * 4 + 2, 0);
  t.load(0x2100, [0x46, 0xcf]);
  return t;
}

describe('interrupts at instruction boundaries', () => {
  it('takes INTR only with IF=1, and wakes from HLT', () => {
    const t = realWithIvt();
    const line = new Line();
    t.cpu.intr = line;
    t.asm('cli\n mov cx, 5\n l: dec cx\n jnz l\n sti\n w: hlt\n mov dx, 7\n jmp w', 0x1000, 16);
    line.queue.push(0x20);
    // with IF=0 the pending interrupt waits; then STI (one-instruction shadow), HLT
    expect(t.run(4)).toBe(Stop.Budget);
    expect(t.r[3] & 0xffff).toBe(0);
    expect(t.run(1000)).toBe(Stop.Halted);
    // delivered after the instruction following STI (the HLT), which it then ended
    expect(t.r[3] & 0xffff).toBe(1);
    line.queue.push(0x20);
    expect(t.run(1000)).toBe(Stop.Halted);
    expect(t.r[3] & 0xffff).toBe(2);
    expect(t.r[2] & 0xffff).toBe(7);
  });
});

describe('single-step, breakpoints, stop requests', () => {
  it('EFLAGS.TF raises #DB after each instruction', () => {
    const t = realWithIvt();
    // set TF with POPF, run three instructions, clear TF with POPF again
    t.asm('pushf\n pop ax\n or ah, 1\n push ax\n popf\n nop\n nop\n mov cx, 1\n pushf\n pop ax\n and ah, 0xfe\n push ax\n popf', 0x1000, 16);
    t.run(1000);
    // a trap after every instruction that started with TF=1: nop, nop, mov, pushf, pop,
    // and, push and the POPF that cleared it (the handler itself runs with TF=0)
    expect(t.r[6] & 0xffff).toBe(8);
    expect(t.r[1] & 0xffff).toBe(1);
    expect(t.cpu.getEflags() & 0x100).toBe(0);
  });

  it('stops at a breakpoint and steps past it when resumed', () => {
    const t = new TestCpu().flat32().asm('mov eax, 1\n mov ebx, 2\n mov ecx, 3');
    t.cpu.breakpoints.add(0x1005);
    expect(t.run()).toBe(Stop.Breakpoint);
    expect(t.cpu.eip).toBe(0x1005);
    expect(t.r[3]).toBe(0);
    expect(t.run()).toBe(Stop.Halted);
    expect(t.r[1]).toBe(3);
  });

  it('step() runs one instruction', () => {
    const t = new TestCpu().flat32().asm('mov eax, 1\n mov ebx, 2');
    expect(t.cpu.step()).toBe(Stop.Budget);
    expect(t.r[0]).toBe(1);
    expect(t.r[3]).toBe(0);
    expect(t.cpu.eip).toBe(0x1005);
  });

  it('requestStop() ends run() at the next boundary', () => {
    const io = { in8: () => 0, in16: () => 0, in32: () => 0, out8: () => t.cpu.requestStop(), out16: () => {}, out32: () => {} };
    const t = new TestCpu(4, io).flat32().asm('mov eax, 1\n out 0x80, al\n mov eax, 2');
    expect(t.run()).toBe(Stop.Requested);
    expect(t.r[0]).toBe(1);
    expect(t.run()).toBe(Stop.Halted);
    expect(t.r[0]).toBe(2);
  });
});

describe('state', () => {
  it('snapshot() and restore() round-trip every register', () => {
    const t = new TestCpu().flat32().asm('mov eax, 0x11\n stc\n mov ebx, 0x22');
    t.run();
    const snap = t.cpu.snapshot();
    const regs = t.cpu.readRegisters();
    const t2 = new TestCpu();
    t2.cpu.restore(snap);
    expect(t2.cpu.readRegisters()).toEqual(regs);
    expect(t2.cpu.getEflags() & 1).toBe(1);
    expect(t2.cpu.cycles).toBe(t.cpu.cycles);
  });

  it('reset() is the power-on state', () => {
    const t = new TestCpu();
    t.cpu.reset();
    const r = t.cpu.readRegisters();
    expect([r.cs, r.eip, r.segBase[1], r.eflags]).toEqual([0xf000, 0xfff0, 0xffff0000, 2]);
    expect(r.cr0 & 1).toBe(0);
  });

  it('an undefined opcode raises #UD with EIP at the opcode', () => {
    const t = new TestCpu().flat32().asm('nop\n ud2');
    t.run();
    expect(t.faults[0]).toMatchObject({ vector: 6, eip: 0x1001 });
  });

  it('x87 escapes raise #NM with CR0.EM, #UD without; CPUID reports no FPU', () => {
    const t = new TestCpu().flat32().asm('fninit');
    t.cpu.cr0 |= 4;
    t.run();
    expect(t.faults[0].vector).toBe(7);
    const t2 = new TestCpu().flat32().asm('fninit');
    t2.run();
    expect(t2.faults[0].vector).toBe(6);
    const t3 = new TestCpu().flat32().asm('xor eax, eax\n cpuid\n mov esi, ebx\n mov eax, 1\n cpuid');
    t3.run();
    expect(t3.r[2] & 1).toBe(0); // EDX.FPU
    expect((t3.r[0] >> 8) & 0xf).toBe(4); // family 4
    expect(String.fromCharCode(t3.r[6] & 0xff, (t3.r[6] >> 8) & 0xff)).toBe('Pa');
  });

  it('rdtsc returns the cycle count', () => {
    const t = new TestCpu().flat32().asm('nop\n nop\n rdtsc');
    t.run();
    expect(t.r[0]).toBe(2);
    expect(t.r[2]).toBe(0);
  });
});
