/*
 * The CPU benchmark: `npm run bench`. Builds the shared benchmark kernel
 * (shared/bench/bench.asm beside the repository) with nasm, with and without paging, boots each build in
 * our Machine and in v86 (its interpreter, `disable_jit: true`, and its JIT), and times
 * every workload by the wall time between the serial bytes that bracket it (the newline
 * ending `BEGIN <name>` and the first byte of `END <name>`). The kernel prints the exact
 * number of guest instructions in that interval, so MIPS = insns / time. Only the last pass
 * is used (pass 1 is cold: decode caches and v86's JIT warm up). Every checksum is checked
 * against reference.mjs, so a fast but wrong run is reported as wrong.
 *
 * Options: --scale N (1..9, default 1), --passes N (>= 2, default 2), --builds 0,1
 * (paging off/on, default both), --engines ours,interp,jit (default all), --json FILE
 * (default .tmp/bench.json), --chunk N (cycles per machine.run() call on our side, default
 * 200000). How to read the output: docs/bench.md.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleFile, haveNasm } from '../tests/support/nasm';
import { runV86, SerialCapture } from '../tests/support/v86';
import { BENCH_DIR, geomean, loadBenchReference, parseBenchLog, type BenchLog, type BenchReference } from '../tests/support/bench-log';
import { runOurs } from '../tests/support/machine';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORE5 = ['alu', 'mem', 'call', 'branch', 'mix'];
const ENGINES = ['ours', 'interp', 'jit'] as const;
type Engine = (typeof ENGINES)[number];
const ENGINE_LABEL: Record<Engine, string> = { ours: 'ours', interp: 'v86 interp', jit: 'v86 JIT' };

interface Options {
  scale: number;
  passes: number;
  builds: number[];
  engines: Engine[];
  json: string;
  chunk: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { scale: 1, passes: 2, builds: [0, 1], engines: [...ENGINES], json: resolve(ROOT, '.tmp/bench.json'), chunk: 200_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const need = () => {
      if (v === undefined) throw new Error(`${a} needs a value`);
      i++;
      return v;
    };
    switch (a) {
      case '--scale': o.scale = Number(need()); break;
      case '--passes': o.passes = Number(need()); break;
      case '--builds': o.builds = need().split(',').map(Number); break;
      case '--engines': o.engines = need().split(',') as Engine[]; break;
      case '--json': o.json = resolve(need()); break;
      case '--chunk': o.chunk = Number(need()); break;
      case '-h': case '--help':
        console.log('usage: npm run bench -- [--scale 1..9] [--passes N>=2] [--builds 0,1] [--engines ours,interp,jit] [--json FILE] [--chunk CYCLES]');
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a} (try --help)`);
    }
  }
  if (!(o.scale >= 1 && o.scale <= 9 && Number.isInteger(o.scale))) throw new Error('--scale must be an integer 1..9');
  if (!(o.passes >= 2 && Number.isInteger(o.passes))) throw new Error('--passes must be an integer >= 2 (the last pass is the warm one)');
  if (o.builds.some((b) => b !== 0 && b !== 1)) throw new Error('--builds takes 0 (no paging) and/or 1 (paging)');
  for (const e of o.engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e}; use ${ENGINES.join(',')}`);
  if (!(o.chunk >= 1000)) throw new Error('--chunk must be at least 1000 cycles');
  return o;
}

interface EngineResult {
  ok: boolean;
  error?: string;
  /** Total wall time of the run (boot to ALLDONE), ms. */
  wallMs?: number;
  workloads: Record<string, { ms: number; mips: number; sumOk: boolean; insns: number }>;
}

async function runEngine(engine: Engine, image: Uint8Array, opts: Options): Promise<SerialCapture> {
  const timeoutMs = 30 * 60_000;
  if (engine === 'ours') return (await runOurs(image, { until: 'ALLDONE\n', chunk: opts.chunk, timeoutMs })).serial;
  return (await runV86(image, { until: 'ALLDONE\n', jit: engine === 'jit', timeoutMs })).serial;
}

function summarise(log: BenchLog, ref: BenchReference, passes: number): EngineResult {
  const res: EngineResult = { ok: true, workloads: {} };
  if (!log.done) { res.ok = false; res.error = 'no ALLDONE'; }
  for (const r of log.records) {
    if (r.pass !== passes) continue; // warm pass only
    const ms = r.end - r.begin;
    const check = ref.check(r.name, r);
    if (!check.ok) {
      res.ok = false;
      res.error = `${r.name}: checksum ${r.sum.toString(16)} / insns ${r.insns}, expected ${check.expected_sum?.toString(16)} / ${check.expected_insns}`;
    }
    res.workloads[r.name] = { ms, mips: r.insns / (ms * 1000), sumOk: check.ok, insns: r.insns };
  }
  return res;
}

