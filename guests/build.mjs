#!/usr/bin/env node
// guests/build.mjs - builds the teaching kernel with the reference assembler (nasm), for
// development and tests. The lab assembles the same sources with its own assembler.
//
// Order: every guests/user/*.asm becomes a flat binary <out>/user/<name>.bin; then
// guests/kernel/kernel.asm is assembled for one paravirt layer, pulling the programs in
// with incbin (found through the include path), into <out>/kernel-<mode>.bin.
//
//   node guests/build.mjs [--mode native|xen|vmi] [--out DIR] [--define NAME[=VALUE]]...
//   (default: native into .tmp/guests; --define passes -D to the kernel, e.g. PANIC_TEST)
//
// Exported for tests: buildGuests({ mode, out, defines }) -> { kernel, userDir, programs }.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function buildGuests({ mode = 'native', out = resolve(here, '../.tmp/guests'), defines = [] } = {}) {
  const userDir = join(out, 'user');
  mkdirSync(userDir, { recursive: true });
  const inc = ['-I', join(here, 'include') + '/', '-I', join(here, 'user') + '/'];
  const programs = readdirSync(join(here, 'user'))
    .filter((f) => f.endsWith('.asm'))
    .map((f) => f.slice(0, -4))
    .sort();
  for (const name of programs) {
    nasm([...inc, '-o', join(userDir, name + '.bin'), join(here, 'user', name + '.asm')]);
  }
  const kernel = join(out, `kernel-${mode}.bin`);
  nasm([
    `-DMODE_${mode.toUpperCase()}`,
    ...defines.map((d) => `-D${d}`),
    '-I', join(here, 'include') + '/',
    '-I', join(here, 'kernel') + '/',
    '-I', userDir + '/',
    '-o', kernel,
    join(here, 'kernel', 'kernel.asm'),
  ]);
  return { kernel, userDir, programs };
}

function nasm(args) {
  execFileSync('nasm', ['-f', 'bin', '-w+error=all', '-w-reloc-abs', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  try {
    const defines = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--define' ? [a] : []));
    const r = buildGuests({ mode: arg('--mode', 'native'), out: resolve(arg('--out', resolve(here, '../.tmp/guests'))), defines });
    console.log(r.kernel);
  } catch {
    process.exitCode = 1;
  }
}
