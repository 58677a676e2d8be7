/*
 * Building a built-in guest with the lab's own assembler (workers/asm), from a virtual file
 * system of guest sources: the way the browser builds the kernel a student has just edited,
 * and the way labctl and the tests build it from guests/ on disk (tools/guests-fs.ts fills
 * the map there).
 *
 * The recipe (catalog.ts) is the one guests/build.mjs follows with nasm:
 *   1. every user program `<programs>/<name>.asm` is assembled to a flat binary, which is
 *      added to the file map as `bin/<name>.bin`;
 *   2. the kernel's top file is assembled with -DMODE_<MODE> and `bin` on its include path,
 *      so programs.inc's `incbin "hello.bin"` finds the program just built.
 * The caller's map is never changed (the binaries go into a copy). Every problem, in any
 * file, comes back in `errors` with its file:line:column, all of them at once; buildGuest()
 * never throws.
 *
 * Rebuilding after an edit: pass the same GuestBuildCache to every build. Each assembly
 * remembers every file it looked up (found or not) and is reused while all of those look-ups
 * give the same answer, so after an edit to the kernel only the kernel is assembled again.
 * Next: tools/guests-fs.ts (Node) or the worker that calls this.
 */

import { assemble, LineMap, type AsmSymbol, type AssembleResult } from '../asm/assembler';
import type { Diagnostic } from '../asm/diag';
import { normalizePath, type FileData } from '../asm/vfs';
import { findGuest, GUEST_MODES, GUESTS, isGuestMode, PROGRAM_BIN_DIR, type GuestMode, type GuestRecipe } from './catalog';

/** An error or warning; `file` is '' (and `line` 0) when it is about no source line. */
export type GuestDiagnostic = Diagnostic;

/** One user program, as built for the kernel. */
export interface GuestProgram {
  /** the name exec() knows it by (the file name without .asm) */
  name: string;
  /** its source file in the map */
  source: string;
  ok: boolean;
  image: Uint8Array;
  /** the address of image[0] (the program's `org`, 0x400000 for the teaching kernel) */
  origin: number;
  symbols: AsmSymbol[];
  lineMap: LineMap;
  listing: string;
}

export interface GuestBuild {
  /** true when the guest and every program assembled without errors */
  ok: boolean;
  guest: string;
  mode: string;
  /** the Multiboot kernel image to boot; empty unless ok */
  image: Uint8Array;
  /** the virtual address of image[0] (the kernel's `org`) */
  origin: number;
  /** the kernel's symbols (file and line where each is defined) */
  symbols: AsmSymbol[];
  /** kernel address <-> file:line, over every file the kernel includes */
  lineMap: LineMap;
  /** the kernel's listing (line, address, bytes, source) */
  listing: string;
  errors: GuestDiagnostic[];
  warnings: GuestDiagnostic[];
  /** the user programs, in the order they were built */
  programs: GuestProgram[];
}

export interface GuestBuildOptions {
  /** a catalog id or a recipe; default 'kernel' */
  guest?: string | GuestRecipe;
  /** 'native', 'xen' or 'vmi'; default 'native' */
  mode?: string;
  /** extra -D definitions for the kernel, after the recipe's own */
  defines?: readonly string[];
  /** assemblies from earlier builds, reused when none of their inputs changed */
  cache?: GuestBuildCache;
}

/** A file map that notes every path the assembler asks about, and what it found. */
class RecordingFiles extends Map<string, FileData> {
  readonly reads = new Map<string, FileData | undefined>();
  override has(path: string): boolean {
    return this.get(path) !== undefined;
  }
  override get(path: string): FileData | undefined {
    const d = super.get(path);
    this.reads.set(path, d);
    return d;
  }
}

interface CachedAssembly {
  reads: Map<string, FileData | undefined>;
  result: AssembleResult;
}

/**
 * Assemblies kept between builds, keyed by main file, definitions and include path. An
 * entry is reused when every file it read holds, in the new file map, the same text (JS
 * strings compare by value) or the same binary object, and every file it looked for and
 * did not find is still absent. Reused results are shared: treat them as read-only.
 */
export class GuestBuildCache {
  private readonly entries = new Map<string, CachedAssembly>();
  /** assemblies reused / run, since the cache was made */
  hits = 0;
  misses = 0;

  assemble(files: ReadonlyMap<string, FileData>, main: string, defines: readonly string[], includeDirs: readonly string[]): AssembleResult {
    const key = JSON.stringify([main, defines, includeDirs]);
    const hit = this.entries.get(key);
    if (hit !== undefined && sameReads(hit.reads, files)) {
      this.hits++;
      return hit.result;
    }
    this.misses++;
    const recording = new RecordingFiles(files);
    const result = assemble({ files: recording, main, defines, includeDirs });
    this.entries.set(key, { reads: recording.reads, result });
    return result;
  }

  clear(): void {
    this.entries.clear();
  }
}

function sameReads(reads: ReadonlyMap<string, FileData | undefined>, files: ReadonlyMap<string, FileData>): boolean {
  for (const [path, was] of reads) if (files.get(path) !== was) return false;
  return true;
}

/** Assembles through the cache when there is one. */
function assembleWith(cache: GuestBuildCache | undefined, files: ReadonlyMap<string, FileData>, main: string, defines: readonly string[], includeDirs: readonly string[]): AssembleResult {
  return cache ? cache.assemble(files, main, defines, includeDirs) : assemble({ files, main, defines, includeDirs });
}

