// The 8254 in virtual time: counts programmed as a PC kernel does, interrupt periods checked
// to the cycle against the exact 100 MHz / 1.193182 MHz ratio.
import { describe, expect, it } from 'vitest';
import { Clock, CPU_HZ } from '../../workers/machine/clock';
import { cycleOfTick, Pit8254, PIT_HZ, tickAt } from '../../workers/devices/pit8254';

/** A PIT on a clock with a recording IRQ0 wire. */
function rig() {
  const clock = new Clock();
  const edges: number[] = [];
  const levels: { at: number; level: number }[] = [];
  const pit = new Pit8254(clock, {
    setLevel(level) {
      levels.push({ at: clock.now(), level });
      if (level) edges.push(clock.now());
    },
  });
  clock.register(pit);
  /** Advances virtual time to `until`, firing events at their exact cycles. */
  const advance = (until: number) => {
    while (clock.nextAt <= until) {
      clock.source.cycles = clock.nextAt;
      clock.runDue();
    }
    clock.source.cycles = until;
  };
  return { clock, pit, edges, levels, advance };
}

/** Reads counter 0 through the latch command, LSB then MSB. */
function latchRead(pit: Pit8254, counter = 0): number {
  pit.out8(0x43, counter << 6);
  return pit.in8(0x40 + counter) | (pit.in8(0x40 + counter) << 8);
}

