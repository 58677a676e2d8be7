/*
 * Data movement: MOV in all its forms (registers, memory, immediates, moffs, segment
 * registers), LEA, XCHG, MOVZX/MOVSX, the stack (PUSH/POP of registers, memory, immediates
 * and segment registers, PUSHA/POPA, PUSHF/POPF, ENTER/LEAVE), LAHF/SAHF, XLAT, the far
 * pointer loads (LDS LES LSS LFS LGS), SETcc, CMPXCHG, XADD, BOUND and the flag bit
 * instructions (CLC STC CMC CLD STD). Segment register loads go through system.loadSeg,
 * which applies the protected-mode descriptor checks. Next: control.ts.
 */

import type { Cpu } from '../cpu';
import type { Handler, HandlerFactory, Insn } from '../decoder';
import * as opcodesModule from '../opcodes';
import * as flagsModule from '../flags';
import * as sys from '../system';
import * as operandModule from './operand';

// Imported bindings copied to module constants: some module loaders turn every read
// of an imported name into a getter call, too slow for the per-instruction paths.
const { AF, CF, DF, OSZAPC, PF, SF, VM, RF, ZF } = opcodesModule;
const { K_ADD, K_SUB, materialise, testCC } = flagsModule;
const { getReg, readE, rmwRead, rmwWrite, setReg, setReg16, setReg8, signBit, sizeOf, writeE } = operandModule;

// ---- MOV ----------------------------------------------------------------------------------
function movRR32(c: Cpu, i: Insn): void { c.regs[i.rm] = c.regs[i.reg]; }
function movRR32rev(c: Cpu, i: Insn): void { c.regs[i.reg] = c.regs[i.rm]; }
function movGM32(c: Cpu, i: Insn): void { c.regs[i.reg] = c.readMem32(i.seg, i.ea(c, i)); }
function movMG32(c: Cpu, i: Insn): void { c.writeMem32(i.seg, i.ea(c, i), c.regs[i.reg]); }
function movRI32(c: Cpu, i: Insn): void { c.regs[i.reg] = i.imm; }
function movMI32(c: Cpu, i: Insn): void { c.writeMem32(i.seg, i.ea(c, i), i.imm); }
/** Generic: E <- G, size imm2. */
function movEG(c: Cpu, i: Insn): void { writeE(c, i, i.imm2, getReg(c, i.reg, i.imm2)); }
/** Generic: G <- E. */
function movGE(c: Cpu, i: Insn): void { setReg(c, i.reg, i.imm2, readE(c, i, i.imm2)); }

const movFactory: HandlerFactory = (row, i, o32) => {
  const size = sizeOf(row.size, o32);
  i.imm2 = size;
  const [d, s] = row.operands;
  if (d === 'AL' || d === 'eAX') { i.reg = 0; return size === 4 ? movGM32 : movGE; }
  if (s === 'AL' || s === 'eAX') { i.reg = 0; return size === 4 ? movMG32 : movEG; }
  if (d[0] === 'Z') {
    if (size === 4) return movRI32;
    return size === 1 ? movZb : movZw;
  }
  if (s[0] === 'I') {
    if (size === 4) return i.mem !== 0 ? movMI32 : movRImm32;
    return movEImm;
  }
  if (d[0] === 'G') {
    if (size === 4) return i.mem !== 0 ? movGM32 : movRR32rev;
    return movGE;
  }
  if (size === 4) return i.mem !== 0 ? movMG32 : movRR32;
  return movEG;
};
function movZb(c: Cpu, i: Insn): void { setReg8(c, i.reg, i.imm); }
function movZw(c: Cpu, i: Insn): void { setReg16(c, i.reg, i.imm); }
function movRImm32(c: Cpu, i: Insn): void { c.regs[i.rm] = i.imm; }
function movEImm(c: Cpu, i: Insn): void { writeE(c, i, i.imm2, i.imm); }

