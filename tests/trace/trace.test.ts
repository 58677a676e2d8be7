// The trace ring and its per-kind accounting: cursors, wrap-around, and the cycles charged
// to a handler from its entry to the IRET that ends it.
import { describe, expect, it } from 'vitest';
import { Ev, TraceBuffer } from '../../workers/trace/trace';

describe('TraceBuffer', () => {
  it('keeps the last `capacity` events and reads them by cursor', () => {
    const t = new TraceBuffer(4);
    for (let i = 0; i < 6; i++) t.emit(Ev.Halt, i * 10, 0, 0x1000 + i, i, 0, 0);
    expect(t.head).toBe(6);
    expect(t.tail).toBe(2);
    const recs = t.readSince(0, 100);
    expect(recs.map((r) => r.seq)).toEqual([2, 3, 4, 5]);
    expect(recs[0].eip).toBe(0x1002);
    expect(t.readSince(5, 10).map((r) => r.a)).toEqual([5]);
    expect(t.counts[Ev.Halt]).toBe(6);
  });

  it('counts with recording off', () => {
    const t = new TraceBuffer(4);
    t.enabled = false;
    t.emit(Ev.Syscall, 0, 3, 0, 1, 0, 0);
    expect(t.head).toBe(0);
    expect(t.counts[Ev.Syscall]).toBe(1);
  });

  it('charges each handler the cycles until its IRET, nested entries included', () => {
    const t = new TraceBuffer(64);
    t.emit(Ev.Syscall, 100, 3, 0, 20, 0, 0);
    t.emit(Ev.Interrupt, 130, 0, 0, 0x20, -1, 0); // a timer tick inside the system call
    t.emit(Ev.Iret, 150, 0, 0, 8, 0, 0); // ends the interrupt: 20 cycles
    t.emit(Ev.Iret, 200, 0, 0, 0x1b, 0, 0); // ends the system call: 100 cycles
    expect(t.cycles[Ev.Interrupt]).toBe(20);
    expect(t.cycles[Ev.Syscall]).toBe(100);
    t.emit(Ev.PageFault, 300, 3, 0, 0x400000, 6, 0);
    t.emit(Ev.Exception, 300, 3, 0, 14, 6, 0x400000);
    t.emit(Ev.Iret, 340, 0, 0, 0x1b, 0, 0);
    expect(t.cycles[Ev.Exception]).toBe(40);
    expect(t.cycles[Ev.PageFault]).toBe(40);
    // An IRET with nothing open (a kernel's first drop to user mode) charges nothing.
    t.emit(Ev.Iret, 400, 0, 0, 0x1b, 0, 0);
    expect(Array.from(t.cycles).reduce((x, y) => x + y, 0)).toBe(200);
  });

  it('carries open entries across a save and restore', () => {
    const a = new TraceBuffer(8);
    a.emit(Ev.Syscall, 10, 3, 0, 1, 0, 0);
    const b = new TraceBuffer(8);
    b.restoreOpen(a.saveOpen());
    b.emit(Ev.Iret, 25, 0, 0, 0, 0, 0);
    expect(b.cycles[Ev.Syscall]).toBe(15);
  });
});
