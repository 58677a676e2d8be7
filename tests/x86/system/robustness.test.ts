/*
 * A guest can put anything in its descriptor tables. Seeded random GDTs, IDTs, TSSs and
 * stacks, thrown at every entry point: each call must either succeed or raise a guest
 * fault (never a JS error), exception delivery must never throw at all, and whatever it
 * leaves behind must be a consistent CPU state (CPL equal to CS.RPL in protected mode).
 */

import { describe, expect, it } from 'vitest';
import {
  SoftKind, deliverException, deliverExternal, deliverSoftware, farCall, farJump, farReturn, iret,
  lar, loadSeg, lsl, verr, verw,
} from '../../../workers/x86/system';
import { Fault, FakeCpu } from './fakecpu';
import { fakeWorld, setRing } from './fakeworld';
import { GDT, IDT, TSS } from './world';

/** xorshift32, so every run sees the same "random" tables. */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return s >>> 0;
  };
}

function scramble(cpu: FakeCpu, next: () => number): void {
  // Half the GDT and a quarter of the IDT: random dwords, biased to look like descriptors.
  for (let i = 8; i < 0xb0; i += 8) {
    if (next() & 1) {
      cpu.mem.write32(GDT + i, next());
      cpu.mem.write32(GDT + i + 4, (next() & 0xffff00ff) | ((next() & 1 ? 0x80 : 0) | (next() & 0x7f)) << 8);
    }
  }
  for (let v = 0; v < 256; v++) {
    if ((next() & 3) === 0) {
      cpu.mem.write32(IDT + v * 8, (((next() & 0xb8) | (next() & 3)) << 16) | (next() & 0xffff));
      cpu.mem.write32(IDT + v * 8 + 4, (next() & 0xffff00ff) | ((next() & 0xff) << 8));
    }
  }
  for (let k = 0; k < 8; k++) cpu.mem.write16(TSS + 4 + k * 4, next() & 0xffff);
  cpu.regs[4] = (0x6f000 - (next() & 0xfff)) | 0;
  for (let k = 0; k < 16; k++) cpu.mem.write32((cpu.regs[4] + 4 * k) >>> 0, next() & 1 ? next() & 0xffff : next());
  cpu.idtrLimit = next() & 1 ? 0x7ff : next() & 0x7ff;
  cpu.eflags = (next() & 0x3fd5) | 2;
}

const tally = { ok: 0, faulted: 0, stopped: 0 };
function guarded(fn: () => void): void {
  try {
    fn();
    tally.ok++;
  } catch (e) {
    if (!(e instanceof Fault)) throw e;
    tally.faulted++;
  }
}

describe('random tables never break the system layer', () => {
  it('every entry point faults cleanly or succeeds, 3000 rounds', () => {
    const next = rng(0x5eed);
    const cpu = fakeWorld(0);
    const pristine = cpu.mem.u8.slice(0, 0x4000);
    const fresh = { ...fakeWorld(0) };
    for (let round = 0; round < 3000; round++) {
      cpu.mem.u8.set(pristine, 0);
      cpu.cr0 = fresh.cr0; cpu.idtrBase = fresh.idtrBase; cpu.idtrLimit = fresh.idtrLimit;
      cpu.ldtr = 0; cpu.tr = fresh.tr; cpu.trBase = fresh.trBase; cpu.trLimit = fresh.trLimit; cpu.trAttr = fresh.trAttr;
      cpu.stopInfo = null; cpu.halted = false; cpu.eip = 0x12345;
      setRing(cpu, next() & 3);
      scramble(cpu, next);
      const sel = next() & 0xff;
      const op32 = (next() & 1) === 1;
      switch (round % 12) {
        case 0: guarded(() => loadSeg(cpu, [0, 2, 3, 4, 5][next() % 5], sel)); break;
        case 1: guarded(() => farJump(cpu, sel, next(), op32)); break;
        case 2: guarded(() => farCall(cpu, sel, next(), op32)); break;
        case 3: guarded(() => farReturn(cpu, op32, next() & 0xc)); break;
        case 4: guarded(() => iret(cpu, op32)); break;
        case 5: guarded(() => { lar(cpu, sel); lsl(cpu, sel); verr(cpu, sel); verw(cpu, sel); }); break;
        case 6: guarded(() => deliverSoftware(cpu, next() & 0xff, 0x12347, SoftKind.IntN)); break;
        case 7: deliverExternal(cpu, next() & 0xff); break;
        default: deliverException(cpu, [0, 6, 8, 10, 11, 12, 13, 14][next() & 7], next() & 0xfffc); break;
      }
      const info = cpu.stopInfo as FakeCpu['stopInfo']; // the calls above may have set it
      if (info === null) {
        expect(cpu.sreg[1] & 3, `round ${round}`).toBe(cpu.cpl);
      } else {
        tally.stopped++;
        expect(['tripleFault', 'unsupported']).toContain(info.kind);
      }
    }
    // The random tables reach all three outcomes, so the rounds above test something.
    expect(tally.ok).toBeGreaterThan(100);
    expect(tally.faulted).toBeGreaterThan(100);
    expect(tally.stopped).toBeGreaterThan(10);
  });
});
