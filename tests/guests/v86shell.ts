/*
 * Drives the teaching kernel's shell in v86 (the npm package `v86`), a second x86 emulator
 * written independently of ours: boot a Multiboot image, wait for the prompt, type a
 * command line on COM1 (v86's serial0_send) and collect what the command printed. The same
 * interface as GuestShell (shell.ts) on our machine, but asynchronous, and in wall time:
 * v86 runs on its own timers, so the limits here are milliseconds.
 *
 * Pitfalls (see ../shared/bench/README.md): the wasm file is passed explicitly, there
 * is no BIOS so Multiboot is the way in, and the serial listener only appends the byte (it
 * runs inside the guest's OUT instruction).
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PROMPT } from './shell';

interface V86Emulator {
  add_listener(ev: string, fn: (arg: number) => void): void;
  serial0_send(text: string): void;
  destroy(): Promise<void>;
}
type V86Ctor = new (opts: Record<string, unknown>) => V86Emulator;

async function loadV86(): Promise<{ V86: V86Ctor; wasm: string }> {
  const require = createRequire(import.meta.url);
  const wasm = join(dirname(require.resolve('v86')), 'v86.wasm');
  const mod = (await import('v86')) as unknown as { V86: V86Ctor };
  return { V86: mod.V86, wasm };
}

export class V86Shell {
  /** Everything the guest printed, with "\r\n" as it came. */
  transcript = '';
  private waiter: { text: string; from: number; resolve: (end: number) => void } | null = null;

  private constructor(private readonly emu: V86Emulator, private readonly timeoutMs: number) {
    emu.add_listener('serial0-output-byte', (b: number) => {
      this.transcript += String.fromCharCode(b);
      const w = this.waiter;
      if (w && b === w.text.charCodeAt(w.text.length - 1)) {
        const at = this.transcript.indexOf(w.text, w.from);
        if (at >= 0) {
          this.waiter = null;
          w.resolve(at + w.text.length);
        }
      }
    });
  }

  /** A fresh v86 booting `image` (Multiboot) with `memoryMiB` of RAM. */
  static async create(image: Uint8Array, memoryMiB = 64, timeoutMs = 20_000): Promise<V86Shell> {
    const { V86, wasm } = await loadV86();
    const buffer = image.buffer.slice(image.byteOffset, image.byteOffset + image.byteLength);
    const emu = new V86({
      wasm_path: wasm,
      multiboot: { buffer },
      memory_size: memoryMiB << 20,
      vga_memory_size: 2 << 20,
      autostart: true,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
    });
    return new V86Shell(emu, timeoutMs);
  }

  /** Resolves with the end offset of `text` once it appears in the transcript after `from`. */
  runUntil(text: string, from = 0): Promise<number> {
    const at = this.transcript.indexOf(text, from);
    if (at >= 0) return Promise.resolve(at + text.length);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`v86: no ${JSON.stringify(text)} within ${this.timeoutMs} ms; console:\n${this.transcript.slice(-1500)}`));
      }, this.timeoutMs);
      this.waiter = { text, from, resolve: (end) => { clearTimeout(timer); resolve(end); } };
    });
  }

  /** Waits for the first prompt; returns the boot text. */
  async boot(): Promise<string> {
    const end = await this.runUntil(PROMPT);
    return this.transcript.slice(0, end);
  }

  /** Types `line` and Enter; returns the command's output as GuestShell.run does. */
  async run(line: string): Promise<string> {
    const from = this.transcript.length;
    this.emu.serial0_send(line + '\r');
    const echoed = await this.runUntil('\r\n', from);
    const end = await this.runUntil('\r\n' + PROMPT, echoed - 2);
    return this.transcript.slice(echoed, end - PROMPT.length).replace(/\r\n/g, '\n');
  }

  async destroy(): Promise<void> {
    await this.emu.destroy();
  }
}
