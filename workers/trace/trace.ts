/*
 * The trace: every event the lab can show (an exception, an interrupt, a system call, a CR3
 * load, ...) is declared once here, in the style of xentrace. Events go into one
 * preallocated ring of fixed-size records; each kind also has a counter and a running total
 * of the virtual cycles charged to it, in typed arrays indexed by the `Ev` enum, so the
 * summary table (xenalyze --summary style) costs nothing extra. With tracing off, an emit is
 * one branch and the counters still count.
 *
 * Record format (one slot of the ring, all little-endian numbers):
 *   time   Float64  virtual cycle count when the event happened
 *   kind   Uint8    an Ev value
 *   cpl    Uint8    privilege level the CPU was at (0..3)
 *   eip    Int32    address of the instruction concerned
 *   a,b,c  Int32    detail, per kind (see the table below)
 * Readers pull by cursor: cursor n is the n-th event ever written; the ring keeps the last
 * `capacity` of them.
 *
 * Cycles per kind: an event that enters a handler (an exception, an interrupt, a system
 * call, an INT n) opens an entry on a small stack; the IRET that ends the handler closes
 * the newest open entry and charges the virtual cycles in between to that kind (and to
 * PageFault as well for a #PF). This is the "time spent handling" column of the summary.
 * It assumes each entry leaves by exactly one IRET, which holds for a kernel that runs its
 * handlers with interrupts off and switches tasks by returning through another frame;
 * entries left open (a guest that never returns) fall off the bottom of the stack.
 * Next: x86/cpu.ts, the main emitter.
 */

export const enum Ev {
  /** CPU exception. a = vector, b = error code (-1 if none), c = CR2 for #PF. */
  Exception = 0,
  /** External interrupt taken from the PIC. a = vector, b = IRQ line (-1 unknown). */
  Interrupt,
  /** INT n instruction (not 0x80). a = vector. */
  SoftInt,
  /** System call: INT 0x80. a = EAX (the call number), b = EBX. */
  Syscall,
  /** Page fault (also counted as Exception 14). a = CR2, b = error code. */
  PageFault,
  /** MOV to CR3: a new address space. a = new CR3, b = old CR3. */
  Cr3Load,
  /** A privileged instruction executed at CPL 0 (mov crN, lgdt, invlpg, ...). a = opcode, b = detail. */
  PrivInsn,
  /** IRET. a = new CS, b = new EIP. */
  Iret,
  /** HLT: the CPU idles until an interrupt. */
  Halt,
  /** TLB flush. a = 0 for a full flush, 1 for INVLPG; b = linear address for INVLPG. */
  TlbFlush,
  /** The machine stopped: triple fault. a = last vector. */
  TripleFault,
  /** A hypercall (hypervisor modes). a = number, b/c = first arguments. */
  Hypercall,
  /** A privileged instruction trapped to the monitor and was emulated. a = opcode. */
  Emulated,
  /** The monitor bounced an event into the guest kernel. a = vector. */
  Bounce,
  /** A page-table update seen by the hypervisor. a = machine address, b = new value. */
  PteWrite,
  /** Shadow page-table fix-up (VMI). a = linear address. */
  ShadowFix,
}

export const EV_COUNT = 16;

/** How many nested handler entries the cycle accounting follows. */
const OPEN_DEPTH = 32;

/** Names for display and CSV export, indexed by Ev. */
export const EV_NAMES: readonly string[] = [
  'exception', 'interrupt', 'softint', 'syscall', 'pagefault', 'cr3load', 'privinsn', 'iret',
  'halt', 'tlbflush', 'triplefault', 'hypercall', 'emulated', 'bounce', 'ptewrite', 'shadowfix',
];

export interface TraceRecord {
  seq: number;
  time: number;
  kind: Ev;
  cpl: number;
  eip: number;
  a: number;
  b: number;
  c: number;
}

