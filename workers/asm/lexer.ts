/*
 * The lexer: turns one line of NASM-style source into tokens. NASM is line-oriented, so
 * everything downstream (the preprocessor, the parser) works a line at a time. A token keeps
 * its raw text and its column, so errors can point at it and the preprocessor can rebuild
 * text when it pastes macro parameters (`j%1` becomes `jz`). Numbers are BigInt because
 * `dq 0x00CF9A000000FFFF` does not fit a double. Next: preprocessor.ts.
 */

export const enum Tk {
  /** identifier, register, mnemonic or keyword: `mov`, `.loop`, `..@12.x`, `$eax` */
  Id,
  /** integer constant (value in `num`) */
  Num,
  /** quoted string ('..', "..", or `..` with escapes); decoded bytes in `str` */
  Str,
  /** punctuation and operators: + - * / // % %% << >> <<< >>> & | ^ ~ ! ( ) [ ] , : = == != <> < <= > >= && || ^^ ? */
  Op,
  /** preprocessor token: `%define`, `%1`, `%%x`, `%+`, `%0`, `%{1}`, `%$x`, `%[`, `%-1` */
  Pp,
  /** `$` (here) */
  Here,
  /** `$$` (section start) */
  Base,
}

export interface Token {
  k: Tk;
  /** raw text as written */
  s: string;
  /** column (0-based) in the line the lexer was given */
  col: number;
  /** whitespace (or line start) precedes this token */
  ws: boolean;
  /** numeric value for Num, and for Str its little-endian value (first 8 bytes) */
  num: bigint;
  /** decoded string contents for Str (as byte values in a JS string, one char per byte) */
  str: string;
}

/** Marks (in Token.str) a Num token whose text is not a valid number. */
export const BAD_NUMBER = '\0bad';

export class LexError {
  constructor(readonly col: number, readonly message: string) {}
}

const OPS3 = ['<<<', '>>>', '<=>'];
const OPS2 = ['//', '%%', '<<', '>>', '==', '!=', '<>', '<=', '>=', '&&', '||', '^^'];

function isIdStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '.' || c === '?' || c === '@';
}
function isIdChar(c: string): boolean {
  return isIdStart(c) || (c >= '0' && c <= '9') || c === '$' || c === '#' || c === '~';
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** Parses a NASM numeric constant; returns null if `text` is not one. */
export function parseNumber(text: string): bigint | null {
  let t = text.replace(/_/g, '').toLowerCase();
  if (t.length === 0) return null;
  let radix = 10;
  if (t.startsWith('$')) {
    radix = 16;
    t = t.slice(1);
  } else if (/^0[xh]/.test(t)) {
    radix = 16;
    t = t.slice(2);
  } else if (/^0[by]/.test(t)) {
    radix = 2;
    t = t.slice(2);
  } else if (/^0[oq]/.test(t)) {
    radix = 8;
    t = t.slice(2);
  } else if (/^0[dt]/.test(t)) {
    radix = 10;
    t = t.slice(2);
  } else {
    const last = t[t.length - 1];
    if (last === 'h') {
      radix = 16;
      t = t.slice(0, -1);
    } else if (last === 'b' || last === 'y') {
      radix = 2;
      t = t.slice(0, -1);
    } else if (last === 'o' || last === 'q') {
      radix = 8;
      t = t.slice(0, -1);
    } else if (last === 'd' || last === 't') {
      radix = 10;
      t = t.slice(0, -1);
    }
  }
  if (t.length === 0) return null;
  let v = 0n;
  const R = BigInt(radix);
  for (const c of t) {
    const d = parseInt(c, 16);
    if (Number.isNaN(d) || d >= radix) return null;
    v = v * R + BigInt(d);
  }
  return BigInt.asUintN(64, v);
}

/** Value of a character constant: the bytes little-endian, as NASM does ('ab' = 0x6261). */
export function stringValue(bytes: string): bigint {
  let v = 0n;
  const n = Math.min(bytes.length, 8);
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes.charCodeAt(i) & 0xff);
  return v;
}

function utf8(cp: number): string {
  const b = new TextEncoder().encode(String.fromCodePoint(cp));
  return String.fromCharCode(...b);
}

/** Decodes a backquoted string's escapes (`\n`, `\x41`, `\101`, `\u263a`, ...). */
function unescape(body: string, col: number): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'e': out += '\x1b'; break;
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        let j = i;
        let v = 0;
        while (j < body.length && j < i + 3 && body[j] >= '0' && body[j] <= '7') v = v * 8 + Number(body[j++]);
        out += String.fromCharCode(v & 0xff);
        i = j - 1;
        break;
      }
      case 'x': {
        let j = i + 1;
        let v = 0;
        while (j < body.length && j < i + 3 && /[0-9a-fA-F]/.test(body[j])) v = v * 16 + parseInt(body[j++], 16);
        if (j === i + 1) throw new LexError(col, 'bad \\x escape in string');
        out += String.fromCharCode(v);
        i = j - 1;
        break;
      }
      case 'u': case 'U': {
        const n = e === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) throw new LexError(col, `bad \\${e} escape in string`);
        out += utf8(parseInt(hex, 16));
        i += n;
        break;
      }
      case undefined: out += '\\'; break;
      default: out += e;
    }
  }
  return out;
}

function tok(k: Tk, s: string, col: number, ws: boolean): Token {
  return { k, s, col, ws, num: 0n, str: '' };
}

