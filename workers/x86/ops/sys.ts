/*
 * System and I/O instructions as the handlers see them: IN/OUT, CLI/STI, HLT, the
 * descriptor-table and task registers (SGDT SIDT LGDT LIDT SLDT STR LLDT LTR), SMSW/LMSW,
 * LAR LSL VERR VERW ARPL, MOV to and from CRn/DRn, CLTS, INVLPG, INVD/WBINVD, CPUID, RDTSC,
 * WAIT, the x87 escapes and UD2. The rules (privilege, IOPL, the I/O bitmap, descriptor
 * checks) live in system.ts; these handlers fetch the operands, call it, store the results
 * and let the CPU refresh its cached views. Next: registry.ts.
 */

import type { Cpu } from '../cpu';
import type { HandlerFactory, Insn } from '../decoder';
import * as opcodesModule from '../opcodes';
import * as flagsModule from '../flags';
import * as sys from '../system';
import * as operandModule from './operand';

// Imported bindings copied to module constants: some module loaders turn every read
// of an imported name into a getter call, too slow for the per-instruction paths.
const { ATTR_NOREAL, ZF } = opcodesModule;
const { materialise } = flagsModule;
const { getReg, readE, rmwRead, rmwWrite, setReg, sizeOf, writeE } = operandModule;

const CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR4_TSD = 4;

function setZF(c: Cpu, on: boolean): void {
  materialise(c);
  c.flags = on ? c.flags | ZF : c.flags & ~ZF;
}

// ---- I/O ports --------------------------------------------------------------------------------
function inOp(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const port = i.aux !== 0 ? c.regs[2] & 0xffff : i.imm & 0xff;
  sys.checkIo(c, port, size);
  const v = size === 1 ? c.io.in8(port) : size === 2 ? c.io.in16(port) : c.io.in32(port);
  setReg(c, 0, size, v);
  c.ioDone();
}
function outOp(c: Cpu, i: Insn): void {
  const size = i.imm2;
  const port = i.aux !== 0 ? c.regs[2] & 0xffff : i.imm & 0xff;
  sys.checkIo(c, port, size);
  const v = getReg(c, 0, size);
  if (size === 1) c.io.out8(port, v & 0xff);
  else if (size === 2) c.io.out16(port, v & 0xffff);
  else c.io.out32(port, v);
  c.ioDone();
}

// ---- interrupts flag, HLT -----------------------------------------------------------------------
function cli(c: Cpu): void { sys.cli(c); c.afterSystem(); }
function sti(c: Cpu): void { sys.sti(c); c.afterSystem(); }
function hlt(c: Cpu): void { sys.hlt(c); c.afterSystem(); }

// ---- x87 absence --------------------------------------------------------------------------------
function fpu(c: Cpu): void {
  if ((c.cr0 & (CR0_EM | CR0_TS)) !== 0) c.raise(7);
  c.raise(6);
}
function wait(c: Cpu): void {
  if ((c.cr0 & (CR0_TS | CR0_MP)) === (CR0_TS | CR0_MP)) c.raise(7);
}

// ---- descriptor tables ---------------------------------------------------------------------------
function storeDt(c: Cpu, i: Insn, base: number, limit: number): void {
  const off = i.ea(c, i);
  const next = (i.pfx & 2) !== 0 ? (off + 2) | 0 : (off + 2) & 0xffff;
  c.writeMem16(i.seg, off, limit);
  c.writeMem32(i.seg, next, (i.pfx & 1) !== 0 ? base : base & 0xffffff);
}
function sgdt(c: Cpu, i: Insn): void { storeDt(c, i, c.gdtrBase, c.gdtrLimit); }
function sidt(c: Cpu, i: Insn): void { storeDt(c, i, c.idtrBase, c.idtrLimit); }
let dtBase = 0, dtLimit = 0;
function loadDtOperand(c: Cpu, i: Insn): void {
  sys.requireRing0(c);
  const off = i.ea(c, i);
  const next = (i.pfx & 2) !== 0 ? (off + 2) | 0 : (off + 2) & 0xffff;
  dtLimit = c.readMem16(i.seg, off);
  dtBase = c.readMem32(i.seg, next);
  if ((i.pfx & 1) === 0) dtBase &= 0xffffff;
}
function lgdt(c: Cpu, i: Insn): void { loadDtOperand(c, i); sys.lgdt(c, dtBase, dtLimit); c.afterSystem(); }
function lidt(c: Cpu, i: Insn): void { loadDtOperand(c, i); sys.lidt(c, dtBase, dtLimit); c.afterSystem(); }

/** SLDT/STR/SMSW: a register destination with 32-bit operand size takes the whole value. */
function storeSel(c: Cpu, i: Insn, v: number): void {
  if (i.mem === 0 && (i.pfx & 1) !== 0) c.regs[i.rm] = v;
  else writeE(c, i, 2, v);
}
function sldt(c: Cpu, i: Insn): void { storeSel(c, i, c.ldtr & 0xffff); }
function str(c: Cpu, i: Insn): void { storeSel(c, i, c.tr & 0xffff); }
function smsw(c: Cpu, i: Insn): void { storeSel(c, i, i.mem === 0 && (i.pfx & 1) !== 0 ? c.cr0 : c.cr0 & 0xffff); }
function lldt(c: Cpu, i: Insn): void { sys.requireRing0(c); sys.lldt(c, readE(c, i, 2)); c.afterSystem(); }
function ltr(c: Cpu, i: Insn): void { sys.requireRing0(c); sys.ltr(c, readE(c, i, 2)); c.afterSystem(); }
function lmsw(c: Cpu, i: Insn): void { sys.requireRing0(c); sys.lmsw(c, readE(c, i, 2)); c.afterSystem(); }

