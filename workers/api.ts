/*
 * The contract between the page and the lab's worker: one typed API object. The worker
 * (lab.worker.ts) exposes an implementation with comlink; the UI (src/) holds a
 * `Remote<LabApi>` and imports nothing else from workers/ (ESLint enforces it), and the
 * Node tests (tests/api) call the same object directly, without a worker.
 *
 * Shapes to know:
 * - Every machine has an id and a `mode` ('native' now; 'xen' and 'vmi' later share all of
 *   these calls, so every view takes a machine id and shows the mode it is given).
 * - Nothing throws across this boundary: a call that can fail returns a `Result`, and a
 *   request that is illegal in the machine's run state is refused with a reason.
 * - High-rate streams (console bytes, trace events) are pulled by cursor, once per
 *   animation frame, with `poll()`; trace events arrive as columns of typed arrays (the
 *   worker transfers their buffers), never as one message per event.
 * - Run state is an explicit machine (STYLE guideline 11), drawn at `RunState`.
 * Next: workers/session/session.ts, the implementation.
 */

/** How the guest kernel runs: on the bare machine, or under one of the two hypervisors. */
export type Mode = 'native' | 'xen' | 'vmi';

export type MachineId = number;

/**
 * A machine's run state. Transitions:
 *
 *            run()                 HLT that nothing scheduled can wake
 *   paused ---------> running ---------------------------------------> halted
 *     ^  <---------     |   \       triple fault, CPU error, debug exit
 *     |   pause(),      |    `---------------------------------------> stopped
 *     |   breakpoint,   |
 *     |   run-until hit |                 reset() from any state -> paused
 *     `-----------------'                 typed input: halted -> paused
 * run(), step*() and runUntil() are allowed from `paused` and `halted` (the machine checks
 * again whether anything can wake the CPU; it is `running` while they work); `stopped`
 * accepts only reset() and destroy() (and reads).
 */
export type RunState = 'paused' | 'running' | 'halted' | 'stopped';

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** A guest image the page hands to the worker (fetched from public/guests/). */
export interface GuestImage {
  /** Short name, e.g. 'demo'. */
  id: string;
  /** The Multiboot image bytes. */
  binary: Uint8Array;
}

export interface CreateOptions {
  mode: Mode;
  guest: GuestImage;
  /** RAM size in MiB (default 64). */
  memoryMiB?: number;
  /** Record trace events (counters count either way). Default true. */
  tracing?: boolean;
}

/** Static facts about this build of the lab. */
export interface LabInfo {
  /** Modes that can be created now. */
  modes: Mode[];
  /** Trace event kind names, indexed by kind number (the `kind` column of a batch). */
  eventKinds: string[];
  /** Nominal virtual clock, cycles per second. */
  cpuHz: number;
  /** Whether a disassembler is built in (else code views show raw bytes). */
  disassembler: boolean;
}

/** Why a machine stopped (or paused), for the status bar and the crash report. */
export interface StopReport {
  reason:
    | 'budget' | 'pause' | 'step' | 'breakpoint' | 'event' | 'console' | 'halted'
    | 'tripleFault' | 'error' | 'debugExit' | 'limit';
  /** One plain-English line. */
  message: string;
  eip: number;
  cycles: number;
  /** For tripleFault/error: the last trace events before the stop. */
  lastEvents?: TraceEvent[];
  /** For debugExit: the value the guest wrote. */
  code?: number;
}

export interface SegmentView {
  selector: number;
  base: number;
  limit: number;
  /** Descriptor attribute bits as the CPU caches them (access byte + G/D/AVL in 12-15). */
  attr: number;
}

export interface Registers {
  eax: number; ecx: number; edx: number; ebx: number;
  esp: number; ebp: number; esi: number; edi: number;
  eip: number;
  eflags: number;
  cs: SegmentView; ds: SegmentView; es: SegmentView; fs: SegmentView; gs: SegmentView; ss: SegmentView;
  cr0: number; cr2: number; cr3: number; cr4: number;
  gdtr: { base: number; limit: number };
  idtr: { base: number; limit: number };
  tr: number; ldtr: number;
  cpl: number;
  /** 'real', 'protected' or 'paged' (protected with CR0.PG). */
  cpuMode: 'real' | 'protected' | 'paged';
  halted: boolean;
  cycles: number;
  instructions: number;
}

/** One trace event, as a row (crash reports, CSV, tests). */
export interface TraceEvent {
  seq: number;
  time: number;
  kind: number;
  cpl: number;
  eip: number;
  a: number;
  b: number;
  c: number;
}

/** Trace events as columns: row i of every array is one event, `seq` = firstSeq + i. */
export interface TraceBatch {
  firstSeq: number;
  count: number;
  time: Float64Array;
  kind: Uint8Array;
  cpl: Uint8Array;
  eip: Uint32Array;
  a: Int32Array;
  b: Int32Array;
  c: Int32Array;
}

/** Per-kind totals, xenalyze --summary style: indexed by kind number. */
export interface TraceSummary {
  counts: number[];
  cycles: number[];
  totalCycles: number;
}

export interface PollRequest {
  consoleCursor: number;
  traceCursor: number;
  /** At most this many trace events in the batch (default 4096). */
  maxEvents?: number;
}