/** Returns the index where a comment starts (a `;` outside quotes), or the line length. */
export function commentStart(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ';') return i;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < line.length && line[j] !== c) {
        if (c === '`' && line[j] === '\\') j++;
        j++;
      }
      i = j;
    }
  }
  return line.length;
}

/**
 * Splits a line into tokens (the comment is dropped). `colBase` is added to each column,
 * for text that came from a macro expansion. Throws LexError on a bad token.
 */
export function lex(line: string, colBase = 0): Token[] {
  const out: Token[] = [];
  const n = line.length;
  let i = 0;
  let ws = true;
  while (i < n) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      ws = true;
      continue;
    }
    if (c === ';') break;
    const start = i;
    const col = start + colBase;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < n && line[j] !== c) {
        if (c === '`' && line[j] === '\\') j++;
        j++;
      }
      if (j >= n) throw new LexError(col, 'unterminated string');
      const body = line.slice(i + 1, j);
      const t = tok(Tk.Str, line.slice(i, j + 1), col, ws);
      t.str = c === '`' ? unescape(body, col) : body;
      t.num = stringValue(t.str);
      out.push(t);
      i = j + 1;
    } else if (c === '%') {
      // preprocessor tokens
      const d = line[i + 1];
      let j = i + 1;
      if (d === '%') {
        j = i + 2;
        if (j < n && isIdStart(line[j])) {
          while (j < n && isIdChar(line[j])) j++;
          out.push(tok(Tk.Pp, line.slice(i, j), col, ws));
        } else {
          out.push(tok(Tk.Op, '%%', col, ws));
        }
      } else if (d === '+') {
        j = i + 2;
        out.push(tok(Tk.Pp, '%+', col, ws));
      } else if (d === '{') {
        j = line.indexOf('}', i);
        if (j < 0) throw new LexError(col, 'missing } in %{...}');
        j++;
        out.push(tok(Tk.Pp, line.slice(i, j), col, ws));
      } else if (d === '[') {
        // %[...] expansion group; kept as one token with balanced brackets
        let depth = 0;
        j = i + 1;
        for (; j < n; j++) {
          if (line[j] === '[') depth++;
          else if (line[j] === ']' && --depth === 0) break;
        }
        if (j >= n) throw new LexError(col, 'missing ] in %[...]');
        j++;
        out.push(tok(Tk.Pp, line.slice(i, j), col, ws));
      } else if (d !== undefined && (isDigit(d) || ((d === '-' || d === '!') && isDigit(line[i + 2] ?? '')))) {
        j = i + 2;
        while (j < n && isDigit(line[j])) j++;
        out.push(tok(Tk.Pp, line.slice(i, j), col, ws));
      } else if (d === '$' || d === '!' || (d !== undefined && isIdStart(d))) {
        j = i + 1;
        while (j < n && (isIdChar(line[j]) || (j === i + 1 && (line[j] === '$' || line[j] === '!')))) j++;
        while (j < n && line[j] === '$') j++;
        out.push(tok(Tk.Pp, line.slice(i, j), col, ws));
      } else {
        j = i + 1;
        out.push(tok(Tk.Op, '%', col, ws));
      }
      i = j;
    } else if (c === '$') {
      const d = line[i + 1];
      if (d === '$') {
        out.push(tok(Tk.Base, '$$', col, ws));
        i += 2;
      } else if (d !== undefined && isDigit(d)) {
        let j = i + 1;
        while (j < n && /[0-9a-fA-F_]/.test(line[j])) j++;
        const t = tok(Tk.Num, line.slice(i, j), col, ws);
        const v = parseNumber(t.s);
        if (v === null) throw new LexError(col, `bad number '${t.s}'`);
        t.num = v;
        out.push(t);
        i = j;
      } else if (d !== undefined && isIdStart(d)) {
        // $name: an identifier that is not a keyword ($eax is a label called eax)
        let j = i + 1;
        while (j < n && isIdChar(line[j])) j++;
        out.push(tok(Tk.Id, line.slice(i, j), col, ws));
        i = j;
      } else {
        out.push(tok(Tk.Here, '$', col, ws));
        i++;
      }
    } else if (isDigit(c)) {
      let j = i;
      while (j < n && /[0-9a-zA-Z_.]/.test(line[j])) j++;
      const t = tok(Tk.Num, line.slice(i, j), col, ws);
      const v = parseNumber(t.s);
      // a malformed number is kept as a token (macros may paste it into a good one, as in
      // `0x %+ 10`); the expression parser reports it if it is ever evaluated
      if (v === null) t.str = BAD_NUMBER;
      else t.num = v;
      out.push(t);
      i = j;
    } else if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdChar(line[j])) j++;
      out.push(tok(Tk.Id, line.slice(i, j), col, ws));
      i = j;
    } else {
      const three = line.slice(i, i + 3);
      const two = line.slice(i, i + 2);
      let s: string;
      if (OPS3.includes(three)) s = three;
      else if (OPS2.includes(two)) s = two;
      else if ('+-*/&|^~!()[],:=<>?{}'.includes(c)) s = c;
      else throw new LexError(col, `unexpected character '${c}'`);
      out.push(tok(Tk.Op, s, col, ws));
      i += s.length;
    }
    ws = false;
  }
  return out;
}

/** Rebuilds source text from tokens, keeping word boundaries where there was whitespace. */
export function untokenize(toks: readonly Token[]): string {
  let s = '';
  for (let i = 0; i < toks.length; i++) {
    if (i > 0 && toks[i].ws) s += ' ';
    s += toks[i].s;
  }
  return s;
}
