/*
 * The teaching kernel built with the lab's own assembler, for the tests: a thin wrapper
 * over the recipe in workers/guests/build.ts (the one the browser and labctl use), with the
 * sources read from guests/ by tools/guests-fs.ts. Compare tests/guests/build.ts, which
 * builds the same sources with nasm.
 */

import type { FileData } from '../../workers/asm/vfs';
import { buildGuest, formatGuestDiagnostic } from '../../workers/guests/build';
import { readGuestFiles } from '../../tools/guests-fs';

export interface LabBuild {
  ok: boolean;
  kernel: Uint8Array;
  user: Map<string, Uint8Array>;
  errors: string[];
}

/** Every .asm/.inc under guests/, keyed "guests/<path>". */
export function guestFiles(): Map<string, FileData> {
  return readGuestFiles();
}

export function buildWithLabAssembler(mode = 'native', files: ReadonlyMap<string, FileData> = guestFiles(), defines: string[] = []): LabBuild {
  const b = buildGuest(files, { guest: 'kernel', mode, defines });
  return {
    ok: b.ok,
    kernel: b.image,
    user: new Map(b.programs.map((p) => [p.name, p.image])),
    errors: b.errors.map(formatGuestDiagnostic),
  };
}
