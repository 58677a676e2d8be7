/*
 * The assembler driver: preprocess, parse every line once, then lay the program out in
 * passes until every label keeps its value, and finally emit the flat image.
 *
 * Why passes: `jmp later` is 2 bytes if `later` is within 127 bytes and 5 otherwise, but
 * where `later` is depends on the sizes of the instructions in between. Like NASM, pass 1
 * is optimistic (an unknown target gets the short form), and each later pass re-encodes
 * every instruction with the label values of the pass before, until nothing moves. To make
 * sure this ends, after a few passes an instruction may grow but never shrink again.
 *
 * Sections: a flat binary, NASM's `bin` format. `.text` comes first at the `org` address,
 * the other sections with contents follow in the order they were declared, each aligned to
 * 4 bytes (or more, after an `align` inside it), and sections without contents (`.bss`,
 * `nobits`) come last and are not written to the file. A label's value is an offset in its
 * section until the layout is known, which is why `add eax, label` always takes a 32-bit
 * immediate, as in NASM. Next: listing in this file, then disasm.ts.
 */

import type { Diagnostic, Origin } from './diag';
import { encode, isFixedEncoding, MNEMONICS, type EncodeEnv } from './encoder';
import { AsmError, evaluate, type EvalEnv, type Expr, type Value } from './expr';
import { Parser, type DataItem, type Stmt, type StmtBody } from './parser';
import { preprocess } from './preprocessor';
import { readBytes, resolveInclude, type FileData, type Vfs } from './vfs';

export interface AssembleOptions {
  /** the source files (path -> text, or bytes for incbin) */
  files: ReadonlyMap<string, FileData>;
  /** the file to assemble */
  main: string;
  /** -D definitions: "NAME" or "NAME=VALUE" */
  defines?: readonly string[];
  /** -I include directories */
  includeDirs?: readonly string[];
}

export interface AsmSymbol {
  name: string;
  /** final address (labels) or value (equ) */
  value: number;
  /** the section a label is in; null for numbers (equ, absolute) */
  section: string | null;
  kind: 'label' | 'equ';
  file: string;
  line: number;
}

export interface LineMapEntry {
  address: number;
  length: number;
  file: string;
  line: number;
  /** an instruction (else data, fill or padding) */
  code: boolean;
  /** the `bits` in force there (for disassembling it) */
  bits: number;
}

/** Address <-> source line, for the editor and the disassembly view. */
export class LineMap {
  /** sorted by address */
  readonly entries: readonly LineMapEntry[];
  private readonly byLine = new Map<string, number[]>();

  constructor(entries: LineMapEntry[]) {
    this.entries = [...entries].sort((a, b) => a.address - b.address);
    for (const e of this.entries) {
      const k = `${e.file}:${e.line}`;
      const list = this.byLine.get(k) ?? [];
      list.push(e.address);
      this.byLine.set(k, list);
    }
  }

  /** The source line that produced the byte at `address`, if any. */
  lineAt(address: number): LineMapEntry | undefined {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.entries[mid];
      if (address < e.address) hi = mid - 1;
      else if (address >= e.address + e.length) lo = mid + 1;
      else return e;
    }
    return undefined;
  }

  /** Start addresses of everything a source line produced. */
  addressesOf(file: string, line: number): readonly number[] {
    return this.byLine.get(`${file}:${line}`) ?? [];
  }
}

export interface AssembleResult {
  ok: boolean;
  image: Uint8Array;
  /** address of the image's first byte (the `org`) */
  origin: number;
  symbols: AsmSymbol[];
  lineMap: LineMap;
  listing: string;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** layout passes run before the final one */
  passes: number;
}

interface Section {
  name: string;
  nobits: boolean;
  align: number;
  size: number;
  start: number;
  data: Uint8Array;
}

interface SymDef {
  v: Value;
  kind: 'label' | 'equ';
  pass: number;
  origin: Origin;
}

const MAX_PASSES = 40;
const GROW_ONLY_AFTER = 6;
const MAX_IMAGE = 64 * 1024 * 1024;

function isNobitsName(name: string): boolean {
  return name === '.bss' || name.startsWith('.bss.');
}

