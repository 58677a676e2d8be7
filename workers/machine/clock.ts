/*
 * The virtual clock: a scheduler of device events in CPU cycles. Nothing in the machine
 * reads the wall clock; time is `cpu.cycles`, and a device that needs to act later (the PIT
 * when its OUT pin changes, the UART when the next typed character arrives) schedules an
 * event at a cycle count. The machine's loop (machine.ts) reads aloud:
 *
 *   run the CPU for min(budget left, cycles to the next event)
 *   fire every event that is due, in time order
 *   (the PIC now asserts INTR if a device raised an IRQ; the CPU takes it at its next boundary)
 *   repeat
 *
 * When the CPU halts, the loop skips time forward to the next event instead of spinning.
 * There are few events (one per device timer), so they live in a small array with a cached
 * earliest time. An event scheduled during a CPU run earlier than the end of that run calls
 * `onEarlier`, so the machine can cut the run short and fire it on time.
 * Next: machine.ts.
 */

import { CPU_HZ as DEVICE_CPU_HZ, type Scheduler, type TimerEvent } from '../devices/device';

/** Nominal CPU clock: virtual cycles per virtual second. */
export const CPU_HZ = DEVICE_CPU_HZ;

export class Clock implements Scheduler {
  /** Where "now" is read: the CPU (its cycles field is the machine's time). */
  source: { cycles: number } = { cycles: 0 };
  private readonly events: TimerEvent[] = [];
  /** When each event fires (Infinity: not scheduled), parallel to `events`. */
  private when: number[] = [];
  /** The earliest scheduled time (Infinity if none). */
  nextAt = Infinity;
  /** The end of the CPU run in progress (-Infinity between runs: nothing to cut short). */
  horizon = -Infinity;
  /** Called when an event is scheduled before `horizon` (the machine ends the run early). */
  onEarlier: () => void = () => {};
  /** Events fired, ever. */
  fired = 0;

  now(): number {
    return this.source.cycles;
  }

  /** Makes an event known to the clock (so snapshots can name it before it is first scheduled). */
  register(event: TimerEvent): number {
    let i = this.events.indexOf(event);
    if (i >= 0) return i;
    if (this.events.some((e) => e.name === event.name)) throw new Error(`two clock events are named "${event.name}"`);
    i = this.events.length;
    this.events.push(event);
    this.when.push(Infinity);
    return i;
  }

  schedule(event: TimerEvent, at: number): void {
    const i = this.register(event);
    this.when[i] = at;
    if (at < this.nextAt) this.nextAt = at;
    else this.recompute();
    if (at < this.horizon) this.onEarlier();
  }

  cancel(event: TimerEvent): void {
    const i = this.events.indexOf(event);
    if (i < 0 || this.when[i] === Infinity) return;
    this.when[i] = Infinity;
    this.recompute();
  }

  /** When `event` is scheduled (Infinity if not). */
  scheduledAt(event: TimerEvent): number {
    const i = this.events.indexOf(event);
    return i < 0 ? Infinity : this.when[i];
  }

  private recompute(): void {
    let next = Infinity;
    const w = this.when;
    for (let i = 0; i < w.length; i++) if (w[i] < next) next = w[i];
    this.nextAt = next;
  }

  /** Cycles from now to the next event (0 if one is due, Infinity if none). */
  untilNext(): number {
    return Math.max(0, this.nextAt - this.source.cycles);
  }

  /** Fires every due event, earliest first (ties: in registration order). Returns how many fired. */
  runDue(): number {
    let n = 0;
    const now = this.source.cycles;
    while (this.nextAt <= now) {
      const w = this.when;
      let best = -1;
      for (let i = 0; i < w.length; i++) if (w[i] <= now && (best < 0 || w[i] < w[best])) best = i;
      if (best < 0) break;
      w[best] = Infinity;
      this.recompute();
      this.fired++;
      n++;
      this.events[best].fire(now);
    }
    return n;
  }

  /** Takes every event off the schedule (machine reset). */
  clear(): void {
    this.when.fill(Infinity);
    this.nextAt = Infinity;
  }

  snapshot(): { kind: 'clock'; fired: number; events: { name: string; at: number | null }[] } {
    return {
      kind: 'clock',
      fired: this.fired,
      events: this.events.map((e, i) => ({ name: e.name, at: this.when[i] === Infinity ? null : this.when[i] })),
    };
  }

  restore(state: unknown): void {
    const s = state as ReturnType<Clock['snapshot']>;
    if (typeof s !== 'object' || s === null || s.kind !== 'clock' || !Array.isArray(s.events)) throw new Error('snapshot: malformed clock state');
    this.when.fill(Infinity);
    for (const { name, at } of s.events) {
      const i = this.events.findIndex((e) => e.name === name);
      if (i < 0) throw new Error(`snapshot: the clock has no event named "${name}"`);
      this.when[i] = at === null ? Infinity : Number(at);
    }
    this.fired = Number(s.fired) || 0;
    this.recompute();
  }
}
