/*
 * A PC, as small as the lab needs: RAM, one CPU, the PIC pair, the PIT, COM1, the POST-code
 * port and a debug exit port, all on one port bus, driven by the virtual clock, and booted
 * by the multiboot loader. The hypervisor (workers/hypervisor) sits on top of this class;
 * natively the guest kernel owns it outright.
 *
 * Running. run(budget) runs the CPU in slices that end at the next device event (clock.ts),
 * fires the events that are due, and goes on until the budget of virtual cycles is spent or
 * something stops it. A HLT skips virtual time forward to the next event. The result is a
 * RunExit: a value saying why the run ended, never an exception.
 *
 * Run states, and what moves the machine between them:
 *
 *            boot() / reset() / restore()
 *                      |
 *                      v          run() / step()
 *      +---------->  Paused  ------------------------>  Running
 *      |              ^  ^                                 |  |  |
 *      |              |  +-- budget, breakpoint, request --+  |  |
 *      |              |                                       |  |
 *      |   typeInput()                                        |  |
 *      |              |                                       |  |
 *      |            Halted  <--- HLT that nothing will wake --+  |
 *      |                                                         |
 *      +--- reset() / restore() ---  Stopped  <--- triple fault, error, debug exit,
 *                                                   boot() of a bad image
 *
 * Running is only seen from inside run() (from a device callback or a debugger hook).
 * run() or step() on a Stopped machine is refused with { kind: 'refused' }; on a Halted one
 * it checks again whether anything can wake the CPU (typed input can). Next: the worker's
 * session code, which drives run() from the UI's pacing loop.
 */

import { Cpu, Stop, type CpuSnapshot, type StopInfo } from '../x86/cpu';
import { PhysicalMemory } from '../x86/memory';
import { setFlatProtectedMode } from '../x86/system';
import { ByteLog } from '../devices/bytelog';
import { DebugExitPort, PostCodePort } from '../devices/debugports';
import { PortBus } from '../devices/iobus';
import { PicPair } from '../devices/pic8259';
import { Pit8254 } from '../devices/pit8254';
import { Uart16550 } from '../devices/uart16550';
import { Clock, CPU_HZ } from './clock';
import { loadKernel, MULTIBOOT_BOOTLOADER_MAGIC, writeBootInfo, type LoadedKernel, type LoadOptions } from './multiboot';
import { checkPackedRam, packRam, unpackRam, type PackedRam } from './snapshot';

export enum RunState {
  Paused = 'paused',
  Running = 'running',
  Halted = 'halted',
  Stopped = 'stopped',
}

export interface MachineConfig {
  /** RAM in MiB (2..1024, default 64). */
  memoryMiB?: number;
  /** Port of the debug exit device (default 0x501). */
  debugExitPort?: number;
}

/** Why run() or step() returned. `cycles` is the machine's time at the exit, `ran` the cycles this call used. */
export type RunExit = { cycles: number; ran: number } & (
  | { kind: 'budget' }
  | { kind: 'halted'; reason: string }
  | { kind: 'breakpoint'; address: number }
  | { kind: 'requested' }
  | { kind: 'tripleFault'; message: string; stopInfo: StopInfo | null }
  | { kind: 'error'; message: string; stopInfo: StopInfo | null }
  | { kind: 'debugExit'; code: number }
  | { kind: 'refused'; state: RunState; reason: string }
);

export type ExitKind = RunExit['kind'];

export interface ConsoleRead {
  /** The bytes since the cursor, and the same decoded as UTF-8. */
  bytes: Uint8Array;
  text: string;
  /** Cursor for the next read. */
  next: number;
  /** Bytes lost because the log had dropped them before this read. */
  dropped: number;
}

export interface BootOptions extends LoadOptions {
  cmdline?: string;
}

export type BootResult = { ok: true; kernel: LoadedKernel; infoAddr: number } | { ok: false; error: string };

export interface MachineSnapshot {
  format: 'paravirt-lab/machine';
  version: 1;
  memBytes: number;
  cpu: CpuSnapshot;
  ram: PackedRam;
  devices: { pic: unknown; pit: unknown; uart: unknown; post: unknown; debugExit: unknown };
  clock: unknown;
  console: unknown;
  trace: { counts: Float64Array; cycles: Float64Array; open?: number[] };
  machine: { state: RunState; exits: Record<string, number>; boot: { image: Uint8Array; options: BootOptions } | null };
}

