/*
 * Every kind of error the assembler reports, each with its file:line:column and message;
 * all errors of a file come back at once, and nothing throws out of assemble().
 */

import { describe, expect, it } from 'vitest';
import { assemble } from '../../workers/asm/assembler';
import { formatDiagnostic } from '../../workers/asm/diag';
import { asmText } from './helpers';

/** The errors of `src` as "line:column: message". */
function errs(src: string, extra: Record<string, string> = {}): string[] {
  const r = asmText(src, extra);
  expect(r.ok).toBe(r.errors.length === 0);
  return r.errors.map((e) => `${e.file === 'main.asm' ? '' : e.file + ':'}${e.line}:${e.column}: ${e.message}`);
}

describe('assembly errors carry file:line:column', () => {
  const cases: [string, string, string][] = [
    ['unknown instruction', 'bits 32\n  movx eax, 1\n', "2:3: unknown instruction 'movx'"],
    ['undefined symbol', 'bits 32\nmov eax, nothere\n', "2:10: symbol 'nothere' not defined"],
    ['invalid operands', 'bits 32\n  add eax, cr0\n', "2:3: invalid combination of operands for 'add'"],
    ['operation size not specified', 'bits 32\ninc [eax]\n', '2:1: operation size not specified'],
    ['short jump out of range', 'bits 32\nx: loop far_away\ntimes 200 nop\nfar_away:\n', '2:9: short jump is out of range (200 bytes)'],
    ['explicit short out of range', 'bits 32\njmp short t\ntimes 300 nop\nt:\n', '2:5: short jump is out of range (300 bytes)'],
    ['label defined twice', 'a:\nnop\na:\n', "3:1: 'a' is already defined (at main.asm:1)"],
    ['bad number', 'db 0x1g\n', "1:4: bad number '0x1g'"],
    ['unterminated string', 'db "abc\n', '1:4: unterminated string'],
    ['division by zero', 'dd 1/0\n', '1:5: division by zero'],
    ['negative times', 'times -1 db 0\n', '1:7: times count is negative (-1)'],
    ['times counted in labels', 'times later db 0\nlater:\n', '1:7: times count must be a number, not a label'],
    ['scale', 'bits 32\nmov eax, [eax*3+ebx]\n', '2:10: scale must be 1, 2, 4 or 8, not 3'],
    ['mixed address sizes', 'bits 32\nmov eax, [ax+ebx]\n', '2:10: cannot mix 16-bit and 32-bit registers in an address'],
    ['too many registers', 'bits 32\nmov eax, [eax+ebx+ecx]\n', '2:10: too many registers in an address'],
    ['bad 16-bit address', 'bits 16\nmov ax, [ax]\n', '2:9: invalid 16-bit address (use bx or bp, plus si or di)'],
    ['register multiplied by register', 'bits 32\nmov eax, [eax*ebx]\n', '2:14: cannot multiply two registers in an address'],
    ['bits 64', 'bits 64\n', '1:1: bits must be 16 or 32 (this assembler has no 64-bit mode)'],
    ['alignment not a power of two', 'align 3\n', '1:7: alignment must be a power of two, not 3'],
    ['expression expected', 'bits 32\n  mov eax, 5 +\n', '2:15: expression expected'],
    ['missing parenthesis', '  dd (1\n', "1:8: expected ')'"],
    ['junk after an expression', 'db 1 2\n', "1:6: unexpected '2' in expression"],
    ['size mismatch', 'bits 32\nmov ax, ebx\n', "2:1: invalid combination of operands for 'mov' (operand sizes do not match (ebx))"],
    ['extern in a flat binary', 'extern foo\n', '1:1: extern is meaningless in a flat binary'],
    ['labels of two sections', 'a: nop\nsection .data\nb: db 0\nsection .text\ndd b - a\n', '5:6: cannot subtract labels of different sections'],
    ['arithmetic on a label', 'a: nop\ndd a * 2\n', "2:6: operator '*' needs plain numbers, not labels"],
    ['endstruc without struc', 'endstruc\n', '1:1: endstruc without struc'],
    ['at outside istruc', 'at 0, db 1\n', '1:1: at outside istruc'],
    ['incbin file missing', 'incbin "nope.bin"\n', "1:8: incbin file 'nope.bin' not found"],
  ];
  for (const [what, src, want] of cases) it(what, () => expect(errs(src)).toEqual([want]));
});

