/*
 * `labctl asm`: reads sources from disk, writes the image, the listing and the map, and
 * reports errors with file:line:column and an exit code.
 */

import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asmCommand } from '../../tools/labctl/asm';

let dir: string;
let stderr: string;
let cwd: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labctl-asm-'));
  mkdirSync(join(dir, 'inc'));
  writeFileSync(join(dir, 'inc', 'defs.inc'), '%define ANSWER 42\n');
  writeFileSync(join(dir, 'data.bin'), new Uint8Array([1, 2, 3]));
  writeFileSync(join(dir, 'main.asm'), 'bits 32\norg 0x1000\n%include "defs.inc"\nstart: mov eax, ANSWER\n  db VALUE\n  incbin "data.bin"\n');
  writeFileSync(join(dir, 'bad.asm'), 'bits 32\n  movx eax, 1\n  mov eax, nothere\n');
  stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  cwd = process.cwd();
  process.chdir(dir);
});

afterEach(() => {
  process.chdir(cwd);
  vi.restoreAllMocks();
});

describe('labctl asm', () => {
  it('assembles with -D and -I and writes the image, listing and map', async () => {
    const code = await asmCommand(['main.asm', '-D', 'VALUE=7', '-I', 'inc', '-o', 'out.bin', '--listing', 'out.lst', '--map', 'out.map']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect([...readFileSync(join(dir, 'out.bin'))]).toEqual([0xb8, 42, 0, 0, 0, 7, 1, 2, 3]);
    expect(readFileSync(join(dir, 'out.lst'), 'utf8')).toMatch(/4 00001000 B82A000000\s+start: mov eax, ANSWER/);
    expect(readFileSync(join(dir, 'out.map'), 'utf8')).toMatch(/00001000\s+\.text\s+start\s+main\.asm:4/);
  });
  it('accepts the joined forms -DNAME=V -Idir -oFILE', async () => {
    expect(await asmCommand(['main.asm', '-DVALUE=9', '-Iinc', '-oout2.bin'])).toBe(0);
    expect(readFileSync(join(dir, 'out2.bin'))[5]).toBe(9);
  });
  it('reports errors as file:line:column and exits 1 without writing', async () => {
    expect(await asmCommand(['bad.asm', '-o', 'bad.bin'])).toBe(1);
    expect(stderr).toContain("bad.asm:2:3: error: unknown instruction 'movx'");
    expect(stderr).toContain("bad.asm:3:12: error: symbol 'nothere' not defined");
    expect(() => readFileSync(join(dir, 'bad.bin'))).toThrow();
  });
  it('exits 2 on a bad command line', async () => {
    expect(await asmCommand(['main.asm'])).toBe(2);
    expect(stderr).toMatch(/no output file/);
    expect(await asmCommand(['nope.asm', '-o', 'x.bin'])).toBe(2);
    expect(await asmCommand(['main.asm', '--frobnicate', '-o', 'x.bin'])).toBe(2);
  });
});
