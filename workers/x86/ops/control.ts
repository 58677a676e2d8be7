/*
 * Control transfer: Jcc, JMP and CALL (relative, indirect, far), RET/RETF, LOOP/LOOPE/
 * LOOPNE/JCXZ, INT n/INT3/INTO and IRET. Near transfers are done here: the target is
 * EIP (already advanced past the instruction) plus the displacement, truncated to 16 bits
 * with a 16-bit operand size, and checked against the CS limit (#GP(0)) before anything
 * changes. Far transfers, interrupts and IRET belong to system.ts (privilege checks, call
 * gates, ring switches); after them the CPU refreshes its cached views (afterSystem).
 * Next: string.ts.
 */

import type { Cpu } from '../cpu';
import type { Handler, HandlerFactory, Insn } from '../decoder';
import * as flagsModule from '../flags';
import * as sys from '../system';
import { SoftKind } from '../system';
import * as operandModule from './operand';

// Imported bindings copied to module constants: some module loaders turn every read
// of an imported name into a getter call, too slow for the per-instruction paths.
const { getCF, getOF, getSF, getZF, testCC } = flagsModule;
const { readE } = operandModule;

function jumpTo(c: Cpu, target: number): void {
  if (target > (c.segLimit[1] >>> 0)) c.raise(13, 0);
  c.eip = target;
}

