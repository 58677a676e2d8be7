/*
 * Expressions: NASM's integer expression grammar, parsed once into a small tree and then
 * evaluated on every assembly pass (a forward reference has no value in pass 1 and the
 * right one later). Values are 64-bit integers, either plain numbers ("scalars") or an
 * offset inside a section (a label): in a flat binary the final address of a section is
 * only known at the end, so, like NASM, `label` is never treated as a small number when an
 * encoding is chosen, while `label2 - label1` is. Precedence, lowest first:
 *   ?:   ||   ^^   &&   = == != <> < <= > >= <=>   |   ^   &   << >> <<< >>>   + -
 *   * / // % %%   unary - + ~ !
 * `/` and `%` are unsigned, `//` and `%%` signed, as in NASM. Next: preprocessor.ts.
 */

import { BAD_NUMBER, Tk, type Token } from './lexer';

export type Expr =
  | { k: 'num'; v: bigint; col: number }
  | { k: 'sym'; name: string; col: number }
  | { k: 'here'; col: number }
  | { k: 'base'; col: number }
  | { k: 'reg'; name: string; col: number }
  | { k: 'un'; op: string; a: Expr; col: number }
  | { k: 'bin'; op: string; a: Expr; b: Expr; col: number }
  | { k: 'cond'; c: Expr; a: Expr; b: Expr; col: number };

/** A value: `n` plus, for a label, the section it is relative to (`sec` >= 0). */
export interface Value {
  n: bigint;
  /** -1: a plain number; otherwise the index of the section `n` is an offset into */
  sec: number;
  /** true when a symbol in it has no value yet (a forward reference in an early pass) */
  unk: boolean;
}

export class AsmError {
  constructor(readonly col: number, readonly message: string) {}
}

export interface EvalEnv {
  /** value of a symbol, or undefined when it is not (yet) defined */
  symbol(name: string, col: number): Value | undefined;
  /** `$` */
  here(): Value;
  /** `$$` */
  base(): Value;
  /** report undefined symbols as errors (the last pass) */
  strict: boolean;
}

const S64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** A recursive-descent parser over a token slice [pos, end). */
export class ExprParser {
  pos: number;
  constructor(
    readonly toks: readonly Token[],
    start: number,
    readonly end: number,
    readonly isReg: (name: string) => boolean = () => false,
  ) {
    this.pos = start;
  }

  peek(): Token | undefined {
    return this.pos < this.end ? this.toks[this.pos] : undefined;
  }
  private isOp(s: string): boolean {
    const t = this.peek();
    return t !== undefined && t.k === Tk.Op && t.s === s;
  }
  private col(): number {
    const t = this.peek();
    return t ? t.col : this.end > 0 && this.toks[this.end - 1] ? this.toks[this.end - 1].col + this.toks[this.end - 1].s.length : 0;
  }

  parse(): Expr {
    return this.cond();
  }

  private cond(): Expr {
    const c = this.binary(0);
    if (this.isOp('?')) {
      const col = this.col();
      this.pos++;
      const a = this.cond();
      if (!this.isOp(':')) throw new AsmError(this.col(), "expected ':' in ?: expression");
      this.pos++;
      const b = this.cond();
      return { k: 'cond', c, a, b, col };
    }
    return c;
  }

  private static LEVELS: readonly (readonly string[])[] = [
    ['||'],
    ['^^'],
    ['&&'],
    ['=', '==', '!=', '<>', '<', '<=', '>', '>=', '<=>'],
    ['|'],
    ['^'],
    ['&'],
    ['<<', '>>', '<<<', '>>>'],
    ['+', '-'],
    ['*', '/', '//', '%', '%%'],
  ];

  private binary(level: number): Expr {
    if (level >= ExprParser.LEVELS.length) return this.unary();
    const ops = ExprParser.LEVELS[level];
    let a = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (!t || t.k !== Tk.Op || !ops.includes(t.s)) return a;
      this.pos++;
      const b = this.binary(level + 1);
      a = { k: 'bin', op: t.s, a, b, col: t.col };
    }
  }

  private unary(): Expr {
    const t = this.peek();
    if (!t) throw new AsmError(this.col(), 'expression expected');
    if (t.k === Tk.Op && (t.s === '-' || t.s === '+' || t.s === '~' || t.s === '!')) {
      this.pos++;
      return { k: 'un', op: t.s, a: this.unary(), col: t.col };
    }
    if (t.k === Tk.Op && t.s === '(') {
      this.pos++;
      const e = this.cond();
      if (!this.isOp(')')) throw new AsmError(this.col(), "expected ')'");
      this.pos++;
      return e;
    }
    this.pos++;
    switch (t.k) {
      case Tk.Num:
        if (t.str === BAD_NUMBER) throw new AsmError(t.col, `bad number '${t.s}'`);
        return { k: 'num', v: t.num, col: t.col };
      case Tk.Str:
        return { k: 'num', v: t.num, col: t.col };
      case Tk.Here:
        return { k: 'here', col: t.col };
      case Tk.Base:
        return { k: 'base', col: t.col };
      case Tk.Id: {
        const low = t.s.toLowerCase();
        if (this.isReg(low)) return { k: 'reg', name: low, col: t.col };
        return { k: 'sym', name: t.s.startsWith('$') ? t.s.slice(1) : t.s, col: t.col };
      }
      default:
        throw new AsmError(t.col, `unexpected '${t.s}' in expression`);
    }
  }
}

