// labctl with the built-in guests, run in-process: `guests` lists them, `boot <guest>` builds
// the teaching kernel from guests/ with the lab's assembler and drives its shell, `build`
// writes the image, and the modes without a hypervisor yet are refused with exit code 2.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { EXIT, main } from '../../tools/labctl/main';
import { buildGuestFromDisk, GUESTS_DIR } from '../../tools/guests-fs';

let out = '';
let err = '';
const dir = mkdtempSync(join(tmpdir(), 'labctl-guests-'));

beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
});

afterEach(() => {
  vi.restoreAllMocks();
});

let kernel: Uint8Array;
beforeAll(() => {
  const b = buildGuestFromDisk({ guest: 'kernel', mode: 'native' });
  if (!b.ok) throw new Error(b.errors.map((e) => e.message).join('\n'));
  kernel = b.image;
});

describe('labctl guests', () => {
  it('lists the built-in guests with their modes', async () => {
    expect(await main(['guests'])).toBe(EXIT.ok);
    expect(out).toMatch(/^GUEST\s+MODES\s+DESCRIPTION$/m);
    expect(out).toMatch(/^kernel\s+native\s+the teaching kernel/m);
    expect(out).toMatch(/^panic\s+native\s+/m);
    expect(await main(['guests', 'extra'])).toBe(EXIT.usage);
  });

  it('writes the source bundle the browser loads', async () => {
    const f = join(dir, 'sources.json');
    expect(await main(['guests', '--bundle', f])).toBe(EXIT.ok);
    const b = JSON.parse(readFileSync(f, 'utf8')) as { format: string; files: Record<string, string> };
    expect(b.format).toBe('paravirt-lab guest sources');
    expect(Object.keys(b.files)).toContain('guests/kernel/kernel.asm');
    expect(err).toMatch(/wrote \d+ source files/);
  });
});

describe('labctl boot <guest>', () => {
  it('builds the teaching kernel with the lab assembler and runs a command on its shell', async () => {
    expect(await main(['boot', 'kernel', '--mode', 'native', '--type', 'hello\\n', '--until', 'hello, world'])).toBe(EXIT.ok);
    expect(out).toContain('paravirt-lab teaching kernel (native mode)');
    expect(out).toMatch(/\$ hello\r?\nhello, world from user mode \(pid \d+\)/);
    expect(err).toMatch(/built kernel \(native\) with the lab assembler: \d+ bytes, \d+ programs/);
    expect(err).toContain('found "hello, world"');
  });

  it('runs the panic variant to its panic', async () => {
    expect(await main(['boot', 'panic', '--until', 'ebp=', '--quiet'])).toBe(EXIT.ok);
    expect(out).toBe('');
    expect(err).toContain('found "ebp="');
  });

  it('still boots a binary given by path, also one named like a guest', async () => {
    const f = join(dir, 'kernel');
    writeFileSync(f, kernel);
    expect(await main(['boot', f, '--type', 'echo via path\\r', '--until', 'via path\r\n$ '])).toBe(EXIT.ok);
    expect(err).not.toMatch(/built kernel/);
    expect(out).toContain('echo via path');
  });

  it('refuses xen and vmi (not available yet) and unknown modes with exit code 2', async () => {
    for (const mode of ['xen', 'vmi']) {
      err = '';
      expect(await main(['boot', 'kernel', '--mode', mode])).toBe(EXIT.usage);
      expect(err).toMatch(new RegExp(`${mode} mode is not available yet`));
    }
    expect(await main(['boot', 'kernel', '--mode', 'hvm'])).toBe(EXIT.usage);
    expect(err).toMatch(/unknown mode "hvm"/);
    expect(await main(['boot', 'kernel', '--mode'])).toBe(EXIT.usage);
    expect(await main(['boot', 'no-such-guest'])).toBe(EXIT.usage);
    expect(err).toMatch(/no such kernel file, built-in guest or prebuilt guest: no-such-guest/);
  });
});

describe('labctl build', () => {
  it('writes the image (the same bytes the lab builds), its listing and its map', async () => {
    const bin = join(dir, 'out.bin');
    const lst = join(dir, 'out.lst');
    const map = join(dir, 'out.map');
    expect(await main(['build', 'kernel', '--mode', 'native', '-o', bin, '--listing', lst, '--map', map])).toBe(EXIT.ok);
    expect(Buffer.from(readFileSync(bin)).equals(Buffer.from(kernel))).toBe(true);
    expect(readFileSync(lst, 'utf8')).toMatch(/kmain:/);
    expect(readFileSync(map, 'utf8')).toMatch(/^C01[0-9A-F]{5}\s+\.text\s+kmain\s+guests\/kernel\/kernel\.asm:\d+$/m);
  });

  it('refuses a mode not built yet, unknown guests and a missing -o', async () => {
    expect(await main(['build', 'kernel', '--mode', 'xen', '-o', join(dir, 'x.bin')])).toBe(2);
    expect(err).toMatch(/error: xen mode not built yet/);
    expect(await main(['build', 'bench', '-o', join(dir, 'b.bin')])).toBe(2);
    expect(err).toMatch(/no built-in guest "bench"/);
    expect(await main(['build', 'kernel'])).toBe(2);
    expect(err).toMatch(/no output file/);
    expect(await main(['build', '--bogus'])).toBe(2);
  });
});

describe('labctl with an edited copy of guests/ (--guests DIR)', () => {
  it('boots the edited kernel, and reports a mistake at its file:line with exit code 2', async () => {
    const copy = join(dir, 'my-guests');
    cpSync(GUESTS_DIR, copy, { recursive: true });
    const hello = join(copy, 'user', 'hello.asm');
    const text = readFileSync(hello, 'utf8');
    expect(text).toContain('hello, world');
    writeFileSync(hello, text.replace('hello, world', 'edited greeting'));
    expect(await main(['boot', 'kernel', '--guests', copy, '--type', 'hello\\r', '--until', 'edited greeting'])).toBe(EXIT.ok);
    expect(out).toMatch(/edited greeting from user mode/);

    const mm = join(copy, 'kernel', 'mm.inc');
    const lines = readFileSync(mm, 'utf8').split('\n');
    const n = lines.findIndex((l) => /^\s+mov\s/.test(l));
    lines[n] = '        mov eax, ebx, ecx';
    writeFileSync(mm, lines.join('\n'));
    err = '';
    expect(await main(['build', 'kernel', '--guests', copy, '-o', join(dir, 'never.bin')])).toBe(2);
    expect(err).toMatch(new RegExp(`^guests/kernel/mm\\.inc:${n + 1}:\\d+: error: `, 'm'));
    expect(err).toMatch(/kernel \(native\) did not build: 1 error/);
    expect(await main(['boot', 'kernel', '--guests', copy])).toBe(EXIT.usage);
    expect(await main(['boot', 'kernel', '--guests', join(dir, 'nonexistent')])).toBe(EXIT.usage);
    expect(err).toMatch(/cannot read the guest sources/);
  });
});

describe('labctl help', () => {
  it('documents guests, build and --mode', async () => {
    expect(await main(['help'])).toBe(EXIT.ok);
    expect(out).toMatch(/labctl guests/);
    expect(out).toMatch(/labctl build <guest>/);
    expect(out).toMatch(/--mode MODE\s+native \(default\), xen or vmi/);
  });
});
