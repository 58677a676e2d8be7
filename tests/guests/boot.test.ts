/*
 * The teaching kernel (native build) on the lab's own machine: boot to the shell, run every
 * program through it, and check what they print. One machine is booted for the whole file
 * and driven command by command, like a student at the console; its time is virtual, so
 * the run is the same every time.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from './build';
import { GuestShell } from './shell';

/** Primes below n, counted independently of the guest (a sieve). */
function primesBelow(n: number): number {
  const composite = new Uint8Array(n);
  let count = 0;
  for (let i = 2; i < n; i++) {
    if (composite[i]) continue;
    count++;
    for (let j = i * i; j < n; j += i) composite[j] = 1;
  }
  return count;
}

interface PsRow { pid: number; ppid: number; state: string; ticks: number; name: string }

function parsePs(out: string): PsRow[] {
  const lines = out.trim().split('\n');
  expect(lines[0]).toMatch(/PID\s+PPID\s+STATE\s+TICKS\s+NAME/);
  return lines.slice(1).map((l) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(\w+)\s+(\d+)\s+(\S+)$/.exec(l);
    if (!m) throw new Error(`bad ps line: ${JSON.stringify(l)}`);
    return { pid: +m[1], ppid: +m[2], state: m[3], ticks: +m[4], name: m[5] };
  });
}

