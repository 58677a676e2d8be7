/*
 * The encoder: picks the opcode-table row for an instruction and produces its bytes. Every
 * form comes from x86/opcodes.ts (the CPU decoder's own table), so the assembler can only
 * emit what the CPU decodes. For each row with this mnemonic it checks the operands against
 * the row's operand codes (Ev, Gv, Ibs, Jb, ...), works out the operand size, and builds
 *     [rep/lock] [segment] [66] [67] [0F] opcode [ModRM [SIB] [disp]] [immediates]
 * Of all the rows that fit it keeps the shortest encoding, ties going to the earlier row,
 * which reproduces NASM's choices (`add eax, 4` is 83 /0 ib, `add eax, 400` is 05 id,
 * `mov eax, ebx` is 89 /r, a jump is short when the target is within reach).
 *
 * The annex below (aliases, NASM's operand-size rules for a few system instructions,
 * operand swaps for xchg/test) is the assembler's knowledge that the table does not carry;
 * it adds no encodings. Next: assembler.ts, which drives the passes.
 */

import {
  ATTR_ADDRSIZE,
  ATTR_ALT,
  ATTR_FPU,
  ATTR_UD,
  CONDITIONS,
  OPCODE_ROWS,
  type OpcodeRow,
} from '../x86/opcodes';
import { AsmError, isConstant, type Value } from './expr';
import { RegClass, regSize, type MemOperand, type Operand } from './parser';

// ---- the annex -------------------------------------------------------------------------

/** NASM's alternative names for a mnemonic in the table. */
const CC_ALIASES: Record<string, string> = {
  c: 'b', nae: 'b', nb: 'ae', nc: 'ae', z: 'e', nz: 'ne', na: 'be', nbe: 'a', pe: 'p', po: 'np',
  nge: 'l', nl: 'ge', ng: 'le', nle: 'g',
};
const ALIASES: Record<string, [string, number]> = {
  sal: ['shl', 0], xlat: ['xlatb', 0], loopz: ['loope', 0], loopnz: ['loopne', 0], retn: ['ret', 0],
  pushaw: ['pusha', 16], popaw: ['popa', 16], pushfw: ['pushf', 16], popfw: ['popf', 16], iretw: ['iret', 16],
  fwait: ['wait', 0],
};
for (const [alias, cc] of Object.entries(CC_ALIASES)) {
  ALIASES['j' + alias] = ['j' + cc, 0];
  ALIASES['set' + alias] = ['set' + cc, 0];
}
/** Named with the 16-bit name in the table but sized by the mode in NASM. */
const MODE_SIZED = new Set(['pusha', 'popa', 'pushf', 'popf', 'iret']);
/** Ew forms whose register operand sets the operand size (a 66 prefix for ax in 32-bit code). */
const STORE_EW = new Set(['sldt', 'str', 'smsw']);
/** Memory operands that default to the mode's size when no size is written. */
const DEFAULT_SIZE = new Set(['call', 'jmp']);

interface Candidate {
  row: OpcodeRow;
  /** operand size forced by the mnemonic (cbw = 16, cwde = 32), 0 = by operands */
  osz: number;
  /** address size forced by the mnemonic (jcxz = 16), 0 = mode */
  asz: number;
}

const CANDIDATES = new Map<string, Candidate[]>();
for (const row of OPCODE_ROWS) {
  if (row.attrs & (ATTR_ALT | ATTR_UD | ATTR_FPU)) continue;
  const add = (name: string, size: number) => {
    const c: Candidate = { row, osz: 0, asz: 0 };
    if (row.attrs & ATTR_ADDRSIZE) c.asz = size;
    else c.osz = size;
    const list = CANDIDATES.get(name) ?? [];
    list.push(c);
    CANDIDATES.set(name, list);
  };
  if (row.mnemonic === row.mnemonic32) add(row.mnemonic, 0);
  else {
    add(row.mnemonic, MODE_SIZED.has(row.mnemonic) ? 0 : 16);
    add(row.mnemonic32, 32);
  }
}

/** Every mnemonic the assembler accepts. */
export const MNEMONICS: ReadonlySet<string> = new Set([...CANDIDATES.keys(), ...Object.keys(ALIASES)]);

