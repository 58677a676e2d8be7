/*
 * Shifts and rotates (ROL ROR RCL RCR SHL SHR SAR by 1, CL or imm8; SHLD/SHRD), the bit
 * instructions (BT BTS BTR BTC, BSF BSR) and BSWAP. Counts are masked to 5 bits as on every
 * CPU since the 80286; a masked count of 0 changes nothing, flags included. OF is defined
 * only for 1-bit shifts and AF never (the lab computes OF by the 1-bit rule for any count
 * and clears AF). Insn fields: aux = operation (the ModRM reg field), imm2 = size in bytes,
 * imm = the immediate count. Next: data.ts.
 */

import type { Cpu } from '../cpu';
import type { Handler, HandlerFactory, Insn } from '../decoder';
import * as opcodesModule from '../opcodes';
import * as flagsModule from '../flags';
import * as operandModule from './operand';

// Imported bindings copied to module constants: some module loaders turn every read
// of an imported name into a getter call, too slow for the per-instruction paths.
const { AF, CF, OF, PF, SF, ZF } = opcodesModule;
const { getCF, K_LOGIC, materialise } = flagsModule;
const { getReg, readE, rmwRead, rmwWrite, setReg, sizeOf } = operandModule;

/** Stores C and O eagerly (A cleared) and S Z P lazily from the result: all six are new. */
function shiftFlags(c: Cpu, cf: number, of: number, res: number, bits: number): void {
  c.flags = (c.flags & ~(CF | OF | AF | SF | ZF | PF)) | (cf & 1) | (of !== 0 ? OF : 0);
  c.lop = K_LOGIC; c.la = 0; c.lb = 0; c.lres = res; c.lsz = 1 << (bits - 1); c.lazy = SF | ZF | PF;
}
/** Rotates change only C and O: those become eager, S Z A P stay as they were (lazy or not). */
function rotFlags(c: Cpu, cf: number, of: number): void {
  c.flags = (c.flags & ~(CF | OF)) | (cf & 1) | (of !== 0 ? OF : 0);
  c.lazy &= ~(CF | OF);
}

/** One shift/rotate of an unsigned `bits`-wide value by a masked, nonzero count. */
export function shiftOp(c: Cpu, op: number, v: number, count: number, bits: number): number {
  const mask = bits === 32 ? -1 : (1 << bits) - 1;
  const top = bits - 1;
  v &= mask;
  let r: number;
  switch (op) {
    case 0: { // ROL
      const n = count & top;
      r = n === 0 ? v : ((v << n) | (v >>> (bits - n))) & mask;
      const cf = r & 1;
      rotFlags(c, cf, ((r >>> top) & 1) ^ cf);
      return r;
    }
    case 1: { // ROR
      const n = count & top;
      r = n === 0 ? v : ((v >>> n) | (v << (bits - n))) & mask;
      const msb = (r >>> top) & 1;
      rotFlags(c, msb, msb ^ ((r >>> (top - 1)) & 1));
      return r;
    }
    case 2: { // RCL
      const n = bits === 32 ? count : count % (bits + 1);
      let cf = getCF(c);
      r = v;
      for (let k = 0; k < n; k++) {
        const out = (r >>> top) & 1;
        r = ((r << 1) | cf) & mask;
        cf = out;
      }
      rotFlags(c, cf, ((r >>> top) & 1) ^ cf);
      return r;
    }
    case 3: { // RCR
      const n = bits === 32 ? count : count % (bits + 1);
      let cf = getCF(c);
      r = v;
      for (let k = 0; k < n; k++) {
        const out = r & 1;
        r = ((r >>> 1) | (cf << top)) & mask;
        cf = out;
      }
      rotFlags(c, cf, ((r >>> top) ^ (r >>> (top - 1))) & 1);
      return r;
    }
    case 4: case 6: { // SHL / SAL
      r = count < 32 ? (v << count) & mask : 0;
      const cf = count <= bits ? (v >>> (bits - count)) & 1 : 0;
      shiftFlags(c, cf, ((r >>> top) & 1) ^ cf, r, bits);
      return r;
    }
    case 5: { // SHR
      r = v >>> count;
      const cf = count <= bits ? (v >>> (count - 1)) & 1 : 0;
      shiftFlags(c, cf, (v >>> top) & 1, r, bits);
      return r;
    }
    default: { // SAR
      const sv = (v << (32 - bits)) >> (32 - bits);
      r = (sv >> Math.min(count, 31)) & mask;
      const cf = (sv >> Math.min(count - 1, 31)) & 1;
      shiftFlags(c, cf, 0, r, bits);
      return r;
    }
  }
}

