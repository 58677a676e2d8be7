/*
 * Plugs the assembler's disassembler (workers/asm/disasm.ts, driven by the CPU's own opcode
 * table) into the session's code view, reshaping its lines into the API's DisasmLine.
 */

import { disassemble } from '../asm/disasm';
import type { Disassembler } from './session';

export const disassembler: Disassembler = (bytes, address, count, bits) =>
  disassemble(bytes, { address, bits, count }).map((l) => ({
    address: l.address >>> 0,
    bytes: Array.from(l.bytes),
    text: l.text,
    note: l.note ?? '',
  }));