// MOV Ev,Sw and MOV Sw,Ew.
function movFromSreg(c: Cpu, i: Insn): void {
  const v = c.sreg[i.reg];
  if (i.mem !== 0) c.writeMem16(i.seg, i.ea(c, i), v);
  else if ((i.pfx & 1) !== 0) c.regs[i.rm] = v;
  else setReg16(c, i.rm, v);
}
function movToSreg(c: Cpu, i: Insn): void {
  const v = readE(c, i, 2);
  sys.loadSeg(c, i.reg, v);
  c.afterSystem();
}

// ---- LEA, XCHG, MOVZX, MOVSX --------------------------------------------------------------
function lea32(c: Cpu, i: Insn): void { c.regs[i.reg] = i.ea(c, i); }
function lea16(c: Cpu, i: Insn): void { setReg16(c, i.reg, i.ea(c, i)); }

function xchgAcc(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const a = getReg(c, 0, size);
  setReg(c, 0, size, getReg(c, i.reg, size));
  setReg(c, i.reg, size, a);
}
function xchgEG(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const v = rmwRead(c, i, size);
  const g = getReg(c, i.reg, size);
  rmwWrite(c, i, size, g);
  setReg(c, i.reg, size, v);
}

function movzx(c: Cpu, i: Insn): void { setReg(c, i.reg, i.imm2, readE(c, i, i.aux)); }
function movsx(c: Cpu, i: Insn): void {
  const v = readE(c, i, i.aux);
  setReg(c, i.reg, i.imm2, i.aux === 1 ? (v << 24) >> 24 : (v << 16) >> 16);
}

// ---- the stack ----------------------------------------------------------------------------
function pushReg32(c: Cpu, i: Insn): void { c.push32(c.regs[i.reg]); }
function pushReg16(c: Cpu, i: Insn): void { c.push16(c.regs[i.reg]); }
function popReg32(c: Cpu, i: Insn): void { const v = c.pop32(); c.regs[i.reg] = v; }
function popReg16(c: Cpu, i: Insn): void { const v = c.pop16(); setReg16(c, i.reg, v); }
function pushImm32(c: Cpu, i: Insn): void { c.push32(i.imm); }
function pushImm16(c: Cpu, i: Insn): void { c.push16(i.imm); }
function pushE(c: Cpu, i: Insn): void {
  const v = readE(c, i, i.imm2);
  if (i.imm2 === 4) c.push32(v); else c.push16(v);
}
/** POP Ev: ESP is incremented before the destination address is computed (SDM). */
function popE(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const oldEsp = c.regs[4];
  const v = size === 4 ? c.pop32() : c.pop16();
  try {
    writeE(c, i, size, v);
  } catch (e) {
    c.regs[4] = oldEsp;
    throw e;
  }
}
function pushSreg(c: Cpu, i: Insn): void {
  if (i.imm2 === 4) c.push32(c.sreg[i.aux]); else c.push16(c.sreg[i.aux]);
}
function popSreg(c: Cpu, i: Insn): void {
  const v = c.peekStack(0, i.imm2);
  sys.loadSeg(c, i.aux, v & 0xffff);
  c.addSp(i.imm2);
  c.afterSystem();
}
const SREG_INDEX: Record<string, number> = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 };

function pusha(c: Cpu, i: Insn): void {
  const r = c.regs;
  const sp = r[4];
  const size = i.imm2;
  // Check the whole area first so a fault leaves ESP unchanged.
  const oldEsp = r[4];
  try {
    for (let k = 0; k < 8; k++) {
      const v = k === 4 ? sp : r[k];
      if (size === 4) c.push32(v); else c.push16(v);
    }
  } catch (e) {
    r[4] = oldEsp;
    throw e;
  }
}
function popa(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const vals = POPA_TMP;
  for (let k = 0; k < 8; k++) vals[k] = c.peekStack(k * size, size);
  for (let k = 0; k < 8; k++) {
    const reg = 7 - k;
    if (reg === 4) continue;
    setReg(c, reg, size, vals[k]);
  }
  c.addSp(8 * size);
}
const POPA_TMP = new Int32Array(8);

function pushf(c: Cpu, i: Insn): void {
  const f = c.getEflags() & ~(VM | RF);
  if (i.imm2 === 4) c.push32(f); else c.push16(f);
}
function popf(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const v = c.peekStack(0, size);
  const mask = sys.popfAllowedMask(c, size === 4);
  const old = c.getEflags();
  c.addSp(size);
  c.setEflags((old & ~mask) | (v & mask));
}

