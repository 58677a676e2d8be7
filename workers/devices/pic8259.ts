/*
 * Intel 8259A Programmable Interrupt Controller, two of them cascaded as in the PC/AT:
 * the master at ports 0x20/0x21 drives the CPU's INTR pin, the slave at 0xA0/0xA1 drives the
 * master's IR2 input. Datasheet: Intel 8259A (order number 231468).
 *
 * The signal sequence, as the datasheet tells it:
 *   1. An IR input goes high. Edge-triggered (the PC's setting), the rising edge sets the IRR
 *      bit; the input must stay high until acknowledged (if it drops, the request drops too).
 *   2. The priority resolver picks the highest-priority unmasked IRR bit that is above every
 *      bit in service (ISR); if there is one the chip raises INT.
 *   3. The CPU answers with INTA: the IRR bit moves to the ISR and the chip puts the vector
 *      (ICW2 base | level) on the bus. A cascade input hands the INTA to its slave, which
 *      supplies the vector. If the request vanished before INTA, the chip answers with IR7
 *      and sets no ISR bit: the "spurious IRQ7" a careful kernel checks for.
 *   4. The handler ends with an EOI command (OCW2) that clears the ISR bit, which lets lower
 *      priorities through again. With AEOI the ISR bit is cleared at INTA time instead.
 *
 * Programming: ICW1 (port A0=0, D4=1) starts initialisation and is followed by ICW2 (vector
 * base), ICW3 (cascade wiring, unless single) and ICW4 (if ICW1 asked for it) on A0=1.
 * Afterwards A0=1 writes OCW1 (the mask, IMR); A0=0 writes OCW2 (EOI and priority
 * commands, D4..D3 = 00) or OCW3 (register to read, special mask mode, poll; D4..D3 = 01).
 * Reads: A0=1 gives the IMR, A0=0 the IRR or ISR as chosen by OCW3 (or the poll word).
 * Next: pit8254.ts, the timer that drives IRQ0.
 */

import type { InterruptLine } from '../x86/bus';
import { asState, type IoDevice, type IrqLine, type PortLabel } from './device';

const ICW1_IC4 = 0b0000_0001; // ICW4 will follow
const ICW1_SNGL = 0b0000_0010; // single chip, no ICW3
const ICW1_LTIM = 0b0000_1000; // level-triggered inputs
const ICW1_INIT = 0b0001_0000; // D4 marks ICW1 on the A0=0 port
const OCW3_SEL = 0b0000_1000; // D3 marks OCW3 (with D4=0)

const ICW4_AEOI = 0b0000_0010; // automatic end of interrupt
const ICW4_SFNM = 0b0001_0000; // special fully nested mode

const OCW3_RIS = 0b0000_0001; // with RR: read ISR (1) or IRR (0)
const OCW3_RR = 0b0000_0010; // act on RIS
const OCW3_POLL = 0b0000_0100;
const OCW3_SMM = 0b0010_0000; // with ESMM: set (1) or reset (0) special mask mode
const OCW3_ESMM = 0b0100_0000;

/** Where the chip is in its initialisation sequence. */
const enum InitStep {
  Ready,
  Icw2,
  Icw3,
  Icw4,
}

/** OCW2 commands: the R, SL, EOI bits (D7..D5). */
const enum Ocw2 {
  RotateAeoiClear = 0b000,
  NonSpecificEoi = 0b001,
  Nop = 0b010,
  SpecificEoi = 0b011,
  RotateAeoiSet = 0b100,
  RotateNonSpecificEoi = 0b101,
  SetPriority = 0b110,
  RotateSpecificEoi = 0b111,
}

