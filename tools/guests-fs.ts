/*
 * The guest sources from disk, for Node (labctl, tests, scripts): reads every .asm and .inc
 * under guests/ into the file map that workers/guests/build.ts reads, keyed by the path in
 * the repository ("guests/kernel/kernel.asm"). The browser gets the same map from a JSON
 * bundle (workers/guests/bundle.ts), which writeGuestBundle() here produces.
 */

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileData } from '../workers/asm/vfs';
import { buildGuest, type GuestBuild, type GuestBuildOptions } from '../workers/guests/build';
import { makeGuestBundle } from '../workers/guests/bundle';

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The guests/ folder of the repository. */
export const GUESTS_DIR = join(REPO_ROOT, 'guests');

/**
 * Every .asm/.inc under `dir` (default: the repository's guests/), keyed "guests/<path>" as
 * the recipes expect, in sorted order. A copy of guests/ elsewhere reads the same way.
 */
export function readGuestFiles(dir = GUESTS_DIR): Map<string, FileData> {
  const files = new Map<string, FileData>();
  const walk = (dir: string, vdir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.isDirectory()) walk(join(dir, e.name), `${vdir}/${e.name}`);
      else if (e.isFile() && /\.(asm|inc)$/.test(e.name)) files.set(`${vdir}/${e.name}`, readFileSync(join(dir, e.name), 'utf8'));
    }
  };
  walk(dir, 'guests');
  return files;
}

/** Builds a built-in guest from the sources on disk (never throws on bad sources). */
export function buildGuestFromDisk(options: GuestBuildOptions = {}, dir = GUESTS_DIR): GuestBuild {
  return buildGuest(readGuestFiles(dir), options);
}

/** Writes the JSON bundle of the guest sources the browser loads; returns the file count. */
export function writeGuestBundle(out: string, dir = GUESTS_DIR): number {
  const bundle = makeGuestBundle(readGuestFiles(dir));
  writeFileSync(out, JSON.stringify(bundle) + '\n');
  return Object.keys(bundle.files).length;
}
