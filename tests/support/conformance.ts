/*
 * Runs SingleStepTests cases (tests/support/moo.ts reads them) on the lab's Cpu in real
 * mode and says, for each, whether the CPU reached the final state the real chip did.
 * Shared by tests/x86/conformance.test.ts (a deterministic sample, in the unit suite) and
 * scripts/conformance.ts (every case, with per-opcode pass rates).
 *
 * One case: reset the CPU, load the INIT registers (16-bit values, upper halves zero) and
 * RAM, start at CS:IP, run until the HLT that follows the instruction (or the one placed
 * where a jump or an exception lands), then compare all fourteen registers, the upper
 * halves of the general registers (a 16-bit operation never changes them), and every FINA
 * RAM byte. Registers FINA leaves out must be unchanged.
 *
 * The data was recorded on an 80286; the lab's CPU is an i486. Where they agree nothing is
 * adjusted: PUSH SP pushes the value SP had before the push on both (the 8086 pushed the
 * new one; i386 PRM, PUSH), and both mask shift and rotate counts to 5 bits (i386 PRM,
 * SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR). Where the two differ the 386 manual wins (Intel
 * 80386 Programmer's Reference Manual, 1986, cited as "i386 PRM"):
 *   - FLAGS bits 12-15: in real mode the 286 keeps them 0, the 386 lets POPF/IRET load
 *     IOPL (12-13) and NT (14) (i386 PRM, POPF and IRET pages); bit 15 reads 0 on both. INIT
 *     flags are loaded with bits 12-15 clear and results compared with them masked.
 *   - Undefined flags: masked per opcode with the suite's metadata.json flag masks (they
 *     cover the flags the 386 manual also leaves undefined: AF after logic, OF after
 *     multi-bit shifts and rotates, SF/ZF/AF/PF after MUL/IMUL, all six after DIV/IDIV,
 *     the BCD adjusts); when an exception pushed FLAGS, the same mask applies to that word.
 *   - LOCK: the 286 accepts a LOCK prefix anywhere; the 386 raises #UD unless the
 *     instruction is a lockable one with a memory destination (i386 PRM, LOCK page).
 *     Cases with such a LOCK are left out (counted as "286-only").
 *   - Instruction length: the 286 faults past 10 bytes, the 386 allows 15 and raises
 *     #GP beyond (i386 PRM, chapter 17, instruction format): longer cases are left out.
 *   - Segment overrun through SS (a word at SS:FFFF, a push or pop across the wrap): the
 *     286 raises #GP (13), the 386 #SS (12) (i386 PRM, real-address mode exceptions):
 *     left out, as the recorded handler address is that of vector 13.
 *   - A string instruction faulting at offset FFFF: the 286 has already stepped SI/DI,
 *     the 386 faults before changing any register: left out.
 *   - IDIV whose quotient does not fit: a few 286 cases complete; the 386 raises #DE
 *     (i386 PRM, IDIV): left out. AAM 0 raises #DE on both, but the 286 has set SF/ZF/PF
 *     first: those flags are not compared there (extraUndefinedFlags).
 *   - One case the suite did not revoke is held to be a bad recording (LOCALLY_REVOKED).
 * scripts/conformance.ts prints how many cases each rule leaves out.
 */

import { readFileSync, readdirSync } from 'node:fs';
import { PhysicalMemory } from '../../workers/x86/memory';
import { emptyBus } from '../../workers/x86/bus';
import { Cpu, Stop } from '../../workers/x86/cpu';
import { lookupRow, ATTR_LOCK } from '../../workers/x86/opcodes';
import { MOO_REGS16, type MooTest } from './moo';
import { CONFORMANCE_ROOT } from './shared';

export const CONFORMANCE_DIR = `${CONFORMANCE_ROOT}/80286-real-mode`;

/** FLAGS bits compared: CF PF AF ZF SF TF IF DF OF (bits 1, 3, 5 are fixed; 12-15 see above). */
export const REAL_MODE_FLAGS = 0x0fd5;

/** MOO register name -> index into Cpu.regs (encoding order EAX ECX EDX EBX ESP EBP ESI EDI). */
const GPR: Record<string, number> = { ax: 0, cx: 1, dx: 2, bx: 3, sp: 4, bp: 5, si: 6, di: 7 };
/** MOO segment register name -> index into Cpu.sreg (ES CS SS DS FS GS). */
const SEG: Record<string, number> = { es: 0, cs: 1, ss: 2, ds: 3 };

export interface OpcodeFile {
  /** As in the file name: '00', '83.4', 'F7.6'. */
  key: string;
  path: string;
}

