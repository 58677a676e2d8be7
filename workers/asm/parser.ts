/*
 * The parser: one preprocessed line becomes one statement. A line is
 *     [label[:]] [times N] [prefixes] instruction-or-directive [operands]  [; comment]
 * Operands are parsed into registers, memory references (the address expression is
 * flattened into base + index*scale + displacement, keeping NASM's hints about which
 * register is the base) and immediates (expression trees evaluated later, on each pass).
 * Local labels (`.loop`) are made global here by prefixing the last non-local label, as
 * NASM does. Next: encoder.ts, which turns an instruction statement into bytes.
 */

import type { Origin } from './diag';
import { AsmError, ExprParser, parseExpr, type Expr } from './expr';
import { Tk, type Token } from './lexer';

// ---- registers -------------------------------------------------------------------------

export const enum RegClass {
  R8,
  R16,
  R32,
  Seg,
  Cr,
  Dr,
}

export interface Reg {
  name: string;
  cls: RegClass;
  num: number;
}

export const REGISTERS: ReadonlyMap<string, Reg> = (() => {
  const m = new Map<string, Reg>();
  const add = (names: string[], cls: RegClass) => names.forEach((name, num) => m.set(name, { name, cls, num }));
  add(['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'], RegClass.R8);
  add(['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'], RegClass.R16);
  add(['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'], RegClass.R32);
  add(['es', 'cs', 'ss', 'ds', 'fs', 'gs'], RegClass.Seg);
  add(['cr0', 'cr1', 'cr2', 'cr3', 'cr4', 'cr5', 'cr6', 'cr7'], RegClass.Cr);
  add(['dr0', 'dr1', 'dr2', 'dr3', 'dr4', 'dr5', 'dr6', 'dr7'], RegClass.Dr);
  return m;
})();

const isReg = (name: string): boolean => REGISTERS.has(name);

// ---- operands --------------------------------------------------------------------------

export interface RegOperand {
  k: 'reg';
  reg: Reg;
  col: number;
}

/** One register of an address, with NASM's hint: was it written multiplied (`eax*4`)? */
export interface AddrTerm {
  reg: Reg;
  scale: Expr;
  multiplied: boolean;
}

export interface MemOperand {
  k: 'mem';
  /** operand size in bytes from byte/word/dword/qword/tword, 0 if none */
  size: number;
  /** segment override register number, -1 none */
  seg: number;
  terms: AddrTerm[];
  disp: Expr | null;
  /** displacement size forced by `[byte ...]`/`[word ...]`/`[dword ...]`, 0 if none */
  dispSize: number;
  nosplit: boolean;
  far: boolean;
  col: number;
}

export interface ImmOperand {
  k: 'imm';
  size: number;
  strict: boolean;
  /** 'short' | 'near' | 'far' | '' */
  dist: string;
  expr: Expr;
  /** selector of a `seg:offset` far pointer */
  seg: Expr | null;
  col: number;
}

export type Operand = RegOperand | MemOperand | ImmOperand;

// ---- statements --------------------------------------------------------------------------

export type DataItem = { k: 'expr'; e: Expr; col: number } | { k: 'str'; bytes: string; col: number };

export type StmtBody =
  | { k: 'none' }
  | { k: 'insn'; prefixes: string[]; mnem: string; ops: Operand[]; col: number }
  | { k: 'data'; width: number; items: DataItem[] }
  | { k: 'res'; width: number; count: Expr }
  | { k: 'equ'; e: Expr }
  | { k: 'incbin'; file: string; skip: Expr | null; len: Expr | null; col: number }
  | { k: 'bits'; n: number }
  | { k: 'org'; e: Expr }
  | { k: 'section'; name: string; align: number; nobits: boolean | null }
  | { k: 'absolute'; e: Expr }
  | { k: 'align'; n: Expr; fill: StmtBody | null; bss: boolean }
  | { k: 'struc'; name: string }
  | { k: 'endstruc' }
  | { k: 'istruc'; name: string }
  | { k: 'at'; field: Expr; data: StmtBody | null }
  | { k: 'iend' }
  | { k: 'ignored' };

