import { describe, expect, it } from 'vitest';
import { TestCpu, Stop } from './harness';
import { AF, CF, OF, PF, SF, ZF } from '../../../workers/x86/opcodes';

const OSZAPC = OF | SF | ZF | AF | PF | CF;

function run32(code: string, setup?: (t: TestCpu) => void): TestCpu {
  const t = new TestCpu().flat32().asm(code);
  setup?.(t);
  expect(t.run()).toBe(Stop.Halted);
  return t;
}

describe('string instructions', () => {
  it('rep movsb / movsd copy forwards, and backwards with DF=1', () => {
    const t = run32(`
      mov esi, 0x3000
      mov edi, 0x4000
      mov ecx, 5
      cld
      rep movsb
      mov esi, 0x300c
      mov edi, 0x500c
      mov ecx, 4
      std
      rep movsd
      cld
    `, (x) => { for (let i = 0; i < 16; i++) x.mem.u8[0x3000 + i] = i + 1; });
    expect(Array.from(t.mem.u8.subarray(0x4000, 0x4006))).toEqual([1, 2, 3, 4, 5, 0]);
    expect(Array.from(t.mem.u8.subarray(0x5000, 0x5010))).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(t.r[1]).toBe(0);
    expect(t.u32(6)).toBe(0x2ffc);
  });

  it('rep stosw, lodsb and the 16-bit address size (67 prefix)', () => {
    const t = run32(`
      mov edi, 0x6000
      mov ax, 0xbeef
      mov ecx, 3
      rep stosw
      mov ecx, 0x12340002
      mov edi, 0x10000
      a16 rep stosb     ; CX=2, DI=0 (16-bit): writes 0x0000 and 0x0001
      mov esi, 0x6002
      lodsb
    `);
    expect(t.mem.read16(0x6000)).toBe(0xbeef);
    expect(t.mem.read16(0x6004)).toBe(0xbeef);
    expect(t.mem.read16(0x6006)).toBe(0);
    expect(t.mem.u8[0]).toBe(0xef);
    expect(t.mem.u8[1]).toBe(0xef);
    expect(t.u32(1)).toBe(0x12340000);
    expect(t.u32(7)).toBe(0x10002);
    expect(t.r[0] & 0xff).toBe(0xef);
  });

  it('repe cmpsb stops at the first difference; repne scasb finds a byte', () => {
    const t = run32(`
      mov esi, 0x3000
      mov edi, 0x4000
      mov ecx, 10
      repe cmpsb
      mov ebx, ecx
      pushfd
      pop edx
      mov edi, 0x3000
      mov al, 7
      mov ecx, 100
      repne scasb
    `, (x) => {
      x.mem.load(0x3000, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
      x.mem.load(0x4000, Uint8Array.from([1, 2, 3, 9, 5]));
    });
    expect(t.r[3]).toBe(6); // stopped after comparing the 4th byte
    expect(t.r[2] & ZF).toBe(0);
    expect(t.r[2] & CF).toBe(CF); // 4 < 9
    expect(t.u32(7)).toBe(0x3007);
    expect(t.r[1]).toBe(93);
    expect(t.flags() & ZF).toBe(ZF);
  });

  it('honours a segment override on the source and never on ES:EDI', () => {
    const t = new TestCpu().flat32();
    t.cpu.segBase[4] = 0x20000; // FS base
    t.asm('mov esi, 0x10\n mov edi, 0x4000\n fs movsd');
    t.mem.write32(0x20010, 0x11223344);
    t.run();
    expect(t.mem.read32(0x4000)).toBe(0x11223344);
  });

  it('resumes a repeated instruction after a fault with the registers it had reached', () => {
    const t = new TestCpu().flat32().asm('mov ecx, 8\n mov esi, 0x3000\n mov edi, 0x7ffff0\n rep movsd', 0x1000);
    t.cpu.segLimit[0] = 0x7ffff7; // ES limit: the third dword at 0x7ffff8 is out
    t.cpu.afterSystem();
    t.run();
    expect(t.faults[0].vector).toBe(13);
    expect(t.r[1]).toBe(6);
    expect(t.u32(7)).toBe(0x7ffff8);
  });
});

describe('multiply and divide', () => {
  it('mul and imul set CF/OF when the high half matters', () => {
    const t = run32(`
      mov eax, 0x80000000
      mov ecx, 4
      mul ecx
      mov esi, edx
      mov edi, eax
      mov eax, -3
      mov ecx, 7
      imul ecx
      mov ebx, edx
      imul ebp, ecx, -5
      imul ecx, ecx
    `);
    expect(t.r[6]).toBe(2);
    expect(t.r[7]).toBe(0);
    expect(t.r[0]).toBe(-21);
    expect(t.r[3]).toBe(-1);
    expect(t.r[5]).toBe(-35);
    expect(t.r[1]).toBe(49);
    expect(t.flags() & (CF | OF)).toBe(0);
  });

  it('computes the full 64-bit unsigned and signed products', () => {
    const t = run32('mov eax, 0xffffffff\n mov ecx, 0xffffffff\n mul ecx\n mov esi, eax\n mov edi, edx\n mov eax, 0x80000000\n mov ecx, 0x80000000\n imul ecx');
    expect(t.u32(6)).toBe(1);
    expect(t.u32(7)).toBe(0xfffffffe);
    expect(t.u32(0)).toBe(0);
    expect(t.u32(2)).toBe(0x40000000);
    expect(t.flags() & (CF | OF)).toBe(CF | OF);
  });

  it('div and idiv give quotient and remainder', () => {
    const t = run32('mov edx, 1\n mov eax, 5\n mov ecx, 3\n div ecx\n mov esi, eax\n mov edi, edx\n mov eax, -7\n cdq\n mov ecx, 2\n idiv ecx');
    expect(t.u32(6)).toBe(Math.floor((2 ** 32 + 5) / 3));
    expect(t.u32(7)).toBe((2 ** 32 + 5) % 3);
    expect(t.r[0]).toBe(-3);
    expect(t.r[2]).toBe(-1);
  });

  it('raises #DE at the instruction for a zero divisor and for an overflowing quotient', () => {
    const t = run32('mov eax, 1\n xor ecx, ecx\n div ecx');
    expect(t.faults[0]).toMatchObject({ vector: 0, eip: 0x1007 });
    const t2 = run32('mov ax, 0x8000\n mov cl, 2\n idiv cl');
    expect(t2.faults[0]).toMatchObject({ vector: 0 });
    expect(t2.r[0] & 0xffff).toBe(0x8000); // unchanged
  });
});

describe('shifts and rotates', () => {
  const cases: [string, number, number, number][] = [
    // code, eax, flags to check, expected flags
    ['mov eax, 0x80000001\n shl eax, 1', 2, CF | OF | ZF | SF, CF | OF],
    ['mov eax, 0x40000000\n shl eax, 1', 0x80000000, CF | OF | SF, OF | SF],
    ['mov eax, 3\n shr eax, 1', 1, CF | OF | ZF, CF],
    ['mov eax, 0x80000000\n shr eax, 1', 0x40000000, CF | OF, OF],
    ['mov eax, -16\n sar eax, 3', -2, CF | SF | OF, SF],
    ['mov eax, -1\n sar eax, 31', -1, CF, CF],
    ['mov eax, 0x80000001\n rol eax, 1', 3, CF | OF, CF | OF],
    ['mov eax, 1\n ror eax, 1', 0x80000000, CF | OF, CF | OF],
    ['stc\n mov eax, 0\n rcl eax, 1', 1, CF, 0],
    ['clc\n mov eax, 1\n rcr eax, 1', 0, CF, CF],
    ['mov al, 0x81\n mov cl, 9\n rcl al, cl', 0x81, CF, 0],
    ['mov eax, 0x12345678\n mov cl, 0\n stc\n shl eax, cl', 0x12345678, CF, CF],
    ['mov eax, 0x12345678\n mov edx, 0xabcdef01\n shld eax, edx, 8', 0x345678ab, CF, 0],
    ['mov eax, 0x12345678\n mov edx, 0xabcdef01\n shrd eax, edx, 4', 0x11234567, CF, CF],
    ['mov ax, 0x8001\n shl ax, 1', 0x0002, CF | OF, CF | OF],
  ];
  for (const [code, eax, mask, fl] of cases) {
    it(code.replace(/\n/g, ';'), () => {
      const t = run32(code);
      const wide = !/\b(al|ax),/.test(code);
      expect(t.r[0] & (wide ? -1 : /\bal,/.test(code) ? 0xff : 0xffff)).toBe(wide ? eax | 0 : eax);
      expect(t.flags() & mask).toBe(fl);
    });
  }
});

describe('BCD adjusts', () => {
  it('daa, das, aaa, aas, aam, aad', () => {
    const t = run32(`
      mov al, 0x15
      add al, 0x27
      daa             ; 0x42
      mov bl, al
      mov al, 0x42
      sub al, 0x15
      das             ; 0x27
      mov bh, al
      mov ax, 0x0009
      add al, 3
      aaa             ; AX = 0x0102
      mov cx, ax
      mov ax, 0x0102
      sub al, 5
      aas             ; AX = 0x0007
      mov dx, ax
      mov al, 79
      aam             ; AX = 0x0709
      mov si, ax
      mov ax, 0x0709
      aad             ; AX = 79
    `);
    expect(t.r[3] & 0xff).toBe(0x42);
    expect((t.r[3] >> 8) & 0xff).toBe(0x27);
    expect(t.r[1] & 0xffff).toBe(0x0102);
    expect(t.r[2] & 0xffff).toBe(0x0007);
    expect(t.r[6] & 0xffff).toBe(0x0709);
    expect(t.r[0] & 0xffff).toBe(79);
  });
  it('aam 0 raises #DE', () => {
    const t = run32('db 0xd4, 0x00');
    expect(t.faults[0].vector).toBe(0);
  });
});

describe('bit instructions', () => {
  it('bt/bts/btr/btc on registers and memory, with a register offset beyond the dword', () => {
    const t = run32(`
      mov eax, 0b1010
      bt eax, 1
      setc bl
      bts eax, 0
      btr eax, 3
      btc eax, 31
      mov ecx, 37          ; bit 5 of the next dword
      bts dword [0x3000], ecx
      mov ecx, -1          ; bit 31 of the previous dword
      bt dword [0x3004], ecx
      setc bh
    `, (x) => x.mem.write32(0x3000, 0x80000000));
    expect(t.r[3] & 0xff).toBe(1);
    expect(t.u32(0)).toBe(0x80000003);
    expect(t.mem.read32(0x3004)).toBe(1 << 5);
    expect((t.r[3] >> 8) & 0xff).toBe(1);
  });

  it('bsf/bsr find bits and set ZF for zero (leaving the destination)', () => {
    const t = run32('mov eax, 0x00f00100\n bsf ecx, eax\n bsr edx, eax\n mov esi, 1234\n xor ebx, ebx\n bsf esi, ebx');
    expect(t.r[1]).toBe(8);
    expect(t.r[2]).toBe(23);
    expect(t.r[6]).toBe(1234);
    expect(t.flags() & ZF).toBe(ZF);
  });

  it('bswap, xadd, cmpxchg, movzx/movsx, setcc', () => {
    const t = run32(`
      mov eax, 0x11223344
      bswap eax
      mov ebx, eax
      mov eax, 5
      mov ecx, 7
      xadd eax, ecx        ; eax=12, ecx=5
      mov edx, 12
      mov esi, 99
      cmpxchg edx, esi     ; eax==edx: edx=99, ZF=1
      setz bl
      mov edi, 0
      cmpxchg edi, esi     ; eax!=edi: eax=0
      movsx ebp, byte [0x3000]
      movzx esp, word [0x3000]
    `, (x) => x.mem.write16(0x3000, 0x80f0));
    expect(t.u32(3) & 0xffffff00).toBe(0x44332200);
    expect(t.r[3] & 0xff).toBe(1);
    expect(t.r[1]).toBe(5);
    expect(t.r[2]).toBe(99);
    expect(t.r[0]).toBe(0);
    expect(t.r[5]).toBe(-16);
    expect(t.r[4]).toBe(0x80f0);
  });
});

describe('stack and control transfer', () => {
  it('call/ret, push/pop, pusha/popa, enter/leave, loop', () => {
    const t = run32(`
      mov ecx, 3
      xor eax, eax
    l: call f
      loop l
      pushad
      mov ebx, 0
      popad
      push 0x1234
      pop edi
      enter 8, 0
      mov esi, esp
      leave
      jmp done
    f: add eax, 10
      ret
    done:
    `);
    expect(t.r[0]).toBe(30);
    expect(t.r[7]).toBe(0x1234);
    expect(t.u32(6)).toBe(0x80000 - 4 - 8);
    expect(t.u32(4)).toBe(0x80000);
  });

  it('int n / iret in real mode through the IVT', () => {
    const t = new TestCpu().real16();
    t.cpu.monitor = null;
    t.mem.write16(0x21 * 4, 0x2000);
    t.mem.write16(0x21 * 4 + 2, 0);
    t.load(0x2000, [0xb3, 0x55, 0xcf]); // mov bl, 0x55; iret
    t.asm('int 0x21\n mov cl, bl', 0x1000, 16);
    expect(t.run()).toBe(Stop.Halted);
    expect(t.r[1] & 0xff).toBe(0x55);
    expect(t.r[4] & 0xffff).toBe(0x7000);
  });
});

describe('the decoded-code cache', () => {
  it('sees a store into the next instruction (self-modifying code)', () => {
    const t = run32(`
      mov ecx, 3
      xor ebx, ebx
    top:
      mov byte [patch + 1], cl
    patch:
      mov al, 0
      add bl, al
      loop top
    `);
    expect(t.r[3] & 0xff).toBe(3 + 2 + 1);
    expect(t.cpu.codeInvalidations).toBeGreaterThan(0);
  });

  it('drops decoded code when memory is loaded over it', () => {
    const t = new TestCpu().flat32().asm('mov eax, 1');
    t.run();
    expect(t.r[0]).toBe(1);
    t.asm('mov eax, 2');
    t.cpu.halted = false;
    t.run();
    expect(t.r[0]).toBe(2);
  });

  it('keeps the rest of a page decoded when data beside the code is written', () => {
    const t = run32(`
      mov ecx, 500
    l: add [counter], ecx
      dec ecx
      jnz l
      jmp done
    counter: dd 0
    done:
    `);
    expect(t.r[1]).toBe(0);
    expect(t.cpu.decodes).toBeLessThan(12);
    expect(t.cpu.codeInvalidations).toBeGreaterThanOrEqual(500);
  });

  it('caches: a loop decodes each instruction once', () => {
    const t = run32('mov ecx, 1000\n l: add eax, ecx\n dec ecx\n jnz l');
    expect(t.cpu.decodes).toBeLessThan(10);
  });
});

describe('flags via pushf and lazy evaluation', () => {
  it('materialises lazy flags for pushfd and keeps CF across inc', () => {
    const t = run32('mov eax, -1\n add eax, 1\n inc eax\n pushfd\n pop ebx');
    expect(t.r[3] & OSZAPC).toBe(CF);
  });
});