describe('8254 PIT', () => {
  describe('time conversion', () => {
    it('converts between cycles and input ticks exactly, also far out', () => {
      const big = 9_007_199_254; // ~90 s of virtual time
      for (const c of [0, 1, 83, 84, 100_000_000, big, 12_345_678_901]) {
        const exact = Number((BigInt(c) * BigInt(PIT_HZ)) / BigInt(CPU_HZ));
        expect(tickAt(c)).toBe(exact);
      }
      for (const t of [0, 1, 1193181, 1193182, 987_654_321]) {
        const exact = Number((BigInt(t) * BigInt(CPU_HZ) + BigInt(PIT_HZ - 1)) / BigInt(PIT_HZ));
        expect(cycleOfTick(t)).toBe(exact);
        expect(tickAt(cycleOfTick(t))).toBe(t);
        if (t > 0) expect(tickAt(cycleOfTick(t) - 1)).toBe(t - 1);
      }
    });
  });

  describe('mode 2, rate generator on IRQ0', () => {
    it('interrupts every N input clocks, to the cycle, without drift', () => {
      const { pit, edges, advance } = rig();
      const N = 11932; // ~100 Hz
      pit.out8(0x43, 0x34); // counter 0, LSB then MSB, mode 2, binary
      pit.out8(0x40, N & 0xff);
      pit.out8(0x40, N >> 8);
      const start = tickAt(0) + 1; // loaded on the next input clock
      advance(1_000 * 1_000_000 + 500_000); // just over 10 virtual seconds
      expect(edges.length).toBe(1000);
      edges.forEach((at, i) => expect(at).toBe(cycleOfTick(start + (i + 1) * N)));
      const gaps = new Set(edges.slice(1).map((t, i) => t - edges[i]));
      // 11932 clocks = 1000015.1 cycles: the gaps are 1000015 or 1000016, never drifting.
      expect([...gaps].sort()).toEqual([1_000_015, 1_000_016]);
      expect(edges[999]).toBe(Math.ceil(((start + 1000 * N) * CPU_HZ) / PIT_HZ));
    });

    it('holds OUT low for exactly one input clock each period', () => {
      const { pit, levels, advance } = rig();
      pit.out8(0x43, 0x34);
      pit.out8(0x40, 100);
      pit.out8(0x40, 0);
      advance(cycleOfTick(1 + 300));
      const lows = levels.filter((l) => l.level === 0).map((l) => tickAt(l.at));
      const highs = levels.filter((l) => l.level === 1).map((l) => tickAt(l.at));
      expect(lows).toEqual([1 + 99, 1 + 199, 1 + 299]);
      expect(highs).toEqual([1 + 100, 1 + 200, 1 + 300]);
    });

    it('counts down through the latch', () => {
      const { pit, advance } = rig();
      pit.out8(0x43, 0x34);
      pit.out8(0x40, 0x00);
      pit.out8(0x40, 0x10); // 4096
      advance(cycleOfTick(1 + 1000));
      expect(latchRead(pit)).toBe(4096 - 1000);
      advance(cycleOfTick(1 + 4096 + 10));
      expect(latchRead(pit)).toBe(4096 - 10);
    });

    it('takes a new count at the end of the current period', () => {
      const { pit, edges, advance } = rig();
      pit.out8(0x43, 0x34);
      pit.out8(0x40, 1000 & 0xff); pit.out8(0x40, 1000 >> 8);
      advance(cycleOfTick(1 + 500));
      pit.out8(0x40, 200 & 0xff); pit.out8(0x40, 200 >> 8);
      advance(cycleOfTick(1 + 1000 + 450));
      expect(edges.map(tickAt)).toEqual([1 + 1000, 1 + 1200, 1 + 1400]);
    });
  });

  describe('mode 3, square wave', () => {
    it('is high for N/2 clocks and low for N/2 (odd N: (N+1)/2 high)', () => {
      const { pit, levels, advance } = rig();
      pit.out8(0x43, 0x36);
      pit.out8(0x40, 11); pit.out8(0x40, 0);
      advance(cycleOfTick(1 + 33));
      const ticks = levels.map((l) => [tickAt(l.at), l.level]);
      expect(ticks).toEqual([[1 + 6, 0], [1 + 11, 1], [1 + 17, 0], [1 + 22, 1], [1 + 28, 0], [1 + 33, 1]]);
    });

    it('counts by two in each half', () => {
      const { pit, advance } = rig();
      pit.out8(0x43, 0x36);
      pit.out8(0x40, 100); pit.out8(0x40, 0);
      advance(cycleOfTick(1 + 10));
      expect(latchRead(pit)).toBe(80);
      advance(cycleOfTick(1 + 60));
      expect(latchRead(pit)).toBe(80);
    });
  });

  describe('mode 0, interrupt on terminal count', () => {
    it('drops OUT on the control word and raises it once after N+1 clocks', () => {
      const { pit, levels, edges, advance } = rig();
      pit.out8(0x43, 0x30);
      expect(levels.at(-1)).toEqual({ at: 0, level: 0 });
      advance(1000);
      pit.out8(0x40, 0x10); pit.out8(0x40, 0x00); // 16
      const load = tickAt(1000) + 1;
      advance(cycleOfTick(load + 100_000));
      expect(edges.map(tickAt)).toEqual([load + 16]);
    });

    it('stops counting while the first byte of a new count is written', () => {
      const { pit, advance } = rig();
      pit.out8(0x43, 0x30);
      pit.out8(0x40, 0x00); pit.out8(0x40, 0x01); // 256
      advance(cycleOfTick(1 + 50));
      pit.out8(0x40, 0x80); // first byte: counting stops
      const held = latchRead(pit);
      advance(cycleOfTick(1 + 120));
      expect(latchRead(pit)).toBe(held);
      expect(held).toBe(256 - 50);
    });
  });

  describe('access modes, read-back and BCD', () => {
    it('LSB-only and MSB-only access', () => {
      const { pit, edges, advance } = rig();
      pit.out8(0x43, 0x14); // counter 0, LSB only, mode 2
      pit.out8(0x40, 50);
      advance(cycleOfTick(1 + 120));
      expect(edges.map(tickAt)).toEqual([51, 101]);
      pit.out8(0x43, 0x24); // MSB only, mode 2
      pit.out8(0x40, 0x01); // 256
      expect(pit.in8(0x40)).toBe(0x01); // live count's MSB before loading: 0x100
    });

    it('read-back latches status and count', () => {
      const { pit, advance } = rig();
      pit.out8(0x43, 0xb4); // counter 2, LSB/MSB, mode 2
      pit.out8(0x42, 0x00); pit.out8(0x42, 0x02);
      pit.out8(0x61, 1); // gate 2 high
      advance(cycleOfTick(200));
      pit.out8(0x43, 0b1100_1000); // read-back: count and status of counter 2
      const status = pit.in8(0x42);
      expect(status & 0x3f).toBe(0x34); // RW=3, mode 2, binary
      expect(status & 0x40).toBe(0); // count loaded
      const count = pit.in8(0x42) | (pit.in8(0x42) << 8);
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThan(512);
    });

    it('counts in BCD', () => {
      const { pit, advance } = rig();
      pit.out8(0x43, 0x35); // mode 2, BCD
      pit.out8(0x40, 0x00); pit.out8(0x40, 0x10); // 1000 decimal
      advance(cycleOfTick(1 + 1));
      expect(latchRead(pit)).toBe(0x0999);
    });
  });

  describe('counter 2 on port 0x61', () => {
    it('gates counting and shows OUT2 in bit 5 (the calibration loop)', () => {
      const { pit, advance } = rig();
      pit.out8(0x61, 0); // gate low
      pit.out8(0x43, 0xb0); // counter 2, mode 0
      pit.out8(0x42, 0xe8); pit.out8(0x42, 0x03); // 1000
      advance(cycleOfTick(5000));
      expect(pit.in8(0x61) & 0x20).toBe(0); // not counting while gated off
      pit.out8(0x61, 1);
      const t = tickAt(cycleOfTick(5000));
      advance(cycleOfTick(t + 999));
      expect(pit.in8(0x61) & 0x20).toBe(0);
      advance(cycleOfTick(t + 1001));
      expect(pit.in8(0x61) & 0x20).toBe(0x20);
    });
  });

  describe('modes 1, 4 and 5 (seen on OUT2)', () => {
    /** OUT2 through port 0x61 at each of the ticks in [from, to). */
    const out2 = (r: ReturnType<typeof rig>, from: number, to: number) => {
      const levels: number[] = [];
      for (let t = from; t < to; t++) {
        r.advance(cycleOfTick(t));
        levels.push((r.pit.in8(0x61) >> 5) & 1);
      }
      return levels;
    };

    it('mode 4 strobes OUT low for one clock N+1 clocks after the write', () => {
      const r = rig();
      r.pit.out8(0x61, 1);
      r.pit.out8(0x43, 0b1001_1000); // counter 2, LSB only, mode 4
      r.pit.out8(0x42, 5); // written during tick 0: loaded at tick 1, zero at tick 6
      expect(out2(r, 0, 9)).toEqual([1, 1, 1, 1, 1, 1, 0, 1, 1]);
    });

    it('mode 1 waits for a GATE rising edge, then is low for N clocks', () => {
      const r = rig();
      r.pit.out8(0x61, 0);
      r.pit.out8(0x43, 0b1001_0010); // counter 2, LSB only, mode 1
      r.pit.out8(0x42, 3);
      expect(out2(r, 0, 4)).toEqual([1, 1, 1, 1]);
      r.pit.out8(0x61, 1); // trigger during tick 3
      expect(out2(r, 4, 9)).toEqual([0, 0, 0, 1, 1]);
      r.pit.out8(0x61, 0);
      r.pit.out8(0x61, 1); // retrigger during tick 8
      expect(out2(r, 9, 13)).toEqual([0, 0, 0, 1]);
    });

    it('mode 5 strobes N+1 clocks after a GATE trigger', () => {
      const r = rig();
      r.pit.out8(0x61, 0);
      r.pit.out8(0x43, 0b1001_1010); // counter 2, LSB only, mode 5
      r.pit.out8(0x42, 2);
      r.pit.out8(0x61, 1); // trigger during tick 0
      expect(out2(r, 0, 6)).toEqual([1, 1, 1, 0, 1, 1]);
    });
  });

  it('snapshot and restore keep the schedule of IRQ0', () => {
    const a = rig();
    a.pit.out8(0x43, 0x34);
    a.pit.out8(0x40, 0x9c); a.pit.out8(0x40, 0x2e);
    a.advance(2_500_000);
    const b = rig();
    b.clock.source.cycles = a.clock.source.cycles;
    b.pit.restore(JSON.parse(JSON.stringify(a.pit.snapshot())));
    b.clock.restore(a.clock.snapshot());
    a.advance(10_000_000);
    b.advance(10_000_000);
    expect(b.edges).toEqual(a.edges.slice(-b.edges.length));
    expect(b.edges.length).toBe(7); // 3 M .. 9 M (the 10th period ends at 10 000 002)
  });
});
