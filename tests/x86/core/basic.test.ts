import { describe, expect, it } from 'vitest';
import { TestCpu, Stop } from './harness';
import { CF, OF, SF, ZF, PF, AF } from '../../../workers/x86/opcodes';

describe('run loop and simple code', () => {
  it('runs 32-bit code to HLT', () => {
    const t = new TestCpu().flat32().asm(`
      mov eax, 5
      mov ecx, 10
    l: add eax, ecx
      dec ecx
      jnz l
    `);
    expect(t.run()).toBe(Stop.Halted);
    expect(t.r[0]).toBe(5 + 55);
    expect(t.cpu.instructions).toBe(2 + 30 + 1);
  });

  it('runs 16-bit real-mode code', () => {
    const t = new TestCpu().real16().asm(`
      mov ax, 0x1234
      mov bx, 0x0ff0
      add ax, bx
      push ax
      pop cx
    `, 0x1000, 16);
    expect(t.run()).toBe(Stop.Halted);
    expect(t.r[1] & 0xffff).toBe(0x2224);
    expect(t.r[4] & 0xffff).toBe(0x7000);
  });

  it('stops on budget and resumes', () => {
    const t = new TestCpu().flat32().asm(`
      mov ecx, 1000
    l: dec ecx
      jnz l
    `);
    expect(t.run(100)).toBe(Stop.Budget);
    expect(t.cpu.cycles).toBe(100);
    expect(t.run(1e6)).toBe(Stop.Halted);
    expect(t.r[1]).toBe(0);
  });
});

describe('ALU flags', () => {
  const cases: [string, number, number][] = [
    // [code, expected eax, flags mask expected set among OSZAPC]
    ['mov eax, 0xffffffff\n add eax, 1', 0, CF | ZF | PF | AF],
    ['mov eax, 0x7fffffff\n add eax, 1', 0x80000000, OF | SF | PF | AF],
    ['mov eax, 0\n sub eax, 1', 0xffffffff, CF | SF | PF | AF],
    ['mov eax, 0x80000000\n sub eax, 1', 0x7fffffff, OF | PF | AF],
    ['mov eax, 3\n xor eax, 3', 0, ZF | PF],
    ['mov al, 0x80\n add al, 0x80', 0, CF | ZF | PF | OF],
    ['stc\n mov eax, 1\n adc eax, 0xffffffff', 1, CF | AF],
    ['stc\n mov eax, 0\n sbb eax, 0', 0xffffffff, CF | SF | PF | AF],
    ['mov eax, 5\n neg eax', 0xfffffffb, CF | SF | AF],
    ['stc\n mov eax, 0x7fffffff\n inc eax', 0x80000000, CF | OF | SF | PF | AF],
  ];
  for (const [code, eax, fl] of cases) {
    it(code.replace(/\n/g, ';'), () => {
      const t = new TestCpu().flat32().asm(code);
      t.run();
      expect(t.u32(0) & (code.includes('al,') ? 0xff : 0xffffffff)).toBe(eax >>> 0 & (code.includes('al,') ? 0xff : 0xffffffff));
      expect(t.flags() & (OF | SF | ZF | AF | PF | CF)).toBe(fl);
    });
  }
});
