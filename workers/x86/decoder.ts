/*
 * The decoder: bytes at CS:EIP -> one decoded record (an Insn). It reads prefixes, the
 * opcode (one- or two-byte map), ModRM, SIB, displacement and immediates as the opcode
 * table (opcodes.ts) says, and picks the record's handler once, here, from the row's
 * semantic key, its operand size and whether the r/m operand is a register or memory.
 * The CPU caches records per physical page (cpu.ts), so each instruction is decoded once
 * and then only run. Next: ops/registry.ts, where semantic keys become handlers.
 */

import {
  ATTR_LOCK, HAS_MODRM, OPCODE_ROWS, ROW_INDEX, SEG_PREFIX, type OpcodeRow,
} from './opcodes';
import type { Cpu } from './cpu';
import type { Block } from './jit/blocks';

export type Handler = (cpu: Cpu, i: Insn) => void;
export type EaFn = (cpu: Cpu, i: Insn) => number;

/** Insn.pfx bits. */
export const P_O32 = 1;
export const P_A32 = 2;
export const P_REP = 4; // F3
export const P_REPNE = 8; // F2
export const P_LOCK = 16;
export const P_SEGOVR = 32;

/**
 * One decoded instruction. Every record has exactly these fields, all numbers but the two
 * functions, so the hot loop sees one hidden class.
 */
export class Insn {
  handler: Handler = udHandler;
  /** Effective-address function for a memory operand (offset within segment `seg`). */
  ea: EaFn = eaNone;
  /** Length in bytes (prefixes included). */
  len = 0;
  /** Prefix bits (P_*), with the effective operand/address size as P_O32/P_A32. */
  pfx = 0;
  /** ModRM reg field (or the +r register). */
  reg = 0;
  /** ModRM r/m register number when mod = 3. */
  rm = 0;
  /** 1 when the r/m operand is memory. */
  mem = 0;
  /** Memory operand: base and index register (-1 none), scale shift, displacement. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** Segment register index for the memory operand / string source. */
  seg = 3;
  /** First and second immediate (Ap: offset, selector; ENTER: size, level). */
  imm = 0;
  imm2 = 0;
  /** Handler-specific small number (ALU op, condition code, segment register, ...). */
  aux = 0;
  /** Index of the opcode-table row (for the disassembly view and errors). */
  row = -1;
  /** Times this cached record started an instruction in the run loop (hotness). */
  hits = 0;
  /** The translated block starting at this record, if any (jit/blocks.ts). */
  block: Block | null = null;

  copyFrom(o: Insn): void {
    this.handler = o.handler; this.ea = o.ea; this.len = o.len; this.pfx = o.pfx;
    this.reg = o.reg; this.rm = o.rm; this.mem = o.mem; this.base = o.base; this.index = o.index;
    this.scale = o.scale; this.disp = o.disp; this.seg = o.seg; this.imm = o.imm; this.imm2 = o.imm2;
    this.aux = o.aux; this.row = o.row;
  }
}

export function udHandler(cpu: Cpu): void {
  cpu.raise(6);
}
export function eaNone(): number {
  return 0;
}

// ---- Effective addresses ------------------------------------------------------------------
function ea16Disp(_c: Cpu, i: Insn): number { return i.disp & 0xffff; }
function ea16Base(c: Cpu, i: Insn): number { return (c.regs[i.base] + i.disp) & 0xffff; }
function ea16BaseIndex(c: Cpu, i: Insn): number { return (c.regs[i.base] + c.regs[i.index] + i.disp) & 0xffff; }
function ea32Disp(_c: Cpu, i: Insn): number { return i.disp; }
function ea32Base(c: Cpu, i: Insn): number { return (c.regs[i.base] + i.disp) | 0; }
function ea32BaseIndex(c: Cpu, i: Insn): number { return (c.regs[i.base] + (c.regs[i.index] << i.scale) + i.disp) | 0; }
function ea32Index(c: Cpu, i: Insn): number { return ((c.regs[i.index] << i.scale) + i.disp) | 0; }