export function conformanceFiles(dir = CONFORMANCE_DIR): OpcodeFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.MOO.gz'))
    .sort()
    .map((f) => ({ key: f.replace('.MOO.gz', ''), path: `${dir}/${f}` }));
}

interface MetaEntry { status?: string; 'flags-mask'?: number; reg?: Record<string, MetaEntry> }

/** The flag mask (defined bits) for an opcode key from metadata.json ('F6.6' -> opcodes.F6.reg['6']). */
export function loadFlagMasks(dir = CONFORMANCE_DIR): (key: string) => number {
  const md = JSON.parse(readFileSync(`${dir}/metadata.json`, 'utf8')) as { opcodes: Record<string, MetaEntry> };
  return (key: string) => {
    const [op, reg] = key.split('.');
    let e = md.opcodes[op.toUpperCase()];
    if (e && reg !== undefined && e.reg) e = e.reg[reg];
    return e?.['flags-mask'] ?? 0xffff;
  };
}

const PREFIX = new Set([0x26, 0x2e, 0x36, 0x3e, 0xf0, 0xf2, 0xf3]);
const SEG_OVERRIDE: Record<number, string> = { 0x26: 'es', 0x2e: 'cs', 0x36: 'ss', 0x3e: 'ds' };
/** Opcodes that touch the stack through SS:SP themselves (push, pop, call, ret, int, ...). */
const STACK_OPS = new Set([0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x60, 0x61, 0x68, 0x6a, 0x8f, 0x9a, 0x9c, 0x9d,
  0xc2, 0xc3, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xe8]);
const STRING_OPS = new Set([0x6c, 0x6d, 0x6e, 0x6f, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf]);

/** The instruction's shape: prefixes, opcode, and its ModRM memory operand if any. */
export interface Shape {
  length: number;
  lock: boolean;
  segOverride: string | null;
  map: 1 | 2;
  opcode: number;
  modrm: number;
  /** Memory operand: segment register name and 16-bit offset (null for a register or no ModRM). */
  mem: { seg: string; off: number } | null;
}

/** Decodes enough of a 16-bit real-mode instruction to classify it (prefixes, ModRM EA). */
export function shapeOf(t: MooTest): Shape {
  const b = t.bytes;
  const r = t.init.regs;
  const length = b[b.length - 1] === 0xf4 ? b.length - 1 : b.length;
  let i = 0;
  let lock = false;
  let seg: string | null = null;
  while (i < b.length && PREFIX.has(b[i])) {
    if (b[i] === 0xf0) lock = true;
    if (SEG_OVERRIDE[b[i]]) seg = SEG_OVERRIDE[b[i]];
    i++;
  }
  let map: 1 | 2 = 1;
  let opcode = b[i];
  if (opcode === 0x0f) { map = 2; opcode = b[++i]; }
  const row = lookupRow(map, opcode, ((b[i + 1] ?? 0) >> 3) & 7);
  const hasModrm = row !== undefined && row.ext !== -1;
  const modrm = hasModrm ? b[i + 1] : 0;
  let mem: Shape['mem'] = null;
  if (hasModrm && (modrm >> 6) !== 3) {
    const mod = modrm >> 6, rm = modrm & 7;
    const d8 = ((b[i + 2] ?? 0) << 24) >> 24;
    const d16 = (b[i + 2] ?? 0) | ((b[i + 3] ?? 0) << 8);
    const base = [r.bx! + r.si!, r.bx! + r.di!, r.bp! + r.si!, r.bp! + r.di!, r.si!, r.di!, r.bp!, r.bx!][rm];
    let off: number;
    if (mod === 0 && rm === 6) off = d16;
    else off = base + (mod === 1 ? d8 : mod === 2 ? d16 : 0);
    const viaBp = rm === 2 || rm === 3 || (rm === 6 && mod !== 0);
    mem = { seg: seg ?? (viaBp ? 'ss' : 'ds'), off: off & 0xffff };
  }
  return { length, lock, segOverride: seg, map, opcode, modrm, mem };
}

/** Reads the initial value of a byte of RAM (0 when the case does not give it). */
function initByte(t: MooTest, addr: number): number {
  for (const [a, v] of t.init.ram) if (a === addr) return v;
  return 0;
}

/**
 * Cases this project holds to be bad recordings (in addition to the suite's revocation
 * list), each with the reason. Hash -> reason.
 */
export const LOCALLY_REVOKED: ReadonlyMap<string, string> = new Map([
  // CD #2044 "int 3Bh": the frame shows SS (12F2) where every other INT case, and the
  // manual's INT operation, push CS (C93A); IP and FLAGS in the same frame are right.
  ['ba5bb16b5a4306333a359c3abd2169b871ffa42c', 'recorded frame holds SS in the CS slot'],
]);

