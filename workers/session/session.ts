/*
 * The lab's worker-side API: LabSession implements LabApi (workers/api.ts) over one or
 * more machines. It owns each machine's run state (the diagram is at RunState in api.ts),
 * runs machines in slices of a few milliseconds of wall time so the worker keeps
 * answering messages, and turns the machine's internals into the plain, copyable shapes
 * the views need: registers, memory blocks, page walks, trace batches as typed columns.
 * Nothing here throws to the caller: every public method catches and returns a Result.
 * lab.worker.ts exposes one LabSession with comlink; tests/api drive it directly in Node.
 * Next: pagetables.ts (the page-table views), insnlen.ts (step over).
 */

import type {
  CreateOptions, DisasmLine, LabApi, LabInfo, MachineId, MappingRange, MemoryBlock, Mode,
  PageGrid, PageWalk, PollRequest, PollResult, Registers, Result, RunState, RunUntil,
  SegmentView, SpeedSetting, StopReport, TraceBatch, TraceEvent, TraceSummary,
} from '../api';
import { EV_COUNT, EV_NAMES, Ev } from '../trace/trace';
import { stepOverInfo } from './insnlen';
import * as pt from './pagetables';
import type { Target, TargetExit, TargetFactory } from './target';

export const CPU_HZ = 100_000_000;
/** Wall-clock milliseconds of emulation per slice before yielding to messages. */
const SLICE_MS = 8;
/** Cycles per machine.run() call inside a slice (the slice checks the clock between). */
const CHUNK = 50_000;
/** Smaller chunks while waiting for console text, so the overshoot stays small. */
const CONSOLE_CHUNK = 5_000;
const MAX_ADDRESS_SPACES = 64;

/** An optional disassembler, plugged in by the worker entry when one is built. */
export type Disassembler = (bytes: Uint8Array, address: number, count: number, bits: 16 | 32) => DisasmLine[];

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: string): Result<T> => ({ ok: false, error });
const hex = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');

/** Wall clock for pacing only (never for virtual time). */
const now: () => number = typeof performance !== 'undefined' ? () => performance.now() : () => Date.now();

/** Yields to the event loop without the 4 ms clamp of nested timers. */
const immediate = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate;
const yieldNow: () => Promise<void> = typeof immediate === 'function'
  ? () => new Promise((resolve) => immediate(() => resolve()))
  : (() => {
      const channel = new MessageChannel();
      const waiting: (() => void)[] = [];
      // typed loosely: the worker's MessagePort and Node's differ in their declarations
      (channel.port1 as unknown as { onmessage: (() => void) | null }).onmessage = () => waiting.shift()?.();
      return () => new Promise<void>((resolve) => { waiting.push(resolve); channel.port2.postMessage(0); });
    })();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One machine and everything the session remembers about it. */
class Slot {
  state: RunState = 'paused';
  /** The stop not yet reported by poll(). */
  pendingStop: StopReport | null = null;
  stopSerial = 0;
  speed: SpeedSetting = { kind: 'full', stepsPerSecond: 20 };
  /** Bumped to cancel the background run loop (pause, reset, destroy). */
  generation = 0;
  /** CR3 values seen (trace Cr3Load events and every stop), in order of first sight. */
  cr3s: number[] = [];
  cr3Cursor = 0;
  /** Set by the trace hook when an awaited event kind fires. */
  eventHit = false;
  busy = false;

  constructor(
    readonly id: MachineId,
    readonly mode: Mode,
    public target: Target,
    readonly binary: Uint8Array,
    readonly memoryMiB: number,
    public tracing: boolean,
  ) {}
}

export class LabSession implements LabApi {
  private readonly slots = new Map<MachineId, Slot>();
  private nextId = 1;

  constructor(private readonly factory: TargetFactory, private readonly disassembler: Disassembler | null = null) {}

  info(): LabInfo {
    return { modes: ['native'], eventKinds: EV_NAMES.slice(0, EV_COUNT), cpuHz: CPU_HZ, disassembler: this.disassembler !== null };
  }

