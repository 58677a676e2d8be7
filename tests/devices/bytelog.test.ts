// The console log: cursor reads, growth, dropping the oldest half past the limit, snapshots.
import { describe, expect, it } from 'vitest';
import { ByteLog } from '../../workers/devices/bytelog';

describe('byte log', () => {
  it('reads everything since a cursor', () => {
    const log = new ByteLog();
    for (const b of [1, 2, 3]) log.push(b);
    const r = log.read(0);
    expect(Array.from(r.bytes)).toEqual([1, 2, 3]);
    expect(r.next).toBe(3);
    log.push(4);
    expect(Array.from(log.read(r.next).bytes)).toEqual([4]);
    expect(log.read(log.head).bytes.length).toBe(0);
  });

  it('grows, then drops the oldest half and tells a late reader what it missed', () => {
    const log = new ByteLog(8192);
    for (let i = 0; i < 10_000; i++) log.push(i & 0xff);
    expect(log.head).toBe(10_000);
    const r = log.read(0);
    expect(r.dropped).toBeGreaterThan(0);
    expect(r.dropped + r.bytes.length).toBe(10_000);
    expect(r.bytes[r.bytes.length - 1]).toBe(9_999 & 0xff);
    expect(r.bytes[0]).toBe(r.dropped & 0xff);
  });

  it('snapshots and restores with cursors intact', () => {
    const log = new ByteLog(4096);
    for (let i = 0; i < 5000; i++) log.push(i & 0x7f);
    const copy = new ByteLog(4096);
    copy.restore(structuredClone(log.snapshot()));
    expect(copy.head).toBe(log.head);
    expect(copy.read(4900)).toEqual(log.read(4900));
    expect(() => copy.restore({ kind: 'pic' })).toThrow(/bytelog/);
  });
});
