/*
 * What a session needs from a machine, written out as an interface so the session reads
 * on its own and can drive any machine that has this shape: the native Machine today
 * (workers/machine, adapted in machine-target.ts), a hypervisor's domain later. The names
 * follow docs/internals.md and the Cpu's fixed field names. Next: session.ts.
 */

import type { TraceBuffer } from '../trace/trace';
import type { PhysicalMemory } from '../x86/memory';

/** How one run() or step() ended: the machine's RunExit, reduced to what the session uses. */
export type TargetExit =
  | { kind: 'budget' }
  | { kind: 'halted' }
  | { kind: 'breakpoint' }
  | { kind: 'requested' }
  | { kind: 'tripleFault'; message: string }
  | { kind: 'error'; message: string }
  | { kind: 'debugExit'; code: number };

/** The CPU state the views read (side-effect-free) and its breakpoint set. */
export interface TargetCpu {
  regs: Int32Array;
  eip: number;
  sreg: Uint16Array;
  segBase: Int32Array;
  segLimit: Int32Array;
  segAttr: Int32Array;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  gdtrBase: number;
  gdtrLimit: number;
  idtrBase: number;
  idtrLimit: number;
  ldtr: number;
  tr: number;
  cpl: number;
  halted: boolean;
  cycles: number;
  instructions: number;
  trace: TraceBuffer;
  breakpoints: Set<number>;
  getEflags(): number;
}

export interface Target {
  readonly mem: PhysicalMemory;
  readonly cpu: TargetCpu;
  /** Runs at most `budget` cycles. */
  run(budget: number): TargetExit;
  /** Executes one instruction (or one interrupt delivery). */
  step(): TargetExit;
  /** Ends a run in progress at the next instruction boundary with { kind: 'requested' }. */
  requestStop(): void;
  /** Console (COM1) output from byte `cursor` on, and the cursor after it. */
  readConsole(cursor: number): { text: string; next: number };
  /** Queues keystrokes for the guest's serial console. */
  typeInput(text: string): void;
}

/** Builds and boots a machine from a Multiboot image; throws with a clear message on a bad image. */
export type TargetFactory = (binary: Uint8Array, memoryMiB: number) => Target;