void CONDITIONS;

// ---- encoding ----------------------------------------------------------------------------

export interface EncodeEnv {
  bits: number;
  /** address of the instruction's first byte, as a value (section-relative) */
  here: Value;
  evaluate(e: import('./expr').Expr): Value;
  /** absolute address of a value (section start added); only meaningful once laid out */
  absolute(v: Value): bigint;
  /** smallest acceptable size (keeps jump sizes from shrinking back once grown) */
  floor: number;
  /** report range problems as errors */
  final: boolean;
  warn(col: number, message: string): void;
}

export interface Insn {
  prefixes: string[];
  mnem: string;
  ops: Operand[];
  col: number;
}

const SEG_OVERRIDE = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

/** What an operand turned into while matching a row. */
interface Imm {
  kind: 'imm' | 'rel' | 'far';
  size: number;
  v: Value;
  seg: Value | null;
  col: number;
}

interface Trial {
  bytes: number[];
  /** range warnings, reported only for the form finally chosen */
  warnings: [number, string][];
  /** nonzero when an unsized memory operand was taken to be this many bits */
  wild: number;
}

class NoMatch {
  constructor(readonly reason: string, readonly weight: number) {}
}

const fits8 = (n: bigint) => n >= -128n && n <= 127n;

/** Evaluated memory operand. */
interface Ea {
  mem: MemOperand;
  asz: number;
  /** mod, rm, sib (-1 none), disp bytes count, disp value */
  mod: number;
  rm: number;
  sib: number;
  dispLen: number;
  disp: Value;
}

function evalScale(env: EncodeEnv, e: import('./expr').Expr, col: number): number {
  const v = env.evaluate(e);
  if (v.sec >= 0) throw new AsmError(col, 'a scale factor must be a number');
  return Number(v.n);
}

