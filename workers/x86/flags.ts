/*
 * Lazy arithmetic flags. Most instructions set OF SF ZF AF PF CF, and most of those flags
 * are never read: the next instruction overwrites them. So an ALU instruction only records
 * what it did (the kind of operation, its operands, its result and its size) and the flags
 * are worked out when something asks (a Jcc, PUSHF, an interrupt). cpu.lazy says which of
 * the six status flags are to be computed that way; the others live in cpu.flags.
 *
 *   lop   kind of the last operation (K_* below)     la, lb  its operands
 *   lres  its result (not truncated)                 lsz     sign bit of its size: 0x80,
 *                                                             0x8000 or 0x80000000|0
 *
 * Next: cpu.ts, which owns these fields; ops/alu.ts, which fills them.
 */

import * as opcodesModule from './opcodes';

// Imported bindings copied to module constants: some module loaders turn every read
// of an imported name into a getter call, too slow for the per-instruction paths.
const { AF, CF, OF, PF, SF, ZF } = opcodesModule;

/** a + b (also INC): CF = unsigned carry out. */
export const K_ADD = 0;
/** a + b + 1 (ADC with carry in). */
export const K_ADC1 = 1;
/** a - b (also CMP, DEC, NEG): CF = unsigned borrow. */
export const K_SUB = 2;
/** a - b - 1 (SBB with borrow in). */
export const K_SBB1 = 3;
/** Logic ops, and any op whose O/A/C were stored eagerly: only S Z P come from lres. */
export const K_LOGIC = 4;

/** The fields this module reads; the Cpu class has them. */
export interface LazyFlagState {
  flags: number;
  lazy: number;
  lop: number;
  la: number;
  lb: number;
  lres: number;
  lsz: number;
}

/** PARITY[b] = PF for a result whose low byte is b (set when the number of 1 bits is even). */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = 0;
  for (let b = i; b !== 0; b >>= 1) n += b & 1;
  PARITY[i] = (n & 1) === 0 ? PF : 0;
}

export function getCF(s: LazyFlagState): number {
  if ((s.lazy & CF) === 0) return s.flags & CF;
  const m = (s.lsz << 1) - 1;
  const a = (s.la & m) >>> 0;
  switch (s.lop) {
    case K_ADD: return ((s.lres & m) >>> 0) < a ? 1 : 0;
    case K_ADC1: return ((s.lres & m) >>> 0) <= a ? 1 : 0;
    case K_SUB: return a < ((s.lb & m) >>> 0) ? 1 : 0;
    case K_SBB1: return a <= ((s.lb & m) >>> 0) ? 1 : 0;
    default: return 0;
  }
}

export function getZF(s: LazyFlagState): number {
  if ((s.lazy & ZF) === 0) return s.flags & ZF;
  return (s.lres & ((s.lsz << 1) - 1)) === 0 ? ZF : 0;
}

export function getSF(s: LazyFlagState): number {
  if ((s.lazy & SF) === 0) return s.flags & SF;
  return (s.lres & s.lsz) !== 0 ? SF : 0;
}

export function getPF(s: LazyFlagState): number {
  if ((s.lazy & PF) === 0) return s.flags & PF;
  return PARITY[s.lres & 0xff];
}

export function getAF(s: LazyFlagState): number {
  if ((s.lazy & AF) === 0) return s.flags & AF;
  if (s.lop === K_LOGIC) return 0;
  return (s.la ^ s.lb ^ s.lres) & AF;
}

export function getOF(s: LazyFlagState): number {
  if ((s.lazy & OF) === 0) return s.flags & OF;
  const sz = s.lsz;
  switch (s.lop) {
    case K_ADD:
    case K_ADC1:
      return ((s.la ^ s.lres) & (s.lb ^ s.lres) & sz) !== 0 ? OF : 0;
    case K_SUB:
    case K_SBB1:
      return ((s.la ^ s.lb) & (s.la ^ s.lres) & sz) !== 0 ? OF : 0;
    default:
      return 0;
  }
}

/** The six status flags, materialised. */
export function statusFlags(s: LazyFlagState): number {
  if (s.lazy === 0) return s.flags & (OF | SF | ZF | AF | PF | CF);
  return getCF(s) | getPF(s) | getAF(s) | getZF(s) | getSF(s) | getOF(s);
}

/** Writes the lazy flags into s.flags and clears s.lazy (before changing some flags eagerly). */
export function materialise(s: LazyFlagState): void {
  if (s.lazy === 0) return;
  const st = statusFlags(s);
  s.flags = (s.flags & ~(OF | SF | ZF | AF | PF | CF)) | st;
  s.lazy = 0;
}

/**
 * Condition code cc (0..15, the low nibble of Jcc/SETcc) evaluated against the flags:
 * o no b ae e ne be a s ns p np l ge le g.
 */
export function testCC(s: LazyFlagState, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(s) !== 0; break;
    case 1: r = getCF(s) !== 0; break;
    case 2: r = getZF(s) !== 0; break;
    case 3: r = getCF(s) !== 0 || getZF(s) !== 0; break;
    case 4: r = getSF(s) !== 0; break;
    case 5: r = getPF(s) !== 0; break;
    case 6: r = (getSF(s) !== 0) !== (getOF(s) !== 0); break;
    default: r = getZF(s) !== 0 || (getSF(s) !== 0) !== (getOF(s) !== 0); break;
  }
  return (cc & 1) !== 0 ? !r : r;
}
