/*
 * labctl: the lab on the command line. It runs the very same machine code as the browser's
 * worker, headless under Node, for people who want a terminal and for tests and scripts.
 *
 *   labctl boot <kernel> [options]   boot a multiboot kernel, print its serial console
 *   labctl guests                    the built-in guests (tools/labctl/guests.ts)
 *   labctl build <guest> -o OUT      build one with the lab's assembler (guests.ts)
 *   labctl asm ...                   the assembler (tools/labctl/asm.ts)
 *   labctl help                      usage
 *
 * Subcommands are a table (`COMMANDS`): each is a function from its arguments to an exit
 * code, so a new one is one entry. Commands that live in their own module are imported when
 * used, so labctl works while one of them is still missing. main() never throws: every
 * failure is a message on stderr and a non-zero exit code.
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMachine, type Machine, type RunExit } from '../../workers/machine/machine';
import { CPU_HZ } from '../../workers/machine/clock';
import { EV_NAMES } from '../../workers/trace/trace';
import { findGuest } from '../../workers/guests/catalog';
import { buildCommand, guestsCommand, isGuestName, loadGuestImage, modeProblem } from './guests';

type Command = (argv: string[]) => Promise<number>;

/** Exit codes of `labctl boot`. */
export const EXIT = {
  ok: 0,
  /** The run ended (halted, debug exit, ...) without the --until text. */
  notFound: 1,
  /** Bad usage, unreadable file or bad image. */
  usage: 2,
  /** --max-cycles ran out first. */
  timeout: 3,
  /** Triple fault or CPU error. */
  crash: 4,
} as const;

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const HELP = `labctl: run the paravirt-lab machine from the command line

usage:
  labctl boot <kernel> [options]   boot a Multiboot kernel and print its serial console (COM1)
  labctl guests [--bundle FILE]    list the built-in guests (or write their sources as JSON)
  labctl build <guest> [--mode M] [-D NAME[=VALUE]] [--guests DIR] -o OUT.bin
               [--listing FILE] [--map FILE]
                                   build a built-in guest with the lab assembler into a file
  labctl asm <args>                assemble (NASM-style syntax; see labctl asm --help)
  labctl help                      this text

<kernel> is the name of a built-in guest (see labctl guests, e.g. kernel), which is built
from guests/ with the lab's own assembler (errors print as file:line:column); or a file (Multiboot v1: a.out-kludge or ELF32;
write ./NAME for a file that has a guest's name); or the name of a prebuilt image in
public/guests/ (e.g. demo).

boot options:
  --mode MODE        native (default), xen or vmi: the paravirt layer to build and run
                     (only native is available so far; xen and vmi exit with code 2)
  --guests DIR       build a built-in guest from DIR, a copy of guests/ (default: the
                     repository's guests/); also for labctl build and labctl guests
  --until TEXT       succeed (exit 0) as soon as TEXT appears on the console
  --type TEXT        type TEXT on the serial line at boot (escapes: \\n \\r \\t \\\\ \\xNN)
  --max-cycles N     give up after N virtual cycles (default 20e9 = 200 s at 100 MHz)
  --timestamps       start each console line with the wall-clock ms since boot ("1234.5 ...")
  --mem MiB          RAM size (default 64, or the built-in guest's own size)
  --cmdline TEXT     the kernel's multiboot command line
  --quiet            do not echo the console (the result is still reported)

exit codes: 0 TEXT seen (or, without --until, the guest halted or wrote 0 to the debug exit
port); 1 the run ended without TEXT; 2 bad usage or image, a guest that did not build, or
a mode not available yet; 3 out of cycles; 4 triple fault or CPU error. labctl build and
labctl guests exit 0 on success and 2 otherwise.
`;

const COMMANDS: Record<string, Command> = {
  boot: bootCommand,
  guests: guestsCommand,
  build: buildCommand,
  asm: asmCommand,
  help: async () => {
    process.stdout.write(HELP);
    return EXIT.ok;
  },
};

