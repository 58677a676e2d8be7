/*
 * Integer arithmetic: the eight ALU operations (ADD OR ADC SBB AND SUB XOR CMP) and TEST in
 * all their forms, INC/DEC, NOT/NEG, MUL/IMUL/DIV/IDIV, the BCD adjusts and CBW/CWD.
 * Flags are left lazy (flags.ts) wherever the SDM's rule is "set from the result".
 * Handlers are picked per form, size and register/memory at decode time; the ALU operation
 * itself is Insn.aux (0 add, 1 or, 2 adc, 3 sbb, 4 and, 5 sub, 6 xor, 7 cmp, 8 test).
 * Next: shift.ts.
 */

import type { Cpu } from '../cpu';
import type { Handler, HandlerFactory, Insn } from '../decoder';
import * as opcodesModule from '../opcodes';
import * as flagsModule from '../flags';
import * as operandModule from './operand';

// Imported bindings copied to module constants: some module loaders turn every read
// of an imported name into a getter call, too slow for the per-instruction paths.
const { AF, CF, OF, OSZAPC, PF, SF, ZF } = opcodesModule;
const { getCF, K_ADC1, K_ADD, K_LOGIC, K_SBB1, K_SUB, materialise, PARITY } = flagsModule;
const { getReg8, readE, rmwRead, rmwWrite, setReg16, setReg8, signBit, sizeOf } = operandModule;

/** One ALU operation with lazy flags; returns the (untruncated) result. */
export function aluOp(c: Cpu, op: number, a: number, b: number, sz: number): number {
  let r: number;
  switch (op) {
    case 0: r = (a + b) | 0; c.lop = K_ADD; break;
    case 1: r = a | b; c.lop = K_LOGIC; break;
    case 2: { const cf = getCF(c); r = (a + b + cf) | 0; c.lop = cf !== 0 ? K_ADC1 : K_ADD; break; }
    case 3: { const cf = getCF(c); r = (a - b - cf) | 0; c.lop = cf !== 0 ? K_SBB1 : K_SUB; break; }
    case 5: case 7: r = (a - b) | 0; c.lop = K_SUB; break;
    case 6: r = a ^ b; c.lop = K_LOGIC; break;
    default: r = a & b; c.lop = K_LOGIC; break;
  }
  c.la = a; c.lb = b; c.lres = r; c.lsz = sz; c.lazy = OSZAPC;
  return r;
}

const ALU_INDEX: Record<string, number> = { add: 0, or: 1, adc: 2, sbb: 3, and: 4, sub: 5, xor: 6, cmp: 7, test: 8 };

// ---- E,G (r/m destination) --------------------------------------------------------------
function aluEG8r(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, getReg8(c, i.rm), getReg8(c, i.reg), 0x80);
  if (i.aux < 7) setReg8(c, i.rm, r);
}
function aluEG16r(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, c.regs[i.rm] & 0xffff, c.regs[i.reg] & 0xffff, 0x8000);
  if (i.aux < 7) setReg16(c, i.rm, r);
}
function aluEG32r(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, c.regs[i.rm], c.regs[i.reg], 0x80000000 | 0);
  if (i.aux < 7) c.regs[i.rm] = r;
}
function aluEG8m(c: Cpu, i: Insn): void {
  if (i.aux >= 7) { aluOp(c, i.aux, c.readMem8(i.seg, i.ea(c, i)), getReg8(c, i.reg), 0x80); return; }
  const lin = c.rmwLin(i.seg, i.ea(c, i), 1);
  c.writeLin8(lin, aluOp(c, i.aux, c.readLin8(lin), getReg8(c, i.reg), 0x80));
}
function aluEG16m(c: Cpu, i: Insn): void {
  if (i.aux >= 7) { aluOp(c, i.aux, c.readMem16(i.seg, i.ea(c, i)), c.regs[i.reg] & 0xffff, 0x8000); return; }
  const lin = c.rmwLin(i.seg, i.ea(c, i), 2);
  c.writeLin16(lin, aluOp(c, i.aux, c.readLin16(lin), c.regs[i.reg] & 0xffff, 0x8000));
}
function aluEG32m(c: Cpu, i: Insn): void {
  if (i.aux >= 7) { aluOp(c, i.aux, c.readMem32(i.seg, i.ea(c, i)), c.regs[i.reg], 0x80000000 | 0); return; }
  const lin = c.rmwLin(i.seg, i.ea(c, i), 4);
  c.writeLin32(lin, aluOp(c, i.aux, c.readLin32(lin), c.regs[i.reg], 0x80000000 | 0));
}

