/*
 * The preprocessor: NASM's macro language, run once before assembly. It reads source
 * lines from the virtual file system and hands the assembler a flat list of token lines,
 * each tagged with the file:line it came from (a line made by a macro is tagged with the
 * line that invoked it, which is what a student clicking in the listing expects).
 *
 * What it does, in order, for every line:
 *   1. while a %macro or %rep body is being collected, the line is only stored;
 *   2. conditional directives (%if...%endif) are tracked even inside a skipped branch;
 *   3. other directives run (%define, %assign, %include, %rep, %error, ...);
 *   4. an ordinary line has its single-line macros expanded, and if it then starts with a
 *      multi-line macro name, the macro body is pushed as a new source of lines with the
 *      parameters (%1, %0, %%label, ...) substituted as each line is pulled.
 * Labels and `$` are not known here: %if sees only numbers and macros, as in NASM.
 * Next: parser.ts.
 */

import type { Diagnostic, Origin } from './diag';
import { AsmError, evaluate, parseExpr, type EvalEnv } from './expr';
import { LexError, Tk, lex, untokenize, type Token } from './lexer';
import { readText, resolveInclude, type Vfs } from './vfs';

export interface PLine extends Origin {
  toks: Token[];
  /** the text after preprocessing (for the listing) */
  text: string;
  /** produced by a macro expansion */
  fromMacro: boolean;
}

interface SrcLine extends Origin {
  text: string;
}

interface SMacro {
  params: string[] | null;
  body: Token[];
}

interface MMacro {
  name: string;
  min: number;
  max: number;
  greedy: boolean;
  defaults: string[];
  body: SrcLine[];
}

interface MacroCtx {
  args: string[];
  /** number of parameters actually given (%0) */
  given: number;
  uid: number;
  rotate: number;
}

interface Source {
  lines: SrcLine[];
  idx: number;
  /** for a macro expansion: its parameters; lines are re-tagged with `origin` */
  ctx: MacroCtx | null;
  origin: Origin | null;
  /** for %rep: remaining repetitions after this one, and the condition depth at entry */
  rep: number;
  isRep: boolean;
  condDepth: number;
  /** a file source: its path (for %include resolution and __FILE__) */
  file: string;
}

const enum Cond {
  Active,
  Waiting,
  Done,
}

export interface PreprocessResult {
  lines: PLine[];
  /** files read (for dependency tracking and the editor) */
  files: string[];
}

const MAX_INCLUDE_DEPTH = 32;
const MAX_EXPANSION = 1_000_000;

export class Preprocessor {
  private out: PLine[] = [];
  private defs = new Map<string, SMacro>();
  private idefs = new Map<string, SMacro>();
  private macros = new Map<string, MMacro[]>();
  private stack: Source[] = [];
  private cond: { state: Cond; elseSeen: boolean; at?: Origin }[] = [];
  private skipping = 0;
  private uid = 0;
  private ctxStack: { name: string; id: number }[] = [];
  private files: string[] = [];
  private emitted = 0;
  /** current line's origin, for diagnostics */
  private where: Origin = { file: '', line: 0 };

  constructor(
    private readonly vfs: Vfs,
    private readonly diags: Diagnostic[],
  ) {}

  private error(col: number, message: string, severity: 'error' | 'warning' = 'error'): void {
    this.diags.push({ severity, file: this.where.file, line: this.where.line, column: col + 1, message });
  }

  /** Defines NAME (or NAME=VALUE) as given on the command line. */
  define(spec: string): void {
    const eq = spec.indexOf('=');
    const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
    const value = eq < 0 ? '' : spec.slice(eq + 1);
    try {
      this.defs.set(name, { params: null, body: lex(value) });
    } catch (e) {
      this.diags.push({ severity: 'error', file: '<command line>', line: 0, column: 1, message: `bad -D value for ${name}: ${(e as LexError).message}` });
    }
  }

  run(mainFile: string): PreprocessResult {
    const text = readText(this.vfs, mainFile);
    if (text === null) {
      this.diags.push({ severity: 'error', file: mainFile, line: 0, column: 1, message: `file '${mainFile}' not found` });
      return { lines: [], files: [] };
    }
    this.pushFile(mainFile, text);
    for (;;) {
      const l = this.next();
      if (!l) break;
      this.where = { file: l.file, line: l.line };
      this.processLine(l.text, l.file, l.line);
      if (this.emitted > MAX_EXPANSION) {
        this.error(0, 'too many lines generated (runaway %rep or recursive macro?)');
        break;
      }
    }
    if (this.cond.length > 0) {
      const open = this.cond[this.cond.length - 1].at;
      if (open) this.where = open;
      this.error(0, `missing %endif for this %if (the input ends inside it)`);
    }
    return { lines: this.out, files: this.files };
  }