class Assembly {
  private stmts: Stmt[] = [];
  private sections: Section[] = [];
  private symbols = new Map<string, SymDef>();
  private sizes: Int32Array = new Int32Array(0);
  private floors: Int32Array = new Int32Array(0);
  /** bytes of instructions that encode the same on every pass (see isFixedEncoding) */
  private fixed: (number[] | false | null)[] = [];
  private org = 0n;
  private orgSet = false;
  private pass = 0;
  private final = false;
  private passDiags: Diagnostic[] = [];
  private lineMap: LineMapEntry[] = [];
  private listing: string[] = [];
  // per-pass state
  private bits = 16;
  private sec = 0;
  private abs: { on: boolean; start: bigint; at: bigint } = { on: false, start: 0n, at: 0n };
  private offsets: number[] = [];
  private struc: { name: string; saved: { sec: number; abs: Assembly['abs'] } } | null = null;
  private istruc: { name: string; start: Value } | null = null;
  private cur: Stmt | null = null;

  constructor(
    private readonly vfs: Vfs,
    private readonly diags: Diagnostic[],
  ) {}

  load(lines: import('./preprocessor').PLine[]): void {
    const parser = new Parser(MNEMONICS);
    for (const l of lines) {
      try {
        this.stmts.push(parser.parse(l.toks, l, l.text));
      } catch (e) {
        if (!(e instanceof AsmError)) throw e;
        this.diags.push({ severity: 'error', file: l.file, line: l.line, column: e.col + 1, message: e.message });
      }
    }
    this.sizes = new Int32Array(this.stmts.length);
    this.fixed = new Array<number[] | false | null>(this.stmts.length).fill(null);
    this.floors = new Int32Array(this.stmts.length);
  }

  // ---- diagnostics ----

  private report(col: number, message: string, severity: 'error' | 'warning' = 'error'): void {
    if (!this.final) return;
    const s = this.cur!;
    this.passDiags.push({ severity, file: s.file, line: s.line, column: col + 1, message });
  }

  // ---- values ----

  private here(): Value {
    if (this.abs.on) return { n: this.abs.at, sec: -1, unk: false };
    return { n: BigInt(this.offsets[this.sec]), sec: this.sec, unk: false };
  }

  private base(): Value {
    if (this.abs.on) return { n: this.abs.start, sec: -1, unk: false };
    return { n: 0n, sec: this.sec, unk: false };
  }

  private readonly evalEnv: EvalEnv = {
    symbol: (name) => {
      const d = this.symbols.get(name);
      return d ? d.v : undefined;
    },
    here: () => this.here(),
    base: () => this.base(),
    strict: false,
  };

  /** One encoder environment, updated for each instruction (no allocation per instruction). */
  private readonly encodeEnv: EncodeEnv = {
    bits: 16,
    here: { n: 0n, sec: 0, unk: false },
    evaluate: (e) => this.eval(e),
    absolute: (v) => this.absolute(v),
    floor: 0,
    final: false,
    warn: (col, msg) => this.report(col, msg, 'warning'),
  };

  private eval(e: Expr): Value {
    this.evalEnv.strict = this.final;
    return evaluate(e, this.evalEnv);
  }

  private absolute(v: Value): bigint {
    if (v.sec < 0) return v.n;
    return BigInt.asIntN(64, v.n + BigInt(this.sections[v.sec].start));
  }

  /** A number that must be known now (times, resb, align, org). */
  private count(e: Expr, what: string, col: number): number {
    const v = this.eval(e);
    if (v.unk) {
      if (this.final) throw new AsmError(col, `${what} must not depend on labels defined later`);
      return 0;
    }
    if (v.sec >= 0) throw new AsmError(col, `${what} must be a number, not a label`);
    if (v.n < 0n) throw new AsmError(col, `${what} is negative (${v.n})`);
    if (v.n > BigInt(MAX_IMAGE)) throw new AsmError(col, `${what} is too large (${v.n})`);
    return Number(v.n);
  }

  private define(name: string, v: Value, kind: 'label' | 'equ', col: number): void {
    const s = this.cur!;
    const old = this.symbols.get(name);
    if (old && old.pass === this.pass) {
      if (old.origin.file !== s.file || old.origin.line !== s.line || kind === 'label') {
        this.report(col, `'${name}' is already defined (at ${old.origin.file}:${old.origin.line})`);
        return;
      }
    }
    this.symbols.set(name, { v, kind, pass: this.pass, origin: { file: s.file, line: s.line } });
  }

  // ---- sections ----