// ---- G,E (register destination) ---------------------------------------------------------
function aluGE8r(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, getReg8(c, i.reg), getReg8(c, i.rm), 0x80);
  if (i.aux < 7) setReg8(c, i.reg, r);
}
function aluGE16r(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, c.regs[i.reg] & 0xffff, c.regs[i.rm] & 0xffff, 0x8000);
  if (i.aux < 7) setReg16(c, i.reg, r);
}
function aluGE32r(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, c.regs[i.reg], c.regs[i.rm], 0x80000000 | 0);
  if (i.aux < 7) c.regs[i.reg] = r;
}
function aluGE8m(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, getReg8(c, i.reg), c.readMem8(i.seg, i.ea(c, i)), 0x80);
  if (i.aux < 7) setReg8(c, i.reg, r);
}
function aluGE16m(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, c.regs[i.reg] & 0xffff, c.readMem16(i.seg, i.ea(c, i)), 0x8000);
  if (i.aux < 7) setReg16(c, i.reg, r);
}
function aluGE32m(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, c.regs[i.reg], c.readMem32(i.seg, i.ea(c, i)), 0x80000000 | 0);
  if (i.aux < 7) c.regs[i.reg] = r;
}

// ---- E,I (also AL,Ib and eAX,Iz with rm = 0) --------------------------------------------
function aluEI8r(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, getReg8(c, i.rm), i.imm & 0xff, 0x80);
  if (i.aux < 7) setReg8(c, i.rm, r);
}
function aluEI16r(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, c.regs[i.rm] & 0xffff, i.imm & 0xffff, 0x8000);
  if (i.aux < 7) setReg16(c, i.rm, r);
}
function aluEI32r(c: Cpu, i: Insn): void {
  const r = aluOp(c, i.aux, c.regs[i.rm], i.imm, 0x80000000 | 0);
  if (i.aux < 7) c.regs[i.rm] = r;
}
function aluEI8m(c: Cpu, i: Insn): void {
  if (i.aux >= 7) { aluOp(c, i.aux, c.readMem8(i.seg, i.ea(c, i)), i.imm & 0xff, 0x80); return; }
  const lin = c.rmwLin(i.seg, i.ea(c, i), 1);
  c.writeLin8(lin, aluOp(c, i.aux, c.readLin8(lin), i.imm & 0xff, 0x80));
}
function aluEI16m(c: Cpu, i: Insn): void {
  if (i.aux >= 7) { aluOp(c, i.aux, c.readMem16(i.seg, i.ea(c, i)), i.imm & 0xffff, 0x8000); return; }
  const lin = c.rmwLin(i.seg, i.ea(c, i), 2);
  c.writeLin16(lin, aluOp(c, i.aux, c.readLin16(lin), i.imm & 0xffff, 0x8000));
}
function aluEI32m(c: Cpu, i: Insn): void {
  if (i.aux >= 7) { aluOp(c, i.aux, c.readMem32(i.seg, i.ea(c, i)), i.imm, 0x80000000 | 0); return; }
  const lin = c.rmwLin(i.seg, i.ea(c, i), 4);
  c.writeLin32(lin, aluOp(c, i.aux, c.readLin32(lin), i.imm, 0x80000000 | 0));
}

