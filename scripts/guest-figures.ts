/*
 * Figures about the teaching kernel for the closing note: `npx tsx scripts/guest-figures.ts`.
 * Builds the native kernel from guests/ with the lab's own assembler (workers/guests), timing
 * the build (cold, warm, and after a one-file kernel edit with the build cache), then
 * on our machine measures, from reset (the Multiboot hand-off) to the shell's first prompt,
 * the virtual cycles and instructions (the same on every run: time is virtual) and the
 * wall-clock milliseconds (the first, cold run apart from the best of the warm ones); times
 * a few commands from Enter to the next prompt; and prints the lmbench table in native mode, in cycles and
 * in microseconds at the nominal 100 MHz. For comparison it also times v86 (an independent
 * emulator, with its JIT) to the same prompt, in wall time only: v86 has no virtual clock.
 *
 * Options: --runs N (boots to time, default 5), --no-v86, --json FILE (also write the
 * figures as JSON). Output: Markdown tables on stdout.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CPU_HZ } from '../workers/machine/clock';
import { formatGuestDiagnostic } from '../workers/guests/build';
import { readGuestFiles } from '../tools/guests-fs';
import { buildGuest, GuestBuildCache } from '../workers/guests/build';
import { GuestShell, PROMPT } from '../tests/guests/shell';
import { V86Shell } from '../tests/guests/v86shell';

interface Options { runs: number; v86: boolean; json: string | null }

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 5, v86: true, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = Math.max(2, Number(argv[++i]) | 0);
    else if (a === '--no-v86') o.v86 = false;
    else if (a === '--json') o.json = argv[++i] ?? null;
    else {
      console.error(`guest-figures: unknown option ${a} (options: --runs N, --no-v86, --json FILE)`);
      process.exit(2);
    }
  }
  return o;
}

const MEMORY_MIB = 64;
const COMMANDS = ['hello', 'ps', 'primes', 'primes 1000'];
const us = (cycles: number) => (cycles / (CPU_HZ / 1e6)).toFixed(2);
const ms = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));

  // ---- build ---------------------------------------------------------------------------
  const files = readGuestFiles();
  let t0 = performance.now();
  const built = buildGuest(files, { guest: 'kernel', mode: 'native' });
  const buildMs = performance.now() - t0;
  if (!built.ok) {
    console.error(`guest-figures: the kernel did not build:\n${built.errors.map(formatGuestDiagnostic).join('\n')}`);
    process.exit(1);
  }
  t0 = performance.now();
  buildGuest(files, { guest: 'kernel', mode: 'native' });
  const rebuildMs = performance.now() - t0;
  // an edit to one kernel file, with a warm GuestBuildCache: only the kernel is assembled
  const cache = new GuestBuildCache();
  buildGuest(files, { guest: 'kernel', mode: 'native', cache });
  const edited = new Map(files);
  edited.set('guests/kernel/console.inc', `${String(files.get('guests/kernel/console.inc'))}\n; edited\n`);
  t0 = performance.now();
  buildGuest(edited, { guest: 'kernel', mode: 'native', cache });
  const kernelOnlyMs = performance.now() - t0;
  const image = built.image;

  // ---- boot to the prompt, on ours ----------------------------------------------------
  const boots: { cycles: number; instructions: number; wallMs: number }[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const t = performance.now();
    const sh = new GuestShell(image, { memoryMiB: MEMORY_MIB });
    sh.boot(1000);
    boots.push({ cycles: sh.machine.cpu.cycles, instructions: sh.machine.cpu.instructions, wallMs: performance.now() - t });
  }
  const deterministic = boots.every((b) => b.cycles === boots[0].cycles && b.instructions === boots[0].instructions);
  const warm = boots.slice(1).map((b) => b.wallMs).sort((a, b) => a - b);

  // ---- commands: from Enter to the next prompt (the typing itself is not counted) --------
  // The line is typed first and echoed; the clock starts when Enter is typed. Slices of
  // 1000 cycles, so a figure is exact to within 1000 cycles.
  const sh = new GuestShell(image, { memoryMiB: MEMORY_MIB, chunk: 1000 });
  sh.boot();
  const commands: { command: string; cycles: number; instructions: number; wallMs: number }[] = [];
  for (const c of COMMANDS) {
    const from = sh.transcript.length;
    sh.machine.typeInput(c);
    sh.runUntil(c, from);
    const c0 = sh.machine.cpu.cycles;
    const i0 = sh.machine.cpu.instructions;
    const t = performance.now();
    sh.machine.typeInput('\r');
    sh.runUntil('\r\n' + PROMPT, from + c.length);
    commands.push({ command: c, cycles: sh.machine.cpu.cycles - c0, instructions: sh.machine.cpu.instructions - i0, wallMs: performance.now() - t });
  }

  // ---- lmbench, on a freshly booted kernel ----------------------------------------------
  const lmsh = new GuestShell(image, { memoryMiB: MEMORY_MIB });
  lmsh.boot();
  const lm = lmsh.run('lmbench').trim().split('\n');
  const lmbench: { name: string; cycles: number }[] = [];
  for (const line of lm) {
    const m = /^lmbench: (.+): (\d+) cycles$/.exec(line);
    if (m) lmbench.push({ name: m[1], cycles: Number(m[2]) });
  }
  if (lm[lm.length - 1] !== 'lmbench: done' || lmbench.length === 0) {
    console.error(`guest-figures: lmbench did not finish:\n${lm.join('\n')}`);
    process.exit(1);
  }

  // ---- v86, wall time to the same prompt ---------------------------------------------------
  let v86Ms: number | null = null;
  if (opts.v86) {
    const t = performance.now();
    const v = await V86Shell.create(image, MEMORY_MIB, 60_000);
    await v.runUntil(PROMPT);
    v86Ms = performance.now() - t;
    await v.destroy();
  }

  // ---- report ---------------------------------------------------------------------------
  const b0 = boots[0];
  const out: string[] = [];
  out.push(`## The teaching kernel, native mode, ${MEMORY_MIB} MiB (CPU at a nominal ${CPU_HZ / 1e6} MHz)`, '');
  out.push(`Built with the lab assembler: ${image.length} bytes, ${built.programs.length} user programs; ${ms(buildMs)} ms cold, ${ms(rebuildMs)} ms again, ${ms(kernelOnlyMs)} ms after an edit to one kernel file (the programs reused from a GuestBuildCache).`, '');
  out.push('| reset to the first prompt | value |', '| --- | ---: |');
  out.push(`| virtual cycles | ${b0.cycles} (${us(b0.cycles)} µs of virtual time) |`);
  out.push(`| instructions retired | ${b0.instructions} |`);
  out.push(`| the same on all ${opts.runs} runs | ${deterministic ? 'yes' : 'NO'} |`);
  out.push(`| wall ms, first (cold) run | ${ms(b0.wallMs)} |`);
  out.push(`| wall ms, best warm run | ${ms(warm[0])} (median ${ms(warm[warm.length >> 1])}) |`);
  if (v86Ms !== null) out.push(`| wall ms in v86 (JIT), its start-up included, for comparison | ${ms(v86Ms)} |`);
  out.push('');
  out.push('From Enter to the next prompt (fork, exec, the program, exit, wait, the prompt), to within 1000 cycles:', '');
  out.push('| command | virtual cycles | instructions | wall ms |', '| --- | ---: | ---: | ---: |');
  for (const c of commands) out.push(`| \`${c.command}\` | ${c.cycles} | ${c.instructions} | ${ms(c.wallMs)} |`);
  out.push('');
  out.push('lmbench (guests/user/lmbench.asm) right after boot, native mode: cycles per operation as the guest measures them with RDTSC.', '');
  out.push('| operation | cycles | µs at 100 MHz |', '| --- | ---: | ---: |');
  for (const r of lmbench) out.push(`| ${r.name} | ${r.cycles} | ${us(r.cycles)} |`);
  console.log(out.join('\n'));

  if (opts.json) {
    mkdirSync(dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, JSON.stringify({ memoryMiB: MEMORY_MIB, imageBytes: image.length, buildMs, rebuildMs, kernelOnlyMs, boots, deterministic, v86Ms, commands, lmbench }, null, 2) + '\n');
  }
}

await main();