const EXIT_KINDS: ExitKind[] = ['budget', 'halted', 'breakpoint', 'requested', 'tripleFault', 'error', 'debugExit', 'refused'];
const IF_FLAG = 1 << 9;

export class Machine {
  readonly mem: PhysicalMemory;
  readonly cpu: Cpu;
  readonly bus = new PortBus();
  readonly clock = new Clock();
  readonly pic = new PicPair();
  readonly pit: Pit8254;
  readonly uart: Uart16550;
  readonly post = new PostCodePort();
  readonly debugExit: DebugExitPort;
  /** COM1's output: the guest's console. */
  readonly console = new ByteLog();
  state = RunState.Paused;
  /** How many runs ended with each kind of exit. */
  readonly exits: Record<string, number> = Object.fromEntries(EXIT_KINDS.map((k) => [k, 0]));
  private userStop = false;
  /** Why the machine is Stopped (for refusals). */
  private stopReason = '';
  private readonly powerOnDevices: MachineSnapshot['devices'];
  private bootRecord: { image: Uint8Array; options: BootOptions } | null = null;
  /** False until anything writes RAM: a fresh machine need not clear its (untouched) RAM. */
  private ramUsed = false;

  constructor(config: MachineConfig = {}) {
    const mib = config.memoryMiB ?? 64;
    if (!Number.isInteger(mib) || mib < 2 || mib > 1024) throw new RangeError(`memory size ${mib} MiB: choose a whole number from 2 to 1024`);
    this.mem = new PhysicalMemory(mib << 20);
    this.pit = new Pit8254(this.clock, this.pic.line(0));
    this.uart = new Uart16550(this.clock, this.pic.line(4), { output: this.console });
    this.debugExit = new DebugExitPort(config.debugExitPort ?? 0x501, () => this.cpu.requestStop());
    for (const d of [this.pic, this.pit, this.uart, this.post, this.debugExit]) this.bus.attach(d);
    this.cpu = new Cpu(this.mem, this.bus);
    this.cpu.intr = this.pic;
    this.clock.source = this.cpu;
    // An event scheduled inside a CPU slice, earlier than the slice's end, cuts it short.
    this.clock.onEarlier = () => this.cpu.requestStop();
    this.clock.register(this.pit);
    this.clock.register(this.uart.rxEvent);
    this.clock.register(this.uart.timeoutEvent);
    this.powerOnDevices = this.deviceSnapshot();
  }

  // ==== booting ==========================================================================