function enter(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const alloc = i.imm & 0xffff;
  const level = i.aux & 0x1f;
  const r = c.regs;
  const oldEsp = r[4], oldEbp = r[5];
  try {
    if (size === 4) c.push32(r[5]); else c.push16(r[5]);
    const frameTemp = r[4];
    if (level > 0) {
      let bp = oldEbp;
      for (let k = 1; k < level; k++) {
        bp = c.stack32() ? (bp - size) | 0 : (bp - size) & 0xffff;
        const v = size === 4 ? c.readMem32(2, bp) : c.readMem16(2, bp);
        if (size === 4) c.push32(v); else c.push16(v);
      }
      if (size === 4) c.push32(frameTemp); else c.push16(frameTemp);
    }
    if (size === 4) r[5] = frameTemp; else setReg16(c, 5, frameTemp);
    c.addSp(-alloc);
    // The new stack top must be writable.
    c.probeWrite(c.stack32() ? (c.segBase[2] + r[4]) | 0 : (c.segBase[2] + (r[4] & 0xffff)) | 0, 1);
  } catch (e) {
    r[4] = oldEsp; r[5] = oldEbp;
    throw e;
  }
}
function leave(c: Cpu, i: Insn): void {
  const r = c.regs;
  const oldEsp = r[4];
  if (c.stack32()) r[4] = r[5]; else setReg16(c, 4, r[5]);
  try {
    if (i.imm2 === 4) r[5] = c.pop32(); else setReg16(c, 5, c.pop16());
  } catch (e) {
    r[4] = oldEsp;
    throw e;
  }
}

// ---- flags --------------------------------------------------------------------------------
function sahf(c: Cpu): void {
  materialise(c);
  const ah = (c.regs[0] >> 8) & (SF | ZF | AF | PF | CF);
  c.flags = (c.flags & ~(SF | ZF | AF | PF | CF)) | ah;
}
function lahf(c: Cpu): void {
  setReg8(c, 4, (c.getEflags() & 0xd5) | 2);
}
function clc(c: Cpu): void { c.setCF(0); }
function stc(c: Cpu): void { c.setCF(1); }
function cmc(c: Cpu): void { materialise(c); c.flags ^= CF; }
function cld(c: Cpu): void { c.flags &= ~DF; }
function std(c: Cpu): void { c.flags |= DF; }
function nop(): void {}

// ---- XLAT, LDS..LGS, SETcc ----------------------------------------------------------------
function xlat(c: Cpu, i: Insn): void {
  const off = (i.pfx & 2) !== 0 ? (c.regs[3] + (c.regs[0] & 0xff)) | 0 : (c.regs[3] + (c.regs[0] & 0xff)) & 0xffff;
  setReg8(c, 0, c.readMem8(i.seg, off));
}
function lxs(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const off = i.ea(c, i);
  const v = size === 4 ? c.readMem32(i.seg, off) : c.readMem16(i.seg, off);
  const offSel = (i.pfx & 2) !== 0 ? (off + size) | 0 : (off + size) & 0xffff;
  const sel = c.readMem16(i.seg, offSel);
  sys.loadSeg(c, i.aux, sel);
  setReg(c, i.reg, size, v);
  c.afterSystem();
}
const LXS_SEG: Record<string, number> = { les: 0, lds: 3, lss: 2, lfs: 4, lgs: 5 };

function setcc(c: Cpu, i: Insn): void { writeE(c, i, 1, testCC(c, i.aux) ? 1 : 0); }