export interface Stmt extends Origin {
  label: string | null;
  labelCol: number;
  times: Expr | null;
  body: StmtBody;
  /** the text (for the listing) */
  text: string;
  /** a bare word on its own line, taken as a label (probably a misspelt instruction) */
  orphan?: boolean;
}

const DATA_WIDTH: Record<string, number> = { db: 1, dw: 2, dd: 4, dq: 8 };
const RES_WIDTH: Record<string, number> = { resb: 1, resw: 2, resd: 4, resq: 8 };
const SIZE_KW: Record<string, number> = { byte: 1, word: 2, dword: 4, qword: 8, tword: 10, fword: 6 };
export const PREFIX_NAMES = new Set(['lock', 'rep', 'repe', 'repz', 'repne', 'repnz', 'o16', 'o32', 'a16', 'a32', 'es', 'cs', 'ss', 'ds', 'fs', 'gs', 'wait']);
const DIRECTIVES = new Set([
  'bits', 'use16', 'use32', 'org', 'section', 'segment', 'absolute', 'global', 'extern', 'common', 'cpu', 'default',
  'align', 'alignb', 'sectalign', 'struc', 'endstruc', 'istruc', 'at', 'iend', 'incbin', 'equ', 'times', 'static', 'warning',
]);

/** The parser's view of which words are instructions (filled in by the encoder). */
export interface MnemonicSet {
  has(name: string): boolean;
}

export class Parser {
  /** last non-local label, the base for `.local` labels */
  base = '';

  constructor(private readonly mnemonics: MnemonicSet) {}

  isKeyword(w: string): boolean {
    const l = w.toLowerCase();
    return this.mnemonics.has(l) || l in DATA_WIDTH || l in RES_WIDTH || DIRECTIVES.has(l) || PREFIX_NAMES.has(l);
  }

  /** Turns a label as written into its full name (`.x` -> `base.x`); `..@x` are left alone. */
  qualify(name: string): string {
    if (name.startsWith('..@')) return name;
    if (name.startsWith('.') && !name.startsWith('..')) return this.base + name;
    return name;
  }

  private qualifyExpr(e: Expr): Expr {
    switch (e.k) {
      case 'sym': {
        const q = this.qualify(e.name);
        return q === e.name ? e : { ...e, name: q };
      }
      case 'un':
        return { ...e, a: this.qualifyExpr(e.a) };
      case 'bin':
        return { ...e, a: this.qualifyExpr(e.a), b: this.qualifyExpr(e.b) };
      case 'cond':
        return { ...e, c: this.qualifyExpr(e.c), a: this.qualifyExpr(e.a), b: this.qualifyExpr(e.b) };
      default:
        return e;
    }
  }

  expr(toks: readonly Token[], start: number, end: number): Expr {
    if (start >= end) throw new AsmError(toks[start - 1] ? toks[start - 1].col + toks[start - 1].s.length : 0, 'expression expected');
    return this.qualifyExpr(parseExpr(toks, start, end, isReg));
  }