function jcc16(c: Cpu, i: Insn): void {
  if (testCC(c, i.aux)) jumpTo(c, (c.eip + i.imm) & 0xffff);
}
/** 32-bit Jcc, one function per condition (no condition switch on the hot path). */
function jcc32_0(c: Cpu, i: Insn): void { if (getOF(c) !== 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_1(c: Cpu, i: Insn): void { if (getOF(c) === 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_2(c: Cpu, i: Insn): void { if (getCF(c) !== 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_3(c: Cpu, i: Insn): void { if (getCF(c) === 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_4(c: Cpu, i: Insn): void { if (getZF(c) !== 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_5(c: Cpu, i: Insn): void { if (getZF(c) === 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_6(c: Cpu, i: Insn): void { if (getCF(c) !== 0 || getZF(c) !== 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_7(c: Cpu, i: Insn): void { if (getCF(c) === 0 && getZF(c) === 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_8(c: Cpu, i: Insn): void { if (getSF(c) !== 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_9(c: Cpu, i: Insn): void { if (getSF(c) === 0) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_a(c: Cpu, i: Insn): void { if (testCC(c, 10)) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_b(c: Cpu, i: Insn): void { if (testCC(c, 11)) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_c(c: Cpu, i: Insn): void { if ((getSF(c) !== 0) !== (getOF(c) !== 0)) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_d(c: Cpu, i: Insn): void { if ((getSF(c) !== 0) === (getOF(c) !== 0)) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_e(c: Cpu, i: Insn): void { if (getZF(c) !== 0 || (getSF(c) !== 0) !== (getOF(c) !== 0)) jumpTo(c, (c.eip + i.imm) >>> 0); }
function jcc32_f(c: Cpu, i: Insn): void { if (getZF(c) === 0 && (getSF(c) !== 0) === (getOF(c) !== 0)) jumpTo(c, (c.eip + i.imm) >>> 0); }
const JCC32 = [jcc32_0, jcc32_1, jcc32_2, jcc32_3, jcc32_4, jcc32_5, jcc32_6, jcc32_7, jcc32_8, jcc32_9, jcc32_a, jcc32_b, jcc32_c, jcc32_d, jcc32_e, jcc32_f];
function jmpRel32(c: Cpu, i: Insn): void { jumpTo(c, (c.eip + i.imm) >>> 0); }
function jmpRel16(c: Cpu, i: Insn): void { jumpTo(c, (c.eip + i.imm) & 0xffff); }
function jmpE32(c: Cpu, i: Insn): void { jumpTo(c, readE(c, i, 4) >>> 0); }
function jmpE16(c: Cpu, i: Insn): void { jumpTo(c, readE(c, i, 2)); }

function callRel32(c: Cpu, i: Insn): void {
  const t = (c.eip + i.imm) >>> 0;
  if (t > (c.segLimit[1] >>> 0)) c.raise(13, 0);
  c.push32(c.eip);
  c.eip = t;
}
function callRel16(c: Cpu, i: Insn): void {
  const t = (c.eip + i.imm) & 0xffff;
  if (t > (c.segLimit[1] >>> 0)) c.raise(13, 0);
  c.push16(c.eip);
  c.eip = t;
}
function callE32(c: Cpu, i: Insn): void {
  const t = readE(c, i, 4) >>> 0;
  if (t > (c.segLimit[1] >>> 0)) c.raise(13, 0);
  c.push32(c.eip);
  c.eip = t;
}
function callE16(c: Cpu, i: Insn): void {
  const t = readE(c, i, 2);
  if (t > (c.segLimit[1] >>> 0)) c.raise(13, 0);
  c.push16(c.eip);
  c.eip = t;
}

/** Near jumps and calls to EIP + imm: jit/blocks.ts may continue a block at the target. */
export const DIRECT_TRANSFERS: readonly Handler[] = [jmpRel32, jmpRel16, callRel32, callRel16];

function ret32(c: Cpu, i: Insn): void {
  const t = c.peekStack(0, 4) >>> 0;
  if (t > (c.segLimit[1] >>> 0)) c.raise(13, 0);
  c.addSp(4 + i.imm);
  c.eip = t;
}
function ret16(c: Cpu, i: Insn): void {
  const t = c.peekStack(0, 2);
  if (t > (c.segLimit[1] >>> 0)) c.raise(13, 0);
  c.addSp(2 + i.imm);
  c.eip = t;
}
/** The relative calls among DIRECT_TRANSFERS, and the near returns (a block may predict a return). */
export const DIRECT_CALLS: readonly Handler[] = [callRel32, callRel16];
export const NEAR_RETURNS: readonly Handler[] = [ret32, ret16];

// ---- far transfers (system.ts) ------------------------------------------------------------
function jmpFarAp(c: Cpu, i: Insn): void {
  sys.farJump(c, i.imm2, o32(i) ? i.imm >>> 0 : i.imm & 0xffff, o32(i));
  c.afterSystem();
}
function callFarAp(c: Cpu, i: Insn): void {
  sys.farCall(c, i.imm2, o32(i) ? i.imm >>> 0 : i.imm & 0xffff, o32(i));
  c.afterSystem();
}
/** Reads the m16:16 / m16:32 far pointer operand into farOff / farSel. */
let farOff = 0, farSel = 0;
function readFarPtr(c: Cpu, i: Insn): void {
  const off = i.ea(c, i);
  const size = o32(i) ? 4 : 2;
  farOff = size === 4 ? c.readMem32(i.seg, off) >>> 0 : c.readMem16(i.seg, off);
  const next = (i.pfx & 2) !== 0 ? (off + size) | 0 : (off + size) & 0xffff;
  farSel = c.readMem16(i.seg, next);
}
function jmpFarM(c: Cpu, i: Insn): void {
  readFarPtr(c, i);
  sys.farJump(c, farSel, farOff, o32(i));
  c.afterSystem();
}
function callFarM(c: Cpu, i: Insn): void {
  readFarPtr(c, i);
  sys.farCall(c, farSel, farOff, o32(i));
  c.afterSystem();
}
function retf(c: Cpu, i: Insn): void {
  sys.farReturn(c, o32(i), i.imm & 0xffff);
  c.afterSystem();
}
function iret(c: Cpu, i: Insn): void {
  sys.iret(c, o32(i));
  c.afterSystem();
}

function o32(i: Insn): boolean {
  return (i.pfx & 1) !== 0;
}

// ---- LOOP family (the counter is CX or ECX by address size) -------------------------------
function loopCommon(c: Cpu, i: Insn, cond: number): void {
  const r = c.regs;
  let n: number;
  if ((i.pfx & 2) !== 0) { n = (r[1] - 1) | 0; r[1] = n; }
  else { n = (r[1] - 1) & 0xffff; r[1] = (r[1] & ~0xffff) | n; }
  if (n === 0) return;
  if (cond === 1 && getZF(c) === 0) return;
  if (cond === 2 && getZF(c) !== 0) return;
  jumpTo(c, o32(i) ? (c.eip + i.imm) >>> 0 : (c.eip + i.imm) & 0xffff);
}
function loop(c: Cpu, i: Insn): void { loopCommon(c, i, 0); }
function loope(c: Cpu, i: Insn): void { loopCommon(c, i, 1); }
function loopne(c: Cpu, i: Insn): void { loopCommon(c, i, 2); }
function jcxz(c: Cpu, i: Insn): void {
  const n = (i.pfx & 2) !== 0 ? c.regs[1] : c.regs[1] & 0xffff;
  if (n === 0) jumpTo(c, o32(i) ? (c.eip + i.imm) >>> 0 : (c.eip + i.imm) & 0xffff);
}

// ---- software interrupts --------------------------------------------------------------------
function intN(c: Cpu, i: Insn): void {
  sys.deliverSoftware(c, i.imm & 0xff, c.eip, SoftKind.IntN);
  c.afterSystem();
}
function int3(c: Cpu): void {
  sys.deliverSoftware(c, 3, c.eip, SoftKind.Int3);
  c.afterSystem();
}
function into(c: Cpu): void {
  if (getOF(c) === 0) return;
  sys.deliverSoftware(c, 4, c.eip, SoftKind.Into);
  c.afterSystem();
}

export const CONTROL_FACTORIES: Record<string, HandlerFactory> = {
  jcc: (row, i, o32v) => {
    i.aux = row.byte & 15;
    // Jb and Jz alike: with a 16-bit operand size the target wraps at 64 KiB.
    return o32v ? JCC32[i.aux] : jcc16;
  },
  jmp: (row, i, o32v) => {
    if (row.operands[0][0] === 'J') return o32v ? jmpRel32 : jmpRel16;
    return o32v ? jmpE32 : jmpE16;
  },
  call: (row, _i, o32v) => {
    if (row.operands[0][0] === 'J') return o32v ? callRel32 : callRel16;
    return o32v ? callE32 : callE16;
  },
  ret: (_row, _i, o32v) => (o32v ? ret32 : ret16),
  retf: () => retf,
  iret: () => iret,
  jmp_far: (row) => (row.operands[0] === 'Ap' ? jmpFarAp : jmpFarM),
  call_far: (row) => (row.operands[0] === 'Ap' ? callFarAp : callFarM),
  loop: () => loop, loope: () => loope, loopne: () => loopne, jcxz: () => jcxz,
  int: () => intN, int3: () => int3, into: () => into,
};