// ---- 32-bit register forms of the common operations, one function each --------------
// (the hottest ALU instructions: no operation switch, everything inlinable)
function addEG32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = c.regs[i.reg], r = (a + b) | 0; c.regs[i.rm] = r; c.lop = K_ADD; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function addGE32r(c: Cpu, i: Insn): void { const a = c.regs[i.reg], b = c.regs[i.rm], r = (a + b) | 0; c.regs[i.reg] = r; c.lop = K_ADD; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function addEI32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = i.imm, r = (a + b) | 0; c.regs[i.rm] = r; c.lop = K_ADD; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function orEG32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = c.regs[i.reg], r = a | b; c.regs[i.rm] = r; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function orGE32r(c: Cpu, i: Insn): void { const a = c.regs[i.reg], b = c.regs[i.rm], r = a | b; c.regs[i.reg] = r; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function orEI32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = i.imm, r = a | b; c.regs[i.rm] = r; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function andEG32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = c.regs[i.reg], r = a & b; c.regs[i.rm] = r; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function andGE32r(c: Cpu, i: Insn): void { const a = c.regs[i.reg], b = c.regs[i.rm], r = a & b; c.regs[i.reg] = r; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function andEI32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = i.imm, r = a & b; c.regs[i.rm] = r; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function subEG32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = c.regs[i.reg], r = (a - b) | 0; c.regs[i.rm] = r; c.lop = K_SUB; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function subGE32r(c: Cpu, i: Insn): void { const a = c.regs[i.reg], b = c.regs[i.rm], r = (a - b) | 0; c.regs[i.reg] = r; c.lop = K_SUB; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function subEI32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = i.imm, r = (a - b) | 0; c.regs[i.rm] = r; c.lop = K_SUB; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function xorEG32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = c.regs[i.reg], r = a ^ b; c.regs[i.rm] = r; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function xorGE32r(c: Cpu, i: Insn): void { const a = c.regs[i.reg], b = c.regs[i.rm], r = a ^ b; c.regs[i.reg] = r; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function xorEI32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = i.imm, r = a ^ b; c.regs[i.rm] = r; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function cmpEG32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = c.regs[i.reg], r = (a - b) | 0; c.lop = K_SUB; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function cmpGE32r(c: Cpu, i: Insn): void { const a = c.regs[i.reg], b = c.regs[i.rm], r = (a - b) | 0; c.lop = K_SUB; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function cmpEI32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = i.imm, r = (a - b) | 0; c.lop = K_SUB; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function testEG32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = c.regs[i.reg], r = a & b; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function testGE32r(c: Cpu, i: Insn): void { const a = c.regs[i.reg], b = c.regs[i.rm], r = a & b; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
function testEI32r(c: Cpu, i: Insn): void { const a = c.regs[i.rm], b = i.imm, r = a & b; c.lop = K_LOGIC; c.la = a; c.lb = b; c.lres = r; c.lsz = SZ32; c.lazy = OSZAPC; }
const SZ32 = 0x80000000 | 0;
/** The 32-bit register forms by operation and form (jit/blocks.ts writes these inline). */
export const FAST32: Record<string, Record<string, Handler>> = {
  add: { EG: addEG32r, GE: addGE32r, EI: addEI32r },
  or: { EG: orEG32r, GE: orGE32r, EI: orEI32r },
  and: { EG: andEG32r, GE: andGE32r, EI: andEI32r },
  sub: { EG: subEG32r, GE: subGE32r, EI: subEI32r },
  xor: { EG: xorEG32r, GE: xorGE32r, EI: xorEI32r },
  cmp: { EG: cmpEG32r, GE: cmpGE32r, EI: cmpEI32r },
  test: { EG: testEG32r, GE: testGE32r, EI: testEI32r },
};

const FORMS: Record<string, Handler[]> = {
  EG: [aluEG8r, aluEG16r, aluEG32r, aluEG8m, aluEG16m, aluEG32m],
  GE: [aluGE8r, aluGE16r, aluGE32r, aluGE8m, aluGE16m, aluGE32m],
  EI: [aluEI8r, aluEI16r, aluEI32r, aluEI8m, aluEI16m, aluEI32m],
};

const aluFactory: HandlerFactory = (row, i, o32) => {
  i.aux = ALU_INDEX[row.sem];
  const [d, s] = row.operands;
  const size = sizeOf(row.size, o32);
  const k = size === 1 ? 0 : size === 2 ? 1 : 2;
  let form: Handler[];
  if (d === 'AL' || d === 'eAX') {
    i.rm = 0;
    i.mem = 0;
    form = FORMS.EI;
  } else if (d[0] === 'G') form = FORMS.GE;
  else if (s[0] === 'G') form = FORMS.EG;
  else form = FORMS.EI;
  if (k === 2 && i.mem === 0) {
    const fast = FAST32[row.sem];
    if (fast !== undefined) return fast[form === FORMS.GE ? 'GE' : form === FORMS.EG ? 'EG' : 'EI'];
  }
  return form[k + (i.mem !== 0 ? 3 : 0)];
};

// ---- INC / DEC (CF is kept) -------------------------------------------------------------
function incdec(c: Cpu, a: number, dec: number, sz: number): number {
  if ((c.lazy & CF) !== 0) c.flags = (c.flags & ~CF) | getCF(c);
  const r = dec !== 0 ? (a - 1) | 0 : (a + 1) | 0;
  c.lop = dec !== 0 ? K_SUB : K_ADD;
  c.la = a; c.lb = 1; c.lres = r; c.lsz = sz; c.lazy = OF | SF | ZF | AF | PF;
  return r;
}
function incReg32(c: Cpu, i: Insn): void { c.regs[i.reg] = incdec(c, c.regs[i.reg], i.aux, 0x80000000 | 0); }
function incReg16(c: Cpu, i: Insn): void { setReg16(c, i.reg, incdec(c, c.regs[i.reg] & 0xffff, i.aux, 0x8000)); }
function incE(c: Cpu, i: Insn): void {
  const size = i.imm2;
  rmwWrite(c, i, size, incdec(c, rmwRead(c, i, size), i.aux, signBit(size)));
}
const incFactory: HandlerFactory = (row, i, o32) => {
  i.aux = row.sem === 'dec' ? 1 : 0;
  if (row.plusR) return o32 ? incReg32 : incReg16;
  i.imm2 = sizeOf(row.size, o32);
  return incE;
};

// ---- NOT / NEG --------------------------------------------------------------------------
function notE(c: Cpu, i: Insn): void {
  const size = i.imm2;
  rmwWrite(c, i, size, ~rmwRead(c, i, size));
}
function negE(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const v = rmwRead(c, i, size);
  const r = (0 - v) | 0;
  c.lop = K_SUB; c.la = 0; c.lb = v; c.lres = r; c.lsz = signBit(size); c.lazy = OSZAPC;
  rmwWrite(c, i, size, r);
}

// ---- MUL / IMUL / DIV / IDIV ------------------------------------------------------------
/** Sets flags after a multiply: CF=OF=overflow flag, S Z P from the low result, AF 0. */
function mulFlags(c: Cpu, over: boolean, low: number, sz: number): void {
  c.flags = (c.flags & ~(OF | CF | AF)) | (over ? OF | CF : 0);
  c.lop = K_LOGIC; c.la = 0; c.lb = 0; c.lres = low; c.lsz = sz; c.lazy = SF | ZF | PF;
}

function mul1(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const v = readE(c, i, size);
  const r = c.regs;
  if (size === 1) {
    const p = (r[0] & 0xff) * v;
    setReg16(c, 0, p);
    mulFlags(c, (p & 0xff00) !== 0, p, 0x80);
  } else if (size === 2) {
    const p = (r[0] & 0xffff) * v;
    setReg16(c, 0, p);
    setReg16(c, 2, p >>> 16);
    mulFlags(c, (p >>> 16) !== 0, p, 0x8000);
  } else {
    const a = r[0] >>> 0, b = v >>> 0;
    const lo = Math.imul(a, b);
    const hi = mulHigh(a, b);
    r[0] = lo; r[2] = hi;
    mulFlags(c, hi !== 0, lo, 0x80000000 | 0);
  }
}

/** High 32 bits of an unsigned 32x32 multiply. */
function mulHigh(a: number, b: number): number {
  const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL, hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) | 0;
}
/** High 32 bits of a signed 32x32 multiply. */
function imulHigh(a: number, b: number): number {
  let hi = mulHigh(a >>> 0, b >>> 0);
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  return hi;
}

function imul1(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const v = readE(c, i, size);
  const r = c.regs;
  if (size === 1) {
    const p = ((r[0] << 24) >> 24) * ((v << 24) >> 24);
    setReg16(c, 0, p);
    mulFlags(c, p !== ((p << 24) >> 24), p, 0x80);
  } else if (size === 2) {
    const p = ((r[0] << 16) >> 16) * ((v << 16) >> 16);
    setReg16(c, 0, p);
    setReg16(c, 2, p >> 16);
    mulFlags(c, p !== ((p << 16) >> 16), p, 0x8000);
  } else {
    const lo = Math.imul(r[0], v);
    const hi = imulHigh(r[0], v);
    r[0] = lo; r[2] = hi;
    mulFlags(c, hi !== (lo >> 31), lo, 0x80000000 | 0);
  }
}

/** IMUL Gv,Ev (two operands) and IMUL Gv,Ev,imm: truncated signed product. */
function imulN(c: Cpu, i: Insn, a: number, b: number): void {
  if (i.imm2 === 2) {
    const p = ((a << 16) >> 16) * ((b << 16) >> 16);
    setReg16(c, i.reg, p);
    mulFlags(c, p !== ((p << 16) >> 16), p, 0x8000);
  } else {
    const lo = Math.imul(a, b);
    const hi = imulHigh(a | 0, b | 0);
    c.regs[i.reg] = lo;
    mulFlags(c, hi !== (lo >> 31), lo, 0x80000000 | 0);
  }
}
function imul2(c: Cpu, i: Insn): void { imulN(c, i, c.regs[i.reg], readE(c, i, i.imm2)); }
function imul3(c: Cpu, i: Insn): void { imulN(c, i, readE(c, i, i.imm2), i.imm); }
/**
 * IMUL r32, r32, imm (the common form). The double product is exact below 2^53 and rounds
 * monotonically, so it differs from the truncated product exactly when the result overflows.
 */
function imul3r32(c: Cpu, i: Insn): void {
  const a = c.regs[i.rm];
  const lo = Math.imul(a, i.imm);
  c.regs[i.reg] = lo;
  mulFlags(c, a * i.imm !== lo, lo, 0x80000000 | 0);
}
function imul2r32(c: Cpu, i: Insn): void {
  const a = c.regs[i.reg], b = c.regs[i.rm];
  const lo = Math.imul(a, b);
  c.regs[i.reg] = lo;
  mulFlags(c, a * b !== lo, lo, 0x80000000 | 0);
}

function div1(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const v = readE(c, i, size) >>> 0;
  if (v === 0) c.raise(0);
  const r = c.regs;
  if (size === 1) {
    const n = r[0] & 0xffff;
    const q = Math.floor(n / v);
    if (q > 0xff) c.raise(0);
    setReg16(c, 0, ((n % v) << 8) | q);
  } else if (size === 2) {
    const n = (((r[2] & 0xffff) << 16) | (r[0] & 0xffff)) >>> 0;
    const q = Math.floor(n / v);
    if (q > 0xffff) c.raise(0);
    setReg16(c, 0, q);
    setReg16(c, 2, n % v);
  } else {
    const n = (BigInt(r[2] >>> 0) << 32n) | BigInt(r[0] >>> 0);
    const d = BigInt(v);
    const q = n / d;
    if (q > 0xffffffffn) c.raise(0);
    r[0] = Number(q) | 0;
    r[2] = Number(n % d) | 0;
  }
}

function idiv1(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const raw = readE(c, i, size);
  const r = c.regs;
  if (size === 1) {
    const v = (raw << 24) >> 24;
    if (v === 0) c.raise(0);
    const n = (r[0] << 16) >> 16;
    const q = Math.trunc(n / v);
    if (q > 127 || q < -128) c.raise(0);
    setReg16(c, 0, (((n % v) & 0xff) << 8) | (q & 0xff));
  } else if (size === 2) {
    const v = (raw << 16) >> 16;
    if (v === 0) c.raise(0);
    const n = ((r[2] & 0xffff) << 16) | (r[0] & 0xffff);
    const q = Math.trunc(n / v);
    if (q > 32767 || q < -32768) c.raise(0);
    setReg16(c, 0, q);
    setReg16(c, 2, n % v);
  } else {
    const v = raw | 0;
    if (v === 0) c.raise(0);
    const n = (BigInt(r[2]) << 32n) | BigInt(r[0] >>> 0);
    const d = BigInt(v);
    const q = n / d;
    if (q > 0x7fffffffn || q < -0x80000000n) c.raise(0);
    r[0] = Number(q) | 0;
    r[2] = Number(n % d) | 0;
  }
}

// ---- BCD ----------------------------------------------------------------------------------
/** Sets S Z P from an 8-bit value, keeps the given eager flags. */
function szp8(c: Cpu, v: number): void {
  c.lop = K_LOGIC; c.la = 0; c.lb = 0; c.lres = v & 0xff; c.lsz = 0x80; c.lazy = SF | ZF | PF;
}

function daa(c: Cpu): void {
  materialise(c);
  const oldAl = c.regs[0] & 0xff, oldCf = c.flags & CF;
  let al = oldAl, cf = 0, af = 0;
  if ((al & 0x0f) > 9 || (c.flags & AF) !== 0) { al += 6; af = AF; cf = oldCf | (al > 0xff ? 1 : 0); }
  if (oldAl > 0x99 || oldCf !== 0) { al += 0x60; cf = 1; }
  setReg8(c, 0, al);
  c.flags = (c.flags & ~(CF | AF | OF)) | cf | af;
  szp8(c, al);
}
function das(c: Cpu): void {
  materialise(c);
  const oldAl = c.regs[0] & 0xff, oldCf = c.flags & CF;
  let al = oldAl, cf = 0, af = 0;
  if ((al & 0x0f) > 9 || (c.flags & AF) !== 0) { al -= 6; af = AF; cf = oldCf | (oldAl < 6 ? 1 : 0); }
  if (oldAl > 0x99 || oldCf !== 0) { al -= 0x60; cf = 1; }
  setReg8(c, 0, al);
  c.flags = (c.flags & ~(CF | AF | OF)) | cf | af;
  szp8(c, al);
}
function aaa(c: Cpu): void {
  materialise(c);
  const r = c.regs;
  if ((r[0] & 0x0f) > 9 || (c.flags & AF) !== 0) {
    setReg16(c, 0, (r[0] & 0xffff) + 0x106);
    c.flags |= AF | CF;
  } else c.flags &= ~(AF | CF);
  setReg8(c, 0, r[0] & 0x0f);
  c.flags &= ~(OF | SF | ZF | PF);
  c.flags |= PARITY[r[0] & 0xff] | ((r[0] & 0xff) === 0 ? ZF : 0);
}
function aas(c: Cpu): void {
  materialise(c);
  const r = c.regs;
  if ((r[0] & 0x0f) > 9 || (c.flags & AF) !== 0) {
    // AX - 6 may borrow from AH (the 80286 and later), then AH - 1.
    setReg16(c, 0, (r[0] & 0xffff) - 6);
    setReg8(c, 4, ((r[0] >> 8) & 0xff) - 1);
    c.flags |= AF | CF;
  } else c.flags &= ~(AF | CF);
  setReg8(c, 0, r[0] & 0x0f);
  c.flags &= ~(OF | SF | ZF | PF);
  c.flags |= PARITY[r[0] & 0xff] | ((r[0] & 0xff) === 0 ? ZF : 0);
}
function aam(c: Cpu, i: Insn): void {
  const base = i.imm & 0xff;
  if (base === 0) c.raise(0);
  const al = c.regs[0] & 0xff;
  setReg16(c, 0, (Math.floor(al / base) << 8) | (al % base));
  materialise(c);
  c.flags &= ~(OF | AF | CF);
  szp8(c, al % base);
}
function aad(c: Cpu, i: Insn): void {
  const r = c.regs;
  const al = ((r[0] & 0xff) + ((r[0] >> 8) & 0xff) * (i.imm & 0xff)) & 0xff;
  setReg16(c, 0, al);
  materialise(c);
  c.flags &= ~(OF | AF | CF);
  szp8(c, al);
}

// ---- CBW / CWDE / CWD / CDQ ---------------------------------------------------------------
function cbw(c: Cpu): void { setReg16(c, 0, (c.regs[0] << 24) >> 24); }
function cwde(c: Cpu): void { c.regs[0] = (c.regs[0] << 16) >> 16; }
function cwd(c: Cpu): void { setReg16(c, 2, (c.regs[0] << 16) >> 31); }
function cdq(c: Cpu): void { c.regs[2] = c.regs[0] >> 31; }

function sized(h: Handler): HandlerFactory {
  return (row, i, o32) => { i.imm2 = sizeOf(row.size, o32); return h; };
}

/**
 * Handlers that only read and write registers and flags: they never fault, never read EIP
 * or the cycle counter and never need the boundary. jit/blocks.ts runs them without the
 * per-instruction bookkeeping.
 */
export const ALU_PURE: readonly Handler[] = [
  aluEG8r, aluEG16r, aluEG32r, aluGE8r, aluGE16r, aluGE32r, aluEI8r, aluEI16r, aluEI32r,
  addEG32r, addGE32r, addEI32r, orEG32r, orGE32r, orEI32r, andEG32r, andGE32r, andEI32r,
  subEG32r, subGE32r, subEI32r, xorEG32r, xorGE32r, xorEI32r, cmpEG32r, cmpGE32r, cmpEI32r,
  testEG32r, testGE32r, testEI32r, incReg32, incReg16, imul3r32, imul2r32, cbw, cwde, cwd, cdq,
];

export const ALU_FACTORIES: Record<string, HandlerFactory> = {
  add: aluFactory, or: aluFactory, adc: aluFactory, sbb: aluFactory, and: aluFactory,
  sub: aluFactory, xor: aluFactory, cmp: aluFactory, test: aluFactory,
  inc: incFactory, dec: incFactory,
  not: sized(notE), neg: sized(negE),
  mul: sized(mul1), imul1: sized(imul1),
  imul2: (row, i, o32) => { i.imm2 = sizeOf(row.size, o32); return i.imm2 === 4 && i.mem === 0 ? imul2r32 : imul2; },
  imul3: (row, i, o32) => { i.imm2 = sizeOf(row.size, o32); return i.imm2 === 4 && i.mem === 0 ? imul3r32 : imul3; },
  div: sized(div1), idiv: sized(idiv1),
  daa: () => daa, das: () => das, aaa: () => aaa, aas: () => aas, aam: () => aam, aad: () => aad,
  cbw: (_r, _i, o32) => (o32 ? cwde : cbw),
  cwd: (_r, _i, o32) => (o32 ? cdq : cwd),
};

