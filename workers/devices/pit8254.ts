/*
 * Intel 8254 Programmable Interval Timer: three 16-bit down-counters clocked at
 * 1.193182 MHz (ports 0x40-0x42 for the counters, 0x43 for the control word). Counter 0's
 * OUT drives IRQ0, the system timer; counter 2's GATE and OUT are wired to port 0x61
 * (system control port B) for the speaker and for timing loops. Datasheet: Intel 8254
 * (order number 231164).
 *
 * Time: the counters are never stepped. Each counter remembers the input-clock tick at which
 * its count element (CE) was loaded, and its state at any later tick is computed from the
 * elapsed ticks. Virtual time is CPU cycles at CPU_HZ (100 MHz); tick n of the 1.193182 MHz
 * input happens at cycle ceil(n * CPU_HZ / PIT_HZ), worked out in integers so that a timer
 * running for hours of virtual time has not drifted by a single cycle. Only counter 0 asks
 * the scheduler to be called back, at each change of its OUT pin, to drive IRQ0.
 *
 * Programming: a control word on 0x43 selects a counter (SC1..SC0), how its count is
 * accessed (RW1..RW0: latch command, LSB only, MSB only, LSB then MSB), its mode (M2..M0)
 * and BCD counting. The count is then written to the counter's port; the CE is loaded on the
 * next input clock. SC=11 is the read-back command: it latches the count and/or the status
 * byte of any set of counters.
 *
 * Modes: 0 interrupt on terminal count, 1 hardware-retriggerable one-shot, 2 rate generator
 * (OUT low for one clock every N), 3 square wave (OUT high N/2 clocks, low N/2), 4 software
 * strobe, 5 hardware strobe. Next: uart16550.ts, the serial console.
 */

import { asState, CPU_HZ, noIrq, type IoDevice, type IrqLine, type PortLabel, type Scheduler, type TimerEvent } from './device';

/** The 8254's input clock in the PC: 14.31818 MHz / 12. */
export const PIT_HZ = 1_193_182;

/** Index of the input-clock tick in progress at virtual cycle `cycles`: floor(cycles * PIT_HZ / CPU_HZ), exactly. */
export function tickAt(cycles: number): number {
  const q = Math.floor(cycles / CPU_HZ);
  const r = cycles - q * CPU_HZ; // < 1e8, so r * PIT_HZ < 2^53
  return q * PIT_HZ + Math.floor((r * PIT_HZ) / CPU_HZ);
}

/** The first virtual cycle at which input-clock tick `tick` has happened: ceil(tick * CPU_HZ / PIT_HZ), exactly. */
export function cycleOfTick(tick: number): number {
  const q = Math.floor(tick / PIT_HZ);
  const r = tick - q * PIT_HZ;
  return q * CPU_HZ + Math.ceil((r * CPU_HZ) / PIT_HZ);
}

const CW_BCD = 0b0000_0001;
const CW_MODE = 0b0000_1110;
const CW_RW = 0b0011_0000;
const CW_SC = 0b1100_0000;

const RB_NOT_COUNT = 0b0010_0000; // read-back: 0 = latch the count
const RB_NOT_STATUS = 0b0001_0000; // read-back: 0 = latch the status

const STATUS_OUT = 0b1000_0000;
const STATUS_NULL = 0b0100_0000;

/** RW1..RW0 of the control word: how the count is read and written. */
export const enum Access {
  Latch = 0,
  Lsb = 1,
  Msb = 2,
  LsbMsb = 3,
}

/** Which byte comes next through a counter's port in LSB-then-MSB access. */
const enum Byte {
  Lsb,
  Msb,
}

/** A value larger than any tick: "never". */
const NEVER = Number.MAX_SAFE_INTEGER;

