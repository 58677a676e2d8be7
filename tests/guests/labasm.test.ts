/*
 * The lab's own assembler (workers/asm) builds the teaching kernel and every user program
 * byte for byte as nasm does, so the kernel a student edits in the browser is the kernel
 * the tests boot.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests, type BuiltGuests } from './build';
import { buildWithLabAssembler, type LabBuild } from './labasm';

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('the lab assembler on the guests', () => {
  let ref: BuiltGuests;
  let lab: LabBuild;
  beforeAll(() => {
    ref = buildGuests('native');
    lab = buildWithLabAssembler('native');
  });

  it('assembles everything without errors', () => {
    expect(lab.errors).toEqual([]);
  });

  it('produces the same user programs as nasm', () => {
    expect([...lab.user.keys()].sort()).toEqual([...ref.user.keys()].sort());
    for (const [name, bin] of ref.user) {
      expect({ name, diff: firstDifference(lab.user.get(name)!, bin) }).toEqual({ name, diff: -1 });
    }
  });

  it('produces the same native kernel as nasm', () => {
    expect(lab.kernel.length).toBe(ref.kernel.length);
    expect(firstDifference(lab.kernel, ref.kernel)).toBe(-1);
  });
});
