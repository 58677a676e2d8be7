/*
 * Writes docs/tour.md: a reading order through the lab's source, made of each module's own
 * opening comment, so the tour can never drift from the code it describes. Run
 * `npx tsx scripts/tour.ts` after changing a module header (a test checks it is current).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The reading order: from the machine up to the page, then the guest. */
export const TOUR: { part: string; files: string[] }[] = [
  { part: 'The CPU', files: ['workers/x86/memory.ts', 'workers/x86/bus.ts', 'workers/x86/opcodes.ts', 'workers/x86/decoder.ts', 'workers/x86/cpu.ts', 'workers/x86/flags.ts', 'workers/x86/paging.ts', 'workers/x86/system.ts', 'workers/x86/jit/blocks.ts'] },
  { part: 'The trace', files: ['workers/trace/trace.ts'] },
  { part: 'The devices and the machine', files: ['workers/devices/pic8259.ts', 'workers/devices/pit8254.ts', 'workers/devices/uart16550.ts', 'workers/machine/clock.ts', 'workers/machine/machine.ts', 'workers/machine/multiboot.ts'] },
  { part: 'The assembler and the guests', files: ['workers/asm/index.ts', 'workers/guests/build.ts'] },
  { part: 'The worker API and the page', files: ['workers/api.ts', 'workers/session/session.ts'] },
  { part: 'The teaching kernel', files: ['guests/kernel/kernel.asm', 'guests/kernel/pv/native.inc'] },
];

/** The opening comment of a TypeScript (/* ... *\/) or assembly (; ...) file, as plain text. */
export function header(path: string): string {
  const text = readFileSync(resolve(ROOT, path), 'utf8');
  if (text.startsWith('/*')) {
    const end = text.indexOf('*/');
    return text
      .slice(2, end)
      .split('\n')
      .map((l) => l.replace(/^\s*\* ?/, ''))
      .join('\n')
      .trim();
  }
  const lines: string[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith(';')) break;
    lines.push(l.replace(/^; ?/, ''));
  }
  return lines.join('\n').trim();
}

export function renderTour(): string {
  const out = [
    '# A tour of the source',
    '',
    'A reading order through the lab, from the CPU up to the page and the guest. Each entry is',
    "the module's own opening comment (this page is made by `npx tsx scripts/tour.ts`).",
    '',
  ];
  for (const { part, files } of TOUR) {
    out.push(`## ${part}`, '');
    for (const f of files) out.push(`### \`${f}\``, '', header(f), '');
  }
  return out.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(resolve(ROOT, 'docs/tour.md'), renderTour());
  console.log('tour: wrote docs/tour.md');
}