/** One counter of the 8254. */
export class PitCounter {
  mode = 0;
  access: Access = Access.LsbMsb;
  bcd = false;
  /** The count register (CR) as written, 0 meaning the maximum (65536 or 10000 in BCD). */
  reload = 0;
  /** The programmed count in effect, in clocks (1..65536). */
  n = 65536;
  /** Tick at which the CE was loaded with `startValue` (counting runs from there on). */
  startTick = 0;
  startValue = 65536;
  /** Counting is armed (a count has been loaded; for modes 1 and 5, a trigger arrived). */
  armed = false;
  /** The GATE input (counters 0 and 1 are tied high in the PC; counter 2 follows port 0x61 bit 0). */
  gate = 1;
  /** CE value frozen while GATE is low in modes 0, 2, 3, 4 (-1: counting), and OUT meanwhile. */
  frozen = -1;
  frozenOut = 1;
  nullCount = true;
  /** OUT level while not counting (set by the control word). */
  idleOut = 1;
  /** A count written while counting in modes 2/3, taking effect at the end of the period. */
  pendingN = 0;
  /** The tick at which pendingN takes over (the end of the period it was written in). */
  switchTick = 0;
  writeByte: Byte = Byte.Lsb;
  readByte: Byte = Byte.Lsb;
  /** The latched count (-1: none), and the latched status byte (-1: none). */
  latched = -1;
  latchedStatus = -1;
  /** Low byte of a count being written in two parts. */
  lsbWritten = 0;
  controlWord = 0;

  /** Counter modulus: 65536 in binary, 10000 in BCD. */
  private get modulus(): number {
    return this.bcd ? 10000 : 65536;
  }

  /** Applies a mode 2/3 count written during counting once its period boundary has come. */
  private settle(tick: number): void {
    if (this.pendingN === 0 || tick < this.switchTick) return;
    this.startTick = this.switchTick;
    this.n = this.pendingN;
    this.startValue = this.pendingN;
    this.pendingN = 0;
  }

  /** The CE value at `tick` (binary, 1..modulus or 0). */
  ceAt(tick: number): number {
    this.settle(tick);
    if (this.frozen >= 0) return this.frozen;
    if (!this.armed || tick < this.startTick) return this.startValue % this.modulus;
    const k = tick - this.startTick;
    const m = this.modulus;
    switch (this.mode) {
      case 2: {
        const p = k % this.n;
        return (this.n - p) % m;
      }
      case 3: {
        const p = k % this.n;
        const high = Math.ceil(this.n / 2);
        const v = p < high ? 2 * (high - p) : 2 * (this.n - p);
        return v % m;
      }
      default: // 0, 1, 4, 5: count down once, then wrap around and keep counting
        return ((((this.startValue - k) % m) + m) % m);
    }
  }

  /** The OUT pin at `tick`. */
  outAt(tick: number): number {
    this.settle(tick);
    if (!this.armed || tick < this.startTick) return this.mode === 0 && this.armed ? 0 : this.idleOut;
    if (this.frozen >= 0) return this.frozenOut;
    const k = tick - this.startTick;
    switch (this.mode) {
      case 0:
        return k >= this.startValue ? 1 : 0;
      case 1:
        return k >= this.startValue ? 1 : 0;
      case 2:
        return k % this.n === this.n - 1 ? 0 : 1;
      case 3:
        return k % this.n < Math.ceil(this.n / 2) ? 1 : 0;
      default: // 4, 5: one clock low when the count reaches zero
        return k === this.startValue ? 0 : 1;
    }
  }