  private section(name: string, align: number, nobits: boolean | null): number {
    let i = this.sections.findIndex((x) => x.name === name);
    if (i < 0) {
      this.sections.push({ name, nobits: nobits ?? isNobitsName(name), align: 4, size: 0, start: 0, data: new Uint8Array(0) });
      i = this.sections.length - 1;
      this.offsets[i] = 0;
    }
    if (align > this.sections[i].align) this.sections[i].align = align;
    return i;
  }

  private layout(): void {
    let at = Number(this.org);
    const order = [0, ...this.sections.map((_, i) => i).filter((i) => i !== 0 && !this.sections[i].nobits), ...this.sections.map((_, i) => i).filter((i) => i !== 0 && this.sections[i].nobits)];
    for (const i of order) {
      const s = this.sections[i];
      if (i !== 0) at = Math.ceil(at / s.align) * s.align;
      s.start = at;
      at += s.size;
    }
  }

  // ---- passes ----

  runPass(pass: number, final: boolean): void {
    this.pass = pass;
    this.final = final;
    this.passDiags = [];
    this.bits = 16;
    if (final) for (const s of this.sections) s.data = new Uint8Array(s.nobits ? 0 : s.size);
    for (const s of this.sections) s.size = 0;
    if (this.sections.length === 0) this.section('.text', 0, false);
    this.sec = 0;
    this.offsets = this.sections.map(() => 0);
    this.abs = { on: false, start: 0n, at: 0n };
    this.struc = null;
    this.istruc = null;
    if (final) {
      this.lineMap = [];
      this.listing = [];
    }
    for (let i = 0; i < this.stmts.length; i++) {
      const s = this.stmts[i];
      this.cur = s;
      const start = this.here();
      try {
        this.stmt(s, i);
      } catch (e) {
        if (!(e instanceof AsmError)) throw e;
        this.report(e.col, e.message);
        // keep the previous pass's size so the layout does not collapse
        if (!this.abs.on) this.advance(this.sizes[i] - 0, null);
      }
      const end = this.here();
      const size = Number(end.n - start.n);
      if (!this.abs.on && start.sec === end.sec) this.sizes[i] = size;
    }
    if (this.struc) this.report(0, 'struc without endstruc');
    for (let i = 0; i < this.sections.length; i++) this.sections[i].size = Math.max(this.sections[i].size, this.offsets[i] ?? 0);
    this.layout();
  }

  /** Moves `$` on by `n` bytes, writing `bytes` when there are some and this is the last pass. */
  private advance(n: number, bytes: ArrayLike<number> | null, listText = true): void {
    if (n <= 0) return;
    if (this.abs.on) {
      if (bytes && this.final && !this.istrucOk()) this.report(0, 'data in an absolute section is ignored', 'warning');
      this.abs.at += BigInt(n);
      return;
    }
    const sec = this.sections[this.sec];
    const off = this.offsets[this.sec];
    if (this.final) {
      if (sec.nobits) {
        if (bytes) this.report(0, `data in the no-bits section '${sec.name}' is ignored`, 'warning');
      } else if (bytes) {
        if (off + n <= sec.data.length) for (let k = 0; k < n; k++) sec.data[off + k] = bytes[k] ?? 0;
      }
      if (!sec.nobits && listText) {
        const s = this.cur!;
        this.lineMap.push({ address: sec.start + off, length: n, file: s.file, line: s.line, code: s.body.k === 'insn' && s.body.mnem !== '', bits: this.bits });
      }
    }
    this.offsets[this.sec] = off + n;
    if (this.offsets[this.sec] > MAX_IMAGE) throw new AsmError(0, 'output larger than 64 MiB');
  }

  private istrucOk(): boolean {
    return false;
  }

  private listLine(addr: string, bytes: ArrayLike<number> | null, n: number): void {
    if (!this.final) return;
    const s = this.cur!;
    let hex = '';
    if (bytes) {
      const shown = Math.min(n, 10);
      for (let k = 0; k < shown; k++) hex += (bytes[k] ?? 0).toString(16).padStart(2, '0').toUpperCase();
      if (n > shown) hex += '...';
    } else if (n > 0) hex = `<res ${n.toString(16).toUpperCase()}h>`;
    this.listing.push(`${String(s.line).padStart(6)} ${addr.padEnd(8)} ${hex.padEnd(24)} ${s.text}`.trimEnd());
  }

