/*
 * Reads the serial log of the benchmark kernel (shared/bench/bench.asm beside the repository) together with
 * the wall time at which each byte arrived, and turns it into one record per workload and
 * pass: the exact guest instruction count the kernel reports, its checksum, and the wall
 * time between the newline that ends `BEGIN <name>` and the first byte of `END <name>`
 * (the interval the count covers). Shared by scripts/bench.ts and its tests.
 */

import { BENCH_DIR as SHARED_BENCH_DIR } from './shared';

export interface BenchRecord {
  pass: number;
  name: string;
  insns: number;
  iters: number;
  inner: number;
  sum: number;
  /** Arrival time of the BEGIN line's newline (ms). */
  begin: number;
  /** Arrival time of END's first byte (ms). */
  end: number;
}

export interface BenchLog {
  /** The first line the kernel prints (`BENCH v1 paging=.. scale=.. passes=..`). */
  banner: string;
  records: BenchRecord[];
  /** `ALLDONE` was seen. */
  done: boolean;
  /** Lines that could not be understood (a misbehaving guest), kept for the report. */
  garbage: string[];
}

const END_RE = /^END (\w+) insns=([0-9a-f]+) iters=([0-9a-f]+) inner=([0-9a-f]+) sum=([0-9a-f]+)$/;

/** Parses `length` bytes of `bytes`, byte i having arrived at `times[i]` (ms). */
export function parseBenchLog(bytes: Uint8Array, times: Float64Array, length: number): BenchLog {
  const log: BenchLog = { banner: '', records: [], done: false, garbage: [] };
  let pass = 0;
  let open: { name: string; begin: number } | null = null;
  let start = 0;
  for (let i = 0; i < length; i++) {
    if (bytes[i] !== 10) continue;
    let line = '';
    for (let j = start; j < i; j++) line += String.fromCharCode(bytes[j]);
    line = line.replace(/\r$/, '');
    const lineStart = start;
    start = i + 1;
    if (line.startsWith('BENCH')) log.banner = line;
    else if (line.startsWith('PASS ')) pass = parseInt(line.slice(5), 16);
    else if (line.startsWith('BEGIN ')) open = { name: line.slice(6), begin: times[i] };
    else if (line === 'ALLDONE') log.done = true;
    else {
      const m = END_RE.exec(line);
      if (m && open && open.name === m[1]) {
        log.records.push({
          pass, name: m[1],
          insns: parseInt(m[2], 16), iters: parseInt(m[3], 16), inner: parseInt(m[4], 16), sum: parseInt(m[5], 16),
          begin: open.begin, end: times[lineStart],
        });
        open = null;
      } else if (line.length > 0) log.garbage.push(line);
    }
  }
  return log;
}

/** Geometric mean of positive numbers (NaN when empty or any is not positive). */
export function geomean(xs: number[]): number {
  if (xs.length === 0 || xs.some((x) => !(x > 0))) return NaN;
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}

/** Where the shared benchmark kernel and its JavaScript model live. */
export const BENCH_DIR = SHARED_BENCH_DIR;

export interface BenchCheck {
  ok: boolean;
  expected_insns?: number;
  expected_sum?: number;
  error?: string;
}
export interface BenchReference {
  check(name: string, fields: { insns: number; iters: number; inner: number; sum: number }): BenchCheck;
}

/** Loads reference.mjs (the host-side model of every workload) beside bench.asm. */
export async function loadBenchReference(dir = BENCH_DIR): Promise<BenchReference> {
  const { pathToFileURL } = await import('node:url');
  const url = pathToFileURL(`${dir}/reference.mjs`).href;
  return (await import(/* @vite-ignore */ url)) as BenchReference;
}