  /** The first tick after `tick` at which OUT changes, or NEVER. */
  nextChange(tick: number): number {
    this.settle(tick);
    if (!this.armed || this.frozen >= 0) return NEVER;
    if (tick < this.startTick) {
      // The load itself may change OUT (mode 0 drops it on the control word already).
      return this.outAt(this.startTick) !== this.outAt(tick) ? this.startTick : this.nextChange(this.startTick);
    }
    const k = tick - this.startTick;
    let next: number;
    switch (this.mode) {
      case 0:
      case 1:
        next = k < this.startValue ? this.startValue : NEVER;
        break;
      case 2: {
        const p = k % this.n;
        if (this.n === 1) return NEVER;
        next = k - p + (p < this.n - 1 ? this.n - 1 : this.n);
        break;
      }
      case 3: {
        const p = k % this.n;
        const high = Math.ceil(this.n / 2);
        if (high === this.n) return NEVER;
        next = k - p + (p < high ? high : this.n);
        break;
      }
      default:
        next = k < this.startValue ? this.startValue : k === this.startValue ? this.startValue + 1 : NEVER;
    }
    if (next === NEVER) return NEVER;
    const at = this.startTick + next;
    // A count waiting for the end of the period takes over at the boundary: wake up there.
    return this.pendingN !== 0 && at > this.switchTick ? this.switchTick : at;
  }

  /** Control word for this counter (not a latch command). */
  control(cw: number): void {
    this.controlWord = cw & 0x3f;
    this.access = ((cw & CW_RW) >> 4) as Access;
    let mode = (cw & CW_MODE) >> 1;
    if (mode > 5) mode -= 4; // modes 6 and 7 are aliases of 2 and 3
    this.mode = mode;
    this.bcd = (cw & CW_BCD) !== 0;
    this.writeByte = Byte.Lsb;
    this.readByte = Byte.Lsb;
    this.latched = -1;
    this.latchedStatus = -1;
    this.armed = false;
    this.frozen = -1;
    this.pendingN = 0;
    this.nullCount = true;
    this.idleOut = mode === 0 ? 0 : 1; // mode 0 drops OUT on the control word, the others raise it
  }

  /** A byte written to the counter's port. */
  writeCount(v: number, tick: number): void {
    switch (this.access) {
      case Access.Lsb:
        this.load(v & 0xff, tick);
        break;
      case Access.Msb:
        this.load((v & 0xff) << 8, tick);
        break;
      default:
        if (this.writeByte === Byte.Lsb) {
          this.lsbWritten = v & 0xff;
          this.writeByte = Byte.Msb;
          // Mode 0: writing the first byte stops the count.
          if (this.mode === 0 && this.armed) {
            this.frozen = this.ceAt(tick);
            this.frozenOut = 0; // and OUT goes low at once
          }
        } else {
          this.writeByte = Byte.Lsb;
          this.load(this.lsbWritten | ((v & 0xff) << 8), tick);
        }
    }
  }

  /** The count register is complete: the CE is loaded on the next input clock. */
  private load(raw: number, tick: number): void {
    this.reload = raw;
    const value = this.bcd ? fromBcd(raw) : raw;
    const n = value === 0 ? this.modulus : value;
    this.nullCount = false;
    if ((this.mode === 2 || this.mode === 3) && this.armed && this.frozen < 0 && tick >= this.startTick) {
      this.settle(tick);
      this.pendingN = n; // takes effect at the end of the current period
      this.switchTick = this.startTick + (Math.floor((tick - this.startTick) / this.n) + 1) * this.n;
      return;
    }
    this.n = n;
    this.frozen = -1;
    if (this.mode === 1 || this.mode === 5) {
      this.startValue = n;
      return; // waits for a trigger on GATE
    }
    this.startValue = n;
    this.startTick = tick + 1;
    this.armed = true;
    if (this.gate === 0 && this.mode !== 1 && this.mode !== 5) {
      this.frozen = n;
      this.frozenOut = this.mode === 0 ? 0 : 1;
    }
  }

