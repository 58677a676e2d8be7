/*
 * String instructions: MOVS CMPS STOS LODS SCAS INS OUTS, alone or with REP / REPE /
 * REPNE. The source is seg:[eSI] (DS unless overridden), the destination always ES:[eDI];
 * the address size picks SI/DI/CX or ESI/EDI/ECX, and DF the direction. A repeated
 * instruction runs all its iterations in one handler call, but updates the registers after
 * each one, so a fault part-way (a page fault on the next page, say) leaves a state from
 * which re-running the instruction continues correctly, as on hardware. Each extra
 * iteration is charged one virtual cycle. Next: sys.ts.
 */

import type { Cpu } from '../cpu';
import type { HandlerFactory, Insn } from '../decoder';
import * as decoderModule from '../decoder';
import * as flagsModule from '../flags';
import * as sys from '../system';
import * as aluModule from './alu';
import * as operandModule from './operand';

// Imported bindings copied to module constants: some module loaders turn every read
// of an imported name into a getter call, too slow for the per-instruction paths.
const { P_A32, P_REP, P_REPNE } = decoderModule;
const { getZF } = flagsModule;
const { aluOp } = aluModule;
const { getReg, setReg, signBit, sizeOf } = operandModule;

const MOVS = 0, CMPS = 1, STOS = 2, LODS = 3, SCAS = 4, INS = 5, OUTS = 6;

function rd(c: Cpu, seg: number, off: number, size: number): number {
  return size === 1 ? c.readMem8(seg, off) : size === 2 ? c.readMem16(seg, off) : c.readMem32(seg, off);
}
function wr(c: Cpu, seg: number, off: number, size: number, v: number): void {
  if (size === 1) c.writeMem8(seg, off, v);
  else if (size === 2) c.writeMem16(seg, off, v);
  else c.writeMem32(seg, off, v);
}
function bump(c: Cpu, reg: number, step: number, a32: boolean): void {
  if (a32) c.regs[reg] = (c.regs[reg] + step) | 0;
  else c.regs[reg] = (c.regs[reg] & ~0xffff) | ((c.regs[reg] + step) & 0xffff);
}

/** One iteration; returns false when a REPE/REPNE condition ends the loop. */
function once(c: Cpu, i: Insn, op: number, size: number, step: number, a32: boolean): void {
  const r = c.regs;
  const si = a32 ? r[6] : r[6] & 0xffff;
  const di = a32 ? r[7] : r[7] & 0xffff;
  switch (op) {
    case MOVS:
      wr(c, 0, di, size, rd(c, i.seg, si, size));
      bump(c, 6, step, a32); bump(c, 7, step, a32);
      break;
    case CMPS:
      aluOp(c, 7, rd(c, i.seg, si, size), rd(c, 0, di, size), signBit(size));
      bump(c, 6, step, a32); bump(c, 7, step, a32);
      break;
    case STOS:
      wr(c, 0, di, size, getReg(c, 0, size));
      bump(c, 7, step, a32);
      break;
    case LODS:
      setReg(c, 0, size, rd(c, i.seg, si, size));
      bump(c, 6, step, a32);
      break;
    case SCAS:
      aluOp(c, 7, getReg(c, 0, size), rd(c, 0, di, size), signBit(size));
      bump(c, 7, step, a32);
      break;
    case INS: {
      const port = r[2] & 0xffff;
      const v = size === 1 ? c.io.in8(port) : size === 2 ? c.io.in16(port) : c.io.in32(port);
      wr(c, 0, di, size, v);
      bump(c, 7, step, a32);
      break;
    }
    default: {
      const port = r[2] & 0xffff;
      const v = rd(c, i.seg, si, size);
      if (size === 1) c.io.out8(port, v & 0xff);
      else if (size === 2) c.io.out16(port, v & 0xffff);
      else c.io.out32(port, v);
      bump(c, 6, step, a32);
      break;
    }
  }
}

/** The one handler of every string instruction (exported: blocks must not contain it). */
export function stringOp(c: Cpu, i: Insn): void {
  const op = i.aux;
  const size = i.imm2;
  const a32 = (i.pfx & P_A32) !== 0;
  const step = c.dir() * size;
  if (op >= INS) {
    sys.checkIo(c, c.regs[2] & 0xffff, size);
    c.ioDone();
  }
  const rep = i.pfx & (P_REP | P_REPNE);
  if (rep === 0) { once(c, i, op, size, step, a32); return; }
  const r = c.regs;
  const cmp = op === CMPS || op === SCAS;
  let n = a32 ? r[1] >>> 0 : r[1] & 0xffff;
  let k = 0;
  while (n !== 0) {
    once(c, i, op, size, step, a32);
    n--;
    if (a32) r[1] = n | 0; else r[1] = (r[1] & ~0xffff) | n;
    k++;
    if (cmp) {
      const zf = getZF(c) !== 0;
      if (rep === P_REP ? !zf : zf) break;
    }
  }
  if (k > 1) c.cycles += k - 1;
}

const STRING_OPS: Record<string, number> = { movs: MOVS, cmps: CMPS, stos: STOS, lods: LODS, scas: SCAS, ins: INS, outs: OUTS };

const stringFactory: HandlerFactory = (row, i, o32) => {
  i.aux = STRING_OPS[row.sem];
  i.imm2 = sizeOf(row.size, o32);
  return stringOp;
};

export const STRING_FACTORIES: Record<string, HandlerFactory> = {
  movs: stringFactory, cmps: stringFactory, stos: stringFactory, lods: stringFactory,
  scas: stringFactory, ins: stringFactory, outs: stringFactory,
};