  /** Parses one line. Throws AsmError on a syntax error. */
  parse(toks: Token[], origin: Origin, text: string): Stmt {
    const st: Stmt = { ...origin, label: null, labelCol: 0, times: null, body: { k: 'none' }, text };
    let i = 0;
    const n = toks.length;
    if (n === 0) return st;
    // [directive ...] form
    if (toks[0].k === Tk.Op && toks[0].s === '[' && toks[n - 1].k === Tk.Op && toks[n - 1].s === ']' && n >= 2 && toks[1].k === Tk.Id && DIRECTIVES.has(toks[1].s.toLowerCase())) {
      toks = toks.slice(1, n - 1);
      return this.parse(toks, origin, text);
    }
    // label
    const t0 = toks[0];
    if (t0.k === Tk.Id) {
      const low = t0.s.toLowerCase();
      const colon = n > 1 && toks[1].k === Tk.Op && toks[1].s === ':';
      const nextIsEqu = n > 1 && toks[1].k === Tk.Id && toks[1].s.toLowerCase() === 'equ';
      const bare = !this.isKeyword(low) && (n === 1 || (toks[1].k === Tk.Id && this.isKeyword(toks[1].s)));
      if (colon || nextIsEqu || bare) {
        if (!colon && REGISTERS.has(low)) throw new AsmError(t0.col, `'${t0.s}' is a register, not a label`);
        const name = t0.s.startsWith('$') ? t0.s.slice(1) : t0.s;
        st.label = this.qualify(name);
        st.labelCol = t0.col;
        if (!colon && !nextIsEqu && n === 1) st.orphan = true;
        // an equ is not a place in the code, so (as in NASM) it does not start a new scope
        if (!name.startsWith('.') && !name.startsWith('..@') && !nextIsEqu) this.base = name;
        i = colon ? 2 : 1;
      }
    }
    if (i >= n) return st;
    let t = toks[i];
    if (t.k !== Tk.Id) throw new AsmError(t.col, `expected an instruction or directive, found '${t.s}'`);
    let w = t.s.toLowerCase();
    if (w === 'times') {
      const p = new ExprParser(toks, i + 1, n, isReg);
      st.times = this.qualifyExpr(p.parse());
      i = p.pos;
      if (i >= n) throw new AsmError(t.col, 'times needs something to repeat');
      t = toks[i];
      if (t.k !== Tk.Id) throw new AsmError(t.col, `expected an instruction after times, found '${t.s}'`);
      w = t.s.toLowerCase();
    }
    if (w === 'equ') {
      if (!st.label) throw new AsmError(t.col, 'equ needs a label');
      st.body = { k: 'equ', e: this.expr(toks, i + 1, n) };
      return st;
    }
    st.body = this.body(toks, i, t, w);
    return st;
  }

