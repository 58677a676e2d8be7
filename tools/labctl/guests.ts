/*
 * labctl's built-in guest commands: the kernels of workers/guests/catalog.ts, built from
 * the sources in guests/ with the lab's own assembler (no nasm), exactly as the browser
 * builds them.
 *
 *   labctl guests [--bundle FILE]          list them (or write the browser's source bundle)
 *   labctl build <guest> [options] -o OUT   write a guest's image (and its listing or map)
 *
 * `--guests DIR` reads the sources from a copy of guests/ instead (a student's edited tree).
 *
 * `labctl boot <guest>` (main.ts) uses loadGuestImage() from here. Every failure is a
 * message on stderr and exit code 2, as elsewhere in labctl.
 */

import { writeFileSync } from 'node:fs';
import { builtModes, formatGuestDiagnostic, type GuestBuild } from '../../workers/guests/build';
import { findGuest, GUEST_MODES, GUESTS, isGuestMode } from '../../workers/guests/catalog';
import { buildGuestFromDisk, GUESTS_DIR, readGuestFiles, writeGuestBundle } from '../guests-fs';
import { mapText } from './asm';

/** Modes the lab's machine can run so far (the hypervisors for the others are not written). */
export const RUNNABLE_MODES: readonly string[] = ['native'];

/** True when `name` means a built-in guest rather than a file (a bare catalog id). */
export function isGuestName(name: string): boolean {
  return findGuest(name) !== undefined;
}

/** A message for a mode the machine cannot run yet, or null when it can (or is unknown). */
export function modeProblem(mode: string): string | null {
  if (!isGuestMode(mode)) return `unknown mode "${mode}" (modes: ${GUEST_MODES.join(', ')})`;
  if (!RUNNABLE_MODES.includes(mode)) return `${mode} mode is not available yet: the lab runs native guests only so far`;
  return null;
}

/**
 * Builds a built-in guest; on failure writes every error (file:line:column) to stderr
 * prefixed by `who` and returns null.
 */
export function loadGuestImage(who: string, name: string, mode: string, defines: readonly string[] = [], dir: string | null = null): GuestBuild | null {
  const t0 = performance.now();
  let b: GuestBuild;
  try {
    b = buildGuestFromDisk({ guest: name, mode, defines }, dir ?? GUESTS_DIR);
  } catch (e) {
    process.stderr.write(`${who}: cannot read the guest sources: ${(e as Error).message}\n`);
    return null;
  }
  for (const w of b.warnings) process.stderr.write(`${formatGuestDiagnostic(w)}\n`);
  if (!b.ok) {
    for (const e of b.errors) process.stderr.write(`${formatGuestDiagnostic(e)}\n`);
    process.stderr.write(`${who}: ${name} (${mode}) did not build: ${b.errors.length} error(s)\n`);
    return null;
  }
  process.stderr.write(`${who}: built ${name} (${mode}) with the lab assembler: ${b.image.length} bytes, ${b.programs.length} programs, ${(performance.now() - t0).toFixed(0)} ms\n`);
  return b;
}

const GUESTS_USAGE = 'usage: labctl guests [--guests DIR] [--bundle FILE]';

export async function guestsCommand(argv: string[]): Promise<number> {
  let dir = GUESTS_DIR;
  let bundle: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--bundle' || a === '--guests') && i + 1 < argv.length) {
      if (a === '--bundle') bundle = argv[++i];
      else dir = argv[++i];
    } else {
      process.stderr.write(`labctl guests: unexpected argument ${a}\n${GUESTS_USAGE}\n`);
      return 2;
    }
  }
  let files;
  try {
    files = readGuestFiles(dir);
  } catch (e) {
    process.stderr.write(`labctl guests: cannot read the guest sources: ${(e as Error).message}\n`);
    return 2;
  }
  if (bundle !== null) {
    try {
      const n = writeGuestBundle(bundle, dir);
      process.stderr.write(`labctl guests: wrote ${n} source files to ${bundle}\n`);
      return 0;
    } catch (e) {
      process.stderr.write(`labctl guests: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const rows = GUESTS.map((g) => [g.id, builtModes(g, files).join(',') || '-', g.title.replace(/^[^:]*:\s*/, '')]);
  const w0 = Math.max(5, ...rows.map((r) => r[0].length));
  const w1 = Math.max(5, ...rows.map((r) => r[1].length));
  let out = `${'GUEST'.padEnd(w0)}  ${'MODES'.padEnd(w1)}  DESCRIPTION\n`;
  for (const r of rows) out += `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}\n`;
  out += '\nbuilt from guests/ with the lab assembler: labctl boot <guest> [--mode M], labctl build <guest> -o FILE\n';
  process.stdout.write(out);
  return 0;
}

const BUILD_USAGE = 'usage: labctl build <guest> [--mode native|xen|vmi] [-D NAME[=VALUE]]... [--guests DIR] -o OUT.bin [--listing FILE] [--map FILE]';

export async function buildCommand(argv: string[]): Promise<number> {
  let guest = '';
  let mode = 'native';
  let out = '';
  let listing: string | null = null;
  let map: string | null = null;
  let dir: string | null = null;
  const defines: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string | null => (i + 1 < argv.length ? argv[++i] : null);
    if (a === '--mode' || a === '-o' || a === '-D' || a === '--listing' || a === '--map' || a === '--guests') {
      const v = value();
      if (v === null) return usage(`${a} needs a value`);
      if (a === '--mode') mode = v;
      else if (a === '--guests') dir = v;
      else if (a === '-o') out = v;
      else if (a === '-D') defines.push(v);
      else if (a === '--listing') listing = v;
      else map = v;
    } else if (a.startsWith('-D') && a.length > 2) defines.push(a.slice(2));
    else if (a === '-h' || a === '--help') {
      process.stdout.write(BUILD_USAGE + '\n');
      return 0;
    } else if (a.startsWith('-')) return usage(`unknown option ${a}`);
    else if (guest) return usage(`one guest at a time, got ${guest} and ${a}`);
    else guest = a;
  }
  if (!guest) return usage('no guest given (see labctl guests)');
  if (!out) return usage('no output file (-o)');
  if (!isGuestName(guest)) return usage(`no built-in guest "${guest}" (there are: ${GUESTS.map((g) => g.id).join(', ')})`);
  const b = loadGuestImage('labctl build', guest, mode, defines, dir);
  if (!b) return 2;
  try {
    writeFileSync(out, b.image);
    if (listing !== null) writeFileSync(listing, b.listing);
    if (map !== null) writeFileSync(map, mapText(b));
  } catch (e) {
    process.stderr.write(`labctl build: ${(e as Error).message}\n`);
    return 2;
  }
  process.stderr.write(`labctl build: wrote ${out}\n`);
  return 0;
}

function usage(msg: string): number {
  process.stderr.write(`labctl build: ${msg}\n${BUILD_USAGE}\n`);
  return 2;
}
