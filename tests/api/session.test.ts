// The worker-side API (workers/session/session.ts) driven directly in Node, without a
// worker or comlink, on the real machine and the guests the lab ships (public/guests/,
// built by scripts/build-guests.mjs). Everything here runs in virtual time, so the
// numbers are the same every run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MachineId, PollResult, Result } from '../../workers/api';
import { disassembler } from '../../workers/session/disasm-adapter';
import { createMachineTarget } from '../../workers/session/machine-target';
import { LabSession } from '../../workers/session/session';

const guest = (id: string) => ({ id, binary: new Uint8Array(readFileSync(`public/guests/${id}.bin`)) });

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function boot(id = 'demo'): { lab: LabSession; m: MachineId } {
  const lab = new LabSession(createMachineTarget);
  return { lab, m: value(lab.create({ mode: 'native', guest: guest(id) })) };
}

/** Addresses from the demo's line map: where the first line matching `pattern` starts. */
function demoAddress(pattern: RegExp): number {
  const source = readFileSync('public/guests/demo.asm', 'utf8').split('\n');
  const map = JSON.parse(readFileSync('public/guests/demo.map.json', 'utf8')) as { lines: [number, number][] };
  const line = source.findIndex((t) => pattern.test(t)) + 1;
  // a label line emits nothing: its address is the lowest one emitted by the lines just after it
  const hit = map.lines.filter(([, l]) => l >= line && l < line + 12).sort((x, y) => x[0] - y[0])[0];
  if (!hit) throw new Error(`no address for ${pattern}`);
  return hit[0];
}

describe('create', () => {
  it('refuses bad input with a reason instead of throwing', () => {
    const lab = new LabSession(createMachineTarget);
    expect(lab.create({ mode: 'xen', guest: guest('demo') })).toMatchObject({ ok: false, error: expect.stringMatching(/not available/) });
    expect(lab.create({ mode: 'native', guest: { id: 'x', binary: new Uint8Array(0) } })).toMatchObject({ ok: false });
    const junk = lab.create({ mode: 'native', guest: { id: 'x', binary: new Uint8Array(64).fill(0x90) } });
    expect(junk.ok).toBe(false);
    expect(lab.create({ mode: 'native', guest: guest('demo'), memoryMiB: 1 })).toMatchObject({ ok: false });
    expect(lab.registers(99)).toMatchObject({ ok: false, error: expect.stringMatching(/no machine 99/) });
    // @ts-expect-error: a caller on the other side of postMessage can send anything
    expect(lab.create(null).ok).toBe(false);
  });
  it('boots a multiboot guest into protected mode at its entry point', () => {
    const { lab, m } = boot();
    const r = value(lab.registers(m));
    expect(r.cpuMode).toBe('protected');
    expect(r.eip).toBe(demoAddress(/^_start:/));
    expect(r.eax).toBe(0x2badb002);
    expect(value(lab.poll(m, { consoleCursor: 0, traceCursor: 0 })).state).toBe('paused');
  });
});