const fmt = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  if (!haveNasm()) {
    console.error('bench: nasm is needed to build bench.asm (/usr/bin/nasm)');
    return 2;
  }
  const ref = await loadBenchReference();
  const out: Record<string, unknown> = {
    date: new Date().toISOString(), node: process.version, scale: opts.scale, passes: opts.passes,
    note: 'MIPS of the last (warm) pass: guest insns between BEGIN newline and END first byte / wall time',
    builds: {} as Record<string, unknown>,
  };
  let failures = 0;
  for (const paging of opts.builds) {
    const build = `paging=${paging}`;
    const image = assembleFile(`${BENCH_DIR}/bench.asm`, { PAGING: paging, SCALE: opts.scale, PASSES: opts.passes });
    const results: Partial<Record<Engine, EngineResult>> = {};
    for (const engine of opts.engines) {
      process.stderr.write(`bench: ${build} ${ENGINE_LABEL[engine]} ... `);
      const t0 = performance.now();
      try {
        const serial = await runEngine(engine, image, opts);
        const log = parseBenchLog(serial.bytes, serial.times, serial.length);
        results[engine] = summarise(log, ref, opts.passes);
        results[engine].wallMs = performance.now() - t0;
      } catch (e) {
        results[engine] = { ok: false, error: (e as Error).message.split('\n')[0].slice(0, 300), workloads: {} };
      }
      const r = results[engine];
      if (!r.ok) failures++;
      process.stderr.write(`${r.ok ? 'ok' : 'FAILED: ' + r.error} (${fmt((performance.now() - t0) / 1000)} s)\n`);
    }

    // The table: one row per workload of this build, then the core5 geometric mean.
    const names = paging ? [...CORE5, 'tlb'] : CORE5;
    const rows: string[][] = [];
    const head = ['workload', 'Minsns', ...opts.engines.map((e) => `${ENGINE_LABEL[e]} MIPS`)];
    const ratioCols: Array<[Engine, Engine]> = [];
    if (opts.engines.includes('ours')) for (const e of ['interp', 'jit'] as Engine[]) if (opts.engines.includes(e)) ratioCols.push(['ours', e]);
    for (const [a, b] of ratioCols) head.push(`${a}/${ENGINE_LABEL[b]}`);
    rows.push(head);
    const jsonWl: Record<string, unknown> = {};
    for (const n of names) {
      const mips = (e: Engine) => results[e]?.workloads[n]?.mips;
      const insns = opts.engines.map((e) => results[e]?.workloads[n]?.insns).find((x) => x !== undefined);
      const row = [n, fmt(insns === undefined ? undefined : insns / 1e6, 0), ...opts.engines.map((e) => fmt(mips(e)) + (results[e]?.workloads[n]?.sumOk === false ? ' BAD' : ''))];
      for (const [a, b] of ratioCols) row.push(fmt((mips(a) ?? NaN) / (mips(b) ?? NaN), 3));
      rows.push(row);
      jsonWl[n] = Object.fromEntries(opts.engines.map((e) => [e, results[e]?.workloads[n] ?? null]));
    }
    const core = (e: Engine) => geomean(CORE5.map((n) => results[e]?.workloads[n]?.mips ?? NaN));
    const coreRow = ['core5 geomean', '', ...opts.engines.map((e) => fmt(core(e)))];
    for (const [a, b] of ratioCols) coreRow.push(fmt(core(a) / core(b), 3));
    rows.push(coreRow);
    const widths = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    console.log(`\n${build}  scale=${opts.scale} passes=${opts.passes} (last pass, wall-clock MIPS)`);
    for (const [i, r] of rows.entries()) {
      console.log(r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  '));
      if (i === 0 || i === rows.length - 2) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    }
    for (const e of opts.engines) if (!results[e]?.ok) console.log(`${ENGINE_LABEL[e]}: ${results[e]?.error}`);
    (out.builds as Record<string, unknown>)[build] = {
      workloads: jsonWl,
      core5: Object.fromEntries(opts.engines.map((e) => [e, core(e)])),
      ratios: Object.fromEntries(ratioCols.map(([a, b]) => [`${a}/${b}`, { core5: core(a) / core(b), ...Object.fromEntries(names.map((n) => [n, (results[a]?.workloads[n]?.mips ?? NaN) / (results[b]?.workloads[n]?.mips ?? NaN)])) }])),
      engines: Object.fromEntries(opts.engines.map((e) => [e, { ok: results[e]?.ok ?? false, error: results[e]?.error ?? null, wallMs: results[e]?.wallMs ?? null }])),
    };
  }
  mkdirSync(dirname(opts.json), { recursive: true });
  writeFileSync(opts.json, JSON.stringify(out, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  console.log(`\nJSON: ${opts.json}`);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`bench: ${(e as Error).message}`);
    process.exit(2);
  },
);
