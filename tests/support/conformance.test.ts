/*
 * Tests of the conformance runner itself (tests/support/conformance.ts): it must pass a
 * real recorded case, fail the same case once its expected state is altered, honour the
 * flag mask, and classify the 286-only cases it leaves out.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readMooFile, type MooTest } from './moo';
import { CONFORMANCE_DIR, excludedReason, loadFlagMasks, RealModeRunner, shapeOf } from './conformance';

const HAVE = existsSync(`${CONFORMANCE_DIR}/00.MOO.gz`);

function clone(t: MooTest): MooTest {
  return {
    ...t,
    init: { regs: { ...t.init.regs }, masks: { ...t.init.masks }, ram: t.init.ram.map(([a, v]) => [a, v] as [number, number]) },
    fina: { regs: { ...t.fina.regs }, masks: { ...t.fina.masks }, ram: t.fina.ram.map(([a, v]) => [a, v] as [number, number]) },
  };
}

describe.runIf(HAVE)('conformance runner', () => {
  const tests = HAVE ? readMooFile(`${CONFORMANCE_DIR}/00.MOO.gz`).tests : [];
  const mask = HAVE ? loadFlagMasks()('00') : 0xffff;
  const runner = HAVE ? new RealModeRunner() : null;

  it('passes the first recorded ADD Eb,Gb case', () => {
    // 'add [bx+0Eh],bl' (the suite README's example): memory 1075233 becomes 1.
    expect(runner!.run(tests[0], mask)).toBeNull();
  });

  it('fails when the expected memory, register or flags are altered', () => {
    const t = clone(tests[0]);
    t.fina.ram[0][1] ^= 0x40;
    expect(runner!.run(t, mask)).toMatch(/\[106821\] 41 != 01/);
    const u = clone(tests[0]);
    u.fina.regs.ip = (u.fina.regs.ip! + 1) & 0xffff;
    expect(runner!.run(u, mask)).toMatch(/^ip /);
    const v = clone(tests[0]);
    v.fina.regs.flags = v.fina.regs.flags! ^ 0x0001; // CF: defined for ADD
    expect(runner!.run(v, mask)).toMatch(/flags .*differ C/);
    // ...but a flag outside the mask is not compared (metadata: AF undefined after OR).
    expect(runner!.run(v, mask & ~0x0001)).toBeNull();
  });

  it('reports a case that never reaches HLT', () => {
    const t = clone(tests[0]);
    // Replace the HLT after the instruction with a jump to itself (EB FE).
    const lin = (t.init.regs.cs! << 4) + t.init.regs.ip!;
    const len = t.bytes.length - 1;
    t.init.ram = t.init.ram.map(([a, v]) => [a, a === lin + len ? 0xeb : a === lin + len + 1 ? 0xfe : v]);
    runner!.budget = 5000;
    expect(runner!.run(t, mask)).toMatch(/did not reach HLT/);
    runner!.budget = 100_000;
  });

  it('decodes 16-bit effective addresses and leaves out 286-only behaviour', () => {
    const t = clone(tests[0]);
    t.bytes = Uint8Array.from([0x36, 0x00, 0x42, 0x10, 0xf4]); // add [ss:bp+si+10h],al
    t.init.regs = { ...t.init.regs, bp: 0xfff0, si: 0x000f };
    expect(shapeOf(t).mem).toEqual({ seg: 'ss', off: (0xfff0 + 0x0f + 0x10) & 0xffff });
    t.exception = { vector: 13, flagsAddress: 0 };
    expect(excludedReason(t)).toMatch(/#SS/);
    const lock = clone(tests[0]);
    lock.bytes = Uint8Array.from([0xf0, 0x00, 0xc3, 0xf4]); // lock add bl,al: register destination
    expect(excludedReason(lock)).toMatch(/LOCK/);
    lock.bytes = Uint8Array.from([0xf0, 0x00, 0x07, 0xf4]); // lock add [bx],al: lockable
    expect(excludedReason(lock)).toBeNull();
  });
});
