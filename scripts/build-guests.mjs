// Builds the guests the lab ships into public/guests/, for the browser to fetch: for each
// guest a flat Multiboot image (<id>.bin), its source (<id>.asm, shown in the code view)
// and a line map (<id>.map.json: instruction address -> source line), plus the manifest
// guests.json that fills the guest selector. Run: node scripts/build-guests.mjs
//
// The small guests are built with nasm, their line maps read from its listing; the
// teaching kernel (guests/, several files) is built by the lab's own assembler in
// scripts/build-lab-guests.ts, whose map is { file, files, lines: [address, line, fileIndex] }
// and whose sources go in <id>.src.json. nasm is a build-time tool only: the built files
// are kept in the repository, so the lab itself never needs it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OUT = 'public/guests';
const LOAD_ADDR = 0x100000;

/** The guests, in selector order. `defines` are nasm -D options. */
const GUESTS = [
  {
    id: 'demo', title: 'demo: two processes, timer, syscalls, demand paging', source: `${OUT}/demo.asm`, defines: [],
    description: 'A tiny kernel: two ring-3 processes switched by the timer, int 0x80 system calls, demand-zero page faults, an echoing serial console.',
  },
  {
    id: 'bench', title: 'bench: CPU benchmark kernel (paging on)', source: new URL('../../shared/bench/bench.asm', import.meta.url).pathname,
    defines: ['PAGING=1', 'SCALE=1', 'PASSES=1'],
    description: 'Six integer workloads of about 100 million instructions each, timed on COM1.',
  },
  {
    id: 'crash', title: 'crash: a triple fault on purpose', source: `${OUT}/crash.asm`, defines: [],
    description: 'Divides by zero with an empty IDT: #DE, #GP, #DF, then a triple fault.',
  },
];

/** Parses a nasm listing into [address, line] pairs, one per address that emitted bytes. */
function lineMap(listing) {
  const pairs = [];
  const seen = new Set();
  for (const row of listing.split('\n')) {
    const m = /^\s*(\d+) ([0-9A-F]{8}) ([0-9A-F[\]()<>a-z ]+?)\s{2,}/.exec(row);
    if (!m || row.includes('<res ') || m[3].startsWith('?')) continue;
    const offset = parseInt(m[2], 16);
    const address = offset >= LOAD_ADDR ? offset : LOAD_ADDR + offset;
    if (seen.has(address)) continue;
    seen.add(address);
    pairs.push([address, Number(m[1])]);
  }
  return pairs.sort((a, b) => a[0] - b[0]);
}

const work = mkdtempSync(join(tmpdir(), 'guests-'));
const manifest = [];
try {
  for (const g of GUESTS) {
    const bin = join(work, `${g.id}.bin`);
    const lst = join(work, `${g.id}.lst`);
    const args = ['-f', 'bin', ...g.defines.flatMap((d) => ['-D', d]), '-o', bin, '-l', lst, g.source];
    const r = spawnSync('nasm', args, { encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(`build-guests: nasm failed for ${g.id}:\n${r.stderr}`);
      process.exit(1);
    }
    copyFileSync(bin, `${OUT}/${g.id}.bin`);
    if (g.source !== `${OUT}/${g.id}.asm`) writeFileSync(`${OUT}/${g.id}.asm`, readFileSync(g.source));
    const map = { file: `${g.id}.asm`, lines: lineMap(readFileSync(lst, 'utf8')) };
    writeFileSync(`${OUT}/${g.id}.map.json`, JSON.stringify(map));
    const size = readFileSync(bin).length;
    manifest.push({ id: g.id, title: g.title, description: g.description, mode: 'native', binary: `${g.id}.bin`, source: `${g.id}.asm`, map: `${g.id}.map.json`, size });
    console.log(`build-guests: ${g.id}.bin ${size} bytes, ${map.lines.length} mapped lines`);
  }
  // the teaching kernel, built by the lab's own assembler (several source files)
  const lab = spawnSync('npx', ['tsx', 'scripts/build-lab-guests.ts'], { encoding: 'utf8' });
  if (lab.status !== 0) {
    console.error(lab.stderr || lab.stdout);
    process.exit(1);
  }
  const out = lab.stdout.trim().split('\n');
  console.log(out.slice(0, -1).join('\n'));
  manifest.splice(1, 0, JSON.parse(out[out.length - 1]));
  writeFileSync(`${OUT}/guests.json`, JSON.stringify(manifest, null, 2) + '\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