/**
 * Extra flag bits to ignore for a case, beyond the opcode's mask: AAM with an immediate of
 * 0 raises #DE; the 286 has already set SF/ZF/PF by then, the 386 manual defines no result
 * for a faulting AAM (a fault leaves the state as before the instruction).
 */
export function extraUndefinedFlags(t: MooTest): number {
  if (t.exception?.vector === 0 && t.bytes[0] === 0xd4) return 0x00c4;
  return 0;
}

/** Why a case is left out (a 286 behaviour the 386 does not share), or null to run it. */
export function excludedReason(t: MooTest): string | null {
  const local = LOCALLY_REVOKED.get(t.hash);
  if (local) return `revoked here: ${local}`;
  const sh = shapeOf(t);
  const vec = t.exception?.vector ?? -1;
  if (sh.length > 10 && vec >= 0) return '286 length limit (a fault past 10 bytes; the 386 allows 15)';
  if (sh.lock) {
    const row = lookupRow(sh.map, sh.opcode, (sh.modrm >> 3) & 7);
    const lockable = row !== undefined && (row.attrs & ATTR_LOCK) !== 0 && sh.mem !== null;
    if (!lockable) return '286 ignores LOCK here; the 386 raises #UD';
  }
  const softInt13 = sh.opcode === 0xcd && t.bytes[t.bytes.indexOf(0xcd) + 1] === 13;
  if (vec === 13 && sh.map === 1 && !softInt13) {
    // A segment overrun through SS: the 286 raises #GP (13), the 386 #SS (12) (i386 PRM,
    // real-address mode exceptions: "#SS if a memory operand is outside the SS limit").
    const grp = (sh.modrm >> 3) & 7;
    if (STACK_OPS.has(sh.opcode) || (sh.opcode >= 0x50 && sh.opcode <= 0x5f) || (sh.opcode === 0xff && (grp === 2 || grp === 3 || grp === 6))) return '286 #GP for a stack overrun; the 386 raises #SS';
    if (sh.mem?.seg === 'ss') return '286 #GP for an SS operand overrun; the 386 raises #SS';
    // A string instruction faulting at offset FFFF: the 286 has already stepped SI/DI; the
    // 386 faults before any register changes (faults are restartable, i386 PRM ch. 9).
    if (STRING_OPS.has(sh.opcode)) return '286 string fault after updating SI/DI; the 386 leaves them';
  }
  if (vec < 0 && sh.map === 1 && (sh.opcode === 0xf6 || sh.opcode === 0xf7) && ((sh.modrm >> 3) & 7) === 7) {
    // IDIV whose quotient does not fit: the 386 raises #DE (i386 PRM, IDIV); some 286
    // cases complete instead.
    const r = t.init.regs;
    const byte = sh.opcode === 0xf6;
    let divisor: number;
    if (sh.mem === null) {
      const rm = sh.modrm & 7;
      if (byte) divisor = (rm < 4 ? [r.ax!, r.cx!, r.dx!, r.bx!][rm] & 0xff : ([r.ax!, r.cx!, r.dx!, r.bx!][rm - 4] >> 8) & 0xff);
      else divisor = [r.ax!, r.cx!, r.dx!, r.bx!, r.sp!, r.bp!, r.si!, r.di!][rm];
    } else {
      const a = (r[sh.mem.seg]! << 4) + sh.mem.off;
      divisor = initByte(t, a) | (byte ? 0 : initByte(t, a + 1) << 8);
    }
    const dv = byte ? (divisor << 24) >> 24 : (divisor << 16) >> 16;
    const dividend = byte ? (r.ax! << 16) >> 16 : ((r.dx! << 16) | r.ax!) | 0;
    if (dv !== 0) {
      const q = Math.trunc(dividend / dv);
      if (byte ? q > 127 || q < -128 : q > 32767 || q < -32768) return '286 IDIV completes where the 386 raises #DE';
    }
  }
  return null;
}

/** One reusable real-mode machine: 16 MiB of RAM and a Cpu with nothing on its I/O bus. */
export class RealModeRunner {
  readonly mem = new PhysicalMemory(16 << 20);
  readonly cpu = new Cpu(this.mem, emptyBus);
  /** Cycles allowed per case (REP string cases with CX up to 127 need a few hundred). */
  budget = 100_000;
  private touched: number[] = [];

