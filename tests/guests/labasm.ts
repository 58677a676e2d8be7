/*
 * Building the teaching kernel with the lab's own assembler (workers/asm), the way the
 * browser will: every guest source goes into a virtual file system, each user program is
 * assembled to a flat binary, the binaries are added to the file system under bin/, and
 * then the kernel is assembled with bin/ on its include path (programs.inc incbins them).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble, formatDiagnostic } from '../../workers/asm';
import { GUESTS } from './build';

export interface LabBuild {
  ok: boolean;
  kernel: Uint8Array;
  user: Map<string, Uint8Array>;
  errors: string[];
}

/** Every .asm/.inc under guests/, keyed "guests/<path>". */
export function guestFiles(): Map<string, string | Uint8Array> {
  const files = new Map<string, string | Uint8Array>();
  const walk = (dir: string, vdir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), `${vdir}/${e.name}`);
      else if (/\.(asm|inc)$/.test(e.name)) files.set(`${vdir}/${e.name}`, readFileSync(join(dir, e.name), 'utf8'));
    }
  };
  walk(GUESTS, 'guests');
  return files;
}

export function buildWithLabAssembler(mode = 'native', files = guestFiles()): LabBuild {
  const errors: string[] = [];
  const user = new Map<string, Uint8Array>();
  const programs = [...files.keys()].filter((p) => /^guests\/user\/[^/]+\.asm$/.test(p)).sort();
  for (const main of programs) {
    const r = assemble({ files, main, includeDirs: ['guests/include', 'guests/user'] });
    const name = main.slice('guests/user/'.length, -'.asm'.length);
    if (!r.ok) errors.push(...r.errors.map((d) => formatDiagnostic(d)));
    user.set(name, r.image);
    files.set(`bin/${name}.bin`, r.image);
  }
  const k = assemble({
    files,
    main: 'guests/kernel/kernel.asm',
    defines: [`MODE_${mode.toUpperCase()}`],
    includeDirs: ['guests/include', 'guests/kernel', 'bin'],
  });
  if (!k.ok) errors.push(...k.errors.map((d) => formatDiagnostic(d)));
  return { ok: errors.length === 0, kernel: k.image, user, errors };
}
