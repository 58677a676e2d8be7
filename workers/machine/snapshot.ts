/*
 * The machine snapshot format, and the RAM packing it uses.
 *
 * A snapshot is one plain object (structured-clonable: it crosses postMessage as is, and its
 * typed arrays can be transferred):
 *
 *   format   'paravirt-lab/machine'      version  1
 *   memBytes RAM size in bytes           cpu      the CPU's own CpuSnapshot (x86/cpu.ts)
 *   ram      { frames: Uint32Array, data: Uint8Array }: the numbers of the 4 KiB frames
 *            that are not all zero, and their bytes one after another (zero frames are
 *            implied, so a freshly booted 64 MiB machine packs to a few hundred KiB)
 *   devices  { pic, pit, uart, post, debugExit }: each device's own snapshot() (plain data)
 *   clock    the scheduled time of every device event, by event name
 *   console  the serial output log (so output cursors stay valid across a restore)
 *   trace    { counts, cycles, open }: the trace counters and the open handler entries (the event ring itself is not kept)
 *   machine  run state, exit counters, and the boot record (image and options) for reset()
 *
 * Restoring a snapshot and running gives exactly the run the original machine would have
 * had: same console bytes, same counters, same cycle at every event (tests/machine).
 */

import { PAGE_SIZE } from '../x86/memory';

export interface PackedRam {
  frames: Uint32Array;
  data: Uint8Array;
}

/** Packs RAM, skipping all-zero frames. */
export function packRam(ram: Uint8Array): PackedRam {
  const words = new Int32Array(ram.buffer, ram.byteOffset, ram.byteLength >> 2);
  const frames: number[] = [];
  const perFrame = PAGE_SIZE >> 2;
  for (let f = 0, w = 0; w < words.length; f++, w += perFrame) {
    for (let k = w; k < w + perFrame; k++) {
      if (words[k] !== 0) {
        frames.push(f);
        break;
      }
    }
  }
  const data = new Uint8Array(frames.length * PAGE_SIZE);
  frames.forEach((f, i) => data.set(ram.subarray(f * PAGE_SIZE, (f + 1) * PAGE_SIZE), i * PAGE_SIZE));
  return { frames: Uint32Array.from(frames), data };
}

/** Throws unless `packed` is a well-formed packing of RAM of `size` bytes. */
export function checkPackedRam(packed: PackedRam, size: number): void {
  if (typeof packed !== 'object' || packed === null || !(packed.frames instanceof Uint32Array) || !(packed.data instanceof Uint8Array) ||
    packed.data.length !== packed.frames.length * PAGE_SIZE) {
    throw new Error('snapshot: malformed RAM image');
  }
  const nFrames = size / PAGE_SIZE;
  for (const f of packed.frames) if (f >= nFrames) throw new Error(`snapshot: RAM frame ${f} is beyond this machine's RAM`);
}

/**
 * Unpacks into `ram`, which is cleared first unless the caller knows it is still all zero
 * (the first write to each page of a fresh buffer makes the host commit it: 64 MiB of it
 * costs far more than the copy).
 * Throws, before writing anything, on a packing that does not fit.
 */
export function unpackRam(packed: PackedRam, ram: Uint8Array, clear = true): void {
  checkPackedRam(packed, ram.length);
  if (clear) ram.fill(0);
  packed.frames.forEach((f, i) => ram.set(packed.data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), f * PAGE_SIZE));
}