  private body(toks: Token[], i: number, t: Token, w: string): StmtBody {
    const n = toks.length;
    if (w in DATA_WIDTH) return { k: 'data', width: DATA_WIDTH[w], items: this.dataItems(toks, i + 1) };
    if (w in RES_WIDTH) return { k: 'res', width: RES_WIDTH[w], count: this.expr(toks, i + 1, n) };
    switch (w) {
      case 'bits': {
        const e = this.expr(toks, i + 1, n);
        if (e.k !== 'num' || (e.v !== 16n && e.v !== 32n)) throw new AsmError(t.col, 'bits must be 16 or 32 (this assembler has no 64-bit mode)');
        return { k: 'bits', n: Number(e.v) };
      }
      case 'use16':
        return { k: 'bits', n: 16 };
      case 'use32':
        return { k: 'bits', n: 32 };
      case 'org':
        return { k: 'org', e: this.expr(toks, i + 1, n) };
      case 'section':
      case 'segment': {
        const nt = toks[i + 1];
        if (!nt) throw new AsmError(t.col, `${w} needs a name`);
        let name = nt.s;
        let j = i + 2;
        // names like .text are one Id token already
        let align = 0;
        let nobits: boolean | null = null;
        while (j < n) {
          const a = toks[j].s.toLowerCase();
          if (a === 'align' && toks[j + 1]?.s === '=') {
            const e = toks[j + 2];
            if (!e || e.k !== Tk.Num) throw new AsmError(toks[j].col, 'align= needs a number');
            align = Number(e.num);
            j += 3;
          } else if (a === 'nobits') {
            nobits = true;
            j++;
          } else if (a === 'progbits') {
            nobits = false;
            j++;
          } else if (a === 'start' || a === 'vstart' || a === 'follows' || a === 'vfollows') {
            throw new AsmError(toks[j].col, `section attribute '${a}' is not supported; sections are laid out in order`);
          } else j++;
        }
        if (nt.k === Tk.Str) name = nt.str;
        return { k: 'section', name, align, nobits };
      }
      case 'absolute':
        return { k: 'absolute', e: this.expr(toks, i + 1, n) };
      case 'global':
      case 'extern':
      case 'common':
      case 'static':
        if (w === 'extern' || w === 'common') throw new AsmError(t.col, `${w} is meaningless in a flat binary`);
        return { k: 'ignored' };
      case 'cpu':
      case 'default':
      case 'warning':
        return { k: 'ignored' };
      case 'sectalign':
        return { k: 'ignored' };
      case 'align':
      case 'alignb': {
        const args = splitOperands(toks, i + 1);
        if (args.length === 0) throw new AsmError(t.col, `${w} needs a boundary`);
        const nE = this.expr(toks, args[0][0], args[0][1]);
        let fill: StmtBody | null = null;
        if (args.length > 1) {
          const ft = toks[args[1][0]];
          if (!ft || ft.k !== Tk.Id) throw new AsmError(ft?.col ?? t.col, `${w}: the fill must be an instruction or data`);
          fill = this.body(toks.slice(0, args[1][1]), args[1][0], ft, ft.s.toLowerCase());
        }
        return { k: 'align', n: nE, fill, bss: w === 'alignb' };
      }
      case 'struc': {
        const nt = toks[i + 1];
        if (!nt || nt.k !== Tk.Id) throw new AsmError(t.col, 'struc needs a name');
        this.base = nt.s;
        return { k: 'struc', name: nt.s };
      }
      case 'endstruc':
        return { k: 'endstruc' };
      case 'istruc': {
        const nt = toks[i + 1];
        if (!nt || nt.k !== Tk.Id) throw new AsmError(t.col, 'istruc needs a structure name');
        return { k: 'istruc', name: nt.s };
      }
      case 'at': {
        const args = splitOperands(toks, i + 1);
        if (args.length === 0) throw new AsmError(t.col, 'at needs a field name');
        const field = this.expr(toks, args[0][0], args[0][1]);
        let data: StmtBody | null = null;
        if (args.length > 1) {
          const dt = toks[args[1][0]];
          if (!dt || dt.k !== Tk.Id) throw new AsmError(dt?.col ?? t.col, 'at: expected data after the field');
          data = this.body(toks, args[1][0], dt, dt.s.toLowerCase());
        }
        return { k: 'at', field, data };
      }
      case 'iend':
        return { k: 'iend' };
      case 'incbin': {
        const args = splitOperands(toks, i + 1);
        const f = args[0] ? toks[args[0][0]] : undefined;
        if (!f || f.k !== Tk.Str) throw new AsmError(t.col, 'incbin needs a quoted file name');
        const skip = args[1] ? this.expr(toks, args[1][0], args[1][1]) : null;
        const len = args[2] ? this.expr(toks, args[2][0], args[2][1]) : null;
        return { k: 'incbin', file: f.str, skip, len, col: f.col };
      }
    }
    // an instruction, with prefixes
    const prefixes: string[] = [];
    let j = i;
    while (j < n && toks[j].k === Tk.Id && PREFIX_NAMES.has(toks[j].s.toLowerCase()) && !(j + 1 < n && toks[j + 1].k === Tk.Op)) {
      const next = toks[j + 1];
      if (!next) break;
      prefixes.push(toks[j].s.toLowerCase());
      j++;
    }
    if (j >= n) {
      // a lone prefix such as `rep` or `lock` on its own line
      if (prefixes.length === 0 && PREFIX_NAMES.has(w)) return { k: 'insn', prefixes: [w], mnem: '', ops: [], col: t.col };
      return { k: 'insn', prefixes, mnem: '', ops: [], col: t.col };
    }
    const mt = toks[j];
    if (mt.k !== Tk.Id) throw new AsmError(mt.col, `expected an instruction, found '${mt.s}'`);
    const mnem = mt.s.toLowerCase();
    if (!this.mnemonics.has(mnem)) {
      if (PREFIX_NAMES.has(mnem) && j + 1 >= n) return { k: 'insn', prefixes: [...prefixes, mnem], mnem: '', ops: [], col: mt.col };
      throw new AsmError(mt.col, `unknown instruction '${mt.s}'`);
    }
    const ops = splitOperands(toks, j + 1).map(([a, b]) => this.operand(toks, a, b));
    return { k: 'insn', prefixes, mnem, ops, col: mt.col };
  }