// ---- CMPXCHG, XADD, BOUND -----------------------------------------------------------------
function cmpxchg(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const d = rmwRead(c, i, size);
  const acc = getReg(c, 0, size);
  const r = (acc - d) | 0;
  c.lop = K_SUB; c.la = acc; c.lb = d; c.lres = r; c.lsz = signBit(size); c.lazy = OSZAPC;
  if (((acc ^ d) & (size === 4 ? -1 : size === 2 ? 0xffff : 0xff)) === 0) {
    rmwWrite(c, i, size, getReg(c, i.reg, size));
  } else {
    rmwWrite(c, i, size, d);
    setReg(c, 0, size, d);
  }
}
function xadd(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const d = rmwRead(c, i, size);
  const s = getReg(c, i.reg, size);
  const r = (d + s) | 0;
  c.lop = K_ADD; c.la = d; c.lb = s; c.lres = r; c.lsz = signBit(size); c.lazy = OSZAPC;
  setReg(c, i.reg, size, d);
  rmwWrite(c, i, size, r);
}
function bound(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const off = i.ea(c, i);
  const next = (i.pfx & 2) !== 0 ? (off + size) | 0 : (off + size) & 0xffff;
  let lo: number, hi: number, v: number;
  if (size === 4) { lo = c.readMem32(i.seg, off); hi = c.readMem32(i.seg, next); v = c.regs[i.reg]; }
  else { lo = (c.readMem16(i.seg, off) << 16) >> 16; hi = (c.readMem16(i.seg, next) << 16) >> 16; v = (c.regs[i.reg] << 16) >> 16; }
  if (v < lo || v > hi) c.raise(5);
}

function sz(h: Handler): HandlerFactory {
  return (row, i, o32) => { i.imm2 = sizeOf(row.size, o32); return h; };
}

/** Register-only handlers (see ALU_PURE in alu.ts). */
export const DATA_PURE: readonly Handler[] = [
  movRR32, movRR32rev, movRI32, movZb, movZw, movRImm32, lea32, lea16, xchgAcc, clc, stc, cmc, cld, std, nop,
];

export const DATA_FACTORIES: Record<string, HandlerFactory> = {
  mov: movFactory,
  mov_from_sreg: (_row, i) => (i.reg > 5 ? udh : movFromSreg),
  mov_to_sreg: (_row, i) => (i.reg > 5 || i.reg === 1 ? udh : movToSreg),
  lea: (_row, i, o32) => (o32 ? lea32 : lea16),
  xchg: (row, i, o32) => { i.imm2 = sizeOf(row.size, o32); return row.plusR ? xchgAcc : xchgEG; },
  movzx: (row, i, o32) => { i.imm2 = o32 ? 4 : 2; i.aux = row.operands[1] === 'Eb' ? 1 : 2; return movzx; },
  movsx: (row, i, o32) => { i.imm2 = o32 ? 4 : 2; i.aux = row.operands[1] === 'Eb' ? 1 : 2; return movsx; },
  push: (row, i, o32) => {
    i.imm2 = o32 ? 4 : 2;
    if (row.plusR) return o32 ? pushReg32 : pushReg16;
    if (row.operands[0][0] === 'I') return o32 ? pushImm32 : pushImm16;
    return pushE;
  },
  pop: (row, i, o32) => {
    i.imm2 = o32 ? 4 : 2;
    if (row.plusR) return o32 ? popReg32 : popReg16;
    return popE;
  },
  push_sreg: (row, i, o32) => { i.imm2 = o32 ? 4 : 2; i.aux = SREG_INDEX[row.operands[0]]; return pushSreg; },
  pop_sreg: (row, i, o32) => { i.imm2 = o32 ? 4 : 2; i.aux = SREG_INDEX[row.operands[0]]; return popSreg; },
  pusha: sz(pusha), popa: sz(popa), pushf: sz(pushf), popf: sz(popf),
  // The decoder put ENTER's frame size in imm and its nesting level in imm2.
  enter: (_row, i, o32) => { i.aux = i.imm2; i.imm2 = o32 ? 4 : 2; return enter; },
  leave: sz(leave),
  sahf: () => sahf, lahf: () => lahf,
  clc: () => clc, stc: () => stc, cmc: () => cmc, cld: () => cld, std: () => std, nop: () => nop,
  xlat: () => xlat,
  lxs: (row, i, o32) => { i.imm2 = o32 ? 4 : 2; i.aux = LXS_SEG[row.mnemonic]; return lxs; },
  setcc: (row, i) => { i.aux = row.byte & 15; return setcc; },
  cmpxchg: sz(cmpxchg), xadd: sz(xadd), bound: sz(bound),
};

function udh(c: Cpu): void { c.raise(6); }