const MODRM16_BASE = [3, 3, 5, 5, 6, 7, 5, 3]; // BX+SI BX+DI BP+SI BP+DI SI DI BP BX
const MODRM16_INDEX = [6, 7, 6, 7, -1, -1, -1, -1];

/** Chooses a handler for a row: supplied by ops/registry.ts (set once at startup). */
export type HandlerFactory = (row: OpcodeRow, i: Insn, o32: boolean) => Handler;
let factories: Record<string, HandlerFactory> = {};
export function setHandlerFactories(f: Record<string, HandlerFactory>): void {
  factories = f;
}

/** Source of instruction bytes: byte at offset k from the instruction start (may fault). */
export interface CodeReader {
  codeByte(k: number): number;
}

/**
 * Decodes one instruction into `i`. `def32` is CS.D. Raises #GP (via the reader) past the
 * CS limit, #PF on an unmapped page, #UD on an undefined opcode (as the record's handler,
 * so the fault happens when it runs), and #GP(0) past 15 bytes.
 */
export function decode(rd: CodeReader, def32: boolean, i: Insn): void {
  let k = 0;
  let pfx = 0;
  let seg = -1;
  let b = rd.codeByte(k++);
  for (;;) {
    if (b === 0x66) pfx |= P_O32;
    else if (b === 0x67) pfx |= P_A32;
    else if (b === 0xf3) pfx = (pfx & ~P_REPNE) | P_REP;
    else if (b === 0xf2) pfx = (pfx & ~P_REP) | P_REPNE;
    else if (b === 0xf0) pfx |= P_LOCK;
    else {
      const s = SEG_PREFIX.get(b);
      if (s === undefined) break;
      seg = s;
      pfx |= P_SEGOVR;
    }
    if (k >= 15) { rd.codeByte(15); throw tooLong(rd); }
    b = rd.codeByte(k++);
  }
  // The prefix bits 66/67 toggle the default size.
  const o32 = def32 !== ((pfx & P_O32) !== 0);
  const a32 = def32 !== ((pfx & P_A32) !== 0);
  pfx = (pfx & ~(P_O32 | P_A32)) | (o32 ? P_O32 : 0) | (a32 ? P_A32 : 0);
  let code = b;
  if (b === 0x0f) code = 0x100 | rd.codeByte(k++);

  i.pfx = pfx;
  i.reg = code & 7;
  i.rm = 0;
  i.mem = 0;
  i.base = -1;
  i.index = -1;
  i.scale = 0;
  i.disp = 0;
  i.seg = seg < 0 ? 3 : seg;
  i.imm = 0;
  i.imm2 = 0;
  i.aux = 0;
  i.ea = eaNone;

  let modrm = -1;
  if (HAS_MODRM[code] !== 0) {
    modrm = rd.codeByte(k++);
    // MOV to/from CRn/DRn (0F 20-23) ignore mod: the r/m operand is always a register.
    const mod = code >= 0x120 && code <= 0x123 ? 3 : modrm >> 6;
    const rm = modrm & 7;
    i.reg = (modrm >> 3) & 7;
    i.rm = rm;
    if (mod !== 3) {
      i.mem = 1;
      let defSS = false;
      if (!a32) {
        if (mod === 0 && rm === 6) {
          i.disp = rd.codeByte(k) | (rd.codeByte(k + 1) << 8);
          k += 2;
          i.ea = ea16Disp;
        } else {
          i.base = MODRM16_BASE[rm];
          i.index = MODRM16_INDEX[rm];
          defSS = i.base === 5;
          if (mod === 1) { i.disp = (rd.codeByte(k++) << 24) >> 24; }
          else if (mod === 2) { i.disp = rd.codeByte(k) | (rd.codeByte(k + 1) << 8); k += 2; }
          i.ea = i.index >= 0 ? ea16BaseIndex : ea16Base;
        }
      } else {
        let base = rm;
        let index = -1;
        if (rm === 4) {
          const sib = rd.codeByte(k++);
          base = sib & 7;
          index = (sib >> 3) & 7;
          if (index === 4) index = -1;
          i.scale = sib >> 6;
        }
        if (base === 5 && mod === 0) {
          base = -1;
          i.disp = read32(rd, k);
          k += 4;
        } else {
          defSS = base === 4 || base === 5;
          if (mod === 1) i.disp = (rd.codeByte(k++) << 24) >> 24;
          else if (mod === 2) { i.disp = read32(rd, k); k += 4; }
        }
        i.base = base;
        i.index = index;
        i.ea = base < 0 ? (index < 0 ? ea32Disp : ea32Index) : (index < 0 ? ea32Base : ea32BaseIndex);
      }
      if (seg < 0 && defSS) i.seg = 2;
    }
  }

  const ri = ROW_INDEX[code * 8 + i.reg];
  if (ri === 0) {
    i.row = -1;
    i.len = k;
    i.handler = udHandler;
    return;
  }
  const row = OPCODE_ROWS[ri - 1];
  i.row = row.index;
  if (row.plusR) i.reg = code & 7;

  // Immediates, in operand order: the first goes to imm, a second (ENTER's level) to imm2.
  let slot = 0;
  for (const op of row.operands) {
    let v: number;
    switch (op) {
      case 'Ib':
        v = rd.codeByte(k++);
        break;
      case 'Ibs': case 'Jb':
        v = (rd.codeByte(k++) << 24) >> 24;
        break;
      case 'Iw':
        v = rd.codeByte(k) | (rd.codeByte(k + 1) << 8);
        k += 2;
        break;
      case 'Iz': case 'Iv': case 'Jz':
        if (o32) { v = read32(rd, k); k += 4; }
        else {
          v = rd.codeByte(k) | (rd.codeByte(k + 1) << 8);
          if (op === 'Jz') v = (v << 16) >> 16;
          k += 2;
        }
        break;
      case 'Ob': case 'Ov':
        if (a32) { i.disp = read32(rd, k); k += 4; i.ea = ea32Disp; }
        else { i.disp = rd.codeByte(k) | (rd.codeByte(k + 1) << 8); k += 2; i.ea = ea16Disp; }
        i.mem = 1;
        continue;
      case 'Ap':
        if (o32) { i.imm = read32(rd, k); k += 4; }
        else { i.imm = rd.codeByte(k) | (rd.codeByte(k + 1) << 8); k += 2; }
        i.imm2 = rd.codeByte(k) | (rd.codeByte(k + 1) << 8);
        k += 2;
        continue;
      default:
        continue;
    }
    if (slot++ === 0) i.imm = v; else i.imm2 = v;
  }
  if (k > 15) throw tooLong(rd);
  i.len = k;

  const f = factories[row.sem];
  let h: Handler = f === undefined ? udHandler : f(row, i, o32);
  // A memory-only operand with mod = 3 is #UD (LEA, LDS, LGDT, INVLPG, BOUND, ...).
  if (i.mem === 0 && modrm >= 0 && (row.operands.includes('M') || row.operands.some((o) => o.length > 1 && o[0] === 'M'))) h = udHandler;
  // LOCK only on lockable instructions with a memory destination.
  if ((pfx & P_LOCK) !== 0 && ((row.attrs & ATTR_LOCK) === 0 || i.mem === 0)) h = udHandler;
  i.handler = h;
}

function read32(rd: CodeReader, k: number): number {
  return rd.codeByte(k) | (rd.codeByte(k + 1) << 8) | (rd.codeByte(k + 2) << 16) | (rd.codeByte(k + 3) << 24);
}

function tooLong(rd: CodeReader): Error {
  (rd as unknown as Cpu).raise(13, 0);
  return new Error('unreachable');
}
