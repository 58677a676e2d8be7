/*
 * Tests of the v86 driver (tests/support/v86.ts), the nasm helper and the benchmark log
 * reader: a tiny Multiboot kernel built here must print its greeting through v86's COM1,
 * and one quick pass of the shared benchmark kernel must report checksums that its
 * JavaScript model (reference.mjs) agrees with.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { runV86 } from './v86';
import { assemble, assembleFile, haveNasm } from './nasm';
import { BENCH_DIR, loadBenchReference, parseBenchLog, geomean } from './bench-log';

const HELLO = `
bits 32
org 0x100000
hdr: dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
     dd hdr, 0x100000, end, end, start
start:
    mov esi, msg
.next:
    lodsb
    test al, al
    jz .done
    mov dx, 0x3FD
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, [esi - 1]
    mov dx, 0x3F8
    out dx, al
    jmp .next
.done:
    cli
    hlt
msg: db 'hello from multiboot', 10, 'eax=', 0
end:
`;

describe.runIf(haveNasm())('v86 driver', () => {
  it('boots a Multiboot kernel and captures its serial output with timestamps', async () => {
    const img = assemble(HELLO);
    const r = await runV86(img, { until: 'eax=', timeoutMs: 20_000 });
    expect(r.serial.text()).toBe('hello from multiboot\neax=');
    for (let i = 1; i < r.serial.length; i++) expect(r.serial.times[i]).toBeGreaterThanOrEqual(r.serial.times[i - 1]);
  });

  it('rejects with the output so far when the terminator never comes', async () => {
    const img = assemble(HELLO);
    await expect(runV86(img, { until: 'never printed', timeoutMs: 1500 })).rejects.toThrow(/hello from multiboot/);
  });

  it.runIf(existsSync(`${BENCH_DIR}/bench.asm`))('runs one pass of the benchmark kernel with correct checksums', async () => {
    const img = assembleFile(`${BENCH_DIR}/bench.asm`, { PAGING: 0, SCALE: 1, PASSES: 1 });
    const r = await runV86(img, { until: 'ALLDONE\n', timeoutMs: 60_000 });
    const log = parseBenchLog(r.serial.bytes, r.serial.times, r.serial.length);
    expect(log.done).toBe(true);
    expect(log.banner).toMatch(/^BENCH v1 paging=0 scale=1 passes=1/);
    expect(log.records.map((x) => x.name)).toEqual(['alu', 'mem', 'call', 'branch', 'mix']);
    const ref = await loadBenchReference();
    for (const rec of log.records) {
      expect(ref.check(rec.name, rec).ok, rec.name).toBe(true);
      expect(rec.end).toBeGreaterThan(rec.begin);
    }
  });
});

describe('benchmark log reader', () => {
  it('times BEGIN-newline to END-first-byte and keeps unknown lines aside', () => {
    const text = 'BENCH v1 x\nPASS 00000002\nBEGIN alu\nEND alu insns=0000000a iters=00000001 inner=00000000 sum=deadbeef\nodd\nALLDONE\n';
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    const times = Float64Array.from(bytes, (_, i) => i * 10);
    const log = parseBenchLog(bytes, times, bytes.length);
    const beginNl = text.indexOf('\n', text.indexOf('BEGIN'));
    expect(log.records).toEqual([{ pass: 2, name: 'alu', insns: 10, iters: 1, inner: 0, sum: 0xdeadbeef, begin: beginNl * 10, end: text.indexOf('END') * 10 }]);
    expect(log.done).toBe(true);
    expect(log.garbage).toEqual(['odd']);
  });
  it('computes geometric means', () => {
    expect(geomean([2, 8])).toBeCloseTo(4);
    expect(geomean([])).toBeNaN();
    expect(geomean([1, 0])).toBeNaN();
  });
});
