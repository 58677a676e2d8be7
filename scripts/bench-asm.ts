/*
 * How fast the lab's assembler is: `npx tsx scripts/bench-asm.ts [--runs N]`. Assembles the
 * largest sources there are (the CPU benchmark kernel, and the teaching kernel with its user
 * programs when guests/ has them), from a virtual file system in memory, as the browser
 * does. "cold" is the first assembly in a fresh process (it includes V8 compiling the
 * assembler); "warm" is the median of the next N runs. Figures are wall time, printed, and
 * vary with the load of the machine (the process CPU time is printed beside them, it suffers
 * less from other processes): compare runs made side by side.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble, type AssembleOptions } from '../workers/asm/assembler';
import type { FileData } from '../workers/asm/vfs';
import { BENCH_ASM } from '../tests/support/shared';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Math.max(1, Number(process.argv[runsArg + 1]) || 10) : 10;

interface Job {
  name: string;
  options: AssembleOptions;
  lines: number;
}

function dirFiles(dir: string, prefix: string, into: Map<string, FileData>): number {
  let lines = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (!/\.(asm|inc)$/.test(f)) continue;
    const text = readFileSync(p, 'utf8');
    into.set(`${prefix}/${f}`, text);
    lines += text.split('\n').length;
  }
  return lines;
}

function jobs(): Job[] {
  const out: Job[] = [];
  const bench = BENCH_ASM;
  if (existsSync(bench)) {
    const text = readFileSync(bench, 'utf8');
    out.push({ name: 'bench.asm (PAGING=1)', options: { files: new Map([['bench.asm', text]]), main: 'bench.asm', defines: ['PAGING=1'] }, lines: text.split('\n').length });
  }
  const guests = join(ROOT, 'guests');
  if (existsSync(join(guests, 'kernel', 'kernel.asm'))) {
    // user programs first (the kernel incbins them), assembled by us into the same file map
    const files = new Map<string, FileData>();
    let lines = dirFiles(join(guests, 'include'), 'include', files) + dirFiles(join(guests, 'user'), 'user', files);
    lines += dirFiles(join(guests, 'kernel'), 'kernel', files);
    if (existsSync(join(guests, 'kernel', 'pv'))) lines += dirFiles(join(guests, 'kernel', 'pv'), 'kernel/pv', files);
    const programs = [...files.keys()].filter((k) => k.startsWith('user/') && k.endsWith('.asm'));
    for (const p of programs) {
      const r = assemble({ files, main: p, includeDirs: ['include', 'user'] });
      if (!r.ok) {
        console.log(`(skipping the kernel: ${p} does not assemble: ${r.errors[0]?.message})`);
        return out;
      }
      files.set(`built/${basename(p, '.asm')}.bin`, r.image);
    }
    out.push({ name: `kernel.asm (native, ${programs.length} programs built first)`, options: { files, main: 'kernel/kernel.asm', defines: ['MODE_NATIVE'], includeDirs: ['include', 'kernel', 'built'] }, lines });
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`assembler benchmark: ${RUNS} warm runs each (wall time, this machine's load: noisy)`);
for (const j of jobs()) {
  const t0 = performance.now();
  const first = assemble(j.options);
  const cold = performance.now() - t0;
  if (!first.ok) {
    console.log(`${j.name}: does not assemble (${first.errors[0]?.file}:${first.errors[0]?.line}: ${first.errors[0]?.message})`);
    continue;
  }
  const warm: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    assemble(j.options);
    warm.push(performance.now() - t);
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1000);
  }
  const w = median(warm);
  console.log(
    `${j.name}: ${j.lines} source lines, ${first.image.length} bytes, ${first.passes} passes + final: ` +
      `cold ${cold.toFixed(1)} ms, warm ${w.toFixed(1)} ms (CPU ${median(cpu).toFixed(1)} ms; ${Math.round((j.lines / w) * 1000)} lines/s)`,
  );
}
