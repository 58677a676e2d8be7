/*
 * The virtual file system the assembler reads: a map from path to text (sources) or bytes
 * (incbin). In the browser the map holds the files the student is editing; in Node,
 * tools/labctl/asm.ts fills it from disk. Paths use '/' and are normalised ("a/./b/../c" is
 * "a/c"), so `%include "lib/x.inc"` finds the same entry on every platform. An include is
 * looked for beside the including file, then as given, then in each include directory.
 */

export type FileData = string | Uint8Array;

export interface Vfs {
  /** path -> contents */
  files: ReadonlyMap<string, FileData>;
  /** include directories (the -I options), searched in order */
  includeDirs?: readonly string[];
}

export function normalizePath(p: string): string {
  const abs = p.startsWith('/');
  const parts: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else parts.push(seg);
  }
  return (abs ? '/' : '') + parts.join('/');
}

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function join(dir: string, name: string): string {
  if (name.startsWith('/') || dir === '') return normalizePath(name);
  return normalizePath(dir + '/' + name);
}

/** Finds `name` as included from `fromFile`; returns the normalised path, or null. */
export function resolveInclude(vfs: Vfs, name: string, fromFile: string): string | null {
  const candidates = [join(dirname(fromFile), name), normalizePath(name)];
  for (const d of vfs.includeDirs ?? []) candidates.push(join(d, name));
  for (const c of candidates) if (vfs.files.has(c)) return c;
  return null;
}

export function readText(vfs: Vfs, path: string): string | null {
  const d = vfs.files.get(path);
  if (d === undefined) return null;
  return typeof d === 'string' ? d : new TextDecoder().decode(d);
}

export function readBytes(vfs: Vfs, path: string): Uint8Array | null {
  const d = vfs.files.get(path);
  if (d === undefined) return null;
  if (typeof d !== 'string') return d;
  return new TextEncoder().encode(d);
}
