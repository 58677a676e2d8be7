/*
 * Translated blocks (workers/x86/jit/blocks.ts) must change nothing but speed. Every test
 * runs the same guest code twice, with blocks and with the plain interpreter
 * (cpu.useBlocks = false), and compares everything observable: registers, flags, memory,
 * cycle and instruction counts after every run(n) slice, fault addresses, stop points.
 */

import { describe, expect, it } from 'vitest';
import { TestCpu, Stop } from './harness';
import { blocksCompiled } from '../../../workers/x86/jit/blocks';
import type { IoBus } from '../../../workers/x86/bus';
import { emptyBus } from '../../../workers/x86/bus';

interface Trace { states: string[]; stop: Stop; t: TestCpu }

function state(t: TestCpu): string {
  const c = t.cpu;
  return JSON.stringify([Array.from(c.regs), c.eip >>> 0, c.getEflags(), c.cycles, c.instructions, c.halted]);
}

/** Runs `src` in slices of `chunk` cycles until it stops, recording the state after each. */
function runSliced(src: string, blocks: boolean, chunk: number, io: IoBus = emptyBus, setup?: (t: TestCpu) => void): Trace {
  const t = new TestCpu(4, io).flat32().asm(src);
  t.cpu.useBlocks = blocks;
  setup?.(t);
  const states: string[] = [];
  let stop = Stop.Budget;
  for (let k = 0; k < 100_000; k++) {
    stop = t.run(chunk);
    states.push(state(t));
    if (stop !== Stop.Budget) break;
  }
  return { states, stop, t };
}

const LOOP = `
  mov ecx, 300
  xor eax, eax
  mov ebx, 0x12345
  mov esi, 0x8000
  mov edx, 0x77
.loop:
  add eax, ecx
  rol eax, 3
  xor ebx, eax
  mov [esi], eax
  add esi, 4
  and esi, 0x8fff
  push ecx
  call f
  pop ecx
  shr edx, 1
  sar ebx, 2
  shl edx, 5
  imul edx, ebx, 7
  lea edi, [edi+edx*2+1]
  ror edi, 9
  test eax, 1
  jz .even
  inc edi
  jmp .join
.even:
  dec edi
.join:
  dec ecx
  jnz .loop
  jmp done
f:
  add ebx, eax
  adc edx, 3
  ret
done:
`;