/** Builds ModRM/SIB/displacement for a memory operand. */
function encodeEa(env: EncodeEnv, m: MemOperand, forceAsz: number): Ea {
  const disp: Value = m.disp ? env.evaluate(m.disp) : { n: 0n, sec: -1, unk: false };
  // merge repeated registers and evaluate scales
  const terms: { num: number; cls: RegClass; scale: number; mult: boolean }[] = [];
  for (const t of m.terms) {
    const s = evalScale(env, t.scale, m.col);
    const prev = terms.find((x) => x.num === t.reg.num && x.cls === t.reg.cls);
    if (prev) {
      prev.scale += s;
      prev.mult = true;
    } else terms.push({ num: t.reg.num, cls: t.reg.cls, scale: s, mult: t.multiplied });
  }
  const live = terms.filter((t) => t.scale !== 0);
  let asz = forceAsz;
  if (live.length > 0) {
    const cls = live[0].cls;
    if (live.some((t) => t.cls !== cls)) throw new AsmError(m.col, 'cannot mix 16-bit and 32-bit registers in an address');
    asz = cls === RegClass.R16 ? 16 : 32;
  } else if (!asz) {
    asz = m.dispSize === 2 ? 16 : m.dispSize === 4 ? 32 : env.bits;
  }
  const known = disp.sec < 0 && !disp.unk;
  const zero = m.disp === null || (known && disp.n === 0n);
  const small = (disp.sec < 0 && fits8(disp.n)) || disp.unk;
  if (asz === 16) {
    let mask = 0;
    for (const t of live) {
      if (t.scale !== 1) throw new AsmError(m.col, '16-bit addresses cannot scale a register');
      const bit = { 3: 1, 5: 2, 6: 4, 7: 8 }[t.num as 3 | 5 | 6 | 7];
      if (!bit || mask & bit) throw new AsmError(m.col, 'invalid 16-bit address (use bx or bp, plus si or di)');
      mask |= bit;
    }
    const RM: Record<number, number> = { 5: 0, 9: 1, 6: 2, 10: 3, 4: 4, 8: 5, 2: 6, 1: 7 };
    if (mask === 0) return { mem: m, asz, mod: 0, rm: 6, sib: -1, dispLen: 2, disp };
    const rm = RM[mask];
    if (rm === undefined) throw new AsmError(m.col, 'invalid 16-bit address (use bx or bp, plus si or di)');
    let mod: number;
    if (m.dispSize === 1) mod = 1;
    else if (m.dispSize === 2 || m.dispSize === 4) mod = 2;
    else if (zero && rm !== 6) mod = 0;
    else mod = small ? 1 : 2;
    return { mem: m, asz, mod, rm, sib: -1, dispLen: mod === 0 ? 0 : mod === 1 ? 1 : 2, disp };
  }
  // 32-bit: choose base and index with NASM's hints
  let base = -1;
  let index = -1;
  let scale = 1;
  const plain = live.filter((t) => !t.mult && t.scale === 1);
  const mult = live.filter((t) => !(!t.mult && t.scale === 1));
  if (live.length > 2) throw new AsmError(m.col, 'too many registers in an address');
  if (plain.length === 1 && mult.length === 0) base = plain[0].num;
  else if (plain.length === 2) {
    base = plain[0].num;
    index = plain[1].num;
  } else if (plain.length === 1 && mult.length === 1) {
    base = plain[0].num;
    index = mult[0].num;
    scale = mult[0].scale;
  } else if (mult.length === 2) {
    const one = mult.find((t) => t.scale === 1);
    if (!one) throw new AsmError(m.col, 'only one register may be scaled');
    const other = mult.find((t) => t !== one)!;
    base = one.num;
    index = other.num;
    scale = other.scale;
  } else if (mult.length === 1) {
    index = mult[0].num;
    scale = mult[0].scale;
    if (!m.nosplit) {
      if (scale === 1) {
        base = index;
        index = -1;
      } else if (scale === 2 || scale === 3 || scale === 5 || scale === 9) {
        base = index;
        scale -= 1;
      }
    }
  }
  if (index >= 0 && scale !== 1 && scale !== 2 && scale !== 4 && scale !== 8) throw new AsmError(m.col, `scale must be 1, 2, 4 or 8, not ${scale}`);
  if (index === 4) {
    if (scale === 1 && base !== 4) [base, index] = [index, base];
    else throw new AsmError(m.col, 'esp cannot be an index register');
  }
  const ss = scale === 1 ? 0 : scale === 2 ? 1 : scale === 4 ? 2 : 3;
  if (base < 0 && index < 0) return { mem: m, asz, mod: 0, rm: 5, sib: -1, dispLen: 4, disp };
  if (base < 0) return { mem: m, asz, mod: 0, rm: 4, sib: (ss << 6) | (index << 3) | 5, dispLen: 4, disp };
  let mod: number;
  if (m.dispSize === 1) mod = 1;
  else if (m.dispSize === 4 || m.dispSize === 2) mod = 2;
  else if (zero && base !== 5) mod = 0;
  else mod = small ? 1 : 2;
  const dispLen = mod === 0 ? 0 : mod === 1 ? 1 : 4;
  if (index < 0 && base !== 4) return { mem: m, asz, mod, rm: base, sib: -1, dispLen, disp };
  return { mem: m, asz, mod, rm: 4, sib: (ss << 6) | ((index < 0 ? 4 : index) << 3) | base, dispLen, disp };
}

