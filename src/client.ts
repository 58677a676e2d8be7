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
  source: string;
  /** [address, line] pairs sorted by address. */
  lines: [number, number][];
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
  const source = src.ok ? await src.text() : '';
  const lines = map.ok ? ((await map.json()) as { lines: [number, number][] }).lines : [];
  return { entry, binary, source, lines };
}

/** Unwraps a Result, throwing its error (callers show it in the status bar). */
export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