  private dataItems(toks: Token[], start: number): DataItem[] {
    const items: DataItem[] = [];
    for (const [a, b] of splitOperands(toks, start)) {
      if (b - a === 1 && toks[a].k === Tk.Str) items.push({ k: 'str', bytes: toks[a].str, col: toks[a].col });
      else items.push({ k: 'expr', e: this.expr(toks, a, b), col: toks[a].col });
    }
    if (items.length === 0) throw new AsmError(toks[start - 1].col, 'data directive needs at least one value');
    return items;
  }

  /** Parses one operand from tokens [a, b). */
  operand(toks: Token[], a: number, b: number): Operand {
    if (a >= b) throw new AsmError(toks[a - 1]?.col ?? 0, 'operand expected');
    const col = toks[a].col;
    let size = 0;
    let strict = false;
    let dist = '';
    // size and distance keywords
    for (;;) {
      const t = toks[a];
      if (a >= b || t.k !== Tk.Id) break;
      const l = t.s.toLowerCase();
      if (l in SIZE_KW) size = SIZE_KW[l];
      else if (l === 'strict') strict = true;
      else if (l === 'short' || l === 'near' || l === 'far') dist = l;
      else break;
      a++;
    }
    if (a >= b) throw new AsmError(col, 'operand expected after size or distance keyword');
    const t = toks[a];
    // segment override written outside the brackets: es:[di]
    let seg = -1;
    if (b - a >= 3 && t.k === Tk.Id && REGISTERS.get(t.s.toLowerCase())?.cls === RegClass.Seg && toks[a + 1].s === ':' && toks[a + 2].s === '[') {
      seg = REGISTERS.get(t.s.toLowerCase())!.num;
      a += 2;
    }
    const t2 = toks[a];
    if (t2.k === Tk.Op && t2.s === '[') {
      if (toks[b - 1].s !== ']') throw new AsmError(toks[b - 1].col, "expected ']' at the end of a memory operand");
      const m = this.memory(toks, a + 1, b - 1, col);
      m.size = size;
      m.far = dist === 'far';
      if (seg >= 0) m.seg = seg;
      return m;
    }
    if (b - a === 1 && t2.k === Tk.Id) {
      const r = REGISTERS.get(t2.s.toLowerCase());
      if (r) {
        if (size !== 0 && size !== regSize(r)) throw new AsmError(col, `size keyword does not match register '${t2.s}'`);
        return { k: 'reg', reg: r, col };
      }
    }
    // seg:offset far immediate
    let depth = 0;
    for (let k = a; k < b; k++) {
      const x = toks[k];
      if (x.k === Tk.Op && (x.s === '(' || x.s === '[')) depth++;
      else if (x.k === Tk.Op && (x.s === ')' || x.s === ']')) depth--;
      else if (x.k === Tk.Op && x.s === ':' && depth === 0) {
        return { k: 'imm', size, strict, dist, seg: this.expr(toks, a, k), expr: this.expr(toks, k + 1, b), col };
      }
    }
    return { k: 'imm', size, strict, dist, seg: null, expr: this.expr(toks, a, b), col };
  }

  private memory(toks: Token[], a: number, b: number, col: number): MemOperand {
    const m: MemOperand = { k: 'mem', size: 0, seg: -1, terms: [], disp: null, dispSize: 0, nosplit: false, far: false, col };
    for (;;) {
      const t = toks[a];
      if (a >= b || t.k !== Tk.Id) break;
      const l = t.s.toLowerCase();
      if (l === 'byte' || l === 'word' || l === 'dword') m.dispSize = SIZE_KW[l];
      else if (l === 'nosplit') m.nosplit = true;
      else if (l === 'abs') { /* default in 32-bit code */ }
      else if (l === 'rel') throw new AsmError(t.col, 'rel addressing exists only in 64-bit mode');
      else break;
      a++;
    }
    if (b - a >= 2 && toks[a].k === Tk.Id && REGISTERS.get(toks[a].s.toLowerCase())?.cls === RegClass.Seg && toks[a + 1].s === ':') {
      m.seg = REGISTERS.get(toks[a].s.toLowerCase())!.num;
      a += 2;
    }
    if (a >= b) throw new AsmError(col, 'empty memory reference');
    const e = this.expr(toks, a, b);
    const lin = linearize(e);
    m.disp = lin.disp;
    for (const term of lin.regs) {
      if (term.reg.cls !== RegClass.R16 && term.reg.cls !== RegClass.R32) throw new AsmError(col, `register '${term.reg.name}' cannot be used in an address`);
      m.terms.push(term);
    }
    return m;
  }
}

