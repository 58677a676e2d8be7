/*
 * Building the teaching kernel for the guest tests: runs guests/build.mjs (nasm, the
 * reference assembler) into a fresh temporary directory once per test file, and checks the
 * seam rule of guests/kernel/pv/ on the sources. Next: shell.ts drives the built kernel.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../..');
export const GUESTS = join(REPO, 'guests');

export interface BuiltGuests {
  dir: string;
  kernel: Uint8Array;
  kernelPath: string;
  user: Map<string, Uint8Array>;
}

/** Assembles every user program and the kernel for `mode` (with -D `defines`); throws with nasm's message. */
export function buildGuests(mode = 'native', defines: string[] = []): BuiltGuests {
  const dir = mkdtempSync(join(tmpdir(), 'pvlab-guests-'));
  const defs = defines.flatMap((d) => ['--define', d]);
  try {
    execFileSync(process.execPath, [join(GUESTS, 'build.mjs'), '--mode', mode, '--out', dir, ...defs], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer };
    throw new Error(`guest build failed: ${err.stderr?.toString() ?? ''}${err.stdout?.toString() ?? ''}`);
  }
  const kernelPath = join(dir, `kernel-${mode}.bin`);
  const user = new Map<string, Uint8Array>();
  for (const f of readdirSync(join(dir, 'user'))) user.set(f.replace(/\.bin$/, ''), new Uint8Array(readFileSync(join(dir, 'user', f))));
  return { dir, kernel: new Uint8Array(readFileSync(kernelPath)), kernelPath, user };
}

/**
 * Instructions that are privileged (fault outside ring 0) or sensitive (behave differently
 * outside ring 0 without faulting, like POPF and the descriptor-table reads). Only the
 * paravirt layer may use them.
 */
export const PRIVILEGED = new Set([
  'cli', 'sti', 'hlt', 'in', 'ins', 'insb', 'insw', 'insd', 'out', 'outs', 'outsb', 'outsw', 'outsd',
  'lgdt', 'lidt', 'lldt', 'ltr', 'lmsw', 'clts', 'invlpg', 'invd', 'wbinvd', 'iret', 'iretd', 'iretw',
  'popf', 'popfd', 'popfw', 'rdmsr', 'wrmsr', 'sgdt', 'sidt', 'sldt', 'str', 'smsw', 'lar', 'lsl', 'verr', 'verw',
]);
const PREFIXES = new Set(['rep', 'repe', 'repz', 'repne', 'repnz', 'lock', 'o16', 'o32', 'a16', 'a32']);

export interface SeamViolation {
  file: string;
  line: number;
  text: string;
}

/** The code part of a NASM line: no comment, strings blanked (a ';' in a string is text). */
export function codeOf(line: string): string {
  let out = '';
  let quote = '';
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = '';
      out += ' ';
    } else if (ch === ';') {
      break;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      quote = ch;
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out.trim();
}

/** The privileged instructions in NASM source text, as 1-based line numbers. */
export function privilegedLines(source: string): number[] {
  const hits: number[] = [];
  source.split('\n').forEach((raw, i) => {
    let code = codeOf(raw).toLowerCase();
    code = code.replace(/^[.%$@a-z_?][\w.$@?#~]*:\s*/, ''); // a leading label
    const words = code.split(/[\s,]+/).filter(Boolean);
    let k = 0;
    while (k < words.length && PREFIXES.has(words[k])) k++;
    const op = words[k];
    if (op === undefined) return;
    const control = /\b(cr[0-8]|dr[0-7]|tr[3-7])\b/.test(code) && (op === 'mov' || op === 'movl');
    if (PRIVILEGED.has(op) || control) hits.push(i + 1);
  });
  return hits;
}

/** Every .asm and .inc file under `root`, recursively. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(asm|inc)$/.test(name)) out.push(p);
  }
  return out.sort();
}

/** Privileged instructions in guest sources outside guests/kernel/pv/. */
export function seamViolations(root = GUESTS): SeamViolation[] {
  const pvDir = join(root, 'kernel', 'pv');
  const out: SeamViolation[] = [];
  for (const file of sourceFiles(root)) {
    if (file.startsWith(pvDir + '/')) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const n of privilegedLines(lines.join('\n'))) out.push({ file: relative(REPO, file), line: n, text: lines[n - 1].trim() });
  }
  return out;
}

/** The PV_* macro names a paravirt layer file defines. */
export function pvMacros(file: string): Set<string> {
  const names = new Set<string>();
  for (const m of readFileSync(file, 'utf8').matchAll(/^\s*%macro\s+(PV_\w+)/gm)) names.add(m[1]);
  return names;
}

/** The PV_* macro names used in the kernel outside the paravirt layer. */
export function pvMacrosUsed(root = GUESTS): Set<string> {
  const pvDir = join(root, 'kernel', 'pv');
  const names = new Set<string>();
  for (const file of sourceFiles(join(root, 'kernel'))) {
    if (file.startsWith(pvDir + '/')) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*(?:[.\w]+:\s*)?(PV_\w+)\b/.exec(codeOf(line));
      if (m) names.add(m[1]);
    }
  }
  return names;
}
