/*
 * The teaching kernel, as the lab's own assembler builds it, boots in a second,
 * independent emulator (v86) to the same shell: the same boot text and the same output
 * for the same commands as on our machine. A difference means one of the two machines (or
 * the image) is wrong, which is the point: v86 was written without reference to ours.
 * Two sessions: the everyday programs with 64 MiB, and running out of memory with 8 MiB.
 *
 * What is masked, and why: only counts of timer ticks and what follows from where ticks
 * fall. Our PIT ticks in virtual time (cycles), v86's in wall-clock time, so how many ticks
 * land inside a command is a property of the emulator's speed, not of the kernel: ps's
 * TICKS column, and vmstat's timer ticks, interrupts and context switches. vmstat's system
 * call count is masked too: the shell's read() returns whatever bytes have arrived, and the
 * two machines deliver typed bytes at different paces. Everything else is compared exactly:
 * pids (the same forks in the same order), process states, prime counts, fault addresses
 * and error codes, page fault, fork and exec counts, and the free memory at boot and at the
 * end (the kernel takes frames only above its own image, so the figure depends only on
 * where the loader's Multiboot memory map says RAM ends: the top of the 64 MiB in both,
 * as it should be; a loader that reserved a top region would legitimately differ, and
 * this is the line to mask then). lmbench is left out: its figures are cycle counts, and
 * cycles are each machine's own cost model. Background jobs and sleep are left out too:
 * their output depends on where timer ticks fall.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuestFromDisk } from '../../tools/guests-fs';
import { GuestShell } from './shell';
import { V86Shell } from './v86shell';

const MEMORY_MIB = 64;

/** The commands typed into both shells, in order. */
const COMMANDS = [
  'help',
  'hello',
  'echo one  two three',
  'hello',
  'ps',
  'primes',
  'primes 1000',
  'nosuch',
  'segv',
  'segv kernel',
  'true',
  'ps',
  'vmstat',
];

/**
 * vmstat's counters that count timer ticks or depend on when they fall (interrupts, context
 * switches) or on how the typed bytes arrived (system calls: the shell's read() returns
 * what has arrived so far), masked; the rest (faults, forks, execs, free memory) must agree.
 */
const TIMING_COUNTERS = /^(timer ticks|system calls|interrupts|context switches)\s+\d+$/gm;

/** ps's TICKS column (the fourth, right-aligned) and the vmstat rows above replaced by ' #'. */
function maskTicks(out: string): string {
  return out.replace(/^(\s*\d+\s+\d+\s+\w+)\s+\d+(\s+\S+)$/gm, '$1 #$2').replace(TIMING_COUNTERS, '$1 #');
}

interface Session {
  boot: string;
  outputs: string[];
}

/** Boots `image` on our machine and in v86 with `memoryMiB`, and types `commands` into both. */
async function bothSessions(image: Uint8Array, memoryMiB: number, commands: readonly string[]): Promise<{ ours: Session; theirs: Session }> {
  const sh = new GuestShell(image, { memoryMiB });
  const ours = { boot: sh.boot(), outputs: commands.map((c) => sh.run(c)) };
  const v86 = await V86Shell.create(image, memoryMiB);
  try {
    const boot = await v86.boot();
    const outputs: string[] = [];
    for (const c of commands) outputs.push(await v86.run(c));
    return { ours, theirs: { boot, outputs } };
  } finally {
    await v86.destroy();
  }
}

let image: Uint8Array;
beforeAll(() => {
  const b = buildGuestFromDisk({ guest: 'kernel', mode: 'native' });
  if (!b.ok) throw new Error(`the kernel did not build: ${b.errors.map((e) => e.message).join('; ')}`);
  image = b.image;
});

describe('the teaching kernel in v86 and on our machine, 64 MiB', () => {
  let ours: Session;
  let theirs: Session;

  beforeAll(async () => {
    ({ ours, theirs } = await bothSessions(image, MEMORY_MIB, COMMANDS));
  }, 60_000);

  it('boots to the same banner, free memory and prompt', () => {
    expect(theirs.boot).toContain('paravirt-lab teaching kernel (native mode)');
    expect(theirs.boot).toMatch(/memory: \d+ KiB free/);
    expect(theirs.boot).toBe(ours.boot);
  });

  it('gives the same output for every command, timer-dependent counts aside', () => {
    const v = theirs.outputs.map(maskTicks);
    const o = ours.outputs.map(maskTicks);
    for (let i = 0; i < COMMANDS.length; i++) expect({ command: COMMANDS[i], out: v[i] }).toEqual({ command: COMMANDS[i], out: o[i] });
  });

  it('really ran the programs (the outputs are not trivially equal)', () => {
    const at = (c: string) => theirs.outputs[COMMANDS.indexOf(c)];
    expect(at('hello')).toMatch(/^hello, world from user mode \(pid \d+\)\n$/);
    expect(at('echo one  two three')).toBe('one  two three\n');
    expect(at('primes')).toBe('primes: 2262 primes below 20000\n');
    expect(at('segv')).toMatch(/addr=0x00000000 .*err=0x00000006 - killed/);
    expect(maskTicks(at('ps')).split('\n').filter(Boolean)).toEqual([
      '  PID  PPID STATE     TICKS NAME',
      '    0     0 runnable # idle',
      '    1     0 sleeping # sh',
      expect.stringMatching(/^\s+\d+\s+1 runnable # ps$/),
    ]);
  });

  it('masks only the timer-dependent counts', () => {
    expect(maskTicks('    0     0 runnable   123 idle\n    1     0 sleeping     0 sh\n')).toBe('    0     0 runnable # idle\n    1     0 sleeping # sh\n');
    expect(maskTicks('primes: 2262 primes below 20000\n')).toBe('primes: 2262 primes below 20000\n');
    expect(maskTicks('timer ticks              38\npage faults              11\n')).toBe('timer ticks #\npage faults              11\n');
  });
});

describe('running out of memory, in v86 and on our machine, 8 MiB', () => {
  // hog grows its heap a MiB at a time until a demand-zero fault finds no frame and the
  // kernel kills it; both machines must kill it at the same address and get every frame back.
  const commands = ['vmstat', 'hog', 'vmstat', 'hello', 'hog', 'vmstat'];
  let ours: Session;
  let theirs: Session;

  beforeAll(async () => {
    ({ ours, theirs } = await bothSessions(image, 8, commands));
  }, 60_000);

  it('kills hog at the same address and frees the same memory', () => {
    expect(theirs.boot).toBe(ours.boot);
    expect(theirs.outputs[1]).toMatch(/^hog: 1 MiB\n[\s\S]*out of memory .*addr=0x[0-9a-f]{8} .* - killed\n$/);
    expect(theirs.outputs.map(maskTicks)).toEqual(ours.outputs.map(maskTicks));
    const free = (out: string) => Number(/free memory KiB\s+(\d+)/.exec(out)?.[1]);
    expect(free(theirs.outputs[2])).toBe(free(theirs.outputs[0]));
  });
});