  private pushFile(path: string, text: string): void {
    this.files.push(path);
    const raw = text.split('\n');
    const lines: SrcLine[] = [];
    for (let i = 0; i < raw.length; i++) {
      let t = raw[i].replace(/\r$/, '');
      const first = i;
      while (t.endsWith('\\') && i + 1 < raw.length) {
        t = t.slice(0, -1) + raw[++i].replace(/\r$/, '');
      }
      lines.push({ text: t, file: path, line: first + 1 });
    }
    this.stack.push({ lines, idx: 0, ctx: null, origin: null, rep: 0, isRep: false, condDepth: this.cond.length, file: path });
  }

  private currentFile(): string {
    for (let i = this.stack.length - 1; i >= 0; i--) if (this.stack[i].ctx === null && !this.stack[i].isRep) return this.stack[i].file;
    return '';
  }

  private macroCtx(): MacroCtx | null {
    for (let i = this.stack.length - 1; i >= 0; i--) if (this.stack[i].ctx) return this.stack[i].ctx;
    return null;
  }

  /** Pulls the next raw line, with macro parameters substituted. */
  private next(): SrcLine | null {
    while (this.stack.length > 0) {
      const s = this.stack[this.stack.length - 1];
      if (s.idx < s.lines.length) {
        const l = s.lines[s.idx++];
        const origin = s.origin ?? l;
        // a body being collected keeps its %1... so a %rep re-reads them each time round
        if (s.ctx && !this.collecting) return { text: this.substitute(l.text, s.ctx, origin), file: origin.file, line: origin.line };
        return { text: l.text, file: origin.file, line: origin.line };
      }
      if (s.isRep && s.rep > 0) {
        s.rep--;
        s.idx = 0;
        continue;
      }
      this.stack.pop();
    }
    return null;
  }