/** One 8259A chip. */
export class Pic8259 {
  irr = 0;
  isr = 0;
  imr = 0;
  /** Current level of each IR input (bit per line). */
  lines = 0;
  vectorBase = 0;
  /** ICW3: master, the inputs with a slave; slave, its own ID. */
  icw3 = 0;
  icw4 = 0;
  levelTriggered = false;
  autoEoi = false;
  rotateOnAeoi = false;
  specialMask = false;
  specialFullyNested = false;
  /** The lowest-priority level: the highest is (lowest + 1) & 7. */
  lowest = 7;
  readIsr = false;
  pollPending = false;
  initStep = InitStep.Ready;
  needIcw4 = false;
  single = false;
  /** INT output level, recomputed after every change. */
  int = false;
  /** Called when INT changes (the slave's INT drives the master's IR2). */
  onInt: (level: boolean) => void = () => {};

  constructor(
    readonly isMaster: boolean,
  ) {}

  /** Drives IR input `irq` (0..7) to `level`. */
  setIrq(irq: number, level: number): void {
    const bit = 1 << irq;
    if (level) {
      if ((this.lines & bit) === 0) {
        this.lines |= bit;
        this.irr |= bit; // the rising edge (or the level) requests
      }
    } else if (this.lines & bit) {
      this.lines &= ~bit;
      this.irr &= ~bit; // the request must be held until INTA: dropping it withdraws it
    }
    this.update();
  }

  /** The level (0..7) the resolver would grant now, or -1. */
  private resolve(): number {
    const req = this.irr & ~this.imr;
    if (req === 0) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    if (this.isMaster && this.specialFullyNested) inService &= ~this.icw3;
    for (let i = 1; i <= 8; i++) {
      const level = (this.lowest + i) & 7;
      const bit = 1 << level;
      if (inService & bit) return -1; // an equal or higher level is in service
      if (req & bit) return level;
    }
    return -1;
  }

  private update(): void {
    const int = this.initStep === InitStep.Ready && this.resolve() >= 0;
    if (int !== this.int) {
      this.int = int;
      this.onInt(int);
    }
  }

  /** The highest-priority bit set in ISR, or -1. */
  private highestInService(): number {
    for (let i = 1; i <= 8; i++) {
      const level = (this.lowest + i) & 7;
      if (this.isr & (1 << level)) return level;
    }
    return -1;
  }

  /**
   * The INTA cycle. Returns the level granted (0..7) with bit 8 set for a spurious answer
   * (no request left: the chip answers IR7 and sets no ISR bit).
   */
  acknowledgeLevel(): number {
    const level = this.resolve();
    if (level < 0) return 7 | 0x100;
    const bit = 1 << level;
    if (!this.levelTriggered) this.irr &= ~bit;
    if (this.autoEoi) {
      if (this.rotateOnAeoi) this.lowest = level;
    } else {
      this.isr |= bit;
    }
    this.update();
    return level;
  }

  /** The vector a level is answered with. */
  vector(level: number): number {
    return (this.vectorBase | (level & 7)) & 0xff;
  }

  /** Write to the A0=0 port (ICW1, OCW2, OCW3). */
  writeCommand(v: number): void {
    if (v & ICW1_INIT) {
      // ICW1: the datasheet's initialisation resets the edge latches, clears the mask,
      // gives IR7 the lowest priority, clears special mask mode and selects IRR for reads.
      this.levelTriggered = (v & ICW1_LTIM) !== 0;
      this.needIcw4 = (v & ICW1_IC4) !== 0;
      this.single = (v & ICW1_SNGL) !== 0;
      if (!this.needIcw4) this.icw4 = 0;
      this.imr = 0;
      this.isr = 0;
      this.irr = this.levelTriggered ? this.lines : 0;
      this.lowest = 7;
      this.specialMask = false;
      this.readIsr = false;
      this.pollPending = false;
      this.autoEoi = false;
      this.rotateOnAeoi = false;
      this.specialFullyNested = false;
      this.initStep = InitStep.Icw2;
      this.update();
      return;
    }
    if (v & OCW3_SEL) {
      if (v & OCW3_ESMM) this.specialMask = (v & OCW3_SMM) !== 0;
      if (v & OCW3_RR) this.readIsr = (v & OCW3_RIS) !== 0;
      if (v & OCW3_POLL) this.pollPending = true;
      this.update();
      return;
    }
    this.ocw2(v);
  }

