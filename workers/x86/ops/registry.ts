/*
 * The handler registry: semantic key (the opcode table's last column) -> the factory that
 * picks a handler for one decoded instruction. Every key used by opcodes.ts must be here;
 * tests/x86/core check that. Next: cpu.ts, which calls installHandlers() once.
 */

import { setHandlerFactories, type HandlerFactory } from '../decoder';
import { ALU_FACTORIES } from './alu';
import { CONTROL_FACTORIES } from './control';
import { DATA_FACTORIES } from './data';
import { SHIFT_FACTORIES } from './shift';
import { STRING_FACTORIES } from './string';
import { SYS_FACTORIES } from './sys';

export const HANDLER_FACTORIES: Record<string, HandlerFactory> = {
  ...ALU_FACTORIES, ...SHIFT_FACTORIES, ...DATA_FACTORIES, ...CONTROL_FACTORIES, ...STRING_FACTORIES, ...SYS_FACTORIES,
};

let installed = false;
export function installHandlers(): void {
  if (installed) return;
  installed = true;
  setHandlerFactories(HANDLER_FACTORIES);
}