export async function main(argv: string[]): Promise<number> {
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h') {
      process.stdout.write(HELP);
      return name === undefined ? EXIT.usage : EXIT.ok;
    }
    const command = COMMANDS[name];
    if (!command) {
      process.stderr.write(`labctl: unknown command "${name}" (try: labctl help)\n`);
      return EXIT.usage;
    }
    return await command(rest);
  } catch (e) {
    process.stderr.write(`labctl: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    return EXIT.usage;
  }
}

/** The assembler's command lives in asm.ts; it is loaded only when asked for. */
async function asmCommand(argv: string[]): Promise<number> {
  const url = new URL('./asm.ts', import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    process.stderr.write('labctl: the asm command is not part of this build yet\n');
    return EXIT.usage;
  }
  const mod = (await import(url.href)) as { asmCommand?: Command };
  if (typeof mod.asmCommand !== 'function') {
    process.stderr.write('labctl: tools/labctl/asm.ts does not export asmCommand\n');
    return EXIT.usage;
  }
  return mod.asmCommand(argv);
}

// ==== boot ===============================================================================

export interface BootArgs {
  kernel: string;
  until: string | null;
  type: string;
  maxCycles: number;
  timestamps: boolean;
  memMiB: number;
  cmdline: string;
  quiet: boolean;
  /** the paravirt mode: 'native', 'xen' or 'vmi' */
  mode: string;
  /** --mem was given (else a built-in guest's own RAM size is used) */
  memGiven: boolean;
  /** --guests DIR: a built-in guest's sources come from DIR instead of the repository's guests/ */
  guestsDir: string | null;
}

/** Turns \n, \r, \t, \\ and \xNN into the characters they name. */
export function unescape(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
    if (e[0] === 'x' && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t', '\\': '\\', '0': '\0' } as Record<string, string>)[e] ?? `\\${e}`;
  });
}

/** A count like 5e9, 20_000_000 or 300M. */
function parseCount(s: string): number {
  const m = /^([0-9][0-9_]*(?:\.[0-9]+)?(?:e[0-9]+)?)([kMG]?)$/.exec(s.trim());
  if (!m) return NaN;
  const scale = { '': 1, k: 1e3, M: 1e6, G: 1e9 }[m[2] as '' | 'k' | 'M' | 'G'];
  return Math.floor(Number(m[1].replace(/_/g, '')) * scale);
}

export function parseBootArgs(argv: string[]): BootArgs | string {
  const a: BootArgs = { kernel: '', until: null, type: '', maxCycles: 20e9, timestamps: false, memMiB: 64, cmdline: '', quiet: false, mode: 'native', memGiven: false, guestsDir: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    try {
      switch (arg) {
        case '--until': a.until = unescape(value()); break;
        case '--type': a.type += unescape(value()); break;
        case '--max-cycles': {
          const v = value();
          a.maxCycles = parseCount(v);
          if (!(a.maxCycles > 0)) return `--max-cycles: "${v}" is not a positive count`;
          break;
        }
        case '--timestamps': a.timestamps = true; break;
        case '--quiet': a.quiet = true; break;
        case '--mem': {
          const v = value();
          a.memMiB = Number(v);
          if (!Number.isInteger(a.memMiB) || a.memMiB < 2 || a.memMiB > 1024) return `--mem: "${v}" is not a whole number of MiB from 2 to 1024`;
          a.memGiven = true;
          break;
        }
        case '--cmdline': a.cmdline = value(); break;
        case '--mode': a.mode = value(); break;
        case '--guests': a.guestsDir = value(); break;
        default:
          if (arg.startsWith('-')) return `unknown option ${arg}`;
          if (a.kernel) return `more than one kernel given ("${a.kernel}", "${arg}")`;
          a.kernel = arg;
      }
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (!a.kernel) return 'no kernel given';
  return a;
}

/** The RAM a built-in guest is meant to run with, MiB. */
function findGuestMemory(id: string): number {
  return findGuest(id)?.memoryMiB ?? 64;
}

/** A file path, or the name of a guest built into public/guests/. */
function resolveKernel(name: string): string | null {
  if (existsSync(name)) return name;
  if (/^[a-z0-9][a-z0-9_-]*$/i.test(name)) {
    const built = join(REPO, 'public', 'guests', `${name}.bin`);
    if (existsSync(built)) return built;
  }
  return null;
}

/** Writes console text, starting each line with a timestamp when asked. */
class ConsolePrinter {
  private atLineStart = true;
  constructor(private readonly timestamps: boolean, private readonly t0: number, private readonly quiet: boolean) {}

  print(text: string): void {
    if (this.quiet || text.length === 0) return;
    if (!this.timestamps) {
      process.stdout.write(text);
      this.atLineStart = text.endsWith('\n');
      return;
    }
    const stamp = `${(performance.now() - this.t0).toFixed(1)} `;
    let out = '';
    for (const ch of text) {
      if (this.atLineStart) out += stamp;
      out += ch;
      this.atLineStart = ch === '\n';
    }
    process.stdout.write(out);
  }

  finish(): void {
    if (!this.quiet && !this.atLineStart) process.stdout.write('\n');
  }
}

/**
 * Virtual cycles per slice between console polls: 10 ms of virtual time, or 1 ms with
 * --timestamps (a line's stamp is taken when the slice that printed it ends).
 */
const SLICE = CPU_HZ / 100;
const STAMP_SLICE = CPU_HZ / 1000;

async function bootCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const args = parseBootArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`labctl boot: ${args}\n`);
    return EXIT.usage;
  }
  const bad = modeProblem(args.mode);
  if (bad !== null) {
    process.stderr.write(`labctl boot: ${bad}\n`);
    return EXIT.usage;
  }
  let image: Uint8Array;
  let path: string;
  if (isGuestName(args.kernel)) {
    // a built-in guest: built from guests/ with the lab's assembler, as in the browser
    const built = loadGuestImage('labctl boot', args.kernel, args.mode, [], args.guestsDir);
    if (built === null) return EXIT.usage;
    image = built.image;
    path = `${args.kernel} (${args.mode})`;
    if (!args.memGiven) args.memMiB = findGuestMemory(args.kernel);
  } else {
    const found = resolveKernel(args.kernel);
    if (found === null) {
      process.stderr.write(`labctl boot: no such kernel file, built-in guest or prebuilt guest: ${args.kernel} (see labctl guests)\n`);
      return EXIT.usage;
    }
    path = found;
    try {
      image = new Uint8Array(readFileSync(path));
    } catch (e) {
      process.stderr.write(`labctl boot: cannot read ${path}: ${(e as Error).message}\n`);
      return EXIT.usage;
    }
  }
  const made = createMachine({ memoryMiB: args.memMiB });
  if (!made.ok) {
    process.stderr.write(`labctl boot: ${made.error}\n`);
    return EXIT.usage;
  }
  const machine = made.machine;
  const booted = machine.boot(image, { cmdline: args.cmdline });
  if (!booted.ok) {
    process.stderr.write(`labctl boot: bad kernel image ${path}: ${booted.error}\n`);
    return EXIT.usage;
  }
  if (args.type) machine.typeInput(args.type);
  return runConsole(machine, args);
}

/** Runs the machine, echoing the console, until the text appears or the run ends. */
async function runConsole(machine: Machine, args: BootArgs): Promise<number> {
  const t0 = performance.now();
  const printer = new ConsolePrinter(args.timestamps, t0, args.quiet);
  const decoder = new TextDecoder();
  let cursor = 0;
  // Only the tail of the output can complete a match that spans two reads.
  let window = '';
  const keep = Math.max(0, (args.until?.length ?? 0) - 1);
  let exit: RunExit | null = null;
  const slice = args.timestamps ? STAMP_SLICE : SLICE;
  let slices = 0;
  const report = (msg: string) => {
    printer.finish();
    const wall = (performance.now() - t0) / 1000;
    const insns = machine.cpu.instructions;
    process.stderr.write(`labctl: ${msg}\nlabctl: ${machine.cpu.cycles} cycles, ${insns} instructions, ${wall.toFixed(2)} s wall, ${(insns / wall / 1e6).toFixed(1)} MIPS\n`);
  };
  for (;;) {
    const left = args.maxCycles - machine.cpu.cycles;
    if (left <= 0) {
      report(`timeout: ${args.maxCycles} cycles ran out${args.until !== null ? ` before "${args.until}" appeared` : ''}`);
      return EXIT.timeout;
    }
    exit = machine.run(Math.min(slice, left));
    const read = machine.console.read(cursor);
    cursor = read.next;
    if (read.bytes.length > 0) {
      const text = decoder.decode(read.bytes, { stream: true });
      printer.print(text);
      if (args.until !== null) {
        window += text;
        if (window.includes(args.until)) {
          report(`found "${args.until}"`);
          return EXIT.ok;
        }
        window = keep > 0 ? window.slice(-keep) : '';
      }
    }
    if (exit.kind === 'budget' || exit.kind === 'requested' || exit.kind === 'breakpoint') {
      // Let the event loop breathe between slices (Ctrl-C, pipes).
      if (++slices % 64 === 0) await new Promise((r) => setImmediate(r));
      continue;
    }
    break;
  }
  const until = args.until !== null ? ` before "${args.until}" appeared` : '';
  switch (exit.kind) {
    case 'halted':
      report(`halted${until}: ${exit.reason}`);
      return args.until === null ? EXIT.ok : EXIT.notFound;
    case 'debugExit':
      report(`debug exit with code ${exit.code}${until}`);
      return args.until === null && exit.code === 0 ? EXIT.ok : EXIT.notFound;
    case 'tripleFault':
    case 'error': {
      report(`stopped by a ${exit.kind === 'tripleFault' ? 'triple fault' : 'CPU error'}${until}: ${exit.message}`);
      const info = exit.stopInfo;
      if (info) {
        process.stderr.write(`labctl: stopped at linear 0x${info.where.toString(16)} (cs=0x${info.cs.toString(16)} eip=0x${info.eip.toString(16)})\n`);
        process.stderr.write(formatRegisters(machine));
        if (info.lastEvents.length > 0) {
          process.stderr.write('labctl: last trace events:\n');
          for (const ev of info.lastEvents) {
            process.stderr.write(`  @${ev.time} ${EV_NAMES[ev.kind] ?? ev.kind} cpl=${ev.cpl} eip=0x${ev.eip.toString(16)} a=0x${(ev.a >>> 0).toString(16)} b=0x${(ev.b >>> 0).toString(16)} c=0x${(ev.c >>> 0).toString(16)}\n`);
          }
        }
      }
      return EXIT.crash;
    }
    default:
      report(`the run ended (${exit.kind})${until}`);
      return EXIT.notFound;
  }
}

function formatRegisters(machine: Machine): string {
  const r = machine.cpu.readRegisters();
  const h = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
  return `labctl: eax=${h(r.eax)} ebx=${h(r.ebx)} ecx=${h(r.ecx)} edx=${h(r.edx)} esi=${h(r.esi)} edi=${h(r.edi)} ebp=${h(r.ebp)} esp=${h(r.esp)}\n` +
    `labctl: eip=${h(r.eip)} eflags=${h(r.eflags)} cr0=${h(r.cr0)} cr2=${h(r.cr2)} cr3=${h(r.cr3)} cpl=${r.cpl}\n`;
}

// Allow `tsx tools/labctl/main.ts ...` as well as bin/labctl.mjs.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