export function regSize(r: Reg): number {
  switch (r.cls) {
    case RegClass.R8: return 1;
    case RegClass.R16: return 2;
    case RegClass.Seg: return 2;
    default: return 4;
  }
}

interface Linear {
  regs: AddrTerm[];
  disp: Expr | null;
}

const ONE: Expr = { k: 'num', v: 1n, col: 0 };

function hasReg(e: Expr): boolean {
  switch (e.k) {
    case 'reg': return true;
    case 'un': return hasReg(e.a);
    case 'bin': return hasReg(e.a) || hasReg(e.b);
    case 'cond': return hasReg(e.c) || hasReg(e.a) || hasReg(e.b);
    default: return false;
  }
}

function neg(e: Expr): Expr {
  return { k: 'un', op: '-', a: e, col: e.col };
}

function addDisp(a: Expr | null, b: Expr | null, op: '+' | '-', col: number): Expr | null {
  if (!b) return a;
  if (!a) return op === '+' ? b : neg(b);
  return { k: 'bin', op, a, b, col };
}

/** Splits an address expression into registers (with scales) and a displacement. */
function linearize(e: Expr): Linear {
  if (!hasReg(e)) return { regs: [], disp: e };
  switch (e.k) {
    case 'reg':
      return { regs: [{ reg: REGISTERS.get(e.name)!, scale: ONE, multiplied: false }], disp: null };
    case 'un':
      if (e.op === '+') return linearize(e.a);
      if (e.op === '-') {
        const l = linearize(e.a);
        return { regs: l.regs.map((r) => ({ ...r, scale: neg(r.scale) })), disp: l.disp ? neg(l.disp) : null };
      }
      break;
    case 'bin':
      if (e.op === '+' || e.op === '-') {
        const l = linearize(e.a);
        const r = linearize(e.b);
        const rr = e.op === '-' ? r.regs.map((x) => ({ ...x, scale: neg(x.scale) })) : r.regs;
        return { regs: [...l.regs, ...rr], disp: addDisp(l.disp, r.disp, e.op, e.col) };
      }
      if (e.op === '*') {
        const l = linearize(e.a);
        const r = linearize(e.b);
        if (l.regs.length > 0 && r.regs.length > 0) throw new AsmError(e.col, 'cannot multiply two registers in an address');
        const [withReg, factor] = l.regs.length > 0 ? [l, e.b] : [r, e.a];
        return {
          regs: withReg.regs.map((x) => ({ ...x, scale: { k: 'bin', op: '*', a: x.scale, b: factor, col: e.col }, multiplied: true })),
          disp: withReg.disp ? { k: 'bin', op: '*', a: withReg.disp, b: factor, col: e.col } : null,
        };
      }
      break;
  }
  throw new AsmError(e.col, 'invalid effective address (registers may only be added, subtracted or scaled)');
}

/** Splits tokens from `start` on top-level commas; returns [begin, end) ranges. */
export function splitOperands(toks: readonly Token[], start: number): [number, number][] {
  const out: [number, number][] = [];
  if (start >= toks.length) return out;
  let depth = 0;
  let s = start;
  for (let k = start; k < toks.length; k++) {
    const t = toks[k];
    if (t.k !== Tk.Op) continue;
    if (t.s === '(' || t.s === '[') depth++;
    else if (t.s === ')' || t.s === ']') depth--;
    else if (t.s === ',' && depth === 0) {
      out.push([s, k]);
      s = k + 1;
    }
  }
  out.push([s, toks.length]);
  return out;
}
