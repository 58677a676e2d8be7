/*
 * Just enough x86 decoding for "step over": is the instruction at EIP one that returns to
 * the next instruction later (CALL, INT n, INTO, INT3, a REP-prefixed string instruction), and how long is it? Everything else is stepped one instruction.
 * Lengths follow the ModRM/SIB rules of the Intel SDM vol. 2, 2.1 (16- and 32-bit
 * addressing). Next: session.ts, its caller.
 */

export interface StepOverInfo {
  /** True when stepping over means running to EIP + length. */
  over: boolean;
  length: number;
}

const STRING_OPS = new Set([0x6c, 0x6d, 0x6e, 0x6f, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf]);

/** Length of a ModRM operand (the ModRM byte itself, SIB and displacement). */
function modrmLength(bytes: Uint8Array, at: number, addr32: boolean): number {
  const modrm = bytes[at];
  const mod = modrm >> 6;
  const rm = modrm & 7;
  if (mod === 3) return 1;
  if (!addr32) {
    if (mod === 0) return rm === 6 ? 3 : 1;
    return mod === 1 ? 2 : 3;
  }
  let n = 1;
  if (rm === 4) {
    n++;
    if (mod === 0 && (bytes[at + 1] & 7) === 5) return n + 4;
  }
  if (mod === 0) return rm === 5 ? n + 4 : n;
  return mod === 1 ? n + 1 : n + 4;
}

/** Classifies the instruction in `bytes` (at least 16 bytes read at EIP). */
export function stepOverInfo(bytes: Uint8Array, default32: boolean): StepOverInfo {
  let i = 0;
  let op32 = default32;
  let addr32 = default32;
  let rep = false;
  for (; i < 15; i++) {
    const b = bytes[i];
    if (b === 0x66) op32 = !default32;
    else if (b === 0x67) addr32 = !default32;
    else if (b === 0xf2 || b === 0xf3) rep = true;
    else if (b === 0xf0 || b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65) continue;
    else break;
  }
  const op = bytes[i];
  const other: StepOverInfo = { over: false, length: 0 };
  if (op === 0xe8) return { over: true, length: i + 1 + (op32 ? 4 : 2) };
  if (op === 0x9a) return { over: true, length: i + 1 + (op32 ? 4 : 2) + 2 };
  if (op === 0xff) {
    const reg = (bytes[i + 1] >> 3) & 7;
    if (reg === 2 || reg === 3) return { over: true, length: i + 1 + modrmLength(bytes, i + 1, addr32) };
    return other;
  }
  if (op === 0xcd) return { over: true, length: i + 2 };
  if (op === 0xcc || op === 0xce) return { over: true, length: i + 1 };
  if (rep && STRING_OPS.has(op)) return { over: true, length: i + 1 };
  return other;
}
