/*
 * The CPU's two wires to the outside world: the I/O port bus (IN/OUT and the string forms)
 * and the INTR pin driven by the interrupt controller. The CPU imports no device: the
 * machine (workers/machine) plugs devices in behind these interfaces, so `x86/` can be read
 * and tested alone. Next: memory.ts, the other thing the CPU is wired to.
 */

/** Port-mapped I/O as the CPU sees it. Unclaimed ports read as all ones. */
export interface IoBus {
  in8(port: number): number;
  in16(port: number): number;
  in32(port: number): number;
  out8(port: number, value: number): void;
  out16(port: number, value: number): void;
  out32(port: number, value: number): void;
}

/** The INTR pin and the interrupt-acknowledge cycle. */
export interface InterruptLine {
  /** INTR is asserted. Read at every instruction boundary while IF=1, so keep it cheap. */
  pending(): boolean;
  /** The INTA cycle: the controller answers with the vector to deliver. */
  acknowledge(): number;
}

/** A bus with nothing on it, for CPU unit tests. */
export const emptyBus: IoBus = {
  in8: () => 0xff,
  in16: () => 0xffff,
  in32: () => -1,
  out8: () => {},
  out16: () => {},
  out32: () => {},
};
