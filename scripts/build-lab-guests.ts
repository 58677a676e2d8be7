/*
 * Builds the teaching kernel (guests/) with the lab's own assembler (workers/asm), the way
 * the browser will, into public/guests/: kernel.bin, kernel.map.json (address -> file and
 * line, over several source files) and kernel.src.json (the source files, for the code
 * view). Prints the manifest entry as JSON on its last line, for build-guests.mjs.
 * Recipe: every user program is assembled to bin/<name>.bin in the virtual file system,
 * then the kernel with MODE_NATIVE and bin/ on its include path (guests/README.md).
 */

import { writeFileSync } from 'node:fs';
import { formatGuestDiagnostic } from '../workers/guests/build';
import { buildGuestFromDisk, readGuestFiles } from '../tools/guests-fs';

const OUT = 'public/guests';

const files = readGuestFiles();
const k = buildGuestFromDisk({ guest: 'kernel', mode: 'native' });
if (!k.ok) {
  console.error(`build-lab-guests: the teaching kernel did not assemble:\n${k.errors.slice(0, 20).map(formatGuestDiagnostic).join('\n')}`);
  process.exit(1);
}

// the kernel's own sources only (user programs arrive as incbin bytes)
const used = new Set(k.lineMap.entries.map((e) => e.file));
const names = [...used].filter((f) => typeof files.get(f) === 'string').sort((a, b) => (a === 'guests/kernel/kernel.asm' ? -1 : b === 'guests/kernel/kernel.asm' ? 1 : a.localeCompare(b)));
const index = new Map(names.map((n, i) => [n, i]));
const lines: [number, number, number][] = [];
let last = -1;
for (const e of k.lineMap.entries) {
  const fi = index.get(e.file);
  if (fi === undefined || !e.code || e.address === last) continue;
  lines.push([e.address >>> 0, e.line, fi]);
  last = e.address;
}
writeFileSync(`${OUT}/kernel.bin`, k.image);
writeFileSync(`${OUT}/kernel.map.json`, JSON.stringify({ file: names[0], files: names, lines }));
writeFileSync(`${OUT}/kernel.src.json`, JSON.stringify(Object.fromEntries(names.map((n) => [n, files.get(n)]))));
console.log(`build-lab-guests: kernel.bin ${k.image.length} bytes, ${lines.length} mapped instructions in ${names.length} files`);
console.log(JSON.stringify({
  id: 'kernel', title: 'kernel: the teaching kernel (shell, fork, exec, COW)', mode: 'native',
  description: 'The lab\'s Unix-like teaching kernel, native build, assembled by the lab\'s own assembler. Type help at the $ prompt.',
  binary: 'kernel.bin', source: 'kernel.src.json', map: 'kernel.map.json', size: k.image.length,
}));