  create(options: CreateOptions): Result<MachineId> {
    try {
      if (!options || typeof options !== 'object') return fail('create: expected options { mode, guest }');
      if (options.mode !== 'native') return fail(`create: mode '${String(options.mode)}' is not available yet (only 'native')`);
      const binary = options.guest?.binary;
      if (!(binary instanceof Uint8Array) || binary.length === 0) return fail('create: the guest image is empty');
      const mib = options.memoryMiB ?? 64;
      if (!Number.isInteger(mib) || mib < 2 || mib > 1024) return fail(`create: memory must be 2..1024 MiB, not ${mib}`);
      const target = this.factory(binary, mib);
      const slot = new Slot(this.nextId++, options.mode, target, binary.slice(), mib, options.tracing ?? true);
      this.attach(slot);
      this.slots.set(slot.id, slot);
      return ok(slot.id);
    } catch (e) {
      return fail(`create: ${message(e)}`);
    }
  }

  destroy(id: MachineId): Result<void> {
    const slot = this.slots.get(id);
    if (!slot) return fail(`no machine ${id}`);
    slot.generation++;
    slot.target.cpu.trace.onStop = null;
    this.slots.delete(id);
    return ok(undefined);
  }

  reset(id: MachineId): Result<void> {
    return this.guard(id, 'reset', (slot) => {
      slot.generation++;
      slot.target.cpu.trace.onStop = null;
      slot.target = this.factory(slot.binary, slot.memoryMiB);
      this.attach(slot);
      slot.state = 'paused';
      slot.cr3s = [];
      slot.cr3Cursor = 0;
      slot.busy = false;
      this.report(slot, { reason: 'pause', message: 'Reset: the guest is loaded and ready to run.', eip: slot.target.cpu.eip, cycles: 0 });
      return ok(undefined);
    });
  }

  run(id: MachineId): Result<void> {
    return this.guard(id, 'run', (slot) => {
      const refusal = this.refuse(slot, 'run');
      if (refusal) return fail(refusal);
      slot.state = 'running';
      const generation = ++slot.generation;
      void this.background(slot, generation);
      return ok(undefined);
    });
  }

  pause(id: MachineId): Result<void> {
    return this.guard(id, 'pause', (slot) => {
      if (slot.state !== 'running') return fail(`pause: the machine is ${slot.state}, not running`);
      slot.generation++;
      slot.state = 'paused';
      this.report(slot, { reason: 'pause', message: 'Paused.', eip: slot.target.cpu.eip, cycles: slot.target.cpu.cycles });
      return ok(undefined);
    });
  }

  step(id: MachineId, count: number): Result<StopReport> {
    return this.guard(id, 'step', (slot) => {
      const refusal = this.refuse(slot, 'step');
      if (refusal) return fail(refusal);
      if (!Number.isInteger(count) || count < 1 || count > 100_000_000) return fail(`step: count must be a whole number from 1, not ${count}`);
      const { cpu } = slot.target;
      let exit: TargetExit = { kind: 'budget' };
      let done = 0;
      while (done < count) {
        exit = slot.target.step();
        done++;
        if (exit.kind !== 'budget' && exit.kind !== 'requested') break;
        if (done < count && cpu.breakpoints.size > 0 && cpu.breakpoints.has(this.linearEip(slot))) {
          exit = { kind: 'breakpoint' };
          break;
        }
      }
      const s = this.settle(slot, exit, { reason: 'step', message: done === 1 ? 'Stepped one instruction.' : `Stepped ${done} instructions.`, eip: cpu.eip, cycles: cpu.cycles });
      return ok(s);
    });
  }

  async stepOver(id: MachineId): Promise<Result<StopReport>> {
    const slot = this.slots.get(id);
    if (!slot) return fail(`no machine ${id}`);
    try {
      const refusal = this.refuse(slot, 'step over');
      if (refusal) return fail(refusal);
      const bytes = this.readLinear(slot, this.linearEip(slot), 16).bytes;
      const info = stepOverInfo(bytes, this.default32(slot));
      if (!info.over) return this.step(id, 1);
      const target = (slot.target.cpu.eip + info.length) >>> 0;
      // the same code may run in another process first: only this address space counts
      const cr3 = slot.target.cpu.cr0 & 0x80000000 ? slot.target.cpu.cr3 >>> 0 : undefined;
      return await this.runUntil(id, { kind: 'address', address: (slot.target.cpu.segBase[1] + target) >>> 0, cr3 }, 2_000_000_000);
    } catch (e) {
      return fail(`step over: ${message(e)}`);
    }
  }