function pushLE(out: number[], v: bigint, len: number): void {
  for (let i = 0; i < len; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
}

/** Operand codes that are not written by the programmer (string instruction operands). */
const isImplicit = (code: string) => code[0] === 'X' || code[0] === 'Y';

interface MatchState {
  osz: number;
  oszSrc: string;
  reg: number;
  rm: { k: 'reg'; num: number } | { k: 'mem'; m: MemOperand } | null;
  plusR: number;
  moffs: MemOperand | null;
  imms: Imm[];
  mem: MemOperand | null;
  /** register size that decides the 66 prefix for the odd 'w' rows */
  wRegSize: number;
}

/**
 * Tries one row with the operands in the given order. Returns the bytes, or throws NoMatch
 * (this row does not fit) or AsmError (it fits but something is wrong, e.g. out of range).
 */
function tryRow(env: EncodeEnv, insn: Insn, cand: Candidate, ops: Operand[], vals: (Value | null)[], prefixOsz: number, prefixAsz: number): Trial {
  const row = cand.row;
  const codes = row.operands;
  const explicit = codes.some(isImplicit) ? [] : codes;
  if (explicit.length !== ops.length) throw new NoMatch(`${row.mnemonic} takes ${explicit.length} operand(s)`, 0);
  const st: MatchState = { osz: cand.osz || prefixOsz, oszSrc: '', reg: -1, rm: null, plusR: -1, moffs: null, imms: [], mem: null, wRegSize: 0 };
  const mnem = insn.mnem;

  // 1. operand classes and the operand size
  const setOsz = (size: number, what: string) => {
    if (size !== 2 && size !== 4) throw new NoMatch(`operand size ${size * 8} does not fit ${row.source}`, 2);
    if (st.osz && st.osz !== size * 8) throw new NoMatch(`operand sizes do not match (${what})`, 3);
    st.osz = size * 8;
  };
  let needSize = false;
  let wild = 0;
  for (let i = 0; i < ops.length; i++) {
    const code = explicit[i];
    const op = ops[i];
    const kind = code[0];
    const sfx = code.slice(1);
    if (code === 'AL' || code === 'CL' || code === 'AX' || code === 'DX' || code === 'eAX') {
      if (op.k !== 'reg') throw new NoMatch('register expected', 1);
      const want = { AL: 'al', CL: 'cl', AX: 'ax', DX: 'dx' }[code as 'AL'];
      if (code === 'eAX') {
        if (op.reg.num !== 0 || (op.reg.cls !== RegClass.R16 && op.reg.cls !== RegClass.R32)) throw new NoMatch('ax or eax expected', 1);
        setOsz(regSize(op.reg), op.reg.name);
      } else if (op.reg.name !== want) throw new NoMatch(`${want} expected`, 1);
      continue;
    }
    if (code === 'ES' || code === 'CS' || code === 'SS' || code === 'DS' || code === 'FS' || code === 'GS') {
      if (op.k !== 'reg' || op.reg.name !== code.toLowerCase()) throw new NoMatch(`${code.toLowerCase()} expected`, 1);
      continue;
    }
    if (code === '1') {
      if (op.k !== 'imm' || op.seg || (op.strict && op.size)) throw new NoMatch('1 expected', 1);
      const v = vals[i]!;
      if (!(v.unk || (v.sec < 0 && v.n === 1n))) throw new NoMatch('1 expected', 1);
      continue;
    }
    switch (kind) {
      case 'E':
      case 'G':
      case 'Z':
      case 'R': {
        if (op.k === 'mem') {
          if (kind !== 'E') throw new NoMatch('register expected', 1);
          if (op.far) throw new NoMatch('far memory operand', 1);
          st.rm = { k: 'mem', m: op };
          st.mem = op;
          if (sfx === 'b') {
            if (op.size && op.size !== 1) throw new NoMatch('byte operand expected', 2);
            if (!op.size && !ops.some((o) => (o.k === 'reg' && o.reg.cls === RegClass.R8) || (o.k === 'imm' && o.size === 1))) wild = 8;
          } else if (sfx === 'v') {
            if (row.size === 'w') {
              if (op.size && op.size !== 2) throw new NoMatch('word operand expected', 2);
            } else if (op.size) setOsz(op.size, 'memory operand');
            else needSize = true;
          } else if (sfx === 'w') {
            if (op.size && op.size !== 2) throw new NoMatch('word operand expected', 2);
            if (!op.size && row.size === 'v') wild = 16;
          }
          continue;
        }
        if (op.k !== 'reg') throw new NoMatch('register or memory expected', 1);
        const r = op.reg;
        if (kind === 'R' || sfx === 'd') {
          if (r.cls !== RegClass.R32) throw new NoMatch('32-bit register expected', 2);
          if (kind === 'Z' && env.bits === 16 && row.size === 'd') st.osz = 32;
        } else if (sfx === 'b') {
          if (r.cls !== RegClass.R8) throw new NoMatch('byte register expected', 2);
        } else if (sfx === 'v') {
          if (r.cls !== RegClass.R16 && r.cls !== RegClass.R32) throw new NoMatch('word or dword register expected', 2);
          if (row.size === 'w') st.wRegSize = regSize(r) * 8;
          else setOsz(regSize(r), r.name);
        } else if (sfx === 'w') {
          if (r.cls !== RegClass.R16 && r.cls !== RegClass.R32) throw new NoMatch('word register expected', 2);
          if (r.cls === RegClass.R32 && (mnem === 'arpl' || kind === 'G')) throw new NoMatch('word register expected', 2);
          if (STORE_EW.has(mnem)) st.wRegSize = regSize(r) * 8;
        }
        if (kind === 'G') st.reg = r.num;
        else if (kind === 'Z') st.plusR = r.num;
        else st.rm = { k: 'reg', num: r.num };
        continue;
      }
      case 'M': {
        if (op.k !== 'mem') throw new NoMatch('memory operand expected', 1);
        if (sfx === 'p' && (mnem === 'call' || mnem === 'jmp') && !op.far) throw new NoMatch('far expected', 1);
        if (sfx !== 'p' && op.far) throw new NoMatch('far memory operand', 1);
        st.rm = { k: 'mem', m: op };
        st.mem = op;
        continue;
      }
      case 'S':
      case 'C':
      case 'D': {
        const cls = kind === 'S' ? RegClass.Seg : kind === 'C' ? RegClass.Cr : RegClass.Dr;
        if (op.k !== 'reg' || op.reg.cls !== cls) throw new NoMatch(`${kind === 'S' ? 'segment' : kind === 'C' ? 'control' : 'debug'} register expected`, 1);
        st.reg = op.reg.num;
        continue;
      }
      case 'O': {
        if (op.k !== 'mem' || op.terms.length > 0 || op.far) throw new NoMatch('plain address expected', 1);
        if (sfx === 'b') {
          if (op.size && op.size !== 1) throw new NoMatch('byte operand expected', 2);
        } else if (op.size) setOsz(op.size, 'memory operand');
        st.moffs = op;
        st.mem = op;
        continue;
      }
      case 'I':
      case 'J':
      case 'A': {
        if (op.k !== 'imm') throw new NoMatch('immediate expected', 1);
        if ((kind === 'A') !== (op.seg !== null)) throw new NoMatch(kind === 'A' ? 'segment:offset expected' : 'plain value expected', 1);
        if (kind === 'J') {
          if (op.dist === 'far') throw new NoMatch('far', 1);
          if (sfx === 'b' && (op.dist === 'near' || op.size)) throw new NoMatch('near', 1);
          if (sfx === 'z' && op.dist === 'short') throw new NoMatch('short', 1);
          if (op.size === 2 || op.size === 4) setOsz(op.size, 'jump size');
        } else if (kind === 'A') {
          if (op.size === 2 || op.size === 4) setOsz(op.size, 'far pointer size');
        } else if (op.dist) throw new NoMatch(`${op.dist} on an immediate`, 1);
        continue;
      }
      default:
        throw new NoMatch(`operand code ${code} not supported by the assembler`, 0);
    }
  }
  // immediate sizes as a last resort (push word 5)
  if (!st.osz) {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const code = explicit[i];
      if (op.k === 'imm' && (code === 'Iz' || code === 'Ibs' || code === 'Iv') && (op.size === 2 || op.size === 4)) st.osz = op.size * 8;
    }
  }
  if (needSize && !st.osz) {
    if (row.size === 'v' && DEFAULT_SIZE.has(mnem)) st.osz = env.bits;
    else throw new NoMatch('operation size not specified', 5);
  }
  if (!st.osz) st.osz = env.bits;
  const osz = st.osz;
  // movzx/movsx from a word exist only with a 32-bit destination
  if ((mnem === 'movzx' || mnem === 'movsx') && codes[1] === 'Ew' && osz !== 32) throw new NoMatch('movzx/movsx from a word needs a 32-bit register', 2);

  // 2. immediates, now that the operand size is known
  for (let i = 0; i < ops.length; i++) {
    const code = explicit[i];
    const op = ops[i];
    if (op.k !== 'imm' || code === '1') continue;
    const v = vals[i]!;
    if (code === 'Ibs') {
      if (op.strict && op.size > 1) throw new NoMatch('strict size', 2);
      const ok = v.unk || (v.sec < 0 && (osz === 16 ? BigInt.asUintN(16, v.n + 128n) <= 255n : BigInt.asUintN(32, v.n + 128n) <= 255n));
      if (!ok && !(op.strict && op.size === 1)) throw new NoMatch('does not fit a signed byte', 2);
      st.imms.push({ kind: 'imm', size: 1, v, seg: null, col: op.col });
    } else if (code === 'Ib') st.imms.push({ kind: 'imm', size: 1, v, seg: null, col: op.col });
    else if (code === 'Iw') st.imms.push({ kind: 'imm', size: 2, v, seg: null, col: op.col });
    else if (code === 'Iz' || code === 'Iv') {
      if (op.strict && op.size === 1) throw new NoMatch('strict byte', 2);
      st.imms.push({ kind: 'imm', size: osz / 8, v, seg: null, col: op.col });
    } else if (code === 'Jb') st.imms.push({ kind: 'rel', size: 1, v, seg: null, col: op.col });
    else if (code === 'Jz') st.imms.push({ kind: 'rel', size: osz / 8, v, seg: null, col: op.col });
    else if (code === 'Ap') st.imms.push({ kind: 'far', size: osz / 8, v, seg: env.evaluate(op.seg!), col: op.col });
  }

  // 3. bytes
  const out: number[] = [];
  const warnings: [number, string][] = [];
  for (const p of insn.prefixes) {
    if (p === 'lock') out.push(0xf0);
    else if (p === 'rep' || p === 'repe' || p === 'repz') out.push(0xf3);
    else if (p === 'repne' || p === 'repnz') out.push(0xf2);
  }
  const segp = insn.prefixes.map((p) => ['es', 'cs', 'ss', 'ds', 'fs', 'gs'].indexOf(p)).filter((x) => x >= 0);
  if (st.mem && st.mem.seg >= 0) out.push(SEG_OVERRIDE[st.mem.seg]);
  for (const s of segp) out.push(SEG_OVERRIDE[s]);
  let need66 = false;
  if (row.size === 'v') need66 = osz !== env.bits;
  else if (row.size === 'w') need66 = st.wRegSize !== 0 && st.wRegSize !== env.bits;
  else if (row.size === 'd' && st.plusR >= 0) need66 = env.bits === 16;
  else if (codes.some((c) => c === 'Jz' || c === 'Ap')) need66 = osz !== env.bits;
  if (prefixOsz && !need66 && prefixOsz !== env.bits) need66 = true;
  let ea: Ea | null = null;
  if (st.rm && st.rm.k === 'mem') ea = encodeEa(env, st.rm.m, prefixAsz);
  let asz = cand.asz || prefixAsz || env.bits;
  if (ea) asz = ea.asz;
  let moffsLen = 0;
  if (st.moffs) {
    asz = prefixAsz || (st.moffs.dispSize === 2 ? 16 : st.moffs.dispSize === 4 ? 32 : env.bits);
    moffsLen = asz / 8;
  }
  if (need66) out.push(0x66);
  if (asz !== env.bits) out.push(0x67);
  if (row.map === 2) out.push(0x0f);
  out.push(row.byte + (st.plusR >= 0 ? st.plusR : 0));
  if (row.ext !== -1) {
    const regField = row.ext >= 0 && row.ext < 8 ? row.ext : Math.max(st.reg, 0);
    if (!st.rm) throw new NoMatch('internal: no r/m operand', 0);
    if (st.rm.k === 'reg') out.push(0xc0 | (regField << 3) | st.rm.num);
    else {
      const e = ea!;
      out.push((e.mod << 6) | (regField << 3) | e.rm);
      if (e.sib >= 0) out.push(e.sib);
      if (e.dispLen) {
        const dv = env.absolute(e.disp);
        if (e.dispLen === 1 && env.final && !fits8(dv) && e.disp.sec < 0) warnings.push([e.mem.col, 'displacement does not fit in a byte; truncated']);
        pushLE(out, dv, e.dispLen);
      }
    }
  }
  if (st.moffs) {
    const dv = st.moffs.disp ? env.absolute(env.evaluate(st.moffs.disp)) : 0n;
    pushLE(out, dv, moffsLen);
  }
  // immediates: relative ones need the instruction's total length
  const immLen = st.imms.reduce((n, x) => n + x.size + (x.kind === 'far' ? 2 : 0), 0);
  const total = out.length + immLen;
  for (const im of st.imms) {
    if (im.kind === 'rel') {
      let delta: bigint;
      if (im.v.unk) delta = 0n;
      else if (im.v.sec >= 0 && im.v.sec === env.here.sec) delta = im.v.n - (env.here.n + BigInt(total));
      else if (im.v.sec !== env.here.sec && im.size === 1 && (ops[0].k !== 'imm' || ops[0].dist !== 'short') && hasLongerForm(insn.mnem)) throw new NoMatch('short jump to another section', 2);
      else delta = env.absolute(im.v) - (env.absolute(env.here) + BigInt(total));
      if (im.size === 1 && !fits8(delta)) {
        if (codes.length === 1 && hasLongerForm(insn.mnem) && ops[0].k === 'imm' && ops[0].dist !== 'short') throw new NoMatch('short jump out of range', 2);
        throw new AsmError(im.col, `short jump is out of range (${delta} bytes)`);
      }
      if (im.size === 2 && env.final && (delta < -32768n || delta > 65535n)) warnings.push([im.col, 'jump target is outside 16-bit range']);
      pushLE(out, delta, im.size);
    } else if (im.kind === 'far') {
      pushLE(out, env.absolute(im.v), im.size);
      pushLE(out, env.absolute(im.seg!), 2);
    } else {
      const n = env.absolute(im.v);
      if (env.final && im.v.sec < 0) {
        const bitsz = BigInt(im.size * 8);
        const lo = -(1n << (bitsz - 1n));
        const hi = (1n << bitsz) - 1n;
        if (n < lo || n > hi) warnings.push([im.col, `value ${n} does not fit in ${im.size === 1 ? 'a byte' : im.size === 2 ? 'a word' : 'a dword'}; truncated`]);
      }
      pushLE(out, n, im.size);
    }
  }
  return { bytes: out, wild, warnings };
}