/** "file:line:column: error: message", or just "error: message" when there is no file. */
export function formatGuestDiagnostic(d: GuestDiagnostic): string {
  return d.file ? `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}` : `${d.severity}: ${d.message}`;
}

/** The stand-in binary of a program that failed (one object, so the kernel's cache entry holds). */
const NO_BYTES = new Uint8Array(0);

function problem(message: string): GuestDiagnostic {
  return { severity: 'error', file: '', line: 0, column: 0, message };
}

function failed(guest: string, mode: string, errors: GuestDiagnostic[], programs: GuestProgram[] = []): GuestBuild {
  return {
    ok: false, guest, mode, image: new Uint8Array(0), origin: 0, symbols: [], lineMap: new LineMap([]),
    listing: '', errors, warnings: [], programs,
  };
}

/** The file that holds `mode`'s paravirt layer: <kernel dir>/pv/<mode>.inc. */
export function layerFile(recipe: GuestRecipe, mode: GuestMode): string {
  const dir = recipe.main.includes('/') ? recipe.main.slice(0, recipe.main.lastIndexOf('/')) : '';
  return normalizePath(`${dir}/pv/${mode}.inc`);
}

/** The modes whose paravirt layer is present in `files`. */
export function builtModes(recipe: GuestRecipe, files: ReadonlyMap<string, FileData>): GuestMode[] {
  return GUEST_MODES.filter((m) => files.has(layerFile(recipe, m)));
}

/** The user program sources of a recipe in `files`, sorted: [name, path]. */
export function programSources(recipe: GuestRecipe, files: ReadonlyMap<string, FileData>): [string, string][] {
  if (recipe.programs === null) return [];
  const dir = normalizePath(recipe.programs) + '/';
  const out: [string, string][] = [];
  for (const path of files.keys()) {
    if (!path.startsWith(dir) || !path.endsWith('.asm')) continue;
    const name = path.slice(dir.length, -'.asm'.length);
    if (name.includes('/')) continue;
    out.push([name, path]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function programOf(name: string, source: string, r: AssembleResult): GuestProgram {
  return { name, source, ok: r.ok, image: r.image, origin: r.origin, symbols: r.symbols, lineMap: r.lineMap, listing: r.listing };
}

/**
 * Builds a guest from the sources in `files` (path -> text; paths as in the repository,
 * e.g. "guests/kernel/kernel.asm"). Never throws.
 */
export function buildGuest(files: ReadonlyMap<string, FileData>, options: GuestBuildOptions = {}): GuestBuild {
  const mode = options.mode ?? 'native';
  const requested = options.guest ?? 'kernel';
  const recipe = typeof requested === 'string' ? findGuest(requested) : requested;
  const id = typeof requested === 'string' ? requested : requested.id;
  if (!recipe) return failed(id, mode, [problem(`no built-in guest "${id}" (there are: ${GUESTS.map((g) => g.id).join(', ')})`)]);
  if (!isGuestMode(mode)) return failed(id, mode, [problem(`unknown mode "${mode}" (modes: ${GUEST_MODES.join(', ')})`)]);
  if (!(files instanceof Map)) return failed(id, mode, [problem('the guest sources must be a Map from path to text')]);
  if (!files.has(recipe.main)) return failed(id, mode, [problem(`${recipe.main} is not in the guest sources`)]);
  if (!files.has(layerFile(recipe, mode))) {
    return failed(id, mode, [problem(`${mode} mode not built yet: the ${mode} paravirt layer (${layerFile(recipe, mode)}) is not written`)]);
  }
  try {
    return build(recipe, mode, files, options.defines ?? [], options.cache);
  } catch (e) {
    return failed(id, mode, [problem(`internal error while building ${id}: ${e instanceof Error ? e.message : String(e)}`)]);
  }
}

function build(recipe: GuestRecipe, mode: GuestMode, input: ReadonlyMap<string, FileData>, extra: readonly string[], cache: GuestBuildCache | undefined): GuestBuild {
  const files = new Map(input);
  const errors: GuestDiagnostic[] = [];
  const warnings: GuestDiagnostic[] = [];
  const programs: GuestProgram[] = [];

  // 1. The user programs, each into bin/<name>.bin. A program that fails still gets an
  // (empty) binary there, so the kernel's incbin of it does not add a second, echo error.
  for (const [name, source] of programSources(recipe, files)) {
    const r = assembleWith(cache, files, source, [], recipe.programIncludeDirs);
    errors.push(...r.errors);
    warnings.push(...r.warnings);
    programs.push(programOf(name, source, r));
    files.set(`${PROGRAM_BIN_DIR}/${name}.bin`, r.ok ? r.image : NO_BYTES);
  }

  // 2. The kernel, for one paravirt layer.
  const k = assembleWith(cache, files, recipe.main, [`MODE_${mode.toUpperCase()}`, ...recipe.defines, ...extra], [...recipe.includeDirs, PROGRAM_BIN_DIR]);
  errors.push(...k.errors);
  warnings.push(...k.warnings);
  const ok = errors.length === 0;
  return {
    ok,
    guest: recipe.id,
    mode,
    image: ok ? k.image : new Uint8Array(0),
    origin: k.origin,
    symbols: k.symbols,
    lineMap: k.lineMap,
    listing: k.listing,
    errors,
    warnings,
    programs,
  };
}