  async runUntil(id: MachineId, until: RunUntil, maxCycles: number): Promise<Result<StopReport>> {
    const slot = this.slots.get(id);
    if (!slot) return fail(`no machine ${id}`);
    const refusal = this.refuse(slot, 'run until');
    if (refusal) return fail(refusal);
    if (!until || typeof until !== 'object') return fail('run until: expected a condition');
    if (!(maxCycles > 0)) return fail(`run until: maxCycles must be positive, not ${maxCycles}`);
    const { cpu, mem } = slot.target;
    void mem;
    const trace = cpu.trace;
    const start = cpu.cycles;
    const generation = ++slot.generation;
    slot.state = 'running';
    slot.busy = true;
    let tempBreakpoint = -1;
    let consoleCursor = 0;
    let consoleTail = '';
    try {
      if (until.kind === 'event') {
        trace.stopOn.fill(0);
        for (const k of until.kinds) if (k >= 0 && k < EV_COUNT) trace.stopOn[k] = 1;
        slot.eventHit = false;
      } else if (until.kind === 'address') {
        if (!cpu.breakpoints.has(until.address >>> 0)) { tempBreakpoint = until.address >>> 0; cpu.breakpoints.add(tempBreakpoint); }
      } else if (until.kind === 'console') {
        consoleCursor = slot.target.readConsole(0).next;
      }
      let exit: TargetExit = this.leaveBreakpoint(slot, until);
      let sliceStart = now();
      const chunk = until.kind === 'console' ? CONSOLE_CHUNK : CHUNK;
      for (;;) {
        if (exit.kind === 'requested' && slot.eventHit) {
          return ok(this.settle(slot, { kind: 'budget' }, { reason: 'event', message: 'Stopped at the event.', eip: cpu.eip, cycles: cpu.cycles }));
        }
        if (exit.kind === 'breakpoint' && until.kind === 'address' && this.linearEip(slot) === until.address >>> 0 &&
            until.cr3 !== undefined && cpu.cr3 >>> 0 !== until.cr3 >>> 0) {
          exit = { kind: 'budget' }; // reached in another address space: keep going
        } else if (exit.kind === 'breakpoint' && tempBreakpoint >= 0 && this.linearEip(slot) === tempBreakpoint) {
          return ok(this.settle(slot, { kind: 'budget' }, { reason: 'step', message: `Ran to ${hex(tempBreakpoint)}.`, eip: cpu.eip, cycles: cpu.cycles }));
        }
        if (exit.kind !== 'budget' && exit.kind !== 'requested') {
          return ok(this.settle(slot, exit, { reason: 'budget', message: '', eip: cpu.eip, cycles: cpu.cycles }));
        }
        if (until.kind === 'console') {
          const fresh = slot.target.readConsole(consoleCursor);
          if (fresh.text.length > 0) {
            // keep the tail of what was read before, so text split across chunks is found
            const seen = consoleTail + fresh.text;
            if (seen.includes(until.text)) return ok(this.settle(slot, { kind: 'budget' }, { reason: 'console', message: `The console printed "${until.text}".`, eip: cpu.eip, cycles: cpu.cycles }));
            consoleTail = seen.slice(-until.text.length);
            consoleCursor = fresh.next;
          }
        }
        const used = cpu.cycles - start;
        if (until.kind === 'cycles' && used >= until.cycles) {
          return ok(this.settle(slot, { kind: 'budget' }, { reason: 'step', message: `Ran ${used} cycles.`, eip: cpu.eip, cycles: cpu.cycles }));
        }
        if (used >= maxCycles) {
          return ok(this.settle(slot, { kind: 'budget' }, { reason: 'limit', message: `Gave up after ${used} cycles without reaching the condition.`, eip: cpu.eip, cycles: cpu.cycles }));
        }
        if (generation !== slot.generation) {
          return ok({ reason: 'pause', message: 'Interrupted.', eip: cpu.eip, cycles: cpu.cycles });
        }
        if (now() - sliceStart > SLICE_MS) {
          await yieldNow();
          if (generation !== slot.generation || !this.slots.has(id)) return ok({ reason: 'pause', message: 'Interrupted.', eip: cpu.eip, cycles: cpu.cycles });
          sliceStart = now();
        }
        let budget = Math.min(chunk, maxCycles - used);
        if (until.kind === 'cycles') budget = Math.min(budget, until.cycles - used);
        exit = slot.target.run(Math.max(1, budget));
      }
    } catch (e) {
      slot.state = 'stopped';
      const r: StopReport = { reason: 'error', message: `The emulator failed: ${message(e)}`, eip: cpu.eip, cycles: cpu.cycles, lastEvents: this.last(slot, 16) };
      this.report(slot, r);
      return ok(r);
    } finally {
      if (tempBreakpoint >= 0) cpu.breakpoints.delete(tempBreakpoint);
      trace.stopOn.fill(0);
      slot.busy = false;
    }
  }