describe('preprocessor errors', () => {
  const cases: [string, string, string][] = [
    ['missing include', '%include "nope.inc"\n', "1:10: include file 'nope.inc' not found"],
    ['%error', '%error "stop here"\n', '1:1: stop here'],
    ['%if without %endif', 'nop\n%if 1\ndb 1\n', '2:1: missing %endif for this %if (the input ends inside it)'],
    ['%endif without %if', '%endif\n', '1:1: %endif without %if'],
    ['%else twice', '%if 0\n%else\n%else\n%endif\n', '3:1: %else after %else'],
    ['macro parameter count', '%macro m 2\n%endmacro\n  m 1\n', "3:3: macro 'm' takes 2 parameters, not 1"],
    ['bad macro parameter spec', '%macro m x\n%endmacro\n', "1:10: bad parameter count 'x' in %macro (expected N, N-M, N-* or N+)"],
    ['unknown directive', '%bogus\n', "1:1: unknown preprocessor directive '%bogus'"],
    ['undefined name in %if', '%if FOO > 1\n%endif\n', "1:5: 'FOO' is not a number or a defined macro in a preprocessor expression"],
    ['$ in %if', '%if $ > 1\n%endif\n', "1:1: '$' is not known to the preprocessor"],
    ['%exitrep outside %rep', '%exitrep\n', '1:1: %exitrep outside %rep'],
    ['recursive macro', '%macro r 0\n  r\n%endmacro\n  r\n', "4:3: macro 'r' nested too deeply (recursive?)"],
  ];
  for (const [what, src, want] of cases) it(what, () => expect(errs(src)[0]).toBe(want));
});

describe('reporting', () => {
  it('reports every error of a file at once, in order', () => {
    const e = errs('bits 32\nmovx eax, 1\nmov eax, nothere\ninc [eax]\n%error "last"\n');
    expect(e).toEqual(["5:1: last", "2:1: unknown instruction 'movx'", "3:10: symbol 'nothere' not defined", '4:1: operation size not specified']);
  });
  it('names the included file where the error is', () => {
    const e = errs('nop\n%include "lib.inc"\n', { 'lib.inc': '; a library\nmov eax, undefined_in_lib\n' });
    expect(e).toEqual(["lib.inc:2:10: symbol 'undefined_in_lib' not defined"]);
  });
  it('reports an error inside a macro at the line that used the macro', () => {
    const e = errs('%macro bad 0\n  movx eax\n%endmacro\nnop\n  bad\n');
    expect(e).toEqual(["5:3: unknown instruction 'movx'"]);
  });
  it('formats diagnostics as file:line:column: severity: message', () => {
    const r = asmText('  movx eax\n');
    expect(formatDiagnostic(r.errors[0])).toBe("main.asm:1:3: error: unknown instruction 'movx'");
  });
  it('warns, without failing, about values that do not fit', () => {
    const r = asmText('db 300\n');
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`)).toEqual(['1:4: value 300 does not fit in 1 byte(s); truncated']);
    expect([...r.image]).toEqual([300 & 0xff]);
  });
  it('warns about a bare word on its own line, which NASM takes as a label', () => {
    const r = asmText('bits 32\n  cdqq\n');
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`)).toEqual(["2:3: label 'cdqq' alone on a line without a colon might be in error"]);
  });
  it('never throws, whatever the input', () => {
    const junk = ['', '\0\0\0', ']]]', '%macro', '%rep', 'times', '[', 'mov [', 'db `\\u12', '%define', '%assign x', 'struc', 'istruc', 'iend', 'org x', 'section', 'absolute', '%1', 'equ 5', 'a equ', '..@x:', '%%x:'];
    for (const j of junk) {
      const r = assemble({ files: new Map([['j.asm', j + '\n' + j]]), main: 'j.asm' });
      expect(typeof r.ok).toBe('boolean');
    }
    const none = assemble({ files: new Map(), main: 'missing.asm' });
    expect(none.ok).toBe(false);
    expect(none.errors[0].message).toBe("file 'missing.asm' not found");
  });
});