  /** GATE input change (counter 2 through port 0x61; counters 0 and 1 are tied high). */
  setGate(level: number, tick: number): void {
    if (level === this.gate) return;
    this.gate = level;
    if (level) {
      // Rising edge: modes 1, 2, 3, 5 (re)start from the count register; 0 and 4 resume.
      if (this.mode === 1 || this.mode === 5 || this.mode === 2 || this.mode === 3) {
        if (this.n > 0 && !this.nullCount) {
          this.startValue = this.n;
          this.startTick = tick + 1;
          this.armed = true;
          this.frozen = -1;
        }
      } else if (this.frozen >= 0 && this.armed) {
        this.startValue = this.frozen === 0 ? this.modulus : this.frozen;
        this.startTick = tick + 1;
        this.frozen = -1;
      }
    } else if (this.armed && this.mode !== 1 && this.mode !== 5) {
      // GATE low: modes 0 and 4 pause with OUT as it is; modes 2 and 3 force OUT high.
      this.frozenOut = this.mode === 2 || this.mode === 3 ? 1 : this.outAt(tick);
      this.frozen = this.ceAt(tick);
    }
  }

  /** Latch command: freeze the current count for reading (ignored if one is already latched). */
  latch(tick: number): void {
    if (this.latched < 0) this.latched = this.ceAt(tick);
  }

  latchStatus(tick: number): void {
    if (this.latchedStatus >= 0) return;
    this.latchedStatus = (this.outAt(tick) ? STATUS_OUT : 0) | (this.nullCount ? STATUS_NULL : 0) | this.controlWord;
  }

  /** A byte read from the counter's port: the latched status, the latched count, or the live count. */
  readCount(tick: number): number {
    if (this.latchedStatus >= 0) {
      const s = this.latchedStatus;
      this.latchedStatus = -1;
      return s;
    }
    let value = this.latched >= 0 ? this.latched : this.ceAt(tick);
    if (this.bcd) value = toBcd(value % 10000);
    const access = this.access;
    let result: number;
    if (access === Access.Lsb) result = value & 0xff;
    else if (access === Access.Msb) result = (value >> 8) & 0xff;
    else if (this.readByte === Byte.Lsb) {
      this.readByte = Byte.Msb;
      return value & 0xff; // the latch (if any) holds until the second byte is read
    } else {
      this.readByte = Byte.Lsb;
      result = (value >> 8) & 0xff;
    }
    this.latched = -1;
    return result;
  }

  snapshot(): Record<string, number | boolean> {
    return {
      mode: this.mode, access: this.access, bcd: this.bcd, reload: this.reload, n: this.n,
      startTick: this.startTick, startValue: this.startValue, armed: this.armed, gate: this.gate,
      frozen: this.frozen, frozenOut: this.frozenOut, nullCount: this.nullCount, idleOut: this.idleOut, pendingN: this.pendingN, switchTick: this.switchTick,
      writeByte: this.writeByte, readByte: this.readByte, latched: this.latched,
      latchedStatus: this.latchedStatus, lsbWritten: this.lsbWritten, controlWord: this.controlWord,
    };
  }

  restore(s: Record<string, unknown>): void {
    const n = (k: string): number => {
      const v = s[k];
      if (typeof v !== 'number') throw new Error(`snapshot: pit field "${k}" is not a number`);
      return v;
    };
    this.mode = n('mode'); this.access = n('access') as Access; this.bcd = s.bcd === true;
    this.reload = n('reload'); this.n = n('n'); this.startTick = n('startTick');
    this.startValue = n('startValue'); this.armed = s.armed === true; this.gate = n('gate');
    this.frozen = n('frozen'); this.frozenOut = n('frozenOut'); this.nullCount = s.nullCount === true; this.idleOut = n('idleOut');
    this.pendingN = n('pendingN'); this.switchTick = n('switchTick'); this.writeByte = n('writeByte') as Byte;
    this.readByte = n('readByte') as Byte; this.latched = n('latched');
    this.latchedStatus = n('latchedStatus'); this.lsbWritten = n('lsbWritten');
    this.controlWord = n('controlWord');
  }
}