  setBreakpoint(id: MachineId, linear: number, on: boolean): Result<number[]> {
    return this.guard(id, 'breakpoint', (slot) => {
      if (!Number.isFinite(linear)) return fail(`breakpoint: ${linear} is not an address`);
      const a = linear >>> 0;
      if (on) slot.target.cpu.breakpoints.add(a);
      else slot.target.cpu.breakpoints.delete(a);
      return ok([...slot.target.cpu.breakpoints].sort((x, y) => x - y));
    });
  }

  breakpoints(id: MachineId): Result<number[]> {
    return this.guard(id, 'breakpoints', (slot) => ok([...slot.target.cpu.breakpoints].sort((x, y) => x - y)));
  }

  setSpeed(id: MachineId, speed: SpeedSetting): Result<void> {
    return this.guard(id, 'speed', (slot) => {
      if (speed?.kind !== 'full' && speed?.kind !== 'animated') return fail('speed: kind must be full or animated');
      if (speed.kind === 'animated' && !(speed.stepsPerSecond >= 1 && speed.stepsPerSecond <= 1e6)) return fail('speed: steps per second must be 1..1000000');
      slot.speed = { kind: speed.kind, stepsPerSecond: speed.stepsPerSecond };
      return ok(undefined);
    });
  }

  setTracing(id: MachineId, on: boolean): Result<void> {
    return this.guard(id, 'tracing', (slot) => {
      slot.tracing = !!on;
      slot.target.cpu.trace.enabled = slot.tracing;
      return ok(undefined);
    });
  }

  typeInput(id: MachineId, text: string): Result<void> {
    return this.guard(id, 'type', (slot) => {
      if (typeof text !== 'string') return fail('type: expected text');
      slot.target.typeInput(text);
      if (slot.state === 'halted') {
        // a CPU waiting in HLT for input can run again
        slot.state = 'paused';
        this.report(slot, { reason: 'pause', message: 'Input arrived: the machine can run again.', eip: slot.target.cpu.eip >>> 0, cycles: slot.target.cpu.cycles });
      }
      return ok(undefined);
    });
  }

  poll(id: MachineId, request: PollRequest): Result<PollResult> {
    return this.guard(id, 'poll', (slot) => {
      const { cpu } = slot.target;
      const consoleCursor = Math.max(0, Math.floor(request?.consoleCursor ?? 0));
      const con = slot.target.readConsole(consoleCursor);
      const trace = this.batch(slot, Math.max(0, Math.floor(request?.traceCursor ?? 0)), Math.min(65536, request?.maxEvents ?? 4096));
      const stop = slot.pendingStop;
      slot.pendingStop = null;
      return ok({
        state: slot.state, mode: slot.mode, cycles: cpu.cycles, instructions: cpu.instructions,
        console: con.text, consoleCursor: con.next,
        trace, traceCursor: trace.firstSeq + trace.count, traceTail: cpu.trace.tail,
        stop, stopSerial: slot.stopSerial, summary: this.summaryOf(slot),
      });
    });
  }

  consoleText(id: MachineId): Result<string> {
    return this.guard(id, 'console', (slot) => ok(slot.target.readConsole(0).text));
  }

  registers(id: MachineId): Result<Registers> {
    return this.guard(id, 'registers', (slot) => {
      const c = slot.target.cpu;
      const seg = (i: number): SegmentView => ({ selector: c.sreg[i], base: c.segBase[i] >>> 0, limit: c.segLimit[i] >>> 0, attr: c.segAttr[i] });
      const r = c.regs;
      const cpuMode = (c.cr0 & 1) === 0 ? 'real' : (c.cr0 & 0x80000000) !== 0 ? 'paged' : 'protected';
      return ok({
        eax: r[0] >>> 0, ecx: r[1] >>> 0, edx: r[2] >>> 0, ebx: r[3] >>> 0, esp: r[4] >>> 0, ebp: r[5] >>> 0, esi: r[6] >>> 0, edi: r[7] >>> 0,
        eip: c.eip >>> 0, eflags: c.getEflags() >>> 0,
        es: seg(0), cs: seg(1), ss: seg(2), ds: seg(3), fs: seg(4), gs: seg(5),
        cr0: c.cr0 >>> 0, cr2: c.cr2 >>> 0, cr3: c.cr3 >>> 0, cr4: c.cr4 >>> 0,
        gdtr: { base: c.gdtrBase >>> 0, limit: c.gdtrLimit }, idtr: { base: c.idtrBase >>> 0, limit: c.idtrLimit },
        tr: c.tr, ldtr: c.ldtr, cpl: c.cpl, cpuMode, halted: c.halted, cycles: c.cycles, instructions: c.instructions,
      });
    });
  }

