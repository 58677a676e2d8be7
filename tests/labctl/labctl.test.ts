// labctl boot, run in-process: the exit codes a script relies on, console echo, typed input
// and timestamps, and the argument parser.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { EXIT, main, parseBootArgs, unescape } from '../../tools/labctl/main';
import { BENCH_ASM, FIXTURES, nasm } from '../machine/support';

let out = '';
let err = '';

beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('labctl boot', () => {
  it('boots the bench kernel and exits 0 when ALLDONE appears', async () => {
    const bin = nasm(BENCH_ASM, { SCALE: '1/100', PASSES: 1, PAGING: 0 });
    expect(await main(['boot', bin, '--until', 'ALLDONE'])).toBe(EXIT.ok);
    expect(out).toMatch(/^BENCH v1 paging=0/);
    expect(out).toContain('END mix insns=');
    expect(out).toContain('ALLDONE');
    expect(err).toContain('found "ALLDONE"');
  });

  it('stamps each line with wall-clock milliseconds', async () => {
    const bin = nasm(`${FIXTURES}/halt.asm`);
    expect(await main(['boot', bin, '--timestamps', '--until', 'HI'])).toBe(EXIT.ok);
    expect(out).toMatch(/^\d+\.\d HI\n$/);
  });

  it('types input on the serial line', async () => {
    const bin = nasm(`${FIXTURES}/irqkernel.asm`);
    expect(await main(['boot', bin, '--type', 'ok\\n', '--until', '<\n>'])).toBe(EXIT.ok);
    expect(out).toContain('<o><k><\n>');
  });

  it('exits 3 when the cycle budget runs out first', async () => {
    const bin = nasm(`${FIXTURES}/irqkernel.asm`, { TICKS_END: 100000 });
    expect(await main(['boot', bin, '--until', 'NEVER', '--max-cycles', '3M'])).toBe(EXIT.timeout);
    expect(err).toMatch(/timeout: 3000000 cycles ran out before "NEVER"/);
  });

  it('exits 1 when the guest halts without the text, 0 without --until', async () => {
    const bin = nasm(`${FIXTURES}/halt.asm`);
    expect(await main(['boot', bin, '--until', 'NOPE'])).toBe(EXIT.notFound);
    expect(err).toMatch(/halted before "NOPE" appeared: HLT with interrupts disabled/);
    expect(await main(['boot', bin])).toBe(EXIT.ok);
  });

  it('exits 1 on a debug exit with a nonzero code', async () => {
    const bin = nasm(`${FIXTURES}/irqkernel.asm`, { TICKS_END: 5 });
    expect(await main(['boot', bin])).toBe(EXIT.notFound);
    expect(err).toContain('debug exit with code 66');
  });

  it('exits 4 with the report on a triple fault', async () => {
    const bin = nasm(`${FIXTURES}/crash.asm`);
    expect(await main(['boot', bin, '--until', 'anything'])).toBe(EXIT.crash);
    expect(err).toMatch(/triple fault/);
    expect(err).toMatch(/eip=0010/);
    expect(err).toMatch(/last trace events/);
  });

  it('exits 2 on a bad image, a missing file or bad options', async () => {
    const junk = join(tmpdir(), `labctl-junk-${process.pid}.bin`);
    writeFileSync(junk, new Uint8Array(64).fill(0x90));
    expect(await main(['boot', junk])).toBe(EXIT.usage);
    expect(err).toMatch(/no multiboot header/);
    expect(await main(['boot', '/nonexistent/kernel.bin'])).toBe(EXIT.usage);
    expect(await main(['boot', junk, '--mem', '1'])).toBe(EXIT.usage);
    expect(await main(['boot', junk, '--frobnicate'])).toBe(EXIT.usage);
    expect(await main(['boot'])).toBe(EXIT.usage);
    expect(await main(['nosuchcommand'])).toBe(EXIT.usage);
  });
});

describe('labctl help and arguments', () => {
  it('prints usage', async () => {
    expect(await main(['help'])).toBe(EXIT.ok);
    expect(out).toMatch(/labctl boot <kernel>/);
    expect(out).toMatch(/--until TEXT/);
  });

  it('parses boot options', () => {
    expect(parseBootArgs(['k.bin', '--until', 'A\\nB', '--max-cycles', '5e9', '--mem', '16', '--timestamps', '--type', 'x\\x41'])).toEqual({
      kernel: 'k.bin', until: 'A\nB', type: 'xA', maxCycles: 5e9, timestamps: true, memMiB: 16, cmdline: '', quiet: false, mode: 'native', memGiven: true, guestsDir: null,
    });
    expect(parseBootArgs(['k', '--max-cycles', '20_000k'])).toMatchObject({ maxCycles: 20_000_000, memGiven: false });
    expect(parseBootArgs(['kernel', '--mode', 'xen'])).toMatchObject({ kernel: 'kernel', mode: 'xen' });
    expect(parseBootArgs(['k', '--max-cycles', 'lots'])).toMatch(/not a positive count/);
    expect(parseBootArgs(['k', '--until'])).toMatch(/needs a value/);
    expect(unescape('a\\tb\\\\c\\r')).toBe('a\tb\\c\r');
  });
});
