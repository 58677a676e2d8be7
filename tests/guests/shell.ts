/*
 * Drives the teaching kernel's shell on the lab's own Machine (workers/machine): boot to
 * the prompt, type a command line, run until the next prompt, and return what the command
 * printed. Everything runs in virtual time, so a session is deterministic; limits are in
 * virtual cycles, with a wall-clock limit only as a safety net.
 */

import { Machine, type RunExit } from '../../workers/machine/machine';

export const PROMPT = '$ ';

export interface ShellOptions {
  memoryMiB?: number;
  /** Cycles per machine.run() call. */
  chunk?: number;
  /** Give up on one wait after this many virtual cycles. */
  maxCycles?: number;
  wallMs?: number;
}

export class GuestShell {
  readonly machine: Machine;
  /** Everything the guest printed, with "\r\n" as it came. */
  transcript = '';
  private cursor = 0;
  private chunk: number;
  private readonly maxCycles: number;
  private readonly wallMs: number;

  constructor(kernel: Uint8Array, opts: ShellOptions = {}) {
    this.machine = new Machine({ memoryMiB: opts.memoryMiB ?? 64 });
    const booted = this.machine.boot(kernel);
    if (!booted.ok) throw new Error(`boot failed: ${booted.error}`);
    this.chunk = opts.chunk ?? 500_000;
    this.maxCycles = opts.maxCycles ?? 2e9;
    this.wallMs = opts.wallMs ?? 60_000;
  }

  /** Runs until the transcript after offset `from` contains `text`; returns its end offset. */
  runUntil(text: string, from = 0): number {
    const start = this.machine.cpu.cycles;
    const t0 = performance.now();
    for (;;) {
      const at = this.transcript.indexOf(text, from);
      if (at >= 0) return at + text.length;
      const exit: RunExit = this.machine.run(this.chunk);
      const out = this.machine.readConsole(this.cursor);
      this.cursor = out.next;
      this.transcript += out.text;
      if (exit.kind !== 'budget' && exit.kind !== 'halted') {
        throw new Error(`machine stopped (${exit.kind}: ${JSON.stringify(exit).slice(0, 300)}) waiting for ${JSON.stringify(text)}; console:\n${this.transcript.slice(-1500)}`);
      }
      if (this.machine.cpu.cycles - start > this.maxCycles || performance.now() - t0 > this.wallMs) {
        throw new Error(`no ${JSON.stringify(text)} after ${this.machine.cpu.cycles - start} cycles; console:\n${this.transcript.slice(-1500)}`);
      }
    }
  }

  /**
   * Boots to the first prompt; returns the boot text. Runs in small slices so that
   * `machine.cpu.cycles` afterwards says (to within `slice` cycles) when the prompt appeared.
   */
  boot(slice = 1000): string {
    const chunk = this.chunk;
    this.chunk = slice;
    try {
      const end = this.runUntil(PROMPT);
      return this.transcript.slice(0, end);
    } finally {
      this.chunk = chunk;
    }
  }

  /**
   * Types `line` and Enter, runs to the next prompt, and returns the command's output
   * (without the echoed line and the prompt), with "\n" line ends.
   */
  run(line: string): string {
    const from = this.transcript.length;
    this.machine.typeInput(line + '\r');
    const echoed = this.runUntil('\r\n', from);
    const end = this.runUntil('\r\n' + PROMPT, echoed - 2);
    return this.transcript.slice(echoed, end - PROMPT.length).replace(/\r\n/g, '\n');
  }
}