  readMemory(id: MachineId, space: 'virtual' | 'physical', address: number, length: number): Result<MemoryBlock> {
    return this.guard(id, 'memory', (slot) => {
      if (!Number.isFinite(address)) return fail(`memory: ${address} is not an address`);
      if (!Number.isInteger(length) || length < 0 || length > 1 << 20) return fail(`memory: length must be 0..1 MiB, not ${length}`);
      if (space === 'physical') {
        const a = address >>> 0;
        const { mem } = slot.target;
        const bytes = new Uint8Array(length);
        const valid = new Uint8Array(length);
        for (let i = 0; i < length; i++) {
          const p = a + i;
          if (p < mem.size) { bytes[i] = mem.u8[p]; valid[i] = 1; }
        }
        return ok({ space, address: a, bytes, valid });
      }
      if (space !== 'virtual') return fail(`memory: space must be virtual or physical, not ${String(space)}`);
      return ok(this.readLinear(slot, address >>> 0, length));
    });
  }

  disassemble(id: MachineId, address: number, count: number): Result<DisasmLine[]> {
    return this.guard(id, 'disassemble', (slot) => {
      if (!Number.isFinite(address)) return fail(`disassemble: ${address} is not an address`);
      const n = Math.max(1, Math.min(256, Math.floor(count)));
      const block = this.readLinear(slot, address >>> 0, n * 15);
      const bits = this.default32(slot) ? 32 : 16;
      if (this.disassembler) {
        try {
          return ok(this.disassembler(block.bytes, address >>> 0, n, bits));
        } catch (e) {
          return fail(`disassemble: ${message(e)}`);
        }
      }
      const lines: DisasmLine[] = [];
      for (let i = 0; i < n; i++) {
        const b = block.bytes[i];
        lines.push({ address: (address + i) >>> 0, bytes: [b], text: block.valid[i] ? `db 0x${b.toString(16).padStart(2, '0')}` : '(not mapped)', note: '' });
      }
      return ok(lines);
    });
  }

  walk(id: MachineId, virtual: number): Result<PageWalk> {
    return this.guard(id, 'walk', (slot) => {
      if (!Number.isFinite(virtual)) return fail(`walk: ${virtual} is not an address`);
      return ok(pt.walk(slot.target.mem, slot.target.cpu, virtual));
    });
  }

  mappings(id: MachineId): Result<MappingRange[]> {
    return this.guard(id, 'mappings', (slot) => ok(pt.mappings(slot.target.mem, slot.target.cpu)));
  }

  pageGrid(id: MachineId): Result<PageGrid> {
    return this.guard(id, 'page grid', (slot) => {
      const c = slot.target.cpu;
      if (!pt.pagingOn(c)) {
        const frames = slot.target.mem.size >>> 12;
        return ok({ frames, owner: new Uint8Array(frames), flags: new Uint8Array(frames), cr3s: [], current: c.cr3 >>> 0 });
      }
      this.noteAddressSpaces(slot);
      return ok(pt.pageGrid(slot.target.mem, slot.cr3s, c.cr3 >>> 0, (c.cr4 & 0x10) !== 0));
    });
  }

  summary(id: MachineId): Result<TraceSummary> {
    return this.guard(id, 'summary', (slot) => ok(this.summaryOf(slot)));
  }

  lastEvents(id: MachineId, n: number): Result<TraceEvent[]> {
    return this.guard(id, 'events', (slot) => ok(this.last(slot, Math.max(0, Math.min(4096, Math.floor(n))))));
  }

