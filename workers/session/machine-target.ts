/*
 * Adapts the native Machine (workers/machine/machine.ts) to the Target shape the session
 * drives (target.ts): boots a Multiboot image with the machine's loader and reduces its
 * RunExit to the session's. A machine that refuses a run (it is stopped) reports an
 * error exit with the machine's reason. Next: session.ts.
 */

import { Machine, type RunExit } from '../machine/machine';
import type { Target, TargetExit, TargetFactory } from './target';

function reduce(e: RunExit): TargetExit {
  switch (e.kind) {
    case 'budget': return { kind: 'budget' };
    case 'halted': return { kind: 'halted' };
    case 'breakpoint': return { kind: 'breakpoint' };
    case 'requested': return { kind: 'requested' };
    case 'tripleFault': return { kind: 'tripleFault', message: e.message };
    case 'error': return { kind: 'error', message: e.message };
    case 'debugExit': return { kind: 'debugExit', code: e.code };
    case 'refused': return { kind: 'error', message: `refused: ${e.reason}` };
    default: return { kind: 'error', message: 'unknown exit' };
  }
}

export const createMachineTarget: TargetFactory = (binary, memoryMiB) => {
  const machine = new Machine({ memoryMiB });
  const booted = machine.boot(binary);
  if (!booted.ok) throw new Error(booted.error);
  const target: Target = {
    mem: machine.mem,
    cpu: machine.cpu,
    run: (budget) => reduce(machine.run(budget)),
    step: () => reduce(machine.step()),
    requestStop: () => machine.requestStop(),
    readConsole: (cursor) => {
      const r = machine.readConsole(cursor);
      return { text: r.text, next: r.next };
    },
    typeInput: (text) => machine.typeInput(text),
  };
  return target;
};
