/*
 * `labctl asm`: the lab's assembler on the command line, the same code the browser runs.
 *     npx labctl asm FILE [-D NAME[=VALUE]]... [-I DIR]... -o OUT.bin [--listing FILE] [--map FILE]
 * Files are read from disk on demand through a virtual file system that looks like the
 * browser's (paths relative to the current directory), so %include and incbin behave the
 * same in both places. Errors print as file:line:column: message; the exit code is 0 on
 * success, 1 on assembly errors and 2 on a bad command line. labctl's main dispatches here.
 *
 * --listing: one line per source line: line number, address (hex), up to ten bytes in hex
 *   ("..." when longer, "<res Nh>" for reserved space), the source text; macro-made lines
 *   show their expansion under the line that invoked the macro.
 * --map: the symbols ("VALUE  SECTION  NAME  FILE:LINE", SECTION "equ" for numbers), then
 *   the line table ("ADDRESS  LENGTH  FILE:LINE", "(data)" for non-instructions).
 */

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { assemble, type AssembleResult } from '../../workers/asm/assembler';
import { formatDiagnostic } from '../../workers/asm/diag';
import { normalizePath, type FileData } from '../../workers/asm/vfs';

/** A file map that reads from disk the first time a path is asked for. */
class DiskFiles extends Map<string, FileData> {
  override has(path: string): boolean {
    return this.get(path) !== undefined;
  }
  override get(path: string): FileData | undefined {
    if (super.has(path)) return super.get(path);
    try {
      if (!statSync(path).isFile()) return undefined;
      const data = new Uint8Array(readFileSync(path));
      super.set(path, data);
      return data;
    } catch {
      return undefined;
    }
  }
}

const USAGE = 'usage: labctl asm FILE [-D NAME[=VALUE]]... [-I DIR]... -o OUT.bin [--listing FILE] [--map FILE]';

interface AsmArgs {
  file: string;
  defines: string[];
  includeDirs: string[];
  out: string;
  listing: string | null;
  map: string | null;
}

function parseArgs(argv: readonly string[]): AsmArgs | string {
  const a: AsmArgs = { file: '', defines: [], includeDirs: [], out: '', listing: null, map: null };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const value = (): string | null => (i + 1 < argv.length ? argv[++i] : null);
    if (x === '-D' || x === '-I' || x === '-o' || x === '--listing' || x === '-l' || x === '--map') {
      const v = value();
      if (v === null) return `${x} needs a value`;
      if (x === '-D') a.defines.push(v);
      else if (x === '-I') a.includeDirs.push(v);
      else if (x === '-o') a.out = v;
      else if (x === '--map') a.map = v;
      else a.listing = v;
    } else if (x.startsWith('-D') && x.length > 2) a.defines.push(x.slice(2));
    else if (x.startsWith('-I') && x.length > 2) a.includeDirs.push(x.slice(2));
    else if (x.startsWith('-o') && x.length > 2) a.out = x.slice(2);
    else if (x === '-h' || x === '--help') return '';
    else if (x.startsWith('-')) return `unknown option ${x}`;
    else if (a.file) return `only one source file, got ${a.file} and ${x}`;
    else a.file = x;
  }
  if (!a.file) return 'no source file';
  if (!a.out) return 'no output file (-o)';
  return a;
}

/** The symbol table and line table, as text. */
export function mapText(r: Pick<AssembleResult, 'symbols' | 'lineMap'>): string {
  const hex = (n: number) => (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
  const lines = ['; symbols: value, section (or "equ"/"abs"), name, defined at'];
  for (const s of r.symbols) lines.push(`${hex(s.value)}  ${(s.section ?? (s.kind === 'equ' ? 'equ' : 'abs')).padEnd(10)} ${s.name.padEnd(32)} ${s.file}:${s.line}`);
  lines.push('', '; lines: address, length, source');
  for (const e of r.lineMap.entries) lines.push(`${hex(e.address)}  ${String(e.length).padStart(6)}  ${e.file}:${e.line}${e.code ? '' : ' (data)'}`);
  return lines.join('\n') + '\n';
}

export async function asmCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (typeof a === 'string') {
    if (a) process.stderr.write(`labctl asm: ${a}\n`);
    process.stderr.write(USAGE + '\n');
    return a ? 2 : 0;
  }
  const main = normalizePath(a.file);
  const files = new DiskFiles();
  if (!files.has(main)) {
    process.stderr.write(`labctl asm: cannot read ${a.file}\n`);
    return 2;
  }
  const r = assemble({ files, main, defines: a.defines, includeDirs: a.includeDirs.map(normalizePath) });
  for (const w of r.warnings) process.stderr.write(formatDiagnostic(w) + '\n');
  for (const e of r.errors) process.stderr.write(formatDiagnostic(e) + '\n');
  if (!r.ok) {
    process.stderr.write(`labctl asm: ${r.errors.length} error(s), no output written\n`);
    return 1;
  }
  try {
    writeFileSync(a.out, r.image);
    if (a.listing) writeFileSync(a.listing, r.listing);
    if (a.map) writeFileSync(a.map, mapText(r));
  } catch (e) {
    process.stderr.write(`labctl asm: ${(e as Error).message}\n`);
    return 2;
  }
  return 0;
}
