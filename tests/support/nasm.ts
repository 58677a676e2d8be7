/*
 * Assembling test guests with nasm (a reference tool installed on development machines;
 * the lab itself never needs it). Used by the benchmark and the differential tests to
 * build flat Multiboot images. Results are cached by content in the OS temp directory, so
 * a test run assembles each distinct source once.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const NASM = '/usr/bin/nasm';

export function haveNasm(): boolean {
  return existsSync(NASM);
}

/** Assembles NASM source text to a flat binary (`-f bin`) with `-D` defines. */
export function assemble(source: string, defines: Record<string, string | number> = {}, includeDir?: string): Uint8Array {
  const defs = Object.entries(defines).map(([k, v]) => `-D${k}=${v}`);
  if (includeDir) defs.push(`-i${includeDir.endsWith('/') ? includeDir : includeDir + '/'}`);
  const key = createHash('sha1').update(source).update(defs.join(' ')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'paravirt-lab-nasm');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${key}.bin`);
  if (existsSync(out)) return new Uint8Array(readFileSync(out));
  const src = join(dir, `${key}.${process.pid}.asm`);
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(src, source);
  try {
    execFileSync(NASM, ['-f', 'bin', ...defs, '-o', tmp, src], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    throw new Error(`nasm failed on ${src}: ${err.stderr?.toString() ?? String(e)}`);
  }
  const bin = readFileSync(tmp);
  renameSync(tmp, out); // atomic: parallel test files may assemble the same source
  return new Uint8Array(bin);
}

/** Assembles a source file (its %include paths resolve from its own folder). */
export function assembleFile(path: string, defines: Record<string, string | number> = {}): Uint8Array {
  return assemble(readFileSync(path, 'utf8'), defines, dirname(path));
}
