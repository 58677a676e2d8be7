/*
 * What every chip on the I/O bus has in common: the ports it answers, a label for each (the
 * UI's port map), byte-wide reads and writes, and its own snapshot()/restore(). Devices that
 * keep time do it through a `Scheduler` (implemented by machine/clock.ts): they ask to be
 * called back at a virtual cycle, and read the current cycle from it, never the wall clock.
 * Interrupt requests leave a device on an `IrqLine`, the wire to one input of the PIC.
 * Next: iobus.ts, which routes the CPU's IN/OUT to these devices.
 */

/** One port a device answers, with a short name for the UI (e.g. "COM1 LSR"). */
export interface PortLabel {
  port: number;
  label: string;
}

/** A chip on the port bus. Wider accesses are split into bytes by the bus unless a device says otherwise. */
export interface IoDevice {
  /** Short name of the device ("pic-master", "pit", "com1"). */
  readonly name: string;
  /** Every port this device decodes, with its register name. */
  ports(): PortLabel[];
  in8(port: number): number;
  out8(port: number, value: number): void;
  /** Optional word and doubleword accesses (otherwise the bus splits them into bytes, low first). */
  in16?(port: number): number;
  in32?(port: number): number;
  out16?(port: number, value: number): void;
  out32?(port: number, value: number): void;
  /** The device's state as plain data (JSON-safe). */
  snapshot(): unknown;
  /** Puts back a state taken by snapshot(). */
  restore(state: unknown): void;
}

/** The wire from a device's interrupt output to one PIC input. */
export interface IrqLine {
  /** Drive the line high (1) or low (0). Edge-triggered inputs latch a 0 -> 1 change. */
  setLevel(level: number): void;
}

/** A line that goes nowhere (a device whose output is not wired up). */
export const noIrq: IrqLine = { setLevel: () => {} };

/** A timed callback owned by a device. Its name is stable, so snapshots can name it. */
export interface TimerEvent {
  readonly name: string;
  /** Called once the virtual clock has reached the time the event was scheduled for. */
  fire(now: number): void;
}

/** The virtual clock as a device sees it. Time is in CPU cycles (see machine/clock.ts). */
export interface Scheduler {
  /** The current virtual cycle (live, also in the middle of a run of the CPU). */
  now(): number;
  /** Schedule (or move) `event` to fire at virtual cycle `at`. */
  schedule(event: TimerEvent, at: number): void;
  /** Take `event` off the schedule (no-op if it is not on it). */
  cancel(event: TimerEvent): void;
}

/** Nominal CPU clock of the machine: virtual cycles per second (re-exported by machine/clock.ts). */
export const CPU_HZ = 100_000_000;

/** Parses a snapshot field as a number, with a clear error for a corrupt snapshot. */
export function num(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`snapshot: field "${key}" is not a number`);
  return v;
}

/** Checks that a snapshot is an object of the expected device kind. */
export function asState(state: unknown, kind: string): Record<string, unknown> {
  if (typeof state !== 'object' || state === null || (state as Record<string, unknown>).kind !== kind) {
    throw new Error(`snapshot: expected a ${kind} state`);
  }
  return state as Record<string, unknown>;
}