  /** Replaces %1.., %0, %%name, %{n}, %+ in one line of a macro body. */
  private substitute(text: string, ctx: MacroCtx, origin: Origin): string {
    if (!text.includes('%')) return text;
    let toks: Token[];
    try {
      toks = lex(text);
    } catch {
      return text;
    }
    let changed = false;
    const parts: { s: string; ws: boolean; paste: boolean }[] = [];
    const n = ctx.given;
    const arg = (i: number): string => {
      if (i === 0) return String(n);
      const j = n > 0 && i <= n ? (((i - 1 + ctx.rotate) % n) + n) % n : i - 1;
      return ctx.args[j] ?? '';
    };
    for (const t of toks) {
      if (t.k === Tk.Pp) {
        const m = /^%(?:\{(-?\d+)\}|(\d+))$/.exec(t.s);
        if (m) {
          const i = Number(m[1] ?? m[2]);
          parts.push({ s: i < 0 ? arg(n + 1 + i) : arg(i), ws: t.ws, paste: false });
          changed = true;
          continue;
        }
        const neg = /^%-(\d+)$/.exec(t.s);
        if (neg) {
          parts.push({ s: invertCondition(arg(Number(neg[1]))), ws: t.ws, paste: false });
          changed = true;
          continue;
        }
        if (t.s.startsWith('%%')) {
          parts.push({ s: `..@${ctx.uid}.${t.s.slice(2)}`, ws: t.ws, paste: false });
          changed = true;
          continue;
        }
        if (t.s === '%+') {
          parts.push({ s: '', ws: false, paste: true });
          changed = true;
          continue;
        }
      }
      parts.push({ s: t.s, ws: t.ws, paste: false });
    }
    if (!changed) return text;
    void origin;
    let out = '';
    let pasteNext = false;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (p.paste) {
        pasteNext = true;
        continue;
      }
      if (out.length > 0 && p.ws && !pasteNext) out += ' ';
      out += p.s;
      pasteNext = false;
    }
    // keep leading indentation so a label-less line still looks like one
    return (/^\s/.test(text) ? ' ' : '') + out;
  }

  private collecting: { kind: 'macro' | 'rep'; depth: number; lines: SrcLine[]; macro?: MMacro; count?: number; origin: Origin } | null = null;

  private processLine(text: string, file: string, line: number): void {
    let toks: Token[];
    try {
      toks = lex(text);
    } catch (e) {
      if (this.collecting || this.skipping) {
        if (this.collecting) this.collecting.lines.push({ text, file, line });
        return;
      }
      if (e instanceof LexError) this.error(e.col, e.message);
      else throw e;
      return;
    }
    const first = toks[0];
    const dir = first && first.k === Tk.Pp ? first.s.toLowerCase() : '';

    if (this.collecting) {
      const c = this.collecting;
      const opens = c.kind === 'macro' ? dir === '%macro' || dir === '%imacro' : dir === '%rep';
      const closes = c.kind === 'macro' ? dir === '%endmacro' || dir === '%endm' : dir === '%endrep' || dir === '%endr';
      if (opens) c.depth++;
      if (closes && --c.depth === 0) {
        this.collecting = null;
        this.finishCollect(c);
        return;
      }
      c.lines.push({ text, file, line });
      return;
    }

    if (dir && this.conditional(dir, toks)) return;
    if (this.skipping) return;

    if (dir && !/^%(\d+|\{|%|\$|\+|-)/.test(dir)) {
      this.directive(dir, toks, text, file, line);
      return;
    }

    const ex = this.expand(this.mangleContext(toks), new Set(), 0);
    if (ex.length === 0) {
      // keep comment lines of the source files for the listing (not those of macro bodies)
      if (toks.length === 0 && !this.stack.some((s) => s.ctx !== null || s.isRep)) this.out.push({ toks: [], file, line, text: text.trimEnd(), fromMacro: false });
      return;
    }
    // multi-line macro invocation: `name args` or `label: name args`
    let at = 0;
    if (ex.length >= 3 && ex[0].k === Tk.Id && ex[1].k === Tk.Op && ex[1].s === ':' && ex[2].k === Tk.Id && this.findMacroName(ex[2].s)) {
      this.emit(ex.slice(0, 2), file, line, text);
      at = 2;
    }
    const head = ex[at];
    if (head.k === Tk.Id && this.findMacroName(head.s)) {
      this.invoke(head, ex.slice(at + 1), file, line);
      return;
    }
    this.emit(at ? ex.slice(at) : ex, file, line, at ? '' : text);
  }

  private emit(toks: Token[], file: string, line: number, raw: string): void {
    this.emitted++;
    const fromMacro = this.stack.some((s) => s.ctx !== null);
    // the listing shows the line as written, or as expanded when a macro made it
    const text = fromMacro ? untokenize(toks) : raw.trimEnd();
    this.out.push({ toks, file, line, text, fromMacro });
  }

  private findMacroName(name: string): MMacro[] | undefined {
    return this.macros.get(name) ?? this.macros.get('\0' + name.toLowerCase());
  }

  // ---- single-line macros ----------------------------------------------------------------

  private lookupDef(name: string): SMacro | undefined {
    return this.defs.get(name) ?? this.idefs.get(name.toLowerCase());
  }

  private builtin(t: Token): Token | null {
    if (t.s === '__FILE__' || t.s === '__?FILE?__') return { ...t, k: Tk.Str, s: JSON.stringify(this.where.file), str: this.where.file, num: 0n };
    if (t.s === '__LINE__' || t.s === '__?LINE?__') return { ...t, k: Tk.Num, s: String(this.where.line), num: BigInt(this.where.line) };
    return null;
  }

  /** Rewrites `%$name` context-local tokens into unique identifiers. */
  private mangleContext(toks: Token[]): Token[] {
    if (!toks.some((t) => t.k === Tk.Pp && t.s.startsWith('%$'))) return toks;
    return toks.map((t) => {
      if (t.k !== Tk.Pp || !t.s.startsWith('%$')) return t;
      let depth = 0;
      let s = t.s.slice(1);
      while (s.startsWith('$')) {
        depth++;
        s = s.slice(1);
      }
      const ctx = this.ctxStack[this.ctxStack.length - depth];
      if (!ctx) {
        this.error(t.col, `'${t.s}': no context stack`);
        return t;
      }
      return { ...t, k: Tk.Id, s: `..@${ctx.id}.${s}` };
    });
  }

  private expand(toks: Token[], active: Set<string>, depth: number): Token[] {
    if (depth > 64) {
      this.error(toks[0]?.col ?? 0, 'macro expansion too deep (recursive %define?)');
      return toks;
    }
    let out: Token[] | null = null;
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i];
      if (t.k === Tk.Pp && t.s.startsWith('%[')) {
        // %[...]: expand the inside now, then paste it to its neighbours
        out ??= toks.slice(0, i);
        let inner: Token[] = [];
        try {
          inner = this.expand(lex(t.s.slice(2, -1)), active, depth + 1);
        } catch (e) {
          if (e instanceof LexError) this.error(t.col, e.message);
        }
        const txt = inner.map((x) => x.s).join('');
        out.push(...this.relex(txt, t));
        continue;
      }
      if (t.k !== Tk.Id) {
        if (out) out.push(t);
        continue;
      }
      const b = this.builtin(t);
      if (b) {
        out ??= toks.slice(0, i);
        out.push(b);
        continue;
      }
      const m = active.has(t.s) ? undefined : this.lookupDef(t.s);
      if (!m) {
        if (out) out.push(t);
        continue;
      }
      let args: Token[][] = [];
      let end = i;
      if (m.params) {
        const nx = toks[i + 1];
        if (!nx || nx.k !== Tk.Op || nx.s !== '(') {
          if (out) out.push(t);
          continue;
        }
        let d = 0;
        let cur: Token[] = [];
        let j = i + 1;
        for (; j < toks.length; j++) {
          const x = toks[j];
          if (x.k === Tk.Op && x.s === '(') {
            if (d++ === 0) continue;
          } else if (x.k === Tk.Op && x.s === ')') {
            if (--d === 0) break;
          } else if (x.k === Tk.Op && x.s === ',' && d === 1) {
            args.push(cur);
            cur = [];
            continue;
          }
          cur.push(x);
        }
        if (j >= toks.length) {
          this.error(t.col, `missing ')' in call of macro '${t.s}'`);
          if (out) out.push(t);
          continue;
        }
        args.push(cur);
        if (m.params.length === 0 && args.length === 1 && args[0].length === 0) args = [];
        if (args.length !== m.params.length) {
          if (out) out.push(t);
          continue;
        }
        end = j;
      }
      out ??= toks.slice(0, i);
      let body: Token[] = [];
      for (const bt of m.body) {
        const pi = m.params && bt.k === Tk.Id ? m.params.indexOf(bt.s) : -1;
        if (pi >= 0) {
          const a = this.expand(args[pi], active, depth + 1);
          a.forEach((x, k) => body.push(k === 0 ? { ...x, ws: bt.ws, col: t.col } : { ...x, col: t.col }));
        } else body.push({ ...bt, col: t.col });
      }
      if (body.length > 0) body[0] = { ...body[0], ws: t.ws };
      body = this.paste(body);
      const next = new Set(active);
      next.add(t.s);
      out.push(...this.expand(body, next, depth + 1));
      i = end;
    }
    return out ?? toks;
  }

  /** Joins tokens around `%+` and re-lexes the joined text. */
  private paste(toks: Token[]): Token[] {
    if (!toks.some((t) => t.k === Tk.Pp && t.s === '%+')) return toks;
    const out: Token[] = [];
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i];
      if (t.k === Tk.Pp && t.s === '%+' && out.length > 0 && i + 1 < toks.length) {
        const prev = out.pop()!;
        out.push(...this.relex(prev.s + toks[++i].s, prev));
      } else out.push(t);
    }
    return out;
  }

  private relex(text: string, at: Token): Token[] {
    try {
      return lex(text).map((x, k) => ({ ...x, col: at.col, ws: k === 0 ? at.ws : x.ws }));
    } catch (e) {
      if (e instanceof LexError) this.error(at.col, e.message);
      return [];
    }
  }

  // ---- conditionals ----------------------------------------------------------------------

  /** Handles %if-family directives; returns true if `dir` was one. */
  private conditional(dir: string, toks: Token[]): boolean {
    const m = /^%(if|elif)(n?)(def|idni|idn|num|str|id|empty|macro|ctx)?$/.exec(dir);
    if (m) {
      const isElif = m[1] === 'elif';
      const neg = m[2] === 'n';
      const kind = m[3] ?? '';
      if (!isElif) {
        if (this.skipping) {
          this.cond.push({ state: Cond.Done, elseSeen: false });
          this.skipping++;
          return true;
        }
        const v = this.test(kind, toks) !== neg;
        this.cond.push({ state: v ? Cond.Active : Cond.Waiting, elseSeen: false, at: this.where });
        if (!v) this.skipping++;
        return true;
      }
      const top = this.cond[this.cond.length - 1];
      if (!top) {
        this.error(toks[0].col, `${dir} without %if`);
        return true;
      }
      if (top.elseSeen) this.error(toks[0].col, `${dir} after %else`);
      if (top.state === Cond.Active) {
        top.state = Cond.Done;
        this.skipping++;
      } else if (top.state === Cond.Waiting && this.skipping === 1) {
        const v = this.test(kind, toks) !== neg;
        if (v) {
          top.state = Cond.Active;
          this.skipping--;
        }
      }
      return true;
    }
    if (dir === '%else') {
      const top = this.cond[this.cond.length - 1];
      if (!top) {
        this.error(toks[0].col, '%else without %if');
        return true;
      }
      if (top.elseSeen) this.error(toks[0].col, '%else after %else');
      top.elseSeen = true;
      if (top.state === Cond.Active) {
        top.state = Cond.Done;
        this.skipping++;
      } else if (top.state === Cond.Waiting && this.skipping === 1) {
        top.state = Cond.Active;
        this.skipping--;
      }
      return true;
    }
    if (dir === '%endif') {
      const top = this.cond.pop();
      if (!top) {
        this.error(toks[0].col, '%endif without %if');
        return true;
      }
      if (top.state !== Cond.Active) this.skipping--;
      return true;
    }
    return false;
  }

  private test(kind: string, toks: Token[]): boolean {
    const args = toks.slice(1);
    const col = toks[0].col;
    switch (kind) {
      case '':
        return this.evalNumber(args, col) !== 0n;
      case 'def':
        return args.length > 0 && this.lookupDef(this.mangleContext(args)[0].s) !== undefined;
      case 'macro':
        return args.length > 0 && this.findMacroName(args[0].s) !== undefined;
      case 'ctx':
        return args.length > 0 && this.ctxStack.length > 0 && this.ctxStack[this.ctxStack.length - 1].name === args[0].s;
      case 'idn':
      case 'idni': {
        const ex = this.expand(this.mangleContext(args), new Set(), 0);
        const ci = ex.findIndex((t) => t.k === Tk.Op && t.s === ',');
        if (ci < 0) {
          this.error(col, `%if${kind} expects two comma-separated texts`);
          return false;
        }
        const a = untokenize(ex.slice(0, ci)).trim();
        const b = untokenize(ex.slice(ci + 1)).trim();
        return kind === 'idn' ? a === b : a.toLowerCase() === b.toLowerCase();
      }
      default: {
        const ex = this.expand(this.mangleContext(args), new Set(), 0);
        if (kind === 'empty') return ex.length === 0;
        if (ex.length !== 1) return false;
        if (kind === 'num') return ex[0].k === Tk.Num;
        if (kind === 'str') return ex[0].k === Tk.Str;
        if (kind === 'id') return ex[0].k === Tk.Id;
        return false;
      }
    }
  }

  /** Evaluates a preprocessor expression (numbers and macros only). */
  private evalNumber(toks: Token[], col: number): bigint {
    const ex = this.expand(this.mangleContext(toks), new Set(), 0);
    if (ex.length === 0) {
      this.error(col, 'expression expected');
      return 0n;
    }
    const env: EvalEnv = {
      symbol: () => undefined,
      here: () => {
        throw new AsmError(col, "'$' is not known to the preprocessor");
      },
      base: () => {
        throw new AsmError(col, "'$$' is not known to the preprocessor");
      },
      strict: true,
    };
    try {
      const v = evaluate(parseExpr(ex), env);
      return v.n;
    } catch (e) {
      if (e instanceof AsmError) {
        const msg = /^symbol '(.*)' not defined$/.exec(e.message);
        this.error(e.col, msg ? `'${msg[1]}' is not a number or a defined macro in a preprocessor expression` : e.message);
      } else throw e;
      return 0n;
    }
  }

  // ---- directives ----------------------------------------------------------------------

  private directive(dir: string, toks: Token[], text: string, file: string, line: number): void {
    const col = toks[0].col;
    const args = this.mangleContext(toks.slice(1));
    switch (dir) {
      case '%define':
      case '%idefine':
      case '%xdefine':
      case '%ixdefine': {
        const name = args[0];
        if (!name || (name.k !== Tk.Id && name.k !== Tk.Pp)) {
          this.error(col, `${dir} needs a macro name`);
          return;
        }
        let k = 1;
        let params: string[] | null = null;
        if (args[1] && args[1].k === Tk.Op && args[1].s === '(' && !args[1].ws) {
          params = [];
          k = 2;
          while (k < args.length && !(args[k].k === Tk.Op && args[k].s === ')')) {
            if (args[k].k === Tk.Id) params.push(args[k].s);
            else if (!(args[k].k === Tk.Op && args[k].s === ',')) {
              this.error(args[k].col, `bad parameter '${args[k].s}' in ${dir}`);
              return;
            }
            k++;
          }
          if (k >= args.length) {
            this.error(col, `missing ')' in ${dir}`);
            return;
          }
          k++;
        }
        let body = args.slice(k);
        if (dir.includes('x')) body = this.expand(body, new Set(), 0);
        const m: SMacro = { params, body };
        if (dir.startsWith('%i')) this.idefs.set(name.s.toLowerCase(), m);
        else this.defs.set(name.s, m);
        return;
      }
      case '%undef':
        if (args[0]) {
          this.defs.delete(args[0].s);
          this.idefs.delete(args[0].s.toLowerCase());
        }
        return;
      case '%assign':
      case '%iassign': {
        const name = args[0];
        if (!name) {
          this.error(col, `${dir} needs a macro name`);
          return;
        }
        const v = this.evalNumber(args.slice(1), col);
        const body: Token[] = [{ k: Tk.Num, s: String(v), col: 0, ws: true, num: BigInt.asUintN(64, v), str: '' }];
        if (v < 0n) body[0] = { ...body[0], s: `-${-v}`, k: Tk.Num };
        const m: SMacro = { params: null, body: v < 0n ? [{ k: Tk.Op, s: '-', col: 0, ws: true, num: 0n, str: '' }, { k: Tk.Num, s: String(-v), col: 0, ws: false, num: -v, str: '' }] : body };
        if (dir === '%iassign') this.idefs.set(name.s.toLowerCase(), m);
        else this.defs.set(name.s, m);
        return;
      }
      case '%strlen': {
        const name = args[0];
        const ex = this.expand(args.slice(1), new Set(), 0);
        if (!name || ex.length !== 1 || ex[0].k !== Tk.Str) {
          this.error(col, '%strlen expects a macro name and a string');
          return;
        }
        const n = ex[0].str.length;
        this.defs.set(name.s, { params: null, body: [{ k: Tk.Num, s: String(n), col: 0, ws: true, num: BigInt(n), str: '' }] });
        return;
      }
      case '%strcat': {
        // %strcat name 'a', "b", ... : one string of them all
        const name = args[0];
        const parts = splitArgs(this.expand(args.slice(1), new Set(), 0), false);
        if (!name || parts.some((p) => p.length !== 1 || p[0].k !== Tk.Str)) {
          this.error(col, '%strcat expects a macro name and strings');
          return;
        }
        this.defs.set(name.s, { params: null, body: [strToken(parts.map((p) => p[0].str).join(''))] });
        return;
      }
      case '%substr': {
        // %substr name 'string', start[, length]  (1-based, as in NASM)
        const name = args[0];
        const parts = splitArgs(this.expand(args.slice(1), new Set(), 0), false);
        const str = parts[0];
        if (!name || !str || str.length !== 1 || str[0].k !== Tk.Str || parts.length < 2) {
          this.error(col, '%substr expects a macro name, a string and a start position');
          return;
        }
        const from = Number(this.evalNumber(parts[1], col));
        const len = parts[2] ? Number(this.evalNumber(parts[2], col)) : 1;
        const whole = str[0].str;
        const n = len < 0 ? whole.length - (from - 1) + len + 1 : len;
        this.defs.set(name.s, { params: null, body: [strToken(whole.substr(from - 1, Math.max(0, n)))] });
        return;
      }
      case '%include': {
        const ex = this.expand(args, new Set(), 0);
        const f = ex[0];
        if (!f || f.k !== Tk.Str) {
          this.error(col, '%include expects a quoted file name');
          return;
        }
        if (this.stack.filter((s) => s.ctx === null && !s.isRep).length >= MAX_INCLUDE_DEPTH) {
          this.error(col, '%include nested too deeply');
          return;
        }
        const path = resolveInclude(this.vfs, f.str, this.currentFile());
        const t = path === null ? null : readText(this.vfs, path);
        if (path === null || t === null) {
          this.error(f.col, `include file '${f.str}' not found`);
          return;
        }
        this.pushFile(path, t);
        return;
      }
      case '%error':
      case '%fatal':
      case '%warning': {
        const ex = this.expand(args, new Set(), 0);
        const msg = ex.length === 1 && ex[0].k === Tk.Str ? ex[0].str : untokenize(ex);
        this.error(col, msg, dir === '%warning' ? 'warning' : 'error');
        return;
      }
      case '%macro':
      case '%imacro': {
        const m = this.parseMacroHeader(dir, args, col);
        if (!m) {
          // still swallow the body so its lines are not assembled
          this.collecting = { kind: 'macro', depth: 1, lines: [], origin: { file, line } };
          return;
        }
        this.collecting = { kind: 'macro', depth: 1, lines: [], macro: m, origin: { file, line } };
        return;
      }
      case '%endmacro':
      case '%endm':
        this.error(col, `${dir} without %macro`);
        return;
      case '%unmacro':
      case '%unimacro': {
        // removes the definition with this parameter specification (N, N-M, N-*)
        const key = args[0] ? (dir === '%unimacro' ? '\0' + args[0].s.toLowerCase() : args[0].s) : '';
        const spec = /^(\d+)(?:-(\d+|\*))?/.exec(args.slice(1).map((t) => t.s).join(''));
        const list = this.macros.get(key);
        if (!list || !spec) {
          this.error(col, `${dir} needs a macro name and its parameter count`);
          return;
        }
        const min = Number(spec[1]);
        const max = spec[2] === undefined ? min : spec[2] === '*' ? Infinity : Number(spec[2]);
        const rest = list.filter((m) => !(m.min === min && m.max === max));
        if (rest.length) this.macros.set(key, rest);
        else this.macros.delete(key);
        return;
      }
      case '%rep': {
        const n = this.evalNumber(args, col);
        const count = n < 0n ? 0 : Number(n > 1_000_000n ? 1_000_000n : n);
        this.collecting = { kind: 'rep', depth: 1, lines: [], count, origin: { file, line } };
        return;
      }
      case '%endrep':
      case '%endr':
        this.error(col, `${dir} without %rep`);
        return;
      case '%exitrep': {
        for (let i = this.stack.length - 1; i >= 0; i--) {
          if (this.stack[i].isRep) {
            this.unwindCond(this.stack[i].condDepth);
            this.stack.length = i;
            return;
          }
          if (this.stack[i].ctx === null) break;
        }
        this.error(col, '%exitrep outside %rep');
        return;
      }
      case '%exitmacro': {
        for (let i = this.stack.length - 1; i >= 0; i--) {
          if (this.stack[i].ctx && !this.stack[i].isRep) {
            this.unwindCond(this.stack[i].condDepth);
            this.stack.length = i;
            return;
          }
        }
        this.error(col, '%exitmacro outside a macro');
        return;
      }
      case '%rotate': {
        const ctx = this.macroCtx();
        if (!ctx) {
          this.error(col, '%rotate outside a macro');
          return;
        }
        ctx.rotate += Number(this.evalNumber(args, col));
        return;
      }
      case '%push':
        this.ctxStack.push({ name: args[0]?.s ?? '', id: ++this.uid });
        return;
      case '%pop':
        if (!this.ctxStack.pop()) this.error(col, '%pop: context stack is empty');
        return;
      case '%repl':
        if (this.ctxStack.length === 0) this.error(col, '%repl: context stack is empty');
        else this.ctxStack[this.ctxStack.length - 1].name = args[0]?.s ?? '';
        return;
      case '%line':
      case '%pragma':
      case '%use':
      case '%depend':
      case '%local':
      case '%arg':
      case '%stacksize':
        return;
      default:
        void text;
        this.error(col, `unknown preprocessor directive '${toks[0].s}'`);
    }
  }

  /** On %exitrep/%exitmacro: drop %if levels opened inside the body being left. */
  private unwindCond(depth: number): void {
    while (this.cond.length > depth) {
      const top = this.cond.pop()!;
      if (top.state !== Cond.Active) this.skipping--;
    }
  }

  private parseMacroHeader(dir: string, args: Token[], col: number): MMacro | null {
    const name = args[0];
    if (!name || name.k !== Tk.Id) {
      this.error(col, `${dir} needs a macro name`);
      return null;
    }
    // parameter spec: N, N-M, N-*, N+, N-M+, then optional .nolist, then defaults
    let k = 1;
    let spec = '';
    while (k < args.length && !(args[k].k === Tk.Op && args[k].s === ',') && (k === 1 || !args[k].ws)) {
      spec += args[k].s;
      k++;
    }
    const m = /^(\d+)(?:-(\d+|\*))?(\+)?(\.nolist)?$/i.exec(spec);
    if (!m) {
      this.error(args[1]?.col ?? col, `bad parameter count '${spec}' in ${dir} (expected N, N-M, N-* or N+)`);
      return null;
    }
    if (k < args.length && args[k].k === Tk.Id && args[k].s.toLowerCase() === '.nolist') k++;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[2] === '*' ? Infinity : Number(m[2]);
    const defaults = splitArgs(args.slice(k), false).map((a) => untokenize(a));
    const key = dir === '%imacro' ? '\0' + name.s.toLowerCase() : name.s;
    return { name: key, min, max, greedy: m[3] === '+', defaults, body: [] };
  }

  private finishCollect(c: NonNullable<Preprocessor['collecting']>): void {
    if (c.kind === 'macro') {
      if (!c.macro) return;
      c.macro.body = c.lines;
      const list = this.macros.get(c.macro.name) ?? [];
      // a redefinition with the same parameter range replaces the old one
      const same = list.findIndex((x) => x.min === c.macro!.min && x.max === c.macro!.max);
      if (same >= 0) list[same] = c.macro;
      else list.push(c.macro);
      this.macros.set(c.macro.name, list);
      return;
    }
    if ((c.count ?? 0) <= 0) return;
    const ctx = this.macroCtx();
    const inMacro = ctx !== null;
    this.stack.push({
      lines: c.lines,
      idx: 0,
      ctx,
      origin: inMacro ? c.origin : null,
      rep: (c.count ?? 1) - 1,
      isRep: true,
      condDepth: this.cond.length,
      file: this.currentFile(),
    });
  }

  private invoke(head: Token, rest: Token[], file: string, line: number): void {
    const list = this.findMacroName(head.s)!;
    let args = rest.length === 0 ? [] : splitArgs(rest, false);
    const argc = args.length;
    const m = list.find((x) => argc >= x.min && (argc <= x.max || x.greedy)) ?? list.find((x) => argc <= x.max && x.min <= argc);
    if (!m) {
      const x = list[0];
      this.error(head.col, `macro '${head.s}' takes ${x.min === x.max ? x.min : `${x.min} to ${x.max === Infinity ? 'any number of' : x.max}`} parameters, not ${argc}`);
      return;
    }
    if (m.greedy && argc > m.max) {
      // the last parameter takes the rest of the line, commas included
      const keep = args.slice(0, Math.max(m.max - 1, 0));
      const tailStart = keep.reduce((n, a) => n + a.length + 1, 0);
      args = [...keep, rest.slice(tailStart)];
    }
    const texts = args.map((a) => untokenize(a).trim());
    const nGiven = texts.length;
    const total = Math.max(nGiven, m.max === Infinity ? nGiven : m.max);
    for (let i = nGiven; i < total; i++) texts.push(m.defaults[i - m.min] ?? '');
    if (this.stack.length > 200) {
      this.error(head.col, `macro '${head.s}' nested too deeply (recursive?)`);
      return;
    }
    const ctx: MacroCtx = { args: texts, given: nGiven, uid: ++this.uid, rotate: 0 };
    this.stack.push({ lines: m.body, idx: 0, ctx, origin: { file, line }, rep: 0, isRep: false, condDepth: this.cond.length, file: this.currentFile() });
  }
}