  /** For the worker entry: the buffers of a poll result, to transfer instead of copy. */
  static transferables(r: Result<PollResult>): ArrayBuffer[] {
    if (!r.ok) return [];
    const t = r.value.trace;
    return [t.time, t.kind, t.cpl, t.eip, t.a, t.b, t.c].map((a) => a.buffer as ArrayBuffer);
  }

  // ---- internals ----

  private guard<T>(id: MachineId, what: string, body: (slot: Slot) => Result<T>): Result<T> {
    const slot = this.slots.get(id);
    if (!slot) return fail(`${what}: no machine ${id}`);
    try {
      return body(slot);
    } catch (e) {
      return fail(`${what}: ${message(e)}`);
    }
  }

  /** Why `what` is not allowed now, or null when it is. */
  private refuse(slot: Slot, what: string): string | null {
    if (slot.state === 'running') return `${what}: the machine is already running (pause it first)`;
    if (slot.state === 'stopped') return `${what}: the machine has stopped; reset it`;
    return null;
  }

  private attach(slot: Slot): void {
    const { cpu } = slot.target;
    cpu.trace.enabled = slot.tracing;
    const target = slot.target;
    cpu.trace.onStop = () => {
      slot.eventHit = true;
      target.requestStop();
    };
  }

  private report(slot: Slot, r: StopReport): void {
    slot.pendingStop = r;
    slot.stopSerial++;
    this.noteAddressSpaces(slot);
  }

  /** Maps how the machine ended to the run state and a report; `normal` when it just stopped. */
  private settle(slot: Slot, exit: TargetExit, normal: StopReport): StopReport {
    const { cpu } = slot.target;
    const base = { eip: cpu.eip >>> 0, cycles: cpu.cycles };
    let r: StopReport;
    switch (exit.kind) {
      case 'halted':
        slot.state = 'halted';
        r = { ...base, reason: 'halted', message: `The CPU halted at ${hex(cpu.eip)} and nothing scheduled can wake it (interrupts off, or waiting for input).` };
        break;
      case 'breakpoint':
        slot.state = 'paused';
        r = { ...base, reason: 'breakpoint', message: `Breakpoint at ${hex(this.linearEip(slot))}.` };
        break;
      case 'tripleFault':
        slot.state = 'stopped';
        r = { ...base, reason: 'tripleFault', message: `Triple fault: ${exit.message}`, lastEvents: this.last(slot, 16) };
        break;
      case 'error':
        slot.state = 'stopped';
        r = { ...base, reason: 'error', message: exit.message, lastEvents: this.last(slot, 16) };
        break;
      case 'debugExit':
        slot.state = 'stopped';
        r = { ...base, reason: 'debugExit', message: `The guest asked to exit with code ${exit.code}.`, code: exit.code, lastEvents: this.last(slot, 16) };
        break;
      default:
        slot.state = 'paused';
        r = { ...normal, ...base };
    }
    this.report(slot, r);
    return r;
  }

  /** Moves off a breakpoint at EIP (else resuming would stop at once), unless that is the goal. */
  private leaveBreakpoint(slot: Slot, until: RunUntil | null): TargetExit {
    const { cpu } = slot.target;
    if (cpu.breakpoints.size === 0) return { kind: 'budget' };
    const here = this.linearEip(slot);
    if (!cpu.breakpoints.has(here)) return { kind: 'budget' };
    if (until?.kind === 'address' && until.address >>> 0 === here) return { kind: 'budget' };
    const exit = slot.target.step();
    return exit.kind === 'breakpoint' ? { kind: 'budget' } : exit;
  }

  /** The background run loop: slices of SLICE_MS, until paused, a breakpoint or a stop. */
  private async background(slot: Slot, generation: number): Promise<void> {
    const { cpu } = slot.target;
    try {
      let exit = this.leaveBreakpoint(slot, null);
      let credit = 0;
      let last = now();
      while (generation === slot.generation) {
        if (exit.kind !== 'budget' && exit.kind !== 'requested') {
          this.settle(slot, exit, { reason: 'budget', message: '', eip: cpu.eip, cycles: cpu.cycles });
          return;
        }
        if (slot.speed.kind === 'animated') {
          const t = now();
          credit = Math.min(credit + ((t - last) / 1000) * slot.speed.stepsPerSecond, slot.speed.stepsPerSecond);
          last = t;
          while (credit >= 1 && (exit.kind === 'budget' || exit.kind === 'requested')) {
            exit = slot.target.step();
            credit--;
            if (cpu.breakpoints.size > 0 && cpu.breakpoints.has(this.linearEip(slot)) && exit.kind === 'budget') exit = { kind: 'breakpoint' };
          }
          if (exit.kind === 'budget' || exit.kind === 'requested') await sleep(16);
        } else {
          const end = now() + SLICE_MS;
          do exit = slot.target.run(CHUNK);
          while ((exit.kind === 'budget') && now() < end);
          if (exit.kind === 'requested') exit = { kind: 'budget' };
          if (exit.kind === 'budget') await yieldNow();
        }
      }
    } catch (e) {
      if (generation !== slot.generation) return;
      slot.state = 'stopped';
      this.report(slot, { reason: 'error', message: `The emulator failed: ${message(e)}`, eip: cpu.eip >>> 0, cycles: cpu.cycles, lastEvents: this.last(slot, 16) });
    }
  }

