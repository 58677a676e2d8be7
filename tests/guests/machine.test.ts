/*
 * The teaching kernel on the lab's machine, beyond the shell session: runs are
 * deterministic in virtual time, and a kernel fault ends in a readable panic.
 */

import { describe, expect, it } from 'vitest';
import { buildGuests } from './build';
import { GuestShell, PROMPT } from './shell';

let built: ReturnType<typeof buildGuests> | null = null;
/** The native build, assembled once for the whole file. */
function nativeBuild(): ReturnType<typeof buildGuests> {
  built ??= buildGuests('native');
  return built;
}

describe('virtual time', () => {
  it('makes two sessions with the same input identical, to the cycle', () => {
    const g = nativeBuild();
    const session = () => {
      const sh = new GuestShell(g.kernel, { memoryMiB: 8 });
      sh.runUntil(PROMPT);
      const out = sh.run('hello') + sh.run('ps');
      return { out, cycles: sh.machine.cpu.cycles, instructions: sh.machine.cpu.instructions };
    };
    const a = session();
    expect(a.out).toContain('hello, world');
    expect(session()).toEqual(a);
  });
});

/** vmstat's output as a map from label to number. */
function vmstat(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const r = /^\s*(.*?)\s+(\d+)$/.exec(line);
    if (r) m.set(r[1], Number(r[2]));
  }
  return m;
}

describe('memory accounting', () => {
  it('gets every frame back after forks, execs, faults and an out-of-memory kill', () => {
    const g = nativeBuild();
    const sh = new GuestShell(g.kernel, { memoryMiB: 8 });
    sh.runUntil(PROMPT);
    const before = vmstat(sh.run('vmstat'));
    expect(before.get('free memory KiB')).toBeGreaterThan(4000);
    expect(sh.run('lmbench')).toContain('lmbench: done');
    const hog = sh.run('hog');
    expect(hog).toMatch(/^hog: 1 MiB\n/);
    expect(hog).toMatch(/pid \d+ hog: out of memory .* - killed\n$/);
    const after = vmstat(sh.run('vmstat'));
    expect(after.get('free memory KiB')).toBe(before.get('free memory KiB'));
    // and the counters moved as they should have
    expect(after.get('forks')! - before.get('forks')!).toBeGreaterThan(100);
    expect(after.get('copy-on-write')!).toBeGreaterThan(before.get('copy-on-write')!);
    expect(after.get('demand-zero')! - before.get('demand-zero')!).toBeGreaterThan(1000);
  });
});

describe('a kernel panic', () => {
  it('prints the fault, the faulting address and the registers, then halts', () => {
    const g = buildGuests('native', ['PANIC_TEST']);
    const sh = new GuestShell(g.kernel, { memoryMiB: 8 });
    sh.runUntil('ebp=');
    sh.runUntil('\n', sh.transcript.indexOf('ebp='));
    const text = sh.transcript;
    expect(text).toContain('kernel panic: page fault in the kernel');
    expect(text).toMatch(/vector=0x0000000e err=0x00000000 cr2=0xfffff000 pid 0/);
    expect(text).toMatch(/eip=0xc01[0-9a-f]{5} cs=0x00000008 /);
    expect(text).toMatch(/eax=0x12345678 ebx=0xfffff000 /);
    // and the machine stays stopped: no prompt, whatever time passes
    const exit = sh.machine.run(5_000_000);
    expect(exit.kind).toBe('halted');
    expect(sh.machine.readConsole(0).text).not.toContain('$ ');
  });
});
