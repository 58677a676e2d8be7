/*
 * Whole-program harness for the system tests: the real Cpu, 1 MiB of RAM, the standard
 * world (world.ts) and a NASM prelude that loads it, so a test is a few lines of assembly
 * run from ring 0 at CODE + 0x2000 ("body:"), ending at DONE (a breakpoint).
 *
 * The prelude's interrupt stubs log every event (see world.ts LOG_*): vector, error code
 * (-1 when the vector has none), the pushed EIP, CS, EFLAGS, the pushed SS:ESP when the
 * handler ran in another ring, and the handler's CS. After logging, the handler jumps to
 * the address in HOOK: DONE (stop, the default), IRET_HOOK (return), or SKIP_HOOK (return
 * past the faulting instruction: SKIP bytes). The macros EXPECT_FAULT and the TO_RING*
 * helpers keep test bodies short. nasm is a test-time tool only.
 */

import { emptyBus, type IoBus, type InterruptLine } from '../../../workers/x86/bus';
import { Cpu, Stop } from '../../../workers/x86/cpu';
import { PhysicalMemory } from '../../../workers/x86/memory';
import { setFlatProtectedMode } from '../../../workers/x86/system';
import { ADDR_SLOTS, DONE, assembleBody } from './prelude';
import { CODE, STACK0, buildWorld, readLog, type LogEntry } from './world';

export { ADDR_SLOTS, BODY, DONE, IRET_HOOK, SKIP_HOOK } from './prelude';

export interface World {
  cpu: Cpu;
  mem: PhysicalMemory;
  /** Runs until DONE (or another stop); returns the stop reason. */
  run(budget?: number): Stop;
  log(): LogEntry[];
  /** The address the body stored in slot k with ADDR k, label. */
  addr(k: number): number;
}

/** A CPU in flat protected mode about to run the prelude, then `body`. */
export function world(body: string, opts: { io?: IoBus; intr?: InterruptLine; setup?: (mem: PhysicalMemory) => void } = {}): World {
  const mem = new PhysicalMemory(1 << 20);
  const cpu = new Cpu(mem, opts.io ?? emptyBus);
  buildWorld(mem);
  opts.setup?.(mem);
  mem.load(CODE, assembleBody(body));
  setFlatProtectedMode(cpu);
  cpu.eip = CODE;
  cpu.regs[4] = STACK0;
  cpu.intr = opts.intr ?? null;
  cpu.afterSystem();
  cpu.breakpoints.add(DONE);
  return {
    cpu, mem,
    run: (budget = 200_000) => cpu.run(budget),
    log: () => readLog(mem),
    addr: (k) => mem.read32(ADDR_SLOTS + 4 * k) >>> 0,
  };
}

export { Stop };