/** What changed since the cursors: everything a frame needs, in one message. */
export interface PollResult {
  state: RunState;
  mode: Mode;
  cycles: number;
  instructions: number;
  console: string;
  consoleCursor: number;
  trace: TraceBatch;
  traceCursor: number;
  /** Oldest trace cursor the ring still holds (events before it were overwritten). */
  traceTail: number;
  /** Set when the machine stopped or paused since the last poll. */
  stop: StopReport | null;
  /** Bumped at every stop/reset: views refresh registers, memory and page tables on change. */
  stopSerial: number;
  summary: TraceSummary;
}

export type AddressSpace = 'virtual' | 'physical';

/** Bytes read from guest memory; `valid[i]` is 0 where byte i is unmapped or beyond RAM. */
export interface MemoryBlock {
  space: AddressSpace;
  address: number;
  bytes: Uint8Array;
  valid: Uint8Array;
}

export interface DisasmLine {
  address: number;
  bytes: number[];
  text: string;
  /** A plain-English note for system instructions ('' if none). */
  note: string;
}

/** Flags of a page-directory or page-table entry, decoded. */
export interface PageFlags {
  present: boolean; writable: boolean; user: boolean;
  writeThrough: boolean; cacheDisable: boolean;
  accessed: boolean; dirty: boolean; large: boolean; global: boolean;
}

/** The two-level walk of one virtual address (or why there is none). */
export interface PageWalk {
  virtual: number;
  paging: boolean;
  cr3: number;
  pdeIndex: number;
  pdeAddress: number;
  pde: number;
  pdeFlags: PageFlags;
  pteIndex: number;
  pteAddress: number;
  pte: number;
  pteFlags: PageFlags | null;
  /** Physical address the virtual one maps to, or -1. */
  physical: number;
  /** Plain English: how the walk ended. */
  note: string;
}

/** A run of consecutive virtual pages mapped to consecutive frames with the same flags. */
export interface MappingRange {
  virtualStart: number;
  /** Bytes. */
  length: number;
  physicalStart: number;
  writable: boolean;
  user: boolean;
  large: boolean;
}

/**
 * One cell per physical frame. `owner[f]`: 0 free (mapped nowhere), 1 kernel (mapped
 * supervisor-only), 2 a page directory or page table, 3 + n user pages of the n-th address
 * space seen (cr3s[n]). `flags[f]` bit 0 = mapped user-accessible, bit 1 = mapped user-accessible
 * by two or more address spaces (shared), bit 2 = mapped in the current address space.
 */
export interface PageGrid {
  frames: number;
  owner: Uint8Array;
  flags: Uint8Array;
  /** CR3 of each address space, in order: process n has cr3s[n]. */
  cr3s: number[];
  current: number;
}

export interface SpeedSetting {
  /** 'full': run flat out, views refresh at stops; 'animated': a few steps per frame. */
  kind: 'full' | 'animated';
  /** For 'animated': instructions per second of wall time. */
  stepsPerSecond: number;
}

/** What runUntil waits for. Always bounded by `maxCycles`. */
export type RunUntil =
  | { kind: 'event'; kinds: number[] }
  | { kind: 'console'; text: string }
  | { kind: 'cycles'; cycles: number }
  /** Until EIP reaches a linear address (in the address space `cr3`, when given). */
  | { kind: 'address'; address: number; cr3?: number };

export interface LabApi {
  info(): LabInfo;
  create(options: CreateOptions): Result<MachineId>;
  destroy(id: MachineId): Result<void>;
  /** Power-cycle: reload the guest image, clear console and trace. */
  reset(id: MachineId): Result<void>;
  /** Start running in the background (in slices), until pause, a breakpoint or a stop. */
  run(id: MachineId): Result<void>;
  pause(id: MachineId): Result<void>;
  /** Execute n instructions (n >= 1); stops early at a breakpoint or a stop. */
  step(id: MachineId, count: number): Result<StopReport>;
  /** Like step, but a CALL, INT n, LOOP or REP string instruction runs to its return. */
  stepOver(id: MachineId): Promise<Result<StopReport>>;
  /** Run until the condition holds (or maxCycles pass, or a breakpoint or stop). */
  runUntil(id: MachineId, until: RunUntil, maxCycles: number): Promise<Result<StopReport>>;
  setBreakpoint(id: MachineId, linear: number, on: boolean): Result<number[]>;
  breakpoints(id: MachineId): Result<number[]>;
  setSpeed(id: MachineId, speed: SpeedSetting): Result<void>;
  setTracing(id: MachineId, on: boolean): Result<void>;
  /** Queue keystrokes on the serial console (COM1). */
  typeInput(id: MachineId, text: string): Result<void>;
  poll(id: MachineId, request: PollRequest): Result<PollResult>;
  /** The whole console output so far (for tests and copy). */
  consoleText(id: MachineId): Result<string>;
  registers(id: MachineId): Result<Registers>;
  readMemory(id: MachineId, space: AddressSpace, address: number, length: number): Result<MemoryBlock>;
  disassemble(id: MachineId, address: number, count: number): Result<DisasmLine[]>;
  walk(id: MachineId, virtual: number): Result<PageWalk>;
  mappings(id: MachineId): Result<MappingRange[]>;
  pageGrid(id: MachineId): Result<PageGrid>;
  summary(id: MachineId): Result<TraceSummary>;
  lastEvents(id: MachineId, n: number): Result<TraceEvent[]>;
}