/** Parses tokens [start, end) as one whole expression. */
export function parseExpr(toks: readonly Token[], start = 0, end = toks.length, isReg?: (n: string) => boolean): Expr {
  const p = new ExprParser(toks, start, end, isReg);
  const e = p.parse();
  if (p.pos < end) throw new AsmError(toks[p.pos].col, `unexpected '${toks[p.pos].s}' in expression`);
  return e;
}

const scalar = (n: bigint, unk: boolean): Value => ({ n: S64(n), sec: -1, unk });

/** Evaluates an expression; throws AsmError on an error (division by zero, bad label math). */
export function evaluate(e: Expr, env: EvalEnv): Value {
  switch (e.k) {
    case 'num':
      return { n: S64(e.v), sec: -1, unk: false };
    case 'here':
      return env.here();
    case 'base':
      return env.base();
    case 'reg':
      throw new AsmError(e.col, `register '${e.name}' not allowed here`);
    case 'sym': {
      const v = env.symbol(e.name, e.col);
      if (v) return v;
      if (env.strict) throw new AsmError(e.col, `symbol '${e.name}' not defined`);
      return { n: 0n, sec: -1, unk: true };
    }
    case 'cond': {
      const c = evaluate(e.c, env);
      return c.n !== 0n || c.sec >= 0 ? evaluate(e.a, env) : evaluate(e.b, env);
    }
    case 'un': {
      const a = evaluate(e.a, env);
      if (e.op === '+') return a;
      if (a.sec >= 0) throw new AsmError(e.col, `unary '${e.op}' applied to a label (not a plain number)`);
      if (e.op === '-') return scalar(-a.n, a.unk);
      if (e.op === '~') return scalar(~a.n, a.unk);
      return scalar(a.n === 0n ? 1n : 0n, a.unk);
    }
    case 'bin': {
      const a = evaluate(e.a, env);
      const b = evaluate(e.b, env);
      const unk = a.unk || b.unk;
      if (e.op === '+') {
        if (a.sec >= 0 && b.sec >= 0) throw new AsmError(e.col, 'cannot add two labels');
        return { n: S64(a.n + b.n), sec: a.sec >= 0 ? a.sec : b.sec, unk };
      }
      if (e.op === '-') {
        if (b.sec >= 0) {
          if (a.sec === b.sec) return scalar(a.n - b.n, unk);
          if (unk) return scalar(0n, true);
          throw new AsmError(e.col, 'cannot subtract labels of different sections');
        }
        return { n: S64(a.n - b.n), sec: a.sec, unk };
      }
      if (a.sec >= 0 || b.sec >= 0) {
        if (unk) return scalar(0n, true);
        throw new AsmError(e.col, `operator '${e.op}' needs plain numbers, not labels`);
      }
      const x = a.n;
      const y = b.n;
      switch (e.op) {
        case '*': return scalar(x * y, unk);
        case '/': case '//': case '%': case '%%': {
          if (y === 0n) {
            if (unk) return scalar(0n, true);
            throw new AsmError(e.col, 'division by zero');
          }
          if (e.op === '/') return scalar(U64(x) / U64(y), unk);
          if (e.op === '%') return scalar(U64(x) % U64(y), unk);
          if (e.op === '//') return scalar(x / y, unk);
          return scalar(x % y, unk);
        }
        case '<<': case '<<<': return scalar(y >= 64n || y < 0n ? 0n : x << y, unk);
        case '>>': return scalar(y >= 64n || y < 0n ? 0n : U64(x) >> y, unk);
        case '>>>': return scalar(x >> (y >= 64n || y < 0n ? 63n : y), unk);
        case '&': return scalar(x & y, unk);
        case '|': return scalar(x | y, unk);
        case '^': return scalar(x ^ y, unk);
        case '=': case '==': return scalar(x === y ? 1n : 0n, unk);
        case '!=': case '<>': return scalar(x !== y ? 1n : 0n, unk);
        case '<': return scalar(x < y ? 1n : 0n, unk);
        case '<=': return scalar(x <= y ? 1n : 0n, unk);
        case '>': return scalar(x > y ? 1n : 0n, unk);
        case '>=': return scalar(x >= y ? 1n : 0n, unk);
        case '<=>': return scalar(x < y ? -1n : x > y ? 1n : 0n, unk);
        case '&&': return scalar(x !== 0n && y !== 0n ? 1n : 0n, unk);
        case '||': return scalar(x !== 0n || y !== 0n ? 1n : 0n, unk);
        case '^^': return scalar((x !== 0n) !== (y !== 0n) ? 1n : 0n, unk);
      }
      throw new AsmError(e.col, `unknown operator '${e.op}'`);
    }
  }
}

/** True when the tree mentions a symbol, `$` or `$$` (so it may change between passes). */
export function isConstant(e: Expr): boolean {
  switch (e.k) {
    case 'num': return true;
    case 'un': return isConstant(e.a);
    case 'bin': return isConstant(e.a) && isConstant(e.b);
    case 'cond': return isConstant(e.c) && isConstant(e.a) && isConstant(e.b);
    default: return false;
  }
}