function verr(c: Cpu, i: Insn): void { setZF(c, sys.verr(c, readE(c, i, 2)) !== -1); }
function verw(c: Cpu, i: Insn): void { setZF(c, sys.verw(c, readE(c, i, 2)) !== -1); }
function lar(c: Cpu, i: Insn): void {
  const v = sys.lar(c, readE(c, i, 2));
  if (v === -1) { setZF(c, false); return; }
  setReg(c, i.reg, i.imm2, v);
  setZF(c, true);
}
function lsl(c: Cpu, i: Insn): void {
  const v = sys.lsl(c, readE(c, i, 2));
  if (v === -1) { setZF(c, false); return; }
  setReg(c, i.reg, i.imm2, v);
  setZF(c, true);
}
/** ARPL: a read-modify-write of its destination (write intent even when nothing changes). */
function arpl(c: Cpu, i: Insn): void {
  const d = rmwRead(c, i, 2);
  const s = c.regs[i.reg] & 3;
  if ((d & 3) < s) {
    rmwWrite(c, i, 2, (d & ~3) | s);
    setZF(c, true);
  } else setZF(c, false);
}

// ---- control and debug registers, caches, TLB -------------------------------------------------------
function movFromCr(c: Cpu, i: Insn): void { c.regs[i.rm] = sys.movFromCr(c, i.reg); }
function movToCr(c: Cpu, i: Insn): void { sys.movToCr(c, i.reg, c.regs[i.rm]); c.afterSystem(); }
function movFromDr(c: Cpu, i: Insn): void { c.regs[i.rm] = sys.movFromDr(c, i.reg); }
function movToDr(c: Cpu, i: Insn): void { sys.movToDr(c, i.reg, c.regs[i.rm]); c.afterSystem(); }
function clts(c: Cpu): void { sys.clts(c); c.afterSystem(); }
function invd(c: Cpu): void { sys.requireRing0(c); }
function invlpg(c: Cpu, i: Insn): void {
  sys.requireRing0(c);
  sys.invlpg(c, (c.segBase[i.seg] + i.ea(c, i)) | 0);
  c.afterSystem();
}

// ---- identification and time -----------------------------------------------------------------------
/** "ParavirtLab " as the three vendor dwords EBX, EDX, ECX. */
const VENDOR = 'ParavirtLab ';
function vendorDword(k: number): number {
  let v = 0;
  for (let b = 0; b < 4; b++) v |= VENDOR.charCodeAt(k * 4 + b) << (8 * b);
  return v;
}
/** CPUID leaf 1: family 4, model 8, stepping 0; EDX features: PSE (bit 3) and TSC (bit 4); no FPU. */
export const CPUID_SIGNATURE = 0x0480;
export const CPUID_FEATURES = (1 << 3) | (1 << 4);
function cpuid(c: Cpu): void {
  const r = c.regs;
  switch (r[0]) {
    case 0:
      r[0] = 1; r[3] = vendorDword(0); r[2] = vendorDword(1); r[1] = vendorDword(2);
      break;
    case 1:
      r[0] = CPUID_SIGNATURE; r[3] = 0; r[1] = 0; r[2] = CPUID_FEATURES;
      break;
    default:
      r[0] = 0; r[1] = 0; r[2] = 0; r[3] = 0;
  }
}
function rdtsc(c: Cpu): void {
  if ((c.cr4 & CR4_TSD) !== 0 && c.cpl !== 0 && (c.cr0 & 1) !== 0) c.raise(13, 0);
  const t = c.cycles;
  c.regs[0] = t | 0;
  c.regs[2] = Math.floor(t / 4294967296) | 0;
}
function ud2(c: Cpu): void { c.raise(6); }

/** Wraps a handler for rows invalid in real mode (#UD there). */
function noReal(h: (c: Cpu, i: Insn) => void): (c: Cpu, i: Insn) => void {
  return (c, i) => {
    if ((c.cr0 & 1) === 0) c.raise(6);
    h(c, i);
  };
}
const WRAPPED = new Map<(c: Cpu, i: Insn) => void, (c: Cpu, i: Insn) => void>();
function f(h: (c: Cpu, i: Insn) => void): HandlerFactory {
  return (row, i, o32) => {
    i.imm2 = sizeOf(row.size, o32);
    if ((row.attrs & ATTR_NOREAL) === 0) return h;
    let w = WRAPPED.get(h);
    if (w === undefined) { w = noReal(h); WRAPPED.set(h, w); }
    return w;
  };
}

export const SYS_FACTORIES: Record<string, HandlerFactory> = {
  in: (row, i, o32) => { i.imm2 = sizeOf(row.size, o32); i.aux = row.operands[1] === 'DX' ? 1 : 0; return inOp; },
  out: (row, i, o32) => { i.imm2 = sizeOf(row.size, o32); i.aux = row.operands[0] === 'DX' ? 1 : 0; return outOp; },
  cli: f(cli), sti: f(sti), hlt: f(hlt), wait: f(wait), fpu: f(fpu),
  sgdt: f(sgdt), sidt: f(sidt), lgdt: f(lgdt), lidt: f(lidt),
  sldt: f(sldt), str: f(str), lldt: f(lldt), ltr: f(ltr), smsw: f(smsw), lmsw: f(lmsw),
  verr: f(verr), verw: f(verw), lar: f(lar), lsl: f(lsl), arpl: f(arpl),
  mov_from_cr: f(movFromCr), mov_to_cr: f(movToCr), mov_from_dr: f(movFromDr), mov_to_dr: f(movToDr),
  clts: f(clts), invd: f(invd), wbinvd: f(invd), invlpg: f(invlpg),
  cpuid: f(cpuid), rdtsc: f(rdtsc), ud2: f(ud2),
};