function fromBcd(v: number): number {
  return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

function toBcd(v: number): number {
  return ((Math.floor(v / 1000) % 10) << 12) | ((Math.floor(v / 100) % 10) << 8) | ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}

/** The 8254 with its PC wiring: counter 0 on IRQ0, counter 2 on port 0x61. */
export class Pit8254 implements IoDevice, TimerEvent {
  readonly name = 'pit';
  readonly counters = [new PitCounter(), new PitCounter(), new PitCounter()];
  /** Rising edges of counter 0's OUT (IRQ0 requests raised). */
  irq0Edges = 0;
  /** Port 0x61 bits 0 (GATE2) and 1 (speaker data). */
  portB = 0;
  private out0 = 1;

  constructor(
    private readonly clock: Scheduler,
    private readonly irq0: IrqLine = noIrq,
  ) {
    this.out0 = this.counters[0].outAt(0);
  }

  private tick(): number {
    return tickAt(this.clock.now());
  }

  /** Scheduler callback: counter 0's OUT changes now. */
  fire(now: number): void {
    this.sync0(tickAt(now));
  }

  /** Drives IRQ0 from counter 0's OUT at `tick` and schedules the next change. */
  private sync0(tick: number): void {
    const c = this.counters[0];
    const out = c.outAt(tick);
    if (out !== this.out0) {
      this.out0 = out;
      if (out) this.irq0Edges++;
      this.irq0.setLevel(out);
    }
    const next = c.nextChange(tick);
    if (next === NEVER) this.clock.cancel(this);
    else this.clock.schedule(this, cycleOfTick(next));
  }

  ports(): PortLabel[] {
    return [
      { port: 0x40, label: 'PIT counter 0 (IRQ0)' },
      { port: 0x41, label: 'PIT counter 1' },
      { port: 0x42, label: 'PIT counter 2 (speaker)' },
      { port: 0x43, label: 'PIT control word' },
      { port: 0x61, label: 'system control port B (gate 2, speaker, OUT2)' },
    ];
  }

  in8(port: number): number {
    const tick = this.tick();
    if (port === 0x61) {
      // Bit 4 toggles with the DRAM refresh (counter 1 in a real PC: every 15 us); bit 5 is OUT2.
      const refresh = Math.floor(tick / 18) & 1;
      return (this.portB & 0b11) | (refresh << 4) | (this.counters[2].outAt(tick) << 5);
    }
    if (port === 0x43) return 0xff; // the control register cannot be read
    return this.counters[port - 0x40].readCount(tick);
  }

  out8(port: number, value: number): void {
    const tick = this.tick();
    value &= 0xff;
    if (port === 0x61) {
      this.portB = value & 0b11;
      this.counters[2].setGate(value & 1, tick);
      return;
    }
    if (port === 0x43) {
      const sc = (value & CW_SC) >> 6;
      if (sc === 3) {
        // Read-back: D3..D1 select counters 2..0.
        for (let i = 0; i < 3; i++) {
          if (!(value & (2 << i))) continue;
          if (!(value & RB_NOT_COUNT)) this.counters[i].latch(tick);
          if (!(value & RB_NOT_STATUS)) this.counters[i].latchStatus(tick);
        }
        return;
      }
      if ((value & CW_RW) === 0) this.counters[sc].latch(tick);
      else this.counters[sc].control(value);
      if (sc === 0) this.sync0(tick);
      return;
    }
    this.counters[port - 0x40].writeCount(value, tick);
    if (port === 0x40) this.sync0(tick);
  }

  snapshot(): unknown {
    return { kind: 'pit', counters: this.counters.map((c) => c.snapshot()), irq0Edges: this.irq0Edges, portB: this.portB, out0: this.out0 };
  }

  restore(state: unknown): void {
    const s = asState(state, 'pit');
    if (!Array.isArray(s.counters) || s.counters.length !== 3) throw new Error('snapshot: malformed pit state');
    s.counters.forEach((c, i) => this.counters[i].restore(c as Record<string, unknown>));
    this.irq0Edges = Number(s.irq0Edges) || 0;
    this.portB = Number(s.portB) || 0;
    this.out0 = Number(s.out0) ? 1 : 0;
  }
}
