/*
 * A driver for v86 (the npm package `v86`) under Node, used as the reference machine by
 * the differential tests (tests/x86/differential.test.ts) and as the yardstick of the
 * benchmark (scripts/bench.ts). It boots a Multiboot kernel (v86 ships no BIOS images, so
 * Multiboot is the only way in), records every byte the guest writes to COM1 with the wall
 * time it arrived, and resolves when the guest has printed a given terminator.
 *
 * Pitfalls handled here: the wasm file is passed explicitly; the serial listener only
 * stores the byte and a timestamp (it runs inside the guest's OUT instruction, so anything
 * slower distorts the timing); the guest must not write port 0xF4, which v86 without a
 * BIOS treats as a test exit.
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Bytes written to the serial port, each with its arrival time (performance.now(), ms). */
export class SerialCapture {
  bytes = new Uint8Array(1 << 16);
  times = new Float64Array(1 << 16);
  length = 0;

  push(b: number, t: number): void {
    if (this.length === this.bytes.length) {
      const nb = new Uint8Array(this.bytes.length * 2);
      nb.set(this.bytes);
      const nt = new Float64Array(this.times.length * 2);
      nt.set(this.times);
      this.bytes = nb;
      this.times = nt;
    }
    this.bytes[this.length] = b;
    this.times[this.length] = t;
    this.length++;
  }

  /** True when the captured bytes end with `tail` (ASCII). */
  endsWith(tail: string): boolean {
    const n = tail.length;
    if (this.length < n) return false;
    for (let i = 0; i < n; i++) if (this.bytes[this.length - n + i] !== tail.charCodeAt(i)) return false;
    return true;
  }

  text(): string {
    let s = '';
    for (let i = 0; i < this.length; i++) s += String.fromCharCode(this.bytes[i]);
    return s;
  }
}

export interface V86RunOptions {
  /** false: v86's interpreter only (`disable_jit: true`). Default true. */
  jit?: boolean;
  /** Guest RAM in bytes; default 64 MiB. */
  memoryBytes?: number;
  /** Resolve once the serial output ends with this text. */
  until: string;
  /** Give up after this much wall time (ms); default 120 s. */
  timeoutMs?: number;
}

export interface V86RunResult {
  serial: SerialCapture;
  /** Wall time from construction to the terminator, in ms. */
  wallMs: number;
  /** v86's retired-instruction counter at the end (32 bits: wraps). */
  instructionCounter: number;
}

interface V86Like {
  add_listener(ev: string, fn: (arg: number) => void): void;
  destroy(): Promise<void>;
  get_instruction_counter(): number;
}
type V86Ctor = new (opts: Record<string, unknown>) => V86Like;

let ctor: V86Ctor | null = null;
let wasmPath = '';

async function loadV86(): Promise<V86Ctor> {
  if (ctor) return ctor;
  const require = createRequire(import.meta.url);
  const main = require.resolve('v86'); // .../node_modules/v86/build/libv86.mjs
  wasmPath = join(dirname(main), 'v86.wasm');
  const mod = (await import('v86')) as unknown as { V86: V86Ctor };
  ctor = mod.V86;
  return ctor;
}

/** The wasm file v86 is booted with (after the first run). */
export function v86WasmPath(): string {
  return wasmPath;
}

/**
 * Boots `image` (a Multiboot kernel) in a fresh v86 and resolves when the guest has
 * printed `until` on COM1. Rejects with the output so far on timeout.
 */
export async function runV86(image: Uint8Array, opts: V86RunOptions): Promise<V86RunResult> {
  const V86 = await loadV86();
  const serial = new SerialCapture();
  const buffer = image.buffer.slice(image.byteOffset, image.byteOffset + image.byteLength);
  const t0 = performance.now();
  const emu = new V86({
    wasm_path: wasmPath,
    multiboot: { buffer },
    memory_size: opts.memoryBytes ?? 64 << 20,
    vga_memory_size: 2 << 20,
    autostart: true,
    disable_jit: opts.jit === false,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  });
  const until = opts.until;
  const last = until.charCodeAt(until.length - 1);
  return await new Promise<V86RunResult>((resolve, reject) => {
    let done = false;
    // A crash inside v86 (a wasm trap in its main loop) surfaces as an uncaught exception:
    // turn it into this run's error instead of taking the process down.
    const onCrash = (e: unknown) => finish(new Error(`v86 crashed: ${(e as Error)?.message ?? String(e)}; serial so far: ${serial.length} bytes`));
    process.on('uncaughtException', onCrash);
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      process.off('uncaughtException', onCrash);
      const wallMs = performance.now() - t0;
      let instructionCounter = 0;
      try { instructionCounter = emu.get_instruction_counter(); } catch { /* a crashed v86 */ }
      // Settle first: a crashed v86 may never finish destroying itself.
      if (err) reject(err);
      else resolve({ serial, wallMs, instructionCounter });
      try { void emu.destroy().catch(() => {}); } catch { /* ignore */ }
    };
    const timer = setTimeout(() => {
      const text = serial.text();
      finish(new Error(`v86: no '${JSON.stringify(until)}' within ${opts.timeoutMs ?? 120_000} ms; serial so far (${text.length} bytes): ${text.slice(-400)}`));
    }, opts.timeoutMs ?? 120_000);
    emu.add_listener('serial0-output-byte', (b: number) => {
      serial.push(b, performance.now());
      if (b === last && !done && serial.endsWith(until)) finish(null);
    });
  });
}