  private linearEip(slot: Slot): number {
    const c = slot.target.cpu;
    return (c.segBase[1] + c.eip) >>> 0;
  }

  /** Code segment default size: the D bit (bit 14 of the cached attributes) in protected mode. */
  private default32(slot: Slot): boolean {
    const c = slot.target.cpu;
    return (c.cr0 & 1) !== 0 && (c.segAttr[1] & 0x4000) !== 0;
  }

  private readLinear(slot: Slot, address: number, length: number): MemoryBlock {
    const { mem, cpu } = slot.target;
    const bytes = new Uint8Array(length);
    const valid = new Uint8Array(length);
    let i = 0;
    while (i < length) {
      const va = (address + i) >>> 0;
      const inPage = Math.min(length - i, 0x1000 - (va & 0xfff));
      const pa = pt.translate(mem, cpu, va);
      if (pa >= 0) {
        for (let k = 0; k < inPage; k++) {
          if (pa + k < mem.size) { bytes[i + k] = mem.u8[pa + k]; valid[i + k] = 1; }
        }
      }
      i += inPage;
    }
    return { space: 'virtual', address, bytes, valid };
  }

  private batch(slot: Slot, cursor: number, max: number): TraceBatch {
    const t = slot.target.cpu.trace;
    const from = Math.min(Math.max(cursor, t.tail), t.head);
    const count = Math.max(0, Math.min(t.head - from, max));
    const b: TraceBatch = {
      firstSeq: from, count,
      time: new Float64Array(count), kind: new Uint8Array(count), cpl: new Uint8Array(count), eip: new Uint32Array(count),
      a: new Int32Array(count), b: new Int32Array(count), c: new Int32Array(count),
    };
    for (let i = 0; i < count; i++) {
      const r = (from + i) % t.capacity;
      b.time[i] = t.time[r]; b.kind[i] = t.kind[r]; b.cpl[i] = t.cpl[r]; b.eip[i] = t.eip[r];
      b.a[i] = t.a[r]; b.b[i] = t.b[r]; b.c[i] = t.c[r];
    }
    return b;
  }

  private summaryOf(slot: Slot): TraceSummary {
    const t = slot.target.cpu.trace;
    return { counts: Array.from(t.counts), cycles: Array.from(t.cycles), totalCycles: slot.target.cpu.cycles };
  }

  private last(slot: Slot, n: number): TraceEvent[] {
    return slot.target.cpu.trace.last(n).map((r) => ({ seq: r.seq, time: r.time, kind: r.kind, cpl: r.cpl, eip: r.eip >>> 0, a: r.a, b: r.b, c: r.c }));
  }

  /** Adds the current CR3 and any CR3 loaded since the last look to the address spaces seen. */
  private noteAddressSpaces(slot: Slot): void {
    const { cpu } = slot.target;
    const t = cpu.trace;
    const add = (cr3: number) => {
      const v = (cr3 & ~0xfff) >>> 0;
      if (v === 0 || v >= slot.target.mem.size || slot.cr3s.includes(v)) return;
      if (slot.cr3s.length >= MAX_ADDRESS_SPACES) slot.cr3s.shift();
      slot.cr3s.push(v);
    };
    for (let s = Math.max(slot.cr3Cursor, t.tail); s < t.head; s++) {
      const i = s % t.capacity;
      if (t.kind[i] === Ev.Cr3Load) add(t.a[i]);
    }
    slot.cr3Cursor = t.head;
    if (cpu.cr0 & 0x80000000) add(cpu.cr3);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
