// The whole machine: the benchmark kernel booted end to end with its checksums checked
// against the reference model, a kernel driven by the PIT and UART interrupts, the run
// exits, and snapshot/restore giving exactly the same run.
import { describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { Machine, RunState, createMachine } from '../../workers/machine/machine';
import { cycleOfTick } from '../../workers/devices/pit8254';
import { BENCH_ASM, FIXTURES, image, nasm, runUntil } from './support';
import { BENCH_DIR } from '../support/shared';

const { check } = (await import(pathToFileURL(`${BENCH_DIR}/reference.mjs`).href)) as {
  check: (name: string, record: object) => { ok: boolean; expected_sum: number; expected_insns: number };
};

const IRQ_KERNEL = `${FIXTURES}/irqkernel.asm`;

interface EndLine { name: string; insns: number; iters: number; inner: number; sum: number }

function endLines(text: string): EndLine[] {
  const out: EndLine[] = [];
  for (const m of text.matchAll(/^END (\w+) insns=([0-9a-f]{8}) iters=([0-9a-f]{8}) inner=([0-9a-f]{8}) sum=([0-9a-f]{8})$/gm)) {
    out.push({ name: m[1], insns: parseInt(m[2], 16), iters: parseInt(m[3], 16), inner: parseInt(m[4], 16), sum: parseInt(m[5], 16) });
  }
  return out;
}

describe('machine', () => {
  describe('the benchmark kernel', () => {
    for (const paging of [0, 1]) {
      it(`runs every workload with the reference checksums (paging=${paging})`, () => {
        // SCALE=1/100: nasm evaluates 10000000 * 1/100 left to right, so every loop runs 1/100
        // of its normal count (about 1 M instructions per workload).
        const bin = nasm(BENCH_ASM, { SCALE: '1/100', PASSES: 1, PAGING: paging });
        const m = new Machine();
        const boot = m.boot(image(bin));
        expect(boot.ok).toBe(true);
        const { exit, text } = runUntil(m, { until: 'ALLDONE', max: 200_000_000, slice: 5_000_000 });
        expect(text).toContain('ALLDONE');
        expect(exit.kind).not.toBe('tripleFault');
        const ends = endLines(text);
        expect(ends.map((e) => e.name)).toEqual(paging ? ['alu', 'mem', 'call', 'branch', 'mix', 'tlb'] : ['alu', 'mem', 'call', 'branch', 'mix']);
        for (const e of ends) {
          const r = check(e.name, e);
          expect({ name: e.name, sum: e.sum, insns: e.insns }).toEqual({ name: e.name, sum: r.expected_sum, insns: r.expected_insns });
        }
        // After ALLDONE the kernel does cli; hlt: the machine reports it halted for good.
        const after = m.run(1_000_000);
        expect(after.kind).toBe('halted');
        expect(m.state).toBe(RunState.Halted);
      });
    }
  });

  describe('interrupts from the PIT and the UART', () => {
    it('takes ~1 kHz timer interrupts in virtual time and echoes typed input', () => {
      const m = new Machine();
      expect(m.boot(image(nasm(IRQ_KERNEL))).ok).toBe(true);
      m.typeInput('hey');
      const { exit, text } = runUntil(m, { max: 50_000_000 });
      expect(exit.kind).toBe('debugExit');
      if (exit.kind !== 'debugExit') return;
      expect(exit.code).toBe(0x42);
      expect(text.startsWith('READY\n')).toBe(true);
      expect(text).toContain('<h><e><y>');
      expect(text.match(/t/g)?.length).toBe(11); // ten from the timer, one in "ticks="
      expect(text).toContain('END ticks=00000064 rx=00000003');
      expect(m.pit.irq0Edges).toBe(100);
      expect(m.pic.acks[0]).toBe(100);
      expect(m.pic.acks[4]).toBeGreaterThanOrEqual(1);
      // 100 periods of 1193 input clocks, to the cycle, plus the boot code before the PIT started.
      const hundredTicks = cycleOfTick(100 * 1193);
      expect(exit.cycles).toBeGreaterThan(hundredTicks);
      expect(exit.cycles).toBeLessThan(hundredTicks + 20_000);
      // The CPU idled in HLT: far fewer instructions than cycles.
      expect(m.cpu.instructions).toBeLessThan(exit.cycles / 20);
      expect(m.state).toBe(RunState.Stopped);
      expect(m.run(1000).kind).toBe('refused');
    });
  });

  describe('run exits', () => {
    it('reports a triple fault with the CPU report and refuses to run on', () => {
      const m = new Machine();
      expect(m.boot(image(nasm(`${FIXTURES}/crash.asm`))).ok).toBe(true);
      const exit = m.run(1_000_000);
      expect(exit.kind).toBe('tripleFault');
      if (exit.kind === 'tripleFault') {
        expect(exit.stopInfo).not.toBeNull();
        expect(exit.message).toMatch(/triple/i);
      }
      expect(m.readConsole(0).text).toBe('X');
      expect(m.run(10).kind).toBe('refused');
      expect(m.exits.tripleFault).toBe(1);
      // reset() boots the same kernel again.
      const again = m.reset();
      expect(again?.ok).toBe(true);
      expect(m.state).toBe(RunState.Paused);
      expect(m.run(1_000_000).kind).toBe('tripleFault');
    });

    it('sleeps in HLT until typed input wakes it', () => {
      const m = new Machine({ memoryMiB: 4 });
      m.boot(image(nasm(IRQ_KERNEL, { NO_PIT: 1 })));
      const idle = m.run(50_000_000);
      expect(idle).toMatchObject({ kind: 'halted', reason: expect.stringMatching(/waiting for input/) });
      expect(idle.cycles).toBeLessThan(100_000); // it halted early and nothing was left to skip to
      expect(m.state).toBe(RunState.Halted);
      m.typeInput('hiq');
      expect(m.state).toBe(RunState.Paused);
      const before = m.cpu.cycles;
      const exit = m.run(50_000_000);
      expect(exit).toMatchObject({ kind: 'debugExit', code: 0x43 });
      expect(m.readConsole(0).text).toBe('READY\n<h><i><q');
      // The third character arrives three character times (3 x 8681 cycles) after typing.
      expect(exit.cycles - before).toBeGreaterThanOrEqual(3 * 8681);
      expect(exit.cycles - before).toBeLessThan(3 * 8681 + 2_000);
    });

    it('steps out of HLT: time skips to the timer event and the interrupt is delivered', () => {
      const m = new Machine({ memoryMiB: 4 });
      m.boot(image(nasm(IRQ_KERNEL)));
      while (!m.cpu.halted) m.step();
      const before = m.cpu.cycles;
      expect(m.pic.acks[0]).toBe(0);
      const exit = m.step();
      expect(exit.kind).toBe('budget');
      expect(m.pic.acks[0]).toBe(1);
      expect(m.cpu.halted).toBe(false);
      expect(m.cpu.cycles - before).toBeGreaterThan(90_000); // about one 1 kHz period
      expect(m.cpu.cycles - before).toBeLessThan(101_000);
      // EIP is now the first instruction of the IRQ0 handler (pushad).
      expect(m.cpu.readLinear(m.cpu.linearEip(), 1)?.[0]).toBe(0x60);
    });

    it('reports a HLT with interrupts off as halted', () => {
      const m = new Machine({ memoryMiB: 4 });
      m.boot(image(nasm(`${FIXTURES}/halt.asm`)));
      const exit = m.run(1_000_000);
      expect(exit).toMatchObject({ kind: 'halted', reason: expect.stringMatching(/IF=0/) });
      expect(m.readConsole(0).text).toBe('HI\n');
    });

    it('stops at a breakpoint and goes on from it', () => {
      const m = new Machine({ memoryMiB: 4 });
      const boot = m.boot(image(nasm(`${FIXTURES}/halt.asm`)));
      if (!boot.ok) throw new Error(boot.error);
      // Step over the first two instructions, then break at the third (the first OUT).
      m.step();
      m.step();
      const third = m.cpu.linearEip();
      m.reset();
      m.cpu.breakpoints.add(third);
      const exit = m.run(1000);
      expect(exit).toMatchObject({ kind: 'breakpoint', address: third });
      expect(m.cpu.instructions).toBe(2);
      expect(m.run(1000).kind).toBe('halted');
      expect(m.readConsole(0).text).toBe('HI\n');
    });

    it('ends a run on request from inside it, and ignores a request between runs', () => {
      const m = new Machine({ memoryMiB: 4 });
      m.boot(image(nasm(`${FIXTURES}/halt.asm`)));
      m.requestStop(); // not running: nothing to stop
      const uartOut = m.uart.out8.bind(m.uart);
      let writes = 0;
      m.uart.out8 = (port, value) => {
        uartOut(port, value);
        if (++writes === 1) m.requestStop(); // as a debugger hook would, mid-run
      };
      const exit = m.run(1_000_000);
      expect(exit.kind).toBe('requested');
      expect(m.state).toBe(RunState.Paused);
      expect(m.readConsole(0).text).toBe('H');
      expect(m.run(1_000_000).kind).toBe('halted');
      expect(m.readConsole(0).text).toBe('HI\n');
    });

    it('gives the budget back exactly', () => {
      const m = new Machine();
      m.boot(image(nasm(BENCH_ASM, { SCALE: '1/100', PASSES: 1, PAGING: 0 })));
      const exit = m.run(12_345);
      expect(exit).toMatchObject({ kind: 'budget', cycles: 12_345, ran: 12_345 });
      expect(m.run(0).kind).toBe('budget');
    });

    it('refuses a bad configuration and a bad image without throwing', () => {
      const bad = createMachine({ memoryMiB: 3.5 });
      expect(bad.ok).toBe(false);
      const m = new Machine({ memoryMiB: 2 });
      const r = m.boot(new Uint8Array(100));
      expect(r.ok).toBe(false);
      expect(m.state).toBe(RunState.Stopped);
      expect(m.run(100)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/no kernel loaded/) });
    });

    it('lists its ports for the UI', () => {
      const ports = new Machine({ memoryMiB: 2 }).ports();
      const find = (p: number) => ports.find((x) => x.port === p);
      expect(find(0x20)?.device).toBe('pic');
      expect(find(0x40)?.device).toBe('pit');
      expect(find(0x3fd)?.label).toMatch(/LSR/);
      expect(find(0x80)?.device).toBe('post');
      expect(find(0x501)?.device).toBe('debug-exit');
    });
  });

  describe('snapshot and restore', () => {
    function bootIrq(): Machine {
      const m = new Machine({ memoryMiB: 8 });
      const r = m.boot(image(nasm(IRQ_KERNEL, { TICKS_END: 60 })));
      if (!r.ok) throw new Error(r.error);
      return m;
    }

    it('restore-and-run gives exactly the same console output and counters', () => {
      const a = bootIrq();
      a.run(2_345_678);
      a.typeInput('snap');
      a.run(20_000); // two of the four characters have arrived: input is in flight
      expect(a.uart.inputQueued).toBe(2);
      const snap = a.snapshot();
      // RAM packs to its non-zero pages only.
      expect(snap.ram.data.length).toBeLessThan(64 * 1024);
      const cursor = a.readConsole(0).next;
      const endA = runUntil(a, { max: 100_000_000, slice: 3_000_000 }).exit;
      expect(endA.kind).toBe('debugExit');

      // Restore into a fresh machine, and run it with a different slicing of the budget.
      const b = new Machine({ memoryMiB: 8 });
      expect(b.restore(structuredClone(snap))).toEqual({ ok: true });
      expect(b.readConsole(0).next).toBe(cursor);
      const endB = runUntil(b, { max: 100_000_000, slice: 777_777 }).exit;
      expect({ ...endB, ran: 0 }).toEqual({ ...endA, ran: 0 }); // same exit at the same cycle
      expect(b.readConsole(cursor).text).toBe(a.readConsole(cursor).text);
      expect(b.readConsole(cursor).text).toContain('<a><p>');
      expect(b.readConsole(0).text).toContain('<s><n><a><p>');
      // Every counter matches (the exit tallies differ only because the budgets were sliced differently).
      expect({ ...b.counters(), exits: null }).toEqual({ ...a.counters(), exits: null });
      expect(Array.from(b.cpu.trace.counts)).toEqual(Array.from(a.cpu.trace.counts));
      expect(b.cpu.readRegisters()).toEqual(a.cpu.readRegisters());
    });

    it('refuses a snapshot of another memory size and keeps running as before', () => {
      const a = bootIrq();
      a.run(1_000_000);
      const small = new Machine({ memoryMiB: 4 });
      const r = small.restore(a.snapshot());
      expect(r.ok).toBe(false);
      expect(small.restore({ format: 'nope' } as never).ok).toBe(false);

      // A corrupt snapshot is refused before anything changes: b goes on exactly like its twin c.
      const b = bootIrq(), c = bootIrq();
      b.run(1_500_000);
      c.run(1_500_000);
      const bad = a.snapshot();
      (bad.clock as { events: { name: string }[] }).events[0].name = 'bogus';
      expect(b.restore(bad)).toEqual({ ok: false, error: expect.stringMatching(/bogus/) });
      const badRam = a.snapshot();
      badRam.ram.frames[0] = 1 << 30;
      expect(b.restore(badRam)).toEqual({ ok: false, error: expect.stringMatching(/beyond/) });
      const endB = runUntil(b, { max: 100_000_000 }).exit;
      const endC = runUntil(c, { max: 100_000_000 }).exit;
      expect(endB.cycles).toBe(endC.cycles);
      expect(b.readConsole(0).text).toBe(c.readConsole(0).text);
    });
  });
});