  private addrText(): string {
    const h = this.here();
    return this.absolute(h).toString(16).toUpperCase().padStart(8, '0');
  }

  private stmt(s: Stmt, idx: number): void {
    if (s.body.k === 'none' && !s.label) {
      if (this.final) this.listing.push(`${String(s.line).padStart(6)} ${''.padEnd(33)} ${s.text}`.trimEnd());
      return;
    }
    const addr = this.final ? this.addrText() : '';
    if (s.label) {
      if (s.body.k === 'equ') {
        const v = this.eval(s.body.e);
        this.define(s.label, v, 'equ', s.labelCol);
        this.listLine(`=${this.absolute(v).toString(16).toUpperCase()}`.padEnd(8), null, 0);
        return;
      }
      if (s.body.k !== 'struc') this.define(s.label, this.here(), 'label', s.labelCol);
      if (s.orphan) this.report(s.labelCol, `label '${s.label}' alone on a line without a colon might be in error`, 'warning');
    }
    let times = 1;
    if (s.times) times = this.count(s.times, 'times count', s.times.col);
    const out: number[] = [];
    const body = s.body;
    let reserved = 0;
    for (let t = 0; t < times; t++) {
      const r = this.body(body, idx, out);
      if (r < 0) break;
      reserved += r;
    }
    if (out.length > 0) this.advance(out.length, out);
    if (reserved > 0) {
      const sec = this.sections[this.sec];
      if (!this.abs.on && !sec.nobits && this.final) this.report(0, `uninitialized space in '${sec.name}' is filled with zeros`, 'warning');
      this.advance(reserved, null, false);
    }
    if (this.final) this.listLine(addr, out.length ? out : null, out.length || reserved);
  }