  private ocw2(v: number): void {
    const cmd = (v >> 5) as Ocw2;
    const l = v & 7;
    switch (cmd) {
      case Ocw2.NonSpecificEoi:
      case Ocw2.RotateNonSpecificEoi: {
        const level = this.highestInService();
        if (level >= 0) {
          this.isr &= ~(1 << level);
          if (cmd === Ocw2.RotateNonSpecificEoi) this.lowest = level;
        }
        break;
      }
      case Ocw2.SpecificEoi:
        this.isr &= ~(1 << l);
        break;
      case Ocw2.RotateSpecificEoi:
        this.isr &= ~(1 << l);
        this.lowest = l;
        break;
      case Ocw2.SetPriority:
        this.lowest = l;
        break;
      case Ocw2.RotateAeoiSet:
        this.rotateOnAeoi = true;
        break;
      case Ocw2.RotateAeoiClear:
        this.rotateOnAeoi = false;
        break;
      case Ocw2.Nop:
        break;
    }
    this.update();
  }

  /** Write to the A0=1 port: ICW2..4 during initialisation, otherwise OCW1 (the mask). */
  writeData(v: number): void {
    switch (this.initStep) {
      case InitStep.Icw2:
        this.vectorBase = v & 0xf8;
        this.initStep = this.single ? (this.needIcw4 ? InitStep.Icw4 : InitStep.Ready) : InitStep.Icw3;
        break;
      case InitStep.Icw3:
        this.icw3 = v & 0xff;
        this.initStep = this.needIcw4 ? InitStep.Icw4 : InitStep.Ready;
        break;
      case InitStep.Icw4:
        this.icw4 = v & 0xff;
        this.autoEoi = (v & ICW4_AEOI) !== 0;
        this.specialFullyNested = (v & ICW4_SFNM) !== 0;
        this.initStep = InitStep.Ready;
        break;
      default:
        this.imr = v & 0xff;
    }
    this.update();
  }

  /** Read of the A0=0 port: the poll word after a poll command, else IRR or ISR. */
  readCommand(): number {
    if (this.pollPending) {
      this.pollPending = false;
      const level = this.resolve();
      if (level < 0) return 0;
      this.acknowledgeLevel();
      return 0x80 | level;
    }
    return this.readIsr ? this.isr : this.irr;
  }

  readData(): number {
    return this.imr;
  }

  snapshot(): Record<string, number | boolean> {
    return {
      irr: this.irr, isr: this.isr, imr: this.imr, lines: this.lines, vectorBase: this.vectorBase,
      icw3: this.icw3, icw4: this.icw4, levelTriggered: this.levelTriggered, autoEoi: this.autoEoi,
      rotateOnAeoi: this.rotateOnAeoi, specialMask: this.specialMask,
      specialFullyNested: this.specialFullyNested, lowest: this.lowest, readIsr: this.readIsr,
      pollPending: this.pollPending, initStep: this.initStep, needIcw4: this.needIcw4,
      single: this.single, int: this.int,
    };
  }

  restore(s: Record<string, unknown>): void {
    const n = (k: string): number => {
      const v = s[k];
      if (typeof v !== 'number') throw new Error(`snapshot: pic field "${k}" is not a number`);
      return v;
    };
    const b = (k: string): boolean => s[k] === true;
    this.irr = n('irr'); this.isr = n('isr'); this.imr = n('imr'); this.lines = n('lines');
    this.vectorBase = n('vectorBase'); this.icw3 = n('icw3'); this.icw4 = n('icw4');
    this.levelTriggered = b('levelTriggered'); this.autoEoi = b('autoEoi');
    this.rotateOnAeoi = b('rotateOnAeoi'); this.specialMask = b('specialMask');
    this.specialFullyNested = b('specialFullyNested'); this.lowest = n('lowest');
    this.readIsr = b('readIsr'); this.pollPending = b('pollPending');
    this.initStep = n('initStep') as InitStep; this.needIcw4 = b('needIcw4');
    this.single = b('single'); this.int = b('int');
  }
}