export class TraceBuffer {
  readonly capacity: number;
  /** Record events into the ring (counters always count). */
  enabled = true;
  readonly time: Float64Array;
  readonly kind: Uint8Array;
  readonly cpl: Uint8Array;
  readonly eip: Int32Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly c: Int32Array;
  /** Events of each kind ever emitted. */
  readonly counts = new Float64Array(EV_COUNT);
  /** Virtual cycles charged to each kind (added by whoever knows the cost). */
  readonly cycles = new Float64Array(EV_COUNT);
  /** Total events ever written: the cursor of the next one. */
  head = 0;
  /** Open handler entries (see the header): kind, start time; newest at depth-1. */
  private readonly openKind = new Uint8Array(OPEN_DEPTH);
  private readonly openPf = new Uint8Array(OPEN_DEPTH);
  private readonly openTime = new Float64Array(OPEN_DEPTH);
  private depth = 0;
  /** Kinds that end the current run when emitted (a debugger's "run to the next trap"). */
  readonly stopOn = new Uint8Array(EV_COUNT);
  /** Called when a kind marked in stopOn is emitted (e.g. cpu.requestStop). */
  onStop: (() => void) | null = null;

  constructor(capacity = 1 << 16) {
    this.capacity = capacity;
    this.time = new Float64Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.cpl = new Uint8Array(capacity);
    this.eip = new Int32Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.c = new Int32Array(capacity);
  }

  emit(kind: Ev, time: number, cpl: number, eip: number, a: number, b: number, c: number): void {
    this.counts[kind]++;
    if (kind <= Ev.Syscall) this.enter(kind, time, kind === Ev.Exception && a === 14);
    else if (kind === Ev.Iret) this.leave(time);
    if (this.stopOn[kind] !== 0 && this.onStop !== null) this.onStop();
    if (!this.enabled) return;
    const i = this.head % this.capacity;
    this.time[i] = time;
    this.kind[i] = kind;
    this.cpl[i] = cpl;
    this.eip[i] = eip;
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
    this.head++;
  }

  private enter(kind: Ev, time: number, pageFault: boolean): void {
    if (this.depth === OPEN_DEPTH) {
      // Forget the oldest open entry: a guest that enters and never returns.
      this.openKind.copyWithin(0, 1);
      this.openPf.copyWithin(0, 1);
      this.openTime.copyWithin(0, 1);
      this.depth--;
    }
    this.openKind[this.depth] = kind;
    this.openPf[this.depth] = pageFault ? 1 : 0;
    this.openTime[this.depth] = time;
    this.depth++;
  }

  private leave(time: number): void {
    if (this.depth === 0) return;
    this.depth--;
    const spent = time - this.openTime[this.depth];
    this.cycles[this.openKind[this.depth]] += spent;
    if (this.openPf[this.depth] !== 0) this.cycles[Ev.PageFault] += spent;
  }

  /** The open handler entries as [kind, pageFault, time] triples, oldest first (snapshots). */
  saveOpen(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.depth; i++) out.push(this.openKind[i], this.openPf[i], this.openTime[i]);
    return out;
  }

  restoreOpen(triples: readonly number[]): void {
    this.depth = 0;
    for (let i = 0; i + 2 < triples.length && this.depth < OPEN_DEPTH; i += 3) {
      this.openKind[this.depth] = triples[i] as Ev;
      this.openPf[this.depth] = triples[i + 1] ? 1 : 0;
      this.openTime[this.depth] = triples[i + 2];
      this.depth++;
    }
  }

  /** Charges virtual cycles to a kind, for the summary's total and average columns. */
  charge(kind: Ev, cycles: number): void {
    this.cycles[kind] += cycles;
  }

  /** The oldest cursor still held. */
  get tail(): number {
    return Math.max(0, this.head - this.capacity);
  }

  /** Up to `max` records from `cursor` on (clamped to what the ring still holds). */
  readSince(cursor: number, max: number): TraceRecord[] {
    const out: TraceRecord[] = [];
    const from = Math.max(cursor, this.tail);
    const to = Math.min(this.head, from + max);
    for (let s = from; s < to; s++) {
      const i = s % this.capacity;
      out.push({ seq: s, time: this.time[i], kind: this.kind[i] as Ev, cpl: this.cpl[i], eip: this.eip[i] >>> 0, a: this.a[i], b: this.b[i], c: this.c[i] });
    }
    return out;
  }

  /** The last n records (for crash reports). */
  last(n: number): TraceRecord[] {
    return this.readSince(Math.max(this.tail, this.head - n), n);
  }

  clear(): void {
    this.head = 0;
    this.depth = 0;
    this.counts.fill(0);
    this.cycles.fill(0);
  }
}