// A memory operand is accessed for read-modify-write even when the masked count is 0 (a
// not-present or read-only page faults as for a write), but then nothing is written.
function shiftImm(c: Cpu, i: Insn): void {
  const count = i.imm & 0x1f;
  const size = i.imm2;
  const v = rmwRead(c, i, size);
  if (count === 0) return;
  rmwWrite(c, i, size, shiftOp(c, i.aux, v, count, size * 8));
}
function shiftCl(c: Cpu, i: Insn): void {
  const count = c.regs[1] & 0x1f;
  const size = i.imm2;
  const v = rmwRead(c, i, size);
  if (count === 0) return;
  rmwWrite(c, i, size, shiftOp(c, i.aux, v, count, size * 8));
}
/** The most common form, SHL/SHR/SAR r32, imm: no memory, no generic size. */
function shiftReg32Imm(c: Cpu, i: Insn): void {
  const count = i.imm & 0x1f;
  if (count === 0) return;
  c.regs[i.rm] = shiftOp(c, i.aux, c.regs[i.rm], count, 32);
}

// ROL/ROR/SHL/SHR/SAR r32 by a constant nonzero count, each its own small function: the
// same results and flags as shiftOp's cases for bits = 32 (the count is known at decode).
function rolReg32Imm(c: Cpu, i: Insn): void {
  const v = c.regs[i.rm], n = i.imm & 0x1f;
  const r = (v << n) | (v >>> (32 - n));
  const cf = r & 1;
  c.regs[i.rm] = r;
  c.flags = (c.flags & ~(CF | OF)) | cf | ((((r >>> 31) & 1) ^ cf) !== 0 ? OF : 0);
  c.lazy &= ~(CF | OF);
}
function rorReg32Imm(c: Cpu, i: Insn): void {
  const v = c.regs[i.rm], n = i.imm & 0x1f;
  const r = (v >>> n) | (v << (32 - n));
  const msb = (r >>> 31) & 1;
  c.regs[i.rm] = r;
  c.flags = (c.flags & ~(CF | OF)) | msb | ((msb ^ ((r >>> 30) & 1)) !== 0 ? OF : 0);
  c.lazy &= ~(CF | OF);
}
function shlReg32Imm(c: Cpu, i: Insn): void {
  const v = c.regs[i.rm], n = i.imm & 0x1f;
  const r = v << n;
  const cf = (v >>> (32 - n)) & 1;
  c.regs[i.rm] = r;
  shiftFlags(c, cf, ((r >>> 31) & 1) ^ cf, r, 32);
}
function shrReg32Imm(c: Cpu, i: Insn): void {
  const v = c.regs[i.rm], n = i.imm & 0x1f;
  const r = v >>> n;
  c.regs[i.rm] = r;
  shiftFlags(c, (v >>> (n - 1)) & 1, (v >>> 31) & 1, r, 32);
}
function sarReg32Imm(c: Cpu, i: Insn): void {
  const v = c.regs[i.rm], n = i.imm & 0x1f;
  const r = v >> n;
  c.regs[i.rm] = r;
  shiftFlags(c, (v >> (n - 1)) & 1, 0, r, 32);
}

const shiftFactory: HandlerFactory = (row, i, o32) => {
  i.aux = i.reg;
  i.imm2 = sizeOf(row.size, o32);
  const src = row.operands[1];
  if (src === 'CL') return shiftCl;
  if (src === '1') i.imm = 1;
  if (i.mem === 0 && i.imm2 === 4) {
    if ((i.imm & 0x1f) !== 0) {
      switch (i.aux) {
        case 0: return rolReg32Imm;
        case 1: return rorReg32Imm;
        case 4: case 6: return shlReg32Imm;
        case 5: return shrReg32Imm;
        case 7: return sarReg32Imm;
        default: break;
      }
    }
    return shiftReg32Imm;
  }
  return shiftImm;
};

/** Register-only handlers (see ALU_PURE in alu.ts). */
export const SHIFT_PURE: readonly Handler[] = [shiftReg32Imm, rolReg32Imm, rorReg32Imm, shlReg32Imm, shrReg32Imm, sarReg32Imm];

