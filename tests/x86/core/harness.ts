/*
 * A bare CPU for unit tests: memory, the CPU, code assembled with nasm (a reference tool
 * used at test time only) or given as bytes, and a monitor that catches exceptions so a
 * test can assert on them without building an IDT. Code runs until HLT.
 */

import { Cpu, Stop, type Monitor } from '../../../workers/x86/cpu';
import { PhysicalMemory } from '../../../workers/x86/memory';
import { emptyBus, type IoBus } from '../../../workers/x86/bus';
import { setFlatProtectedMode } from '../../../workers/x86/system';
import { assemble } from '../../support/nasm';

export interface CaughtFault { vector: number; errorCode: number; eip: number; cr2: number }

export class TestCpu {
  mem: PhysicalMemory;
  cpu: Cpu;
  faults: CaughtFault[] = [];

  constructor(memMiB = 4, io: IoBus = emptyBus) {
    this.mem = new PhysicalMemory(memMiB << 20);
    this.cpu = new Cpu(this.mem, io);
    const self = this;
    const mon: Monitor = {
      softIntMask: new Uint8Array(256),
      onException(cpu, vector, errorCode) {
        self.faults.push({ vector, errorCode, eip: cpu.eip >>> 0, cr2: cpu.cr2 >>> 0 });
        cpu.halted = true;
        return true;
      },
      onInterrupt() { return false; },
      onSoftInt() { return false; },
    };
    this.cpu.monitor = mon;
  }

  /** Flat 32-bit protected mode, CPL 0, ESP at 0x80000. */
  flat32(): this {
    setFlatProtectedMode(this.cpu);
    this.cpu.afterSystem();
    this.cpu.regs[4] = 0x80000;
    return this;
  }

  /** Real mode with CS=DS=ES=SS=0. */
  real16(): this {
    const c = this.cpu;
    for (let s = 0; s < 6; s++) { c.sreg[s] = 0; c.segBase[s] = 0; c.segLimit[s] = 0xffff; c.segAttr[s] = s === 1 ? 0x9b : 0x93; }
    c.regs[4] = 0x7000;
    c.afterSystem();
    return this;
  }

  load(addr: number, bytes: Uint8Array | number[]): this {
    this.mem.load(addr, bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
    return this;
  }

  /** Assembles `src` (NASM) for `bits` at org `addr`, loads it there and points EIP at it. */
  asm(src: string, addr = 0x1000, bits: 16 | 32 = 32): this {
    const code = assemble(`bits ${bits}\norg ${addr}\n${src}\nhlt\n`);
    this.load(addr, code);
    this.cpu.eip = addr;
    return this;
  }

  run(budget = 1_000_000): Stop {
    return this.cpu.run(budget);
  }

  get r(): Int32Array { return this.cpu.regs; }
  u32(i: number): number { return this.cpu.regs[i] >>> 0; }
  flags(): number { return this.cpu.getEflags(); }
}

export { Stop };