/**
 * The PC/AT pair: master (IRQ0-7, 0x20/0x21) and slave (IRQ8-15, 0xA0/0xA1) on the master's
 * IR2. It is the CPU's InterruptLine, and hands devices an IrqLine per IRQ number.
 */
export class PicPair implements IoDevice, InterruptLine {
  readonly name = 'pic';
  readonly master = new Pic8259(true);
  readonly slave = new Pic8259(false);
  /** INTA cycles answered, per IRQ (0..15). */
  readonly acks = new Float64Array(16);
  /** Spurious answers (IR7 of a chip with nothing left to grant). */
  spurious = 0;
  /** The IRQ number of the last acknowledged interrupt (-1: spurious or none yet). */
  lastIrq = -1;
  private readonly irqLines: IrqLine[] = [];

  constructor() {
    this.slave.onInt = (level) => this.master.setIrq(2, level ? 1 : 0);
    for (let i = 0; i < 16; i++) {
      const chip = i < 8 ? this.master : this.slave;
      const irq = i & 7;
      this.irqLines.push({ setLevel: (level: number) => chip.setIrq(irq, level) });
    }
  }

  /** The wire for IRQ n (0..15). */
  line(n: number): IrqLine {
    if (!(n >= 0 && n < 16)) throw new RangeError(`no IRQ ${n} on the PC/AT PIC pair`);
    return this.irqLines[n];
  }

  pending(): boolean {
    return this.master.int;
  }

  acknowledge(): number {
    const m = this.master.acknowledgeLevel();
    if (m & 0x100) {
      this.spurious++;
      this.lastIrq = -1;
      return this.master.vector(7);
    }
    if (!this.master.single && this.master.icw3 & (1 << m)) {
      const s = this.slave.acknowledgeLevel();
      if (s & 0x100) {
        this.spurious++;
        this.lastIrq = -1;
        return this.slave.vector(7);
      }
      this.acks[8 + s]++;
      this.lastIrq = 8 + s;
      return this.slave.vector(s);
    }
    this.acks[m]++;
    this.lastIrq = m;
    return this.master.vector(m);
  }

  ports(): PortLabel[] {
    return [
      { port: 0x20, label: 'PIC master command/status' },
      { port: 0x21, label: 'PIC master data/mask' },
      { port: 0xa0, label: 'PIC slave command/status' },
      { port: 0xa1, label: 'PIC slave data/mask' },
    ];
  }

  in8(port: number): number {
    const chip = port >= 0xa0 ? this.slave : this.master;
    return port & 1 ? chip.readData() : chip.readCommand();
  }

  out8(port: number, value: number): void {
    const chip = port >= 0xa0 ? this.slave : this.master;
    if (port & 1) chip.writeData(value & 0xff);
    else chip.writeCommand(value & 0xff);
  }

  snapshot(): unknown {
    return { kind: 'pic', master: this.master.snapshot(), slave: this.slave.snapshot(), acks: Array.from(this.acks), spurious: this.spurious, lastIrq: this.lastIrq };
  }

  restore(state: unknown): void {
    const s = asState(state, 'pic');
    if (typeof s.master !== 'object' || typeof s.slave !== 'object' || !Array.isArray(s.acks)) throw new Error('snapshot: malformed pic state');
    this.master.restore(s.master as Record<string, unknown>);
    this.slave.restore(s.slave as Record<string, unknown>);
    this.acks.set((s.acks as number[]).slice(0, 16));
    this.spurious = Number(s.spurious) || 0;
    this.lastIrq = typeof s.lastIrq === 'number' ? s.lastIrq : -1;
  }
}