describe('translated blocks', () => {
  it('give the same state as the interpreter after every run(n) slice', () => {
    for (const chunk of [1, 7, 97, 1000, 1_000_000]) {
      const before = blocksCompiled();
      const a = runSliced(LOOP, true, chunk);
      const b = runSliced(LOOP, false, chunk);
      expect(a.stop).toBe(Stop.Halted);
      expect(a.states).toEqual(b.states);
      expect(Array.from(a.t.mem.u8.subarray(0x7000, 0x9000))).toEqual(Array.from(b.t.mem.u8.subarray(0x7000, 0x9000)));
      // With slices of 1 no block may run; with longer ones blocks are built.
      if (chunk >= 97) expect(blocksCompiled()).toBeGreaterThan(before);
    }
  });

  it('run(1) and step() never enter a block', () => {
    const t = new TestCpu().flat32().asm(LOOP);
    t.run(5000); // hot: blocks exist now
    const c0 = t.cpu.cycles;
    for (let k = 0; k < 50; k++) {
      expect(t.cpu.step()).toBe(Stop.Budget);
      expect(t.cpu.cycles).toBe(c0 + k + 1);
    }
  });

  it('a store into the running block takes effect at the next instruction', () => {
    // The loop patches the imm8 of the very next instruction, then later of an earlier one.
    const src = `
      mov ecx, 200
      xor eax, eax
      xor ebx, ebx
    .loop:
      mov [q+2], cl
    q:
      add ebx, strict byte 0
    p:
      add eax, strict dword 1
      cmp ecx, 100
      jne .skip
      mov dword [p+1], 5
    .skip:
      dec ecx
      jnz .loop
    `;
    let expectB = 0;
    for (let v = 200; v >= 1; v--) expectB = (expectB + ((v << 24) >> 24)) | 0;
    for (const chunk of [13, 1_000_000]) {
      const a = runSliced(src, true, chunk);
      const b = runSliced(src, false, chunk);
      expect(a.states).toEqual(b.states);
      expect(a.t.r[0]).toBe(101 * 1 + 99 * 5);
      expect(a.t.r[3]).toBe(expectB);
    }
  });

  it('a store into the running block from inside it is seen by the next instruction', () => {
    // At ECX = 100 (long after the loop became a block) the MOV writes into the imm8 of
    // the ADD right after it; otherwise it writes to a scratch byte in another page.
    const src = `
      mov ecx, 200
      xor ebx, ebx
    .loop:
      xor edx, edx
      cmp ecx, 100
      sete dl
      imul edx, edx, q + 2 - 0x9000
      mov byte [edx + 0x9000], 7
    q:
      add ebx, strict byte 1
      dec ecx
      jnz .loop
    `;
    for (const chunk of [29, 1_000_000]) {
      const before = blocksCompiled();
      const a = runSliced(src, true, chunk);
      const b = runSliced(src, false, chunk);
      expect(blocksCompiled()).toBeGreaterThan(before);
      expect(a.states).toEqual(b.states);
      expect(a.t.r[3]).toBe(100 * 1 + 100 * 7);
    }
  });

  it('a block that loops on itself stops exactly at the budget', () => {
    const src = `
      mov ecx, 10000
    .loop:
      add eax, ecx
      rol eax, 3
      xor ebx, eax
      dec ecx
      jnz .loop
    `;
    for (const chunk of [7, 97, 1003]) {
      const a = runSliced(src, true, chunk);
      const b = runSliced(src, false, chunk);
      expect(a.states).toEqual(b.states);
      const cycles = a.states.map((s) => JSON.parse(s)[3] as number);
      for (let k = 0; k + 1 < cycles.length; k++) expect(cycles[k]).toBe((k + 1) * chunk);
    }
  });

  it('a return that does not go back after its call leaves the block there', () => {
    // Blocks follow CALL into the callee and expect its RET to come back after the call;
    // here every odd iteration the callee rewrites its return address.
    const src = `
      mov ecx, 100
    lp:
      call f
      inc eax
      jmp nx
    alt:
      add ebx, 2
    nx:
      dec ecx
      jnz lp
      jmp done
    f:
      add edx, ecx
      test ecx, 1
      jz rr
      mov dword [esp], alt
    rr:
      ret
    done:
    `;
    for (const chunk of [11, 1_000_000]) {
      const a = runSliced(src, true, chunk);
      const b = runSliced(src, false, chunk);
      expect(a.states).toEqual(b.states);
      expect(a.t.r[0]).toBe(50);
      expect(a.t.r[3]).toBe(100);
      expect(a.t.r[2]).toBe(0x400 + 5050); // EDX starts at 0x400 (reset value)
    }
  });

  it('register ALU code written inline in blocks matches the handlers, flags included', () => {
    // Pseudo-random straight-line register code (every ALU operation, E,G / G,E / E,I
    // forms, imm8 and imm32), with PUSHFD sampling the flags, in a loop.
    let seed = 12345;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
    const ops = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
    const regs = ['eax', 'ebx', 'edx', 'esi', 'edi', 'ebp'];
    const regNum: Record<string, number> = { eax: 0, ebx: 3, edx: 2, esi: 6, edi: 7, ebp: 5 };
    for (let prog = 0; prog < 6; prog++) {
      const lines: string[] = ['mov ecx, 150', 'mov eax, 0x9e3779b9', 'mov ebx, 0x7f4a7c15', 'mov ebp, 0x80000000', '.loop:'];
      for (let k = 0; k < 20; k++) {
        const op = rnd(8);
        const d = regs[rnd(6)];
        const s2 = regs[rnd(6)];
        switch (rnd(6)) {
          case 0: lines.push(`${ops[op]} ${d}, ${s2}`); break;
          case 1: lines.push(`db 0x${(op * 8 + 3).toString(16)}, 0x${(0xc0 | (regNum[d] << 3) | regNum[s2]).toString(16)}`); break; // G,E form
          case 2: lines.push(`${ops[op]} ${d}, strict byte ${rnd(256) - 128}`); break;
          case 3: lines.push(`${ops[op]} ${d}, strict dword 0x${(rnd(1 << 24) * 251 >>> 0).toString(16)}`); break;
          case 4: lines.push(`test ${d}, ${rnd(2) ? s2 : '0x' + rnd(1 << 20).toString(16)}`); break;
          default: lines.push('pushfd', 'pop esi', 'rol esi, 5'); break;
        }
      }
      lines.push('add [0x8000], eax', 'dec ecx', 'jnz .loop');
      const src = lines.join('\n');
      for (const chunk of [37, 1_000_000]) {
        const a = runSliced(src, true, chunk);
        const b = runSliced(src, false, chunk);
        expect(a.states).toEqual(b.states);
        expect(a.t.mem.read32(0x8000)).toBe(b.t.mem.read32(0x8000));
      }
    }
  });

  it('falls back to interpreting when the host forbids run-time code', () => {
    const g = globalThis as { Function: FunctionConstructor };
    const saved = g.Function;
    let a: Trace;
    try {
      g.Function = function forbidden() { throw new EvalError('code generation from strings disallowed'); } as unknown as FunctionConstructor;
      a = runSliced(LOOP, true, 1_000_000);
    } finally {
      g.Function = saved;
    }
    const b = runSliced(LOOP, false, 1_000_000);
    expect(a.stop).toBe(Stop.Halted);
    expect(a.t.cpu.useBlocks).toBe(false);
    expect(a.states).toEqual(b.states);
  });

  it('a fault in the middle of a block reports the same EIP and counts', () => {
    const src = `
      mov edi, 40
    .loop:
      add ebx, edi
      dec edi
      xor edx, edx
      mov eax, 1000
    d:
      div edi
      add esi, eax
      jmp .loop
    `;
    const a = runSliced(src, true, 1_000_000);
    const b = runSliced(src, false, 1_000_000);
    expect(a.t.faults).toEqual(b.t.faults);
    expect(a.t.faults.length).toBe(1);
    expect(a.t.faults[0].vector).toBe(0);
    expect(a.states).toEqual(b.states);
    // The #DE points at the DIV, 40 iterations in.
    expect(a.t.cpu.instructions).toBe(b.t.cpu.instructions);
    expect(a.t.r[6]).toBe(b.t.r[6]);
  });

  it('a stop requested by an I/O write ends the run after that instruction', () => {
    const make = (blocks: boolean) => {
      let writes = 0;
      let target: TestCpu | null = null;
      const io: IoBus = { ...emptyBus, out8: () => { if (++writes === 50) target!.cpu.requestStop(); } };
      const r = runSliced(`
        mov ecx, 1000
      .loop:
        out 0x80, al
        inc eax
        add ebx, eax
        dec ecx
        jnz .loop
      `, blocks, 1_000_000, io, (t) => { target = t; });
      return r;
    };
    const a = make(true);
    const b = make(false);
    expect(a.stop).toBe(Stop.Requested);
    expect(a.states).toEqual(b.states);
    expect(a.t.r[0]).toBe(49); // the 50th OUT ran, its INC did not
  });

  it('16-bit code gives the same results', () => {
    const src = `
      mov cx, 500
      xor ax, ax
    .loop:
      add ax, cx
      rol ax, 1
      xor bx, ax
      push cx
      call f
      pop cx
      loop .loop
      jmp done
    f:
      add dx, bx
      ret
    done:
    `;
    const run = (blocks: boolean) => {
      const t = new TestCpu().real16().asm(src, 0x1000, 16);
      t.cpu.useBlocks = blocks;
      const states: string[] = [];
      for (;;) { const s = t.run(61); states.push(state(t)); if (s !== Stop.Budget) break; }
      return states;
    };
    expect(run(true)).toEqual(run(false));
  });
});