// ---- SHLD / SHRD ----------------------------------------------------------------------------
function shxd(c: Cpu, i: Insn, count: number): void {
  count &= 0x1f;
  const size = i.imm2;
  const d = rmwRead(c, i, size);
  if (count === 0) return;
  const s = getReg(c, i.reg, size);
  let r: number, cf: number;
  const left = i.aux === 0;
  if (size === 4) {
    if (left) { r = (d << count) | (s >>> (32 - count)); cf = (d >>> (32 - count)) & 1; }
    else { r = (d >>> count) | (s << (32 - count)); cf = (d >>> (count - 1)) & 1; }
  } else {
    // 16-bit: shift the 32-bit pair; counts above 16 give the undefined-by-the-manual
    // result the pair arithmetic produces.
    if (left) {
      const pair = ((d & 0xffff) << 16) | (s & 0xffff);
      r = count <= 16 ? ((pair << count) >>> 16) & 0xffff : ((((s & 0xffff) << 16) | (d & 0xffff)) << (count - 16)) >>> 16;
      cf = count <= 16 ? (d >>> (16 - count)) & 1 : (s >>> (32 - count)) & 1;
    } else {
      const pair = ((s & 0xffff) << 16) | (d & 0xffff);
      r = (pair >>> count) & 0xffff;
      if (count > 16) r = ((((d & 0xffff) << 16) | (s & 0xffff)) >>> (count - 16)) & 0xffff;
      cf = (pair >>> (count - 1)) & 1;
    }
  }
  const bits = size * 8;
  const of = ((r ^ d) >>> (bits - 1)) & 1;
  shiftFlags(c, cf, of, r, bits);
  rmwWrite(c, i, size, r);
}
function shxdImm(c: Cpu, i: Insn): void { shxd(c, i, i.imm); }
function shxdCl(c: Cpu, i: Insn): void { shxd(c, i, c.regs[1]); }
const shxdFactory: HandlerFactory = (row, i, o32) => {
  i.aux = row.sem === 'shld' ? 0 : 1;
  i.imm2 = sizeOf(row.size, o32);
  return row.operands[2] === 'CL' ? shxdCl : shxdImm;
};

// ---- BT / BTS / BTR / BTC -----------------------------------------------------------------
/** aux: 0 BT, 1 BTS, 2 BTR, 3 BTC. imm2 = size. A register bit offset (Gv) may address memory beyond the operand. */
function btOp(c: Cpu, i: Insn, bitOff: number, fromReg: boolean): void {
  const size = i.imm2;
  const bits = size * 8;
  let bit: number;
  let v: number;
  const op = i.aux;
  if (i.mem === 0) {
    bit = bitOff & (bits - 1);
    v = getReg(c, i.rm, size);
    const cf = (v >>> bit) & 1;
    c.setCF(cf);
    if (op === 0) return;
    const m = 1 << bit;
    setReg(c, i.rm, size, op === 1 ? v | m : op === 2 ? v & ~m : v ^ m);
    return;
  }
  let off = i.ea(c, i);
  if (fromReg) {
    const sOff = size === 2 ? (bitOff << 16) >> 16 : bitOff | 0;
    off = (off + (sOff >> (bits === 32 ? 5 : 4)) * size) | 0;
    if ((i.pfx & 2) === 0) off &= 0xffff;
  }
  bit = bitOff & (bits - 1);
  if (op === 0) {
    v = size === 2 ? c.readMem16(i.seg, off) : c.readMem32(i.seg, off);
    c.setCF((v >>> bit) & 1);
    return;
  }
  const lin = c.rmwLin(i.seg, off, size);
  v = size === 2 ? c.readLin16(lin) : c.readLin32(lin);
  c.setCF((v >>> bit) & 1);
  const m = 1 << bit;
  const r = op === 1 ? v | m : op === 2 ? v & ~m : v ^ m;
  if (size === 2) c.writeLin16(lin, r); else c.writeLin32(lin, r);
}
function btG(c: Cpu, i: Insn): void { btOp(c, i, c.regs[i.reg], true); }
function btI(c: Cpu, i: Insn): void { btOp(c, i, i.imm & 0xff, false); }
const BT_OPS: Record<string, number> = { bt: 0, bts: 1, btr: 2, btc: 3 };
const btFactory: HandlerFactory = (row, i, o32) => {
  i.aux = BT_OPS[row.sem];
  i.imm2 = sizeOf(row.size, o32);
  return row.operands[1] === 'Ib' ? btI : btG;
};

// ---- BSF / BSR --------------------------------------------------------------------------------
function bsf(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const v = readE(c, i, size);
  materialise(c);
  if (v === 0) { c.flags |= ZF; return; }
  c.flags &= ~ZF;
  setReg(c, i.reg, size, 31 - Math.clz32(v & -v));
}
function bsr(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const v = readE(c, i, size);
  materialise(c);
  if (v === 0) { c.flags |= ZF; return; }
  c.flags &= ~ZF;
  setReg(c, i.reg, size, 31 - Math.clz32(v));
}

function bswap(c: Cpu, i: Insn): void {
  const v = c.regs[i.reg];
  c.regs[i.reg] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

export const SHIFT_FACTORIES: Record<string, HandlerFactory> = {
  rol: shiftFactory, ror: shiftFactory, rcl: shiftFactory, rcr: shiftFactory,
  shl: shiftFactory, shr: shiftFactory, sar: shiftFactory,
  shld: shxdFactory, shrd: shxdFactory,
  bt: btFactory, bts: btFactory, btr: btFactory, btc: btFactory,
  bsf: (row, i, o32) => { i.imm2 = sizeOf(row.size, o32); return bsf; },
  bsr: (row, i, o32) => { i.imm2 = sizeOf(row.size, o32); return bsr; },
  bswap: () => bswap,
};
