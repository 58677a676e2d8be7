// The lab ships a prebuilt teaching kernel in public/guests/ for the browser. This keeps it
// honest: the shipped image must be exactly what the lab's assembler builds from guests/
// today (rebuild with `npm run build:guests` after editing the kernel).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuestFromDisk } from '../../tools/guests-fs';

describe('the shipped teaching kernel', () => {
  it('is the image the lab assembler builds from the current sources', () => {
    const built = buildGuestFromDisk({ guest: 'kernel', mode: 'native' });
    expect(built.errors).toEqual([]);
    const shipped = new Uint8Array(readFileSync('public/guests/kernel.bin'));
    expect(shipped.length).toBe(built.image.length);
    expect(Buffer.compare(Buffer.from(shipped), Buffer.from(built.image))).toBe(0);
  });
});