  /**
   * Power-cycles the machine and boots a multiboot kernel (or a flat binary, with
   * flatAddress). Never throws: a bad image gives { ok: false, error } and leaves the machine
   * reset, with nothing loaded.
   */
  boot(image: Uint8Array, options: BootOptions = {}): BootResult {
    this.powerOn();
    this.ramUsed = true;
    const loaded = loadKernel(this.mem, image, options);
    if (!loaded.ok) {
      this.bootRecord = null;
      this.state = RunState.Stopped;
      this.stopReason = 'no kernel loaded';
      return loaded;
    }
    let infoAddr: number;
    try {
      infoAddr = writeBootInfo(this.mem, loaded.kernel, { cmdline: options.cmdline });
    } catch (e) {
      this.bootRecord = null;
      this.state = RunState.Stopped;
      this.stopReason = 'no kernel loaded';
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    const cpu = this.cpu;
    setFlatProtectedMode(cpu);
    cpu.regs.fill(0);
    cpu.regs[0] = MULTIBOOT_BOOTLOADER_MAGIC | 0; // EAX
    cpu.regs[3] = infoAddr; // EBX
    cpu.eip = loaded.kernel.entry;
    cpu.afterSystem();
    this.bootRecord = { image: image.slice(), options: { ...options } };
    return { ok: true, kernel: loaded.kernel, infoAddr };
  }

  /** Everything to its power-on state: RAM cleared, CPU reset, devices and clock as new. */
  private powerOn(): void {
    if (this.ramUsed) this.mem.u8.fill(0);
    this.ramUsed = false;
    this.cpu.reset();
    this.cpu.cycles = 0;
    this.cpu.instructions = 0;
    this.cpu.trace.clear();
    this.clock.clear();
    this.clock.fired = 0;
    this.restoreDevices(this.powerOnDevices);
    this.state = RunState.Paused;
    this.userStop = false;
    for (const k of EXIT_KINDS) this.exits[k] = 0;
  }

  /** Power-cycles and boots the last kernel again (the console log is kept, cursors stay valid). */
  reset(): BootResult | null {
    const record = this.bootRecord;
    if (record === null) {
      this.powerOn();
      return null;
    }
    return this.boot(record.image, record.options);
  }

  // ==== running ==========================================================================

  /** Runs for at most `budget` virtual cycles. Never throws. */
  run(budget: number): RunExit {
    const start = this.cpu.cycles;
    if (this.state === RunState.Stopped) return this.refuseStopped(start);
    if (!(budget >= 0)) return this.exit({ kind: 'refused', state: this.state, reason: `budget ${budget} is not a number of cycles` }, start);
    this.state = RunState.Running;
    try {
      return this.loop(start, start + budget);
    } catch (e) {
      return this.stopWith({ kind: 'error', message: `machine error: ${e instanceof Error ? e.message : String(e)}`, stopInfo: null }, start);
    }
  }

  private loop(start: number, end: number): RunExit {
    const cpu = this.cpu;
    const clock = this.clock;
    for (;;) {
      clock.runDue();
      if (cpu.halted) {
        // HLT: wake for a pending interrupt, else skip virtual time to the next event.
        const ifSet = (cpu.getEflags() & IF_FLAG) !== 0;
        if (!(ifSet && this.pic.pending())) {
          if (!ifSet) return this.halt(start, 'HLT with interrupts disabled (IF=0): nothing can wake the CPU');
          if (clock.nextAt === Infinity) return this.halt(start, 'HLT with no device event scheduled: waiting for input');
          if (clock.nextAt > end) {
            cpu.cycles = Math.max(cpu.cycles, end);
            return this.pause({ kind: 'budget' }, start);
          }
          cpu.cycles = Math.max(cpu.cycles, clock.nextAt);
          continue;
        }
      }
      const now = cpu.cycles;
      if (now >= end) return this.pause({ kind: 'budget' }, start);
      const sliceEnd = Math.min(end, clock.nextAt);
      clock.horizon = sliceEnd;
      const stop = cpu.run(sliceEnd - now);
      clock.horizon = -Infinity;
      switch (stop) {
        case Stop.Budget:
        case Stop.Halted:
          continue;
        case Stop.Breakpoint:
          return this.pause({ kind: 'breakpoint', address: cpu.linearEip() }, start);
        case Stop.Requested: {
          if (this.debugExit.code >= 0) {
            const code = this.debugExit.code;
            this.debugExit.code = -1;
            return this.stopWith({ kind: 'debugExit', code }, start);
          }
          if (this.userStop) {
            this.userStop = false;
            return this.pause({ kind: 'requested' }, start);
          }
          continue; // the clock cut the slice short for an earlier event
        }
        case Stop.TripleFault:
        case Stop.Error:
        default: {
          const info = cpu.stopInfo;
          const message = stopMessage(info);
          return this.stopWith(stop === Stop.TripleFault ? { kind: 'tripleFault', message, stopInfo: info } : { kind: 'error', message, stopInfo: info }, start);
        }
      }
    }
  }

  /** Executes one instruction (or delivers one interrupt). A halted CPU first waits for its next event. */
  step(): RunExit {
    const start = this.cpu.cycles;
    if (this.state === RunState.Stopped) return this.refuseStopped(start);
    try {
      this.clock.runDue();
      const cpu = this.cpu;
      if (cpu.halted) {
        const ifSet = (cpu.getEflags() & IF_FLAG) !== 0;
        if (!ifSet) return this.halt(start, 'HLT with interrupts disabled (IF=0): nothing can wake the CPU');
        // Skip from event to event until one raises an interrupt (at most one virtual second:
        // a timer whose IRQ is masked would otherwise tick forever).
        while (!this.pic.pending()) {
          if (this.clock.nextAt === Infinity) return this.halt(start, 'HLT with no device event scheduled: waiting for input');
          if (this.clock.nextAt > start + CPU_HZ) {
            cpu.cycles = start + CPU_HZ;
            return this.pause({ kind: 'budget' }, start);
          }
          cpu.cycles = Math.max(cpu.cycles, this.clock.nextAt);
          this.clock.runDue();
        }
      }
      this.state = RunState.Running;
      const stop = cpu.step();
      this.clock.runDue();
      switch (stop) {
        case Stop.TripleFault:
        case Stop.Error: {
          const info = cpu.stopInfo;
          const message = stopMessage(info);
          return this.stopWith(stop === Stop.TripleFault ? { kind: 'tripleFault', message, stopInfo: info } : { kind: 'error', message, stopInfo: info }, start);
        }
        case Stop.Breakpoint:
          return this.pause({ kind: 'breakpoint', address: cpu.linearEip() }, start);
        default:
          if (this.debugExit.code >= 0) {
            const code = this.debugExit.code;
            this.debugExit.code = -1;
            return this.stopWith({ kind: 'debugExit', code }, start);
          }
          return this.pause({ kind: 'budget' }, start);
      }
    } catch (e) {
      return this.stopWith({ kind: 'error', message: `machine error: ${e instanceof Error ? e.message : String(e)}`, stopInfo: null }, start);
    }
  }

  /**
   * Ends a run in progress (called from a device or debugger hook inside run()) at the next
   * instruction boundary with { kind: 'requested' }. Outside a run there is nothing to stop.
   */
  requestStop(): void {
    if (this.state !== RunState.Running) return;
    this.userStop = true;
    this.cpu.requestStop();
  }

  private stopWith(e: DistributiveOmit<RunExit, 'cycles' | 'ran'>, start: number): RunExit {
    this.state = RunState.Stopped;
    this.stopReason = e.kind === 'debugExit' ? `debug exit ${e.code}` : 'message' in e ? e.message : e.kind;
    return this.exit(e, start);
  }

  private refuseStopped(start: number): RunExit {
    return this.exit({ kind: 'refused', state: this.state, reason: `the machine is stopped (${this.stopReason}); boot, reset or restore it first` }, start);
  }

  private halt(start: number, reason: string): RunExit {
    this.state = RunState.Halted;
    return this.exit({ kind: 'halted', reason }, start);
  }

  private pause(e: DistributiveOmit<RunExit, 'cycles' | 'ran'>, start: number): RunExit {
    this.state = RunState.Paused;
    return this.exit(e, start);
  }

  private exit(e: DistributiveOmit<RunExit, 'cycles' | 'ran'>, start: number): RunExit {
    this.exits[e.kind]++;
    return { ...e, cycles: this.cpu.cycles, ran: this.cpu.cycles - start } as RunExit;
  }

  // ==== the console ======================================================================

  /** Everything the guest wrote to COM1 since `cursor` (0: from the start). */
  readConsole(cursor = 0): ConsoleRead {
    const r = this.console.read(cursor);
    return { bytes: r.bytes, text: new TextDecoder().decode(r.bytes), next: r.next, dropped: r.dropped };
  }

  /** Types text on the serial line (UTF-8); it arrives at the UART's baud rate in virtual time. */
  typeInput(text: string | Uint8Array): void {
    const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
    if (bytes.length === 0) return;
    this.uart.typeBytes(bytes);
    if (this.state === RunState.Halted) this.state = RunState.Paused;
  }

  // ==== snapshots ========================================================================

  private deviceSnapshot(): MachineSnapshot['devices'] {
    return {
      pic: this.pic.snapshot(), pit: this.pit.snapshot(), uart: this.uart.snapshot(),
      post: this.post.snapshot(), debugExit: this.debugExit.snapshot(),
    };
  }

  private restoreDevices(d: MachineSnapshot['devices']): void {
    this.pic.restore(d.pic);
    this.pit.restore(d.pit);
    this.uart.restore(d.uart);
    this.post.restore(d.post);
    this.debugExit.restore(d.debugExit);
  }

  /** The whole machine as plain data (see snapshot.ts for the format). */
  snapshot(): MachineSnapshot {
    const trace = this.cpu.trace;
    return {
      format: 'paravirt-lab/machine',
      version: 1,
      memBytes: this.mem.size,
      cpu: this.cpu.snapshot(),
      ram: packRam(this.mem.u8),
      devices: this.deviceSnapshot(),
      clock: this.clock.snapshot(),
      console: this.console.snapshot(),
      trace: { counts: trace.counts.slice(), cycles: trace.cycles.slice(), open: trace.saveOpen() },
      machine: {
        state: this.state === RunState.Running ? RunState.Paused : this.state,
        exits: { ...this.exits },
        boot: this.bootRecord ? { image: this.bootRecord.image.slice(), options: { ...this.bootRecord.options } } : null,
      },
    };
  }

  /** Puts back a snapshot. Never throws: a snapshot that does not fit gives { ok: false, error } and changes nothing. */
  restore(s: MachineSnapshot): { ok: true } | { ok: false; error: string } {
    if (typeof s !== 'object' || s === null || s.format !== 'paravirt-lab/machine' || s.version !== 1) {
      return { ok: false, error: 'not a paravirt-lab machine snapshot (format/version)' };
    }
    if (s.memBytes !== this.mem.size) return { ok: false, error: `snapshot is of a machine with ${s.memBytes >> 20} MiB of RAM, this one has ${this.mem.size >> 20} MiB` };
    // Check the whole snapshot before changing anything: the big parts (RAM, CPU) by shape,
    // the small parts (devices, clock, console) by restoring them with an undo copy at hand.
    const undo = { devices: this.deviceSnapshot(), clock: this.clock.snapshot(), console: this.console.snapshot() };
    try {
      checkPackedRam(s.ram, this.mem.size);
      checkCpuSnapshot(s.cpu);
      if (typeof s.machine !== 'object' || s.machine === null || !(s.trace?.counts instanceof Float64Array) || !(s.trace?.cycles instanceof Float64Array)) {
        throw new Error('snapshot: malformed machine or trace record');
      }
      this.restoreDevices(s.devices);
      this.clock.restore(s.clock);
      this.console.restore(s.console);
    } catch (e) {
      this.restoreDevices(undo.devices);
      this.clock.restore(undo.clock);
      this.console.restore(undo.console);
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    unpackRam(s.ram, this.mem.u8, this.ramUsed);
    this.ramUsed = true;
    this.cpu.restore(s.cpu);
    const trace = this.cpu.trace;
    trace.clear();
    trace.counts.set(s.trace.counts.subarray(0, trace.counts.length));
    trace.cycles.set(s.trace.cycles.subarray(0, trace.cycles.length));
    trace.restoreOpen(Array.isArray(s.trace.open) ? s.trace.open.map(Number) : []);
    for (const k of EXIT_KINDS) this.exits[k] = Number(s.machine.exits?.[k]) || 0;
    const boot = s.machine.boot;
    this.bootRecord = boot && boot.image instanceof Uint8Array ? { image: boot.image.slice(), options: { ...boot.options } } : null;
    this.state = Object.values(RunState).includes(s.machine.state) ? s.machine.state : RunState.Paused;
    this.stopReason = this.state === RunState.Stopped ? 'stopped when the snapshot was taken' : '';
    this.userStop = false;
    this.debugExit.code = -1;
    return { ok: true };
  }

  // ==== views ============================================================================

  /** The port map for the UI. */
  ports() {
    return this.bus.ports();
  }

  /** Counters of the machine and its devices, for the UI and tests. */
  counters() {
    return {
      cycles: this.cpu.cycles,
      instructions: this.cpu.instructions,
      eventsFired: this.clock.fired,
      irqAcks: Array.from(this.pic.acks),
      spuriousIrqs: this.pic.spurious,
      timerTicks: this.pit.irq0Edges,
      uartTx: this.uart.txBytes,
      uartRx: this.uart.rxBytes,
      uartOverruns: this.uart.overruns,
      postCodes: this.post.count,
      unclaimedPortReads: this.bus.unclaimedReads,
      unclaimedPortWrites: this.bus.unclaimedWrites,
      exits: { ...this.exits },
    };
  }
}

/** Throws unless `c` has the shape of a CpuSnapshot (typed arrays of the right sizes, numbers). */
function checkCpuSnapshot(c: CpuSnapshot): void {
  const ok = typeof c === 'object' && c !== null &&
    c.regs instanceof Int32Array && c.regs.length === 8 &&
    c.sreg instanceof Uint16Array && c.sreg.length === 6 &&
    c.segBase instanceof Int32Array && c.segLimit instanceof Int32Array && c.segAttr instanceof Int32Array &&
    c.dr instanceof Int32Array &&
    [c.eip, c.eflags, c.cr0, c.cr3, c.cycles, c.instructions].every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!ok) throw new Error('snapshot: malformed CPU state');
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The CPU's account of a stop, with its place if the CPU did not already give it. */
function stopMessage(info: StopInfo | null): string {
  if (!info) return 'the CPU stopped';
  return / at [0-9a-f]{4}:[0-9a-f]{8}/i.test(info.what) ? info.what : `${info.what} at ${hex(info.cs, 4)}:${hex(info.eip, 8)}`;
}

function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}

/** Makes a machine, or says why the configuration is wrong (never throws). */
export function createMachine(config: MachineConfig = {}): { ok: true; machine: Machine } | { ok: false; error: string } {
  try {
    return { ok: true, machine: new Machine(config) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}