/** Mnemonics with both a rel8 and a rel16/32 form (so an out-of-range short is not an error). */
function hasLongerForm(mnem: string): boolean {
  return (CANDIDATES.get(resolveName(mnem)[0]) ?? []).some((c) => c.row.operands[0] === 'Jz');
}

/** A cheap first filter: can this operand possibly fill this operand code? (no throwing) */
function kindFits(code: string, op: Operand): boolean {
  const k = code[0];
  if (op.k === 'imm') return k === 'I' || k === 'J' || k === 'A' || code === '1';
  if (op.k === 'mem') return k === 'E' || k === 'M' || k === 'O';
  const cls = op.reg.cls;
  if (code === 'ES' || code === 'CS' || code === 'SS' || code === 'DS' || code === 'FS' || code === 'GS') return op.reg.name === code.toLowerCase();
  switch (k) {
    case 'E':
    case 'G':
    case 'Z':
    case 'R':
      if (code.length !== 2) return false;
      return code[1] === 'b' ? cls === RegClass.R8 : cls === RegClass.R16 || cls === RegClass.R32;
    case 'S':
      return cls === RegClass.Seg;
    case 'C':
      return code === 'CL' ? op.reg.name === 'cl' : cls === RegClass.Cr;
    case 'D':
      return code === 'DX' ? op.reg.name === 'dx' : code === 'DS' ? op.reg.name === 'ds' : cls === RegClass.Dr;
    case 'A':
      return code === 'AL' ? op.reg.name === 'al' : code === 'AX' && op.reg.name === 'ax';
    case 'e':
      return op.reg.num === 0 && (cls === RegClass.R16 || cls === RegClass.R32);
    default:
      return cls === RegClass.Seg && op.reg.name === code.toLowerCase();
  }
}

