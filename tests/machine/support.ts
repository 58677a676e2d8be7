// Test helpers: build a guest with nasm (a test-only reference tool) and run a machine
// until a console text or an exit, collecting its output.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ASM as SHARED_BENCH_ASM } from '../support/shared';
import { Machine, type RunExit } from '../../workers/machine/machine';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
export const BENCH_ASM = SHARED_BENCH_ASM;

const dir = mkdtempSync(join(tmpdir(), 'lab-machine-'));
const built = new Map<string, string>();

/** Assembles `source` with nasm -f bin and the given -D defines; returns the output path. */
export function nasm(source: string, defines: Record<string, string | number> = {}): string {
  const key = `${source}|${JSON.stringify(defines)}`;
  const hit = built.get(key);
  if (hit) return hit;
  const out = join(dir, `g${built.size}.bin`);
  const args = ['-f', 'bin', ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`), '-o', out, source];
  execFileSync('nasm', args);
  built.set(key, out);
  return out;
}

export function image(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** Runs in slices of `slice` cycles until `until` shows up, the run ends, or `max` cycles pass. */
export function runUntil(m: Machine, opts: { until?: string; max: number; slice?: number }): { exit: RunExit; text: string } {
  const slice = opts.slice ?? 1_000_000;
  let exit: RunExit;
  for (;;) {
    exit = m.run(Math.min(slice, opts.max - m.cpu.cycles));
    const text = m.readConsole(0).text;
    if (opts.until && text.includes(opts.until)) return { exit, text };
    if (exit.kind !== 'budget' || m.cpu.cycles >= opts.max) return { exit, text };
  }
}
