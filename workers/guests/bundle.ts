/*
 * The guest sources as one JSON document, for the browser: it has no disk, so the sources
 * under guests/ travel as a bundle (written by `labctl guests --bundle FILE`, see
 * tools/guests-fs.ts) that the worker fetches once and turns back into the file map that
 * buildGuest() reads. The format:
 *
 *   { "format": "paravirt-lab guest sources", "version": 1,
 *     "files": { "guests/kernel/kernel.asm": "<text>", ... } }
 *
 * Paths are as in the repository, with '/'. Only text files travel; the user program
 * binaries are always rebuilt from their sources.
 */

import type { FileData } from '../asm/vfs';

export const BUNDLE_FORMAT = 'paravirt-lab guest sources';
export const BUNDLE_VERSION = 1;

export interface GuestSourceBundle {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  files: Record<string, string>;
}

/** A bundle of the files in `files` (text only), with paths sorted for a stable file. */
export function makeGuestBundle(files: ReadonlyMap<string, FileData>): GuestSourceBundle {
  const out: Record<string, string> = {};
  for (const path of [...files.keys()].sort()) {
    const d = files.get(path)!;
    if (typeof d === 'string') out[path] = d;
  }
  return { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, files: out };
}

/** The file map in a parsed bundle, or why it is not one. */
export function guestFilesFromBundle(json: unknown): { ok: true; files: Map<string, FileData> } | { ok: false; error: string } {
  if (typeof json !== 'object' || json === null) return { ok: false, error: 'the guest source bundle is not a JSON object' };
  const b = json as Partial<GuestSourceBundle>;
  if (b.format !== BUNDLE_FORMAT) return { ok: false, error: `not a guest source bundle (format is ${JSON.stringify(b.format)})` };
  if (b.version !== BUNDLE_VERSION) return { ok: false, error: `guest source bundle version ${String(b.version)}; this lab reads version ${BUNDLE_VERSION}` };
  if (typeof b.files !== 'object' || b.files === null) return { ok: false, error: 'the guest source bundle has no files' };
  const files = new Map<string, FileData>();
  for (const [path, text] of Object.entries(b.files)) {
    if (typeof text !== 'string') return { ok: false, error: `${path}: not text in the guest source bundle` };
    files.set(path, text);
  }
  return { ok: true, files };
}