  /**
   * Runs one statement body once. Bytes go to `out`; returns the number of bytes reserved
   * (resb), or -1 when the body is a directive that must not repeat.
   */
  private body(body: StmtBody, idx: number, out: number[]): number {
    switch (body.k) {
      case 'none':
      case 'ignored':
        return -1;
      case 'insn': {
        if (body.mnem === '') {
          for (const p of body.prefixes) {
            const b = { lock: 0xf0, rep: 0xf3, repe: 0xf3, repz: 0xf3, repne: 0xf2, repnz: 0xf2, es: 0x26, cs: 0x2e, ss: 0x36, ds: 0x3e, fs: 0x64, gs: 0x65, o16: this.bits === 16 ? -1 : 0x66, o32: this.bits === 32 ? -1 : 0x66, a16: this.bits === 16 ? -1 : 0x67, a32: this.bits === 32 ? -1 : 0x67, wait: 0x9b }[p];
            if (b !== undefined && b >= 0) out.push(b);
          }
          return 0;
        }
        // an instruction whose bytes cannot change is encoded once (but again in the last
        // pass, which is the one that reports warnings)
        const fixed = this.fixed[idx];
        if (fixed && !this.final) {
          for (const b of fixed) out.push(b);
          return 0;
        }
        const start = this.here();
        const env = this.encodeEnv;
        env.here = { n: start.n + BigInt(out.length), sec: start.sec, unk: false };
        env.bits = this.bits;
        env.floor = out.length === 0 ? this.floors[idx] : 0;
        env.final = this.final;
        // `$` stays the start of the statement (as in NASM, `times 2 jmp $` jumps back to the
        // first copy); `here` is where this copy really is, for relative displacements
        const bytes = encode(env, body);
        for (const b of bytes) out.push(b);
        if (this.fixed[idx] === null) this.fixed[idx] = isFixedEncoding(body) ? bytes : false;
        return 0;
      }
      case 'data':
        this.data(body.width, body.items, out);
        return 0;
      case 'res':
        return body.width * this.count(body.count, 'reserve count', body.count.col);
      case 'incbin': {
        const path = resolveInclude(this.vfs, body.file, this.cur!.file);
        const data = path === null ? null : readBytes(this.vfs, path);
        if (!data) throw new AsmError(body.col, `incbin file '${body.file}' not found`);
        const skip = body.skip ? this.count(body.skip, 'incbin offset', body.skip.col) : 0;
        const len = body.len ? this.count(body.len, 'incbin length', body.len.col) : data.length - skip;
        const part = data.subarray(Math.min(skip, data.length), Math.min(skip + len, data.length));
        for (const b of part) out.push(b);
        return 0;
      }
      case 'bits':
        this.bits = body.n;
        return -1;
      case 'org': {
        const v = this.eval(body.e);
        if (v.sec >= 0 || v.unk) throw new AsmError(body.e.col, 'org needs a number known at this point');
        if (this.orgSet && this.pass === 1 && v.n !== this.org) throw new AsmError(body.e.col, 'org given twice with different values');
        this.org = v.n;
        this.orgSet = true;
        return -1;
      }
      case 'section':
        this.sec = this.section(body.name, body.align, body.nobits);
        this.abs.on = false;
        return -1;
      case 'absolute': {
        const v = this.eval(body.e);
        const n = v.sec >= 0 ? this.absolute(v) : v.n;
        this.abs = { on: true, start: n, at: n };
        return -1;
      }
      case 'align': {
        const n = this.count(body.n, 'alignment', body.n.col);
        if (n === 0 || (n & (n - 1)) !== 0) throw new AsmError(body.n.col, `alignment must be a power of two, not ${n}`);
        if (!this.abs.on) {
          const sec = this.sections[this.sec];
          if (n > sec.align) sec.align = n;
        }
        const off = this.abs.on ? this.abs.at - this.abs.start : BigInt(this.offsets[this.sec] + out.length);
        const pad = Number((BigInt(n) - (off % BigInt(n))) % BigInt(n));
        if (pad === 0) return 0;
        if (body.fill) {
          for (let k = 0; k < pad; k++) this.body(body.fill, idx, out);
          return 0;
        }
        if (body.bss) return pad;
        for (let k = 0; k < pad; k++) out.push(0x90);
        return 0;
      }
      case 'struc': {
        const name = this.cur!.label ?? '';
        void name;
        return this.strucStart(body.name);
      }
      case 'endstruc': {
        if (!this.struc) throw new AsmError(0, 'endstruc without struc');
        this.define(`${this.struc.name}_size`, { n: this.abs.at, sec: -1, unk: false }, 'equ', 0);
        this.sec = this.struc.saved.sec;
        this.abs = this.struc.saved.abs;
        this.struc = null;
        return -1;
      }
      case 'istruc':
        this.istruc = { name: body.name, start: this.here() };
        return -1;
      case 'at': {
        if (!this.istruc) throw new AsmError(0, 'at outside istruc');
        const f = this.eval(body.field);
        const here = this.here();
        const done = Number(here.n + BigInt(out.length) - this.istruc.start.n);
        const pad = Number(f.n) - done;
        if (f.sec >= 0) throw new AsmError(body.field.col, 'at needs a structure field');
        if (pad < 0 && !f.unk) throw new AsmError(body.field.col, 'at: fields out of order or overlapping');
        for (let k = 0; k < pad; k++) out.push(0);
        if (body.data) this.body(body.data, idx, out);
        return -1;
      }
      case 'iend': {
        if (!this.istruc) throw new AsmError(0, 'iend without istruc');
        const sz = this.symbols.get(`${this.istruc.name}_size`);
        if (!sz) throw new AsmError(0, `structure '${this.istruc.name}' is not defined`);
        const done = Number(this.here().n + BigInt(out.length) - this.istruc.start.n);
        for (let k = done; k < Number(sz.v.n); k++) out.push(0);
        this.istruc = null;
        return -1;
      }
      case 'equ':
        throw new AsmError(0, 'equ needs a label');
    }
  }

  private strucStart(name: string): number {
    if (this.struc) throw new AsmError(0, 'struc inside struc');
    this.struc = { name, saved: { sec: this.sec, abs: { ...this.abs } } };
    this.abs = { on: true, start: 0n, at: 0n };
    this.define(name, { n: 0n, sec: -1, unk: false }, 'label', 0);
    return -1;
  }

  private data(width: number, items: DataItem[], out: number[]): void {
    for (const it of items) {
      if (it.k === 'str') {
        const n = it.bytes.length;
        const padded = Math.ceil(n / width) * width || width;
        for (let k = 0; k < padded; k++) out.push(k < n ? it.bytes.charCodeAt(k) & 0xff : 0);
        continue;
      }
      const v = this.eval(it.e);
      const n = this.absolute(v);
      if (this.final && v.sec < 0 && width < 8) {
        const bits = BigInt(width * 8);
        if (n < -(1n << (bits - 1n)) || n > (1n << bits) - 1n) this.report(it.col, `value ${n} does not fit in ${width} byte(s); truncated`, 'warning');
      }
      for (let k = 0; k < width; k++) out.push(Number((n >> BigInt(8 * k)) & 0xffn));
    }
  }

