/*
 * The page's handle on the lab worker: creates the Web Worker, wraps it with comlink as a
 * Remote<LabApi>, and fetches the guests the lab ships (public/guests/). This is the only
 * place the page touches the worker; everything else goes through the stores.
 */

import * as Comlink from 'comlink';
import type { LabApi, Result } from '../workers/api';

export type Lab = Comlink.Remote<LabApi>;

let lab: Lab | null = null;

export function labClient(): Lab {
  if (!lab) {
    const worker = new Worker(new URL('../workers/lab.worker.ts', import.meta.url), { type: 'module' });
    lab = Comlink.wrap<LabApi>(worker);
  }
  return lab;
}

/** A guest listed in public/guests/guests.json (written by scripts/build-guests.mjs). */
export interface GuestEntry {
  id: string;
  title: string;
  description: string;
  mode: 'native';
  binary: string;
  source: string;
  map: string;
  size: number;
}

export interface GuestFiles {
  entry: GuestEntry;
  binary: Uint8Array;
  /** Source file names; the first is the main file. */
  files: string[];
  /** Text of each source file, by name. */
  sources: Record<string, string>;
  /** [address, line, file index] sorted by address (the file index is 0 in one-file maps). */
  lines: [number, number, number][];
}

/** Relative to the page, so the lab works under any base path. */
const base = 'guests/';

export async function listGuests(): Promise<GuestEntry[]> {
  const r = await fetch(base + 'guests.json');
  if (!r.ok) throw new Error(`cannot load the guest list (${r.status})`);
  return (await r.json()) as GuestEntry[];
}

export async function loadGuest(entry: GuestEntry): Promise<GuestFiles> {
  const [bin, src, map] = await Promise.all([fetch(base + entry.binary), fetch(base + entry.source), fetch(base + entry.map)]);
  if (!bin.ok) throw new Error(`cannot load ${entry.binary} (${bin.status})`);
  const binary = new Uint8Array(await bin.arrayBuffer());
  // one file (<id>.asm) or several (<id>.src.json: { name: text }); see docs/ui.md
  const m = map.ok ? ((await map.json()) as { file: string; files?: string[]; lines: number[][] }) : { file: entry.source, lines: [] };
  const files = m.files ?? [m.file];
  let sources: Record<string, string> = {};
  if (src.ok) sources = entry.source.endsWith('.json') ? ((await src.json()) as Record<string, string>) : { [files[0]]: await src.text() };
  const lines = m.lines.map((l) => [l[0], l[1], l[2] ?? 0] as [number, number, number]);
  return { entry, binary, files, sources, lines };
}

/** Unwraps a Result, throwing its error (callers show it in the status bar). */
export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
