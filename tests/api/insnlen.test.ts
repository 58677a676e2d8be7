// "Step over" decoding (workers/session/insnlen.ts): which instructions return to the next
// one, and their lengths, checked against nasm's encodings of the same instructions.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stepOverInfo } from '../../workers/session/insnlen';

function assemble(bits: 16 | 32, line: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'insnlen-'));
  writeFileSync(join(dir, 'a.asm'), `bits ${bits}\norg 0x1000\n${line}\n`);
  execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
  return new Uint8Array(readFileSync(join(dir, 'a.bin')));
}

function padded(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(b);
  return out;
}

describe('stepOverInfo', () => {
  const over32 = ['call 0x2000', 'call eax', 'call [eax]', 'call [ebx+ecx*4+0x1234]', 'call [esp+8]', 'call [0x12345678]', 'call dword [ebp-4]',
    'call far [eax]', 'call 0x08:0x1234', 'int 0x80', 'int3', 'into', 'rep movsd', 'rep stosb', 'repne scasb', 'es rep movsb', 'call word 0x1234', 'call [bx+si]', 'call [bp+0x1234]'];
  for (const line of over32) {
    it(`steps over "${line}" (32-bit code) by its length`, () => {
      const bytes = assemble(32, line);
      expect(stepOverInfo(padded(bytes), true)).toEqual({ over: true, length: bytes.length });
    });
  }
  const over16 = ['call 0x2000', 'call [bx+si+4]', 'call [0x1234]', 'call ax', 'int 0x21', 'rep movsw', 'call dword 0x2000', 'call [eax+ecx*2]'];
  for (const line of over16) {
    it(`steps over "${line}" (16-bit code) by its length`, () => {
      const bytes = assemble(16, line);
      expect(stepOverInfo(padded(bytes), false)).toEqual({ over: true, length: bytes.length });
    });
  }
  for (const line of ['mov eax, 1', 'jmp eax', 'loop $', 'ret', 'movsd', 'push dword [eax]', 'iret']) {
    it(`steps into "${line}"`, () => {
      expect(stepOverInfo(padded(assemble(32, line)), true).over).toBe(false);
    });
  }
});