/** Splits macro arguments on top-level commas; `{a, b}` groups one argument (braces dropped). */
function splitArgs(toks: Token[], keepBraces: boolean): Token[][] {
  const out: Token[][] = [];
  let cur: Token[] = [];
  let depth = 0;
  if (toks.length === 0) return [[]];
  for (const t of toks) {
    if (t.k === Tk.Op && t.s === '{') {
      if (depth++ === 0 && !keepBraces) continue;
    } else if (t.k === Tk.Op && t.s === '}') {
      if (--depth === 0 && !keepBraces) continue;
    } else if (t.k === Tk.Op && t.s === ',' && depth === 0) {
      out.push(cur);
      cur = [];
      continue;
    }
    cur.push(t);
  }
  out.push(cur);
  return out;
}

/** A string token holding `text` (quoted the way NASM prints it). */
function strToken(text: string): Token {
  const q = text.includes("'") ? '"' : "'";
  let v = 0n;
  for (let i = Math.min(text.length, 8) - 1; i >= 0; i--) v = (v << 8n) | BigInt(text.charCodeAt(i) & 0xff);
  return { k: Tk.Str, s: q + text + q, col: 0, ws: true, num: v, str: text };
}

const CC_INVERSE: Record<string, string> = {
  a: 'be', ae: 'b', b: 'ae', be: 'a', c: 'nc', e: 'ne', g: 'le', ge: 'l', l: 'ge', le: 'g',
  na: 'a', nae: 'ae', nb: 'b', nbe: 'be', nc: 'c', ne: 'e', ng: 'g', nge: 'ge', nl: 'l',
  nle: 'le', no: 'o', np: 'p', ns: 's', nz: 'z', o: 'no', p: 'np', pe: 'po', po: 'pe', s: 'ns', z: 'nz',
};

function invertCondition(cc: string): string {
  return CC_INVERSE[cc.toLowerCase()] ?? cc;
}

/** Runs the preprocessor over `main` in `vfs`, with -D style `defines`. */
export function preprocess(vfs: Vfs, main: string, defines: readonly string[], diags: Diagnostic[]): PreprocessResult {
  const pp = new Preprocessor(vfs, diags);
  for (const d of defines) pp.define(d);
  return pp.run(main);
}