describe('running the demo guest', () => {
  it('runs until console text, and poll hands out console and trace by cursor', async () => {
    const { lab, m } = boot();
    const stop = value(await lab.runUntil(m, { kind: 'console', text: 'proc 1 round 1' }, 300_000_000));
    expect(stop.reason).toBe('console');
    const text = value(lab.consoleText(m));
    expect(text).toContain('demo kernel: two processes');
    expect(text).toContain('proc 0 round 0');
    expect(text).toContain('proc 1 round 1');
    const p1 = value(lab.poll(m, { consoleCursor: 0, traceCursor: 0, maxEvents: 10 }));
    expect(p1.console).toBe(text);
    expect(p1.trace.count).toBe(10);
    expect(p1.trace.firstSeq).toBe(0);
    expect(p1.stop?.reason).toBe('console');
    const p2 = value(lab.poll(m, { consoleCursor: p1.consoleCursor, traceCursor: p1.traceCursor, maxEvents: 1 << 16 }));
    expect(p2.console).toBe('');
    expect(p2.trace.firstSeq).toBe(10);
    expect(p2.stop).toBeNull(); // a stop is reported once
    const kinds = lab.info().eventKinds;
    const seen = new Set(Array.from(p2.trace.kind, (k) => kinds[k]));
    for (const k of ['interrupt', 'syscall', 'pagefault', 'cr3load', 'iret']) expect(seen).toContain(k);
    const s = value(lab.summary(m));
    expect(s.counts[kinds.indexOf('syscall')]).toBeGreaterThan(10);
  });

  it('stops at the first instruction of the interrupt handler, in ring 0', async () => {
    const { lab, m } = boot();
    value(await lab.runUntil(m, { kind: 'console', text: 'proc 0 round 0' }, 300_000_000));
    const kinds = lab.info().eventKinds;
    const stop = value(await lab.runUntil(m, { kind: 'event', kinds: [kinds.indexOf('interrupt')] }, 300_000_000));
    expect(stop.reason).toBe('event');
    const r = value(lab.registers(m));
    expect(r.cpl).toBe(0);
    expect(r.eip).toBe(demoAddress(/^isr_base:/) + 0x20 * 16); // the IRQ0 stub
    const last = value(lab.lastEvents(m, 1))[0];
    expect(kinds[last.kind]).toBe('interrupt');
    expect(last.a).toBe(0x20);
  });

  it('steps, steps over a call, and honours breakpoints', async () => {
    const { lab, m } = boot();
    const r0 = value(lab.registers(m));
    const s1 = value(lab.step(m, 1));
    expect(s1.reason).toBe('step');
    expect(value(lab.registers(m)).instructions).toBe(r0.instructions + 1);
    // run to the first "call serial_init" and step over it
    const callSite = demoAddress(/^\s+call serial_init/);
    value(lab.setBreakpoint(m, callSite, true));
    const b = value(await lab.runUntil(m, { kind: 'cycles', cycles: 1_000_000 }, 1_000_000));
    expect(b.reason).toBe('breakpoint');
    expect(value(lab.registers(m)).eip).toBe(callSite);
    const over = value(await lab.stepOver(m));
    expect(over.reason).toBe('step');
    expect(value(lab.registers(m)).eip).toBe(callSite + 5);
    expect(value(lab.breakpoints(m))).toEqual([callSite]);
    value(lab.setBreakpoint(m, callSite, false));
    expect(value(lab.breakpoints(m))).toEqual([]);
  });

  it('steps over a system call, and runs to an address in one chosen address space', async () => {
    const { lab, m } = boot();
    value(await lab.runUntil(m, { kind: 'console', text: 'proc 1 round 0' }, 300_000_000));
    const syscall = demoAddress(/^\s+int 0x80/);
    value(lab.setBreakpoint(m, syscall, true));
    expect(value(await lab.runUntil(m, { kind: 'cycles', cycles: 100_000_000 }, 100_000_000)).reason).toBe('breakpoint');
    value(lab.setBreakpoint(m, syscall, false));
    const before = value(lab.registers(m));
    expect(before.cpl).toBe(3);
    const over = value(await lab.stepOver(m));
    expect(over.reason).toBe('step');
    const after = value(lab.registers(m));
    expect(after.eip).toBe(syscall + 2);
    expect(after.cpl).toBe(3);
    expect(after.cr3).toBe(before.cr3);
    // both processes run the same code, taking turns: each run to .print in this process's
    // space passes the other process's visit to the same address
    expect(value(lab.pageGrid(m)).cr3s).toHaveLength(2);
    const print = demoAddress(/^\.print:/);
    for (let i = 0; i < 3; i++) {
      const hit = value(await lab.runUntil(m, { kind: 'address', address: print, cr3: before.cr3 }, 100_000_000));
      expect(hit.reason).toBe('step');
      const there = value(lab.registers(m));
      expect(there.eip).toBe(print);
      expect(there.cr3).toBe(before.cr3);
      expect(there.ebp).toBe(before.ebp); // the process number, kept in ebp
    }
  });

  it('refuses commands that the run state does not allow', async () => {
    const { lab, m } = boot();
    expect(lab.pause(m)).toMatchObject({ ok: false, error: expect.stringMatching(/not running/) });
    value(lab.run(m));
    expect(lab.step(m, 1)).toMatchObject({ ok: false, error: expect.stringMatching(/already running/) });
    expect(lab.run(m).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 30));
    value(lab.pause(m));
    const p = value(lab.poll(m, { consoleCursor: 0, traceCursor: 0 }));
    expect(p.state).toBe('paused');
    expect(p.cycles).toBeGreaterThan(0);
    expect(lab.step(m, 0).ok).toBe(false);
  });

  it('reads memory by virtual and physical address, and the page tables of both processes', async () => {
    const { lab, m } = boot();
    value(await lab.runUntil(m, { kind: 'console', text: 'proc 1 round 1' }, 300_000_000));
    const entry = demoAddress(/^_start:/);
    const phys = value(lab.readMemory(m, 'physical', 0x100000, 4));
    expect(Array.from(phys.bytes)).toEqual([0x02, 0xb0, 0xad, 0x1b]); // the multiboot magic
    const virt = value(lab.readMemory(m, 'virtual', 0, 16));
    expect(Array.from(virt.valid)).toEqual(new Array(16).fill(0)); // page 0 is unmapped
    expect(entry).toBeGreaterThan(0x100000);
    const walk = value(lab.walk(m, 0x400000));
    expect(walk.paging).toBe(true);
    expect(walk.physical).toBeGreaterThanOrEqual(0x200000); // a demand-zero frame
    const maps = value(lab.mappings(m));
    expect(maps.some((r) => r.user && r.virtualStart >= 0x400000)).toBe(true);
    const grid = value(lab.pageGrid(m));
    expect(grid.cr3s.length).toBe(2); // two processes, two page directories
    const owners = new Set(grid.owner);
    expect(owners.has(3) && owners.has(4)).toBe(true);
  });
});

