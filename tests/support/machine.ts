/*
 * Drives the lab's own Machine (workers/machine) the way tests/support/v86.ts drives v86:
 * boot a Multiboot kernel, run until the guest has printed a terminator on COM1, and keep
 * every serial byte with the wall time it was seen. The machine runs in virtual time, so
 * it is run in chunks of `chunk` cycles and the console buffer is read after each chunk:
 * a byte's timestamp is the end of the chunk that produced it (at tens of MIPS a 200k-cycle
 * chunk is a few ms, against workloads of seconds). Used by the benchmark and the
 * differential tests.
 */

import { SerialCapture } from './v86';
import { Machine, type RunExit } from '../../workers/machine/machine';

export interface OursRunOptions {
  until: string;
  /** Cycles per machine.run() call. */
  chunk?: number;
  /** Wall-time limit (ms). */
  timeoutMs?: number;
  /** Virtual-cycle limit (default: none). */
  maxCycles?: number;
  memoryMiB?: number;
}

export interface OursRunResult {
  serial: SerialCapture;
  wallMs: number;
  cycles: number;
  instructions: number;
}

function describeExit(e: RunExit): string {
  try {
    return JSON.stringify(e, (k, v) => (k === 'lastEvents' ? undefined : v)).slice(0, 600);
  } catch {
    return e.kind;
  }
}

/** Boots `image` in a fresh Machine and runs until `until` appears on the console. */
export async function runOurs(image: Uint8Array, opts: OursRunOptions): Promise<OursRunResult> {
  const m = new Machine({ memoryMiB: opts.memoryMiB ?? 64 });
  const booted = m.boot(image);
  if (!booted.ok) throw new Error(`machine: boot failed: ${booted.error}`);
  const serial = new SerialCapture();
  const chunk = opts.chunk ?? 200_000;
  const limitMs = opts.timeoutMs ?? 120_000;
  const until = opts.until;
  const t0 = performance.now();
  let cursor = 0;
  for (;;) {
    const exit = m.run(chunk);
    const out = m.readConsole(cursor);
    const now = performance.now();
    if (out.dropped > 0) throw new Error(`machine: console log dropped ${out.dropped} bytes`);
    if (out.next !== cursor) {
      const bytes = out.bytes;
      for (let i = 0; i < bytes.length; i++) serial.push(bytes[i], now);
      cursor = out.next;
      if (serial.endsWith(until)) {
        return { serial, wallMs: now - t0, cycles: m.cpu.cycles, instructions: m.cpu.instructions };
      }
    }
    if (exit.kind !== 'budget') {
      throw new Error(`machine stopped (${describeExit(exit)}) before '${until}'; serial: ${serial.text().slice(-400)}`);
    }
    if (now - t0 > limitMs) throw new Error(`machine: no '${until}' within ${limitMs} ms; serial: ${serial.text().slice(-400)}`);
    if (opts.maxCycles !== undefined && m.cpu.cycles > opts.maxCycles) {
      throw new Error(`machine: no '${until}' within ${opts.maxCycles} cycles; serial: ${serial.text().slice(-400)}`);
    }
  }
}