describe('the native kernel on the lab machine', () => {
  let sh: GuestShell;
  let bootText = '';
  let bootCycles = 0;

  beforeAll(() => {
    const g = buildGuests('native');
    sh = new GuestShell(g.kernel);
    const t0 = performance.now();
    bootText = sh.boot();
    bootCycles = sh.machine.cpu.cycles;
    console.log(`boot to the shell prompt: ${bootCycles} cycles, ${sh.machine.cpu.instructions} instructions, ${(performance.now() - t0).toFixed(0)} ms wall`);
  });

  it('boots in native mode to the shell prompt, with the memory it was given', () => {
    expect(bootText).toContain('paravirt-lab teaching kernel (native mode)');
    const kib = Number(/memory: (\d+) KiB free/.exec(bootText)?.[1]);
    // 64 MiB minus the low megabyte, the kernel image and its page tables
    expect(kib).toBeGreaterThan(60 * 1024);
    expect(kib).toBeLessThan(64 * 1024);
    expect(bootText.endsWith('$ ')).toBe(true);
    expect(bootCycles).toBeGreaterThan(0);
  });

  it('lists its programs with help', () => {
    const out = sh.run('help');
    const progs = /programs:(.*)/.exec(out)?.[1].trim().split(/\s+/);
    expect(progs).toEqual(expect.arrayContaining(['sh', 'hello', 'echo', 'ps', 'primes', 'lmbench', 'true', 'segv', 'sleep', 'vmstat', 'hog']));
  });

  it('runs hello in a new process', () => {
    const a = /hello, world from user mode \(pid (\d+)\)/.exec(sh.run('hello'));
    const b = /hello, world from user mode \(pid (\d+)\)/.exec(sh.run('hello'));
    expect(a).not.toBeNull();
    expect(Number(b![1])).toBeGreaterThan(Number(a![1]));
  });

  it('passes arguments to echo', () => {
    expect(sh.run('echo one  two three')).toBe('one  two three\n');
    expect(sh.run('   echo   padded   ')).toBe('padded\n');
    expect(sh.run('echo')).toBe('\n');
  });

  it('edits the line: backspace and delete rub out, control characters are ignored', () => {
    expect(sh.run('helx\x7fla\bo')).toMatch(/^hello, world/);
    expect(sh.run('ec\x01ho\x7f\x7f\x7f\x7fecho x\x7fy')).toBe('y\n');
  });

  it('says so when a program does not exist, and carries on', () => {
    expect(sh.run('nosuch')).toBe('sh: nosuch: not found\n');
    expect(sh.run('true')).toBe('');
  });

  it('shows the process table with ps', () => {
    const rows = parsePs(sh.run('ps'));
    const byName = new Map(rows.map((r) => [r.name, r]));
    expect(byName.get('idle')).toMatchObject({ pid: 0, state: 'runnable' });
    expect(byName.get('sh')).toMatchObject({ pid: 1, ppid: 0, state: 'sleeping' });
    expect(byName.get('ps')).toMatchObject({ ppid: 1, state: 'runnable' });
    expect(rows.length).toBe(3); // every earlier child was reaped
  });

  it('counts primes (CPU bound) correctly', () => {
    expect(sh.run('primes')).toBe(`primes: ${primesBelow(20000)} primes below 20000\n`);
    expect(sh.run('primes 1000')).toBe(`primes: ${primesBelow(1000)} primes below 1000\n`);
  });

  it('time-slices two CPU-bound programs in the background', () => {
    const n = 40000;
    const a = Number(/^\[(\d+)\]$/m.exec(sh.run(`primes ${n} &`))?.[1]);
    const b = Number(/^\[(\d+)\]$/m.exec(sh.run(`primes ${n} &`))?.[1]);
    expect(b).toBe(a + 1);
    sh.run('sleep-free line'); // not found: just lets some ticks pass at the prompt
    const bg = parsePs(sh.run('ps')).filter((r) => r.name === 'primes');
    expect(bg.map((r) => r.pid).sort()).toEqual([a, b]);
    expect(bg.every((r) => r.state === 'runnable')).toBe(true);
    // both have had the CPU for whole timer ticks while neither has finished: preemption
    expect(bg.every((r) => r.ticks >= 1)).toBe(true);
    const from = sh.transcript.length;
    const line = `primes: ${primesBelow(n)} primes below ${n}`;
    const first = sh.runUntil(line, from);
    sh.runUntil(line, first);
    // the shell reaps background zombies whenever it next waits
    sh.run('true');
    expect(parsePs(sh.run('ps')).filter((r) => r.name === 'primes')).toEqual([]);
  });

  it('sleeps on the timer for at least the ticks asked, and not much longer', () => {
    for (const n of [1, 25]) {
      const slept = Number(/^slept (\d+) ticks$/.exec(sh.run(`sleep ${n}`).trim())?.[1]);
      expect(slept).toBeGreaterThanOrEqual(n);
      expect(slept).toBeLessThanOrEqual(n + 1);
    }
  });

  it('kills a process that touches memory it does not own, and survives', () => {
    expect(sh.run('segv')).toMatch(/^pid \d+ segv: page fault .*addr=0x00000000 .*err=0x00000006 - killed\n$/);
    expect(sh.run('segv kernel')).toMatch(/addr=0xc0100000 .*err=0x00000007 - killed\n$/);
    expect(sh.run('echo still here')).toBe('still here\n');
  });

  it('runs lmbench: every micro-benchmark reports a positive cost per operation', () => {
    const out = sh.run('lmbench');
    const lines = out.trim().split('\n');
    expect(lines[lines.length - 1]).toBe('lmbench: done');
    const table = new Map<string, number>();
    for (const l of lines.slice(0, -1)) {
      const m = /^lmbench: (.+): (\d+) cycles$/.exec(l);
      expect(m, l).not.toBeNull();
      table.set(m![1], Number(m![2]));
    }
    expect([...table.keys()]).toEqual([
      'null syscall (getpid)', 'context switch (yield)', 'fork+exit+wait', 'fork+exec+wait',
      'demand-zero page fault', 'copy-on-write fault', 'sbrk grow+shrink', 'sbrk grow+touch+shrink',
    ]);
    for (const v of table.values()) expect(v).toBeGreaterThan(0);
    // orders of magnitude that must hold on any x86: a fault costs more than a system call,
    // and fork+exec more than fork alone
    expect(table.get('demand-zero page fault')!).toBeGreaterThan(table.get('null syscall (getpid)')!);
    expect(table.get('fork+exec+wait')!).toBeGreaterThan(table.get('fork+exit+wait')!);
    console.log(lines.join('\n'));
  });
});
