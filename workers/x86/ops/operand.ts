/*
 * Operand access, written once: byte/word/dword registers (AL..BH are the low and second
 * bytes of EAX..EBX), and the ModRM r/m operand, register or memory, read, written or
 * read-modify-written. Hot handlers (MOV, ALU, PUSH/POP, Jcc) use specialised register and
 * memory variants chosen at decode time; the rest go through readE/writeE/rmwE here.
 * Sizes are 1, 2 or 4 bytes. Next: alu.ts.
 */

import type { Cpu } from '../cpu';
import type { Insn } from '../decoder';

export function getReg8(c: Cpu, r: number): number {
  return r < 4 ? c.regs[r] & 0xff : (c.regs[r - 4] >> 8) & 0xff;
}
export function setReg8(c: Cpu, r: number, v: number): void {
  if (r < 4) c.regs[r] = (c.regs[r] & ~0xff) | (v & 0xff);
  else c.regs[r - 4] = (c.regs[r - 4] & ~0xff00) | ((v & 0xff) << 8);
}
export function setReg16(c: Cpu, r: number, v: number): void {
  c.regs[r] = (c.regs[r] & ~0xffff) | (v & 0xffff);
}
export function getReg(c: Cpu, r: number, size: number): number {
  return size === 1 ? getReg8(c, r) : size === 2 ? c.regs[r] & 0xffff : c.regs[r];
}
export function setReg(c: Cpu, r: number, size: number, v: number): void {
  if (size === 1) setReg8(c, r, v);
  else if (size === 2) setReg16(c, r, v);
  else c.regs[r] = v;
}

/** Reads the r/m operand. */
export function readE(c: Cpu, i: Insn, size: number): number {
  if (i.mem === 0) return getReg(c, i.rm, size);
  const off = i.ea(c, i);
  return size === 1 ? c.readMem8(i.seg, off) : size === 2 ? c.readMem16(i.seg, off) : c.readMem32(i.seg, off);
}

/** Writes the r/m operand. */
export function writeE(c: Cpu, i: Insn, size: number, v: number): void {
  if (i.mem === 0) { setReg(c, i.rm, size, v); return; }
  const off = i.ea(c, i);
  if (size === 1) c.writeMem8(i.seg, off, v);
  else if (size === 2) c.writeMem16(i.seg, off, v);
  else c.writeMem32(i.seg, off, v);
}

let rmwLinear = 0;

/** First half of a read-modify-write of the r/m operand: checks write access, reads. */
export function rmwRead(c: Cpu, i: Insn, size: number): number {
  if (i.mem === 0) return getReg(c, i.rm, size);
  const lin = c.rmwLin(i.seg, i.ea(c, i), size);
  rmwLinear = lin;
  return size === 1 ? c.readLin8(lin) : size === 2 ? c.readLin16(lin) : c.readLin32(lin);
}

/** Second half: writes the result back where rmwRead read it. */
export function rmwWrite(c: Cpu, i: Insn, size: number, v: number): void {
  if (i.mem === 0) { setReg(c, i.rm, size, v); return; }
  const lin = rmwLinear;
  if (size === 1) c.writeLin8(lin, v);
  else if (size === 2) c.writeLin16(lin, v);
  else c.writeLin32(lin, v);
}

/** Operand size in bytes for a row's size column and the effective operand size. */
export function sizeOf(rule: string, o32: boolean): number {
  return rule === 'b' ? 1 : rule === 'w' ? 2 : rule === 'd' ? 4 : o32 ? 4 : 2;
}

/** Sign bit for a size in bytes. */
export function signBit(size: number): number {
  return size === 1 ? 0x80 : size === 2 ? 0x8000 : 0x80000000 | 0;
}

/** Truncates to the size, unsigned for 8/16 bits, int32 for 32. */
export function trunc(v: number, size: number): number {
  return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v | 0;
}