  // ---- driver ----

  assemble(): { passes: number } {
    let prev = '';
    let passes = 0;
    for (let p = 1; p <= MAX_PASSES; p++) {
      passes = p;
      this.runPass(p, false);
      const snap = this.snapshot();
      if (p >= GROW_ONLY_AFTER) for (let i = 0; i < this.sizes.length; i++) this.floors[i] = Math.max(this.floors[i], this.sizes[i]);
      if (snap === prev) break;
      prev = snap;
      if (p === MAX_PASSES) this.diags.push({ severity: 'error', file: this.stmts[0]?.file ?? '', line: 0, column: 1, message: 'instruction sizes did not settle; check for labels whose value depends on itself' });
    }
    this.runPass(passes + 1, true);
    if (this.snapshot() !== prev) this.passDiags.push({ severity: 'error', file: this.stmts[0]?.file ?? '', line: 0, column: 1, message: 'phase error: a label changed value in the last pass' });
    this.diags.push(...this.passDiags);
    return { passes };
  }

  private snapshot(): string {
    let s = '';
    for (const [k, d] of this.symbols) s += `${k}=${d.v.n}@${d.v.sec};`;
    for (const sec of this.sections) s += `|${sec.name}:${sec.size}:${sec.start}`;
    return s;
  }

  image(): { image: Uint8Array; origin: number } {
    const progbits = this.sections.filter((s) => !s.nobits);
    let end = Number(this.org);
    for (const s of progbits) if (s.size > 0 || s === this.sections[0]) end = Math.max(end, s.start + s.size);
    const img = new Uint8Array(Math.max(0, end - Number(this.org)));
    for (const s of progbits) img.set(s.data.subarray(0, s.size), s.start - Number(this.org));
    return { image: img, origin: Number(this.org) };
  }

  symbolTable(): AsmSymbol[] {
    const out: AsmSymbol[] = [];
    for (const [name, d] of this.symbols) {
      if (name.startsWith('..@')) continue;
      out.push({ name, value: Number(BigInt.asUintN(32, this.absolute(d.v))), section: d.v.sec >= 0 ? this.sections[d.v.sec].name : null, kind: d.kind, file: d.origin.file, line: d.origin.line });
    }
    return out.sort((a, b) => a.value - b.value || a.name.localeCompare(b.name));
  }

  lines(): { lineMap: LineMap; listing: string } {
    return { lineMap: new LineMap(this.lineMap), listing: this.listing.join('\n') + '\n' };
  }
}

/**
 * Assembles `options.main`. Never throws: problems are returned in `errors` with their
 * file:line:column, and `ok` is false when there is any.
 */
export function assemble(options: AssembleOptions): AssembleResult {
  const diags: Diagnostic[] = [];
  const vfs: Vfs = { files: options.files, includeDirs: options.includeDirs };
  const empty = (): AssembleResult => ({
    ok: false,
    image: new Uint8Array(0),
    origin: 0,
    symbols: [],
    lineMap: new LineMap([]),
    listing: '',
    errors: diags.filter((d) => d.severity === 'error'),
    warnings: diags.filter((d) => d.severity === 'warning'),
    passes: 0,
  });
  try {
    const pp = preprocess(vfs, options.main, options.defines ?? [], diags);
    if (diags.some((d) => d.severity === 'error') && pp.lines.length === 0) return empty();
    const a = new Assembly(vfs, diags);
    a.load(pp.lines);
    const { passes } = a.assemble();
    const { image, origin } = a.image();
    const { lineMap, listing } = a.lines();
    const errors = diags.filter((d) => d.severity === 'error');
    return { ok: errors.length === 0, image, origin, symbols: a.symbolTable(), lineMap, listing, errors, warnings: diags.filter((d) => d.severity === 'warning'), passes };
  } catch (e) {
    diags.push({ severity: 'error', file: options.main, line: 0, column: 1, message: `internal assembler error: ${e instanceof Error ? e.message : String(e)}` });
    return empty();
  }
}