describe('the teaching kernel', () => {
  it('boots to the shell, takes typed input and runs a program', async () => {
    const { lab, m } = boot('kernel');
    expect(value(await lab.runUntil(m, { kind: 'console', text: '$ ' }, 500_000_000)).reason).toBe('console');
    value(lab.typeInput(m, 'hello\r'));
    expect(value(await lab.runUntil(m, { kind: 'console', text: 'hello, world' }, 500_000_000)).reason).toBe('console');
    expect(value(lab.consoleText(m))).toMatch(/\$ hello\r?\nhello, world from user mode/);
    const grid = value(lab.pageGrid(m));
    expect(grid.cr3s.length).toBeGreaterThanOrEqual(2); // the shell and the program had their own page directories
  });
});

describe('disassembly', () => {
  it('decodes at EIP with the lab disassembler, and shows raw bytes without one', () => {
    const lab = new LabSession(createMachineTarget, disassembler);
    const m = value(lab.create({ mode: 'native', guest: guest('demo') }));
    const eip = value(lab.registers(m)).eip;
    const lines = value(lab.disassemble(m, eip, 3));
    expect(lines.map((l) => l.text.split(' ')[0])).toEqual(['cli', 'lgdt', 'jmp']);
    expect(lines[0].note).toMatch(/interrupts/);
    expect(lines[1].address).toBe(eip + 1);
    expect(lab.info().disassembler).toBe(true);
    const bare = boot();
    const raw = value(bare.lab.disassemble(bare.m, eip, 2));
    expect(raw[0]).toMatchObject({ address: eip, bytes: [0xfa], text: 'db 0xfa' });
    expect(value(bare.lab.disassemble(bare.m, 0, 1))[0].text).toBe('db 0x00'); // paging off: physical 0
  });
});

describe('a guest that crashes', () => {
  it('reports a triple fault with the last events, and accepts only reset', async () => {
    const { lab, m } = boot('crash');
    const stop = value(await lab.runUntil(m, { kind: 'cycles', cycles: 10_000_000 }, 10_000_000));
    expect(stop.reason).toBe('tripleFault');
    expect(stop.lastEvents?.length).toBeGreaterThan(0);
    expect(value(lab.consoleText(m))).toContain('crash: dividing by zero');
    const p: PollResult = value(lab.poll(m, { consoleCursor: 0, traceCursor: 0 }));
    expect(p.state).toBe('stopped');
    expect(lab.run(m)).toMatchObject({ ok: false, error: expect.stringMatching(/stopped/) });
    expect(lab.step(m, 1).ok).toBe(false);
    value(lab.reset(m));
    expect(value(lab.poll(m, { consoleCursor: 0, traceCursor: 0 })).state).toBe('paused');
    expect(value(lab.consoleText(m))).toBe('');
  });
});