function fits(c: Candidate, ops: Operand[]): boolean {
  const codes = c.row.operands;
  if (codes.length > 0 && (codes[0][0] === 'X' || codes[0][0] === 'Y' || (codes.length > 1 && (codes[1][0] === 'X' || codes[1][0] === 'Y')))) return ops.length === 0;
  if (codes.length !== ops.length) return false;
  for (let i = 0; i < ops.length; i++) if (!kindFits(codes[i], ops[i])) return false;
  return true;
}

/**
 * True when the instruction's bytes can only depend on its own operands: no jump or call
 * to a relative target, every expression a constant. The assembler encodes such an
 * instruction once instead of on every pass.
 */
export function isFixedEncoding(insn: Insn): boolean {
  const name = resolveName(insn.mnem)[0];
  if ((CANDIDATES.get(name) ?? []).some((c) => c.row.operands.some((o) => o[0] === 'J'))) return false;
  for (const op of insn.ops) {
    if (op.k === 'imm' && (!isConstant(op.expr) || (op.seg && !isConstant(op.seg)))) return false;
    if (op.k === 'mem' && ((op.disp && !isConstant(op.disp)) || op.terms.some((t) => !isConstant(t.scale)))) return false;
  }
  return true;
}

function resolveName(m: string): [string, number] {
  return ALIASES[m] ?? [m, 0];
}