  /** Runs one case. Returns null when it passes, else what differed (expected vs got). */
  run(t: MooTest, flagMask: number): string | null {
    const { cpu, mem } = this;
    for (const a of this.touched) mem.u8[a] = 0;
    this.touched.length = 0;
    try {
      cpu.reset();
      const r = t.init.regs;
      for (const name of MOO_REGS16) if (r[name] === undefined) return `INIT lacks ${name}`;
      for (const [name, idx] of Object.entries(GPR)) cpu.regs[idx] = r[name]!;
      for (const [name, idx] of Object.entries(SEG)) {
        const sel = r[name]!;
        cpu.sreg[idx] = sel;
        cpu.segBase[idx] = sel << 4;
        cpu.segLimit[idx] = 0xffff;
        cpu.segAttr[idx] = idx === 1 ? 0x9b : 0x93;
      }
      cpu.eip = r.ip!;
      cpu.setEflags((r.flags! & REAL_MODE_FLAGS) | 2);
      cpu.halted = false;
      cpu.afterSystem();
      for (const [a, v] of t.init.ram) { mem.write8(a, v); this.touched.push(a); }
      for (const [a] of t.fina.ram) this.touched.push(a);

      const stop = cpu.run(this.budget);
      if (stop !== Stop.Halted) {
        const info = cpu.stopInfo ? `: ${cpu.stopInfo.what}` : '';
        return `did not reach HLT (stop ${STOP_NAMES[stop] ?? stop}${info}) at ${hex4(cpu.sreg[1])}:${hex4(cpu.eip)}`;
      }
    } catch (e) {
      return `threw out of the CPU: ${(e as Error).message ?? String(e)}`;
    }

    const diffs: string[] = [];
    const fin = t.fina.regs;
    const mask = flagMask & REAL_MODE_FLAGS & (t.fina.masks.flags ?? 0xffff) & ~extraUndefinedFlags(t);
    for (const name of MOO_REGS16) {
      const want = fin[name] ?? t.init.regs[name]!;
      let got: number;
      if (name in GPR) got = cpu.regs[GPR[name]] & 0xffff;
      else if (name in SEG) got = cpu.sreg[SEG[name]];
      else if (name === 'ip') got = cpu.eip >>> 0;
      else got = cpu.getEflags() & 0xffff;
      if (name === 'flags') {
        if (((got ^ want) & mask) !== 0) diffs.push(`flags ${hex4(want & mask)} != ${hex4(got & mask)} (mask ${hex4(mask)}, differ ${flagNames((got ^ want) & mask)})`);
      } else {
        const m = t.fina.masks[name] ?? 0xffff;
        if (((got ^ want) & m) !== 0) diffs.push(`${name} ${hex4(want)} != ${hex4(got)}`);
      }
    }
    for (const [name, idx] of Object.entries(GPR)) {
      if ((cpu.regs[idx] >>> 16) !== 0) diffs.push(`e${name} upper half ${hex4(cpu.regs[idx] >>> 16)} != 0000`);
    }
    // The FLAGS image an exception or INT pushed: at SS:SP+4 of the final frame (the
    // recorded flag address is the even-aligned bus address, one byte low for an odd SP).
    const fa = t.exception ? ((fin.ss ?? t.init.regs.ss!) << 4) + (((fin.sp ?? t.init.regs.sp!) + 4) & 0xffff) : -1;
    for (const [a, want] of t.fina.ram) {
      const got = mem.u8[a];
      let m = 0xff;
      if (a === fa) m = mask & 0xff;
      else if (a === fa + 1) m = (mask >> 8) & 0xff;
      if (((got ^ want) & m) !== 0) diffs.push(`[${a.toString(16)}] ${hex2(want)} != ${hex2(got)}`);
    }
    return diffs.length === 0 ? null : diffs.join(', ');
  }
}

const STOP_NAMES = ['budget', 'halted', 'breakpoint', 'requested', 'tripleFault', 'error'];
const hex4 = (v: number) => (v >>> 0).toString(16).padStart(4, '0');
const hex2 = (v: number) => v.toString(16).padStart(2, '0');
const FLAG_BITS: Array<[number, string]> = [[0x800, 'O'], [0x400, 'D'], [0x200, 'I'], [0x100, 'T'], [0x80, 'S'], [0x40, 'Z'], [0x10, 'A'], [0x4, 'P'], [0x1, 'C']];
function flagNames(bits: number): string {
  return FLAG_BITS.filter(([b]) => bits & b).map(([, n]) => n).join('') || '-';
}

/** "expected != got" lines read as: the value the real chip produced, then ours. */
export const DIFF_LEGEND = 'each difference reads "name expected != got" (expected = the recorded 80286, got = ours)';