/**
 * Encodes one instruction. Returns its bytes; throws AsmError when no form fits, naming the
 * closest reason ("operation size not specified", "invalid combination of operands", ...).
 */
export function encode(env: EncodeEnv, insn: Insn): number[] {
  const [name, aliasOsz] = resolveName(insn.mnem);
  const cands = CANDIDATES.get(name);
  if (!cands) throw new AsmError(insn.col, `unknown instruction '${insn.mnem}'`);
  let ops = insn.ops;
  // NASM's shorthands: imul r, imm = imm r, r, imm; aam/aad default to base 10
  if (name === 'imul' && ops.length === 2 && ops[1].k === 'imm' && ops[0].k === 'reg') ops = [ops[0], ops[0], ops[1]];
  if ((name === 'aam' || name === 'aad') && ops.length === 0) ops = [{ k: 'imm', size: 0, strict: false, dist: '', expr: { k: 'num', v: 10n, col: insn.col }, seg: null, col: insn.col }];
  let prefixOsz = aliasOsz;
  let prefixAsz = 0;
  for (const p of insn.prefixes) {
    if (p === 'o16') prefixOsz = 16;
    else if (p === 'o32') prefixOsz = 32;
    else if (p === 'a16') prefixAsz = 16;
    else if (p === 'a32') prefixAsz = 32;
  }
  const orders: Operand[][] = [ops];
  if ((name === 'xchg' || name === 'test') && ops.length === 2) {
    const sw = [ops[1], ops[0]];
    // xchg reg,reg: NASM puts the first operand in the reg field
    if (name === 'xchg' && ops[0].k === 'reg' && ops[1].k === 'reg') orders.unshift(sw);
    else orders.push(sw);
  }
  let best: Trial | null = null;
  let bestFloor: Trial | null = null;
  const wilds = new Set<number>();
  let sizeMissing = false;
  let why: NoMatch | null = null;
  let hardError: AsmError | null = null;
  for (const order of orders) {
    const vals = order.map((o) => (o.k === 'imm' ? env.evaluate(o.expr) : null));
    for (const c of cands) {
      if (!fits(c, order)) continue;
      try {
        const t = tryRow(env, insn, c, order, vals, prefixOsz, prefixAsz);
        if (t.wild) wilds.add(t.wild);
        if (!best || t.bytes.length < best.bytes.length) best = t;
        if (t.bytes.length >= env.floor && (!bestFloor || t.bytes.length < bestFloor.bytes.length)) bestFloor = t;
      } catch (e) {
        if (e instanceof NoMatch) {
          if (e.reason === 'operation size not specified') sizeMissing = true;
          if (!why || e.weight > why.weight) why = e;
        } else if (e instanceof AsmError) hardError ??= e;
        else throw e;
      }
    }
  }
  const chosen = bestFloor ?? best;
  if (chosen) {
    // an unsized memory operand is fine only when a single size is possible (sete [x])
    if (chosen.wild && (sizeMissing || wilds.size > 1)) throw new AsmError(insn.col, 'operation size not specified');
    for (const [col, msg] of chosen.warnings) env.warn(col, msg);
    return chosen.bytes;
  }
  if (hardError) throw hardError;
  if (why && why.weight >= 2) throw new AsmError(insn.col, why.reason === 'operation size not specified' ? why.reason : `invalid combination of operands for '${insn.mnem}' (${why.reason})`);
  throw new AsmError(insn.col, `invalid combination of operands for '${insn.mnem}'`);
}
