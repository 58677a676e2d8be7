/*
 * National Semiconductor PC16550D UART, the PC's serial port (COM1: ports 0x3F8-0x3FF, IRQ4),
 * used as the lab's console. Datasheet: PC16550D Universal Asynchronous Receiver/Transmitter
 * with FIFOs (National Semiconductor, June 1995).
 *
 * Registers, by offset from the base (DLAB is LCR bit 7):
 *   0  RBR (read) / THR (write); with DLAB=1: DLL, divisor latch low
 *   1  IER, interrupt enable;    with DLAB=1: DLM, divisor latch high
 *   2  IIR (read) / FCR (write, FIFO control)
 *   3  LCR line control   4  MCR modem control   5  LSR line status   6  MSR modem status
 *   7  SCR scratch
 *
 * Interrupts, highest priority first, as IIR reports them (bit 0 = 0 while one is pending):
 *   receiver line status (IIR 0110: overrun, parity, framing, break; cleared by reading LSR)
 *   received data available (0100: FIFO at its trigger level; cleared below it)
 *   character timeout (1100: data in the FIFO, no activity for 4 character times)
 *   transmitter holding register empty (0010: cleared by reading IIR or writing THR)
 *   modem status (0000: a change of CTS, DSR, RI or DCD; cleared by reading MSR)
 * The INTR output reaches the PC's IRQ line only while MCR OUT2 is set (the PC's gate).
 *
 * The far end of the cable is the lab: a transmitted byte leaves at once (the line is
 * infinitely fast, so THR is always empty again by the next instruction) and lands in the
 * console log; typed input is queued and fed into the receiver at the programmed baud rate in
 * virtual time (one character per start+data+parity+stop bit times), held back while the
 * FIFO is full as hardware flow control would, so a guest's interrupt-driven input sees the
 * same interrupts as on a real line. Next: iobus.ts.
 */

import { ByteLog } from './bytelog';
import { asState, CPU_HZ, noIrq, type IoDevice, type IrqLine, type PortLabel, type Scheduler, type TimerEvent } from './device';

/** The UART's reference clock in the PC: 1.8432 MHz, so divisor 1 gives 115200 baud. */
export const UART_CLOCK_HZ = 1_843_200;

const IER_RDA = 0b0000_0001;
const IER_THRE = 0b0000_0010;
const IER_RLS = 0b0000_0100;
const IER_MS = 0b0000_1000;

const IIR_NONE = 0b0000_0001;
const IIR_RLS = 0b0000_0110;
const IIR_RDA = 0b0000_0100;
const IIR_TIMEOUT = 0b0000_1100;
const IIR_THRE = 0b0000_0010;
const IIR_MS = 0b0000_0000;
const IIR_FIFO = 0b1100_0000;

const FCR_ENABLE = 0b0000_0001;
const FCR_CLEAR_RX = 0b0000_0010;
const FCR_CLEAR_TX = 0b0000_0100;
const FCR_TRIGGER = 0b1100_0000;

const LCR_DLAB = 0b1000_0000;

const MCR_DTR = 0b0000_0001;
const MCR_RTS = 0b0000_0010;
const MCR_OUT1 = 0b0000_0100;
const MCR_OUT2 = 0b0000_1000;
const MCR_LOOP = 0b0001_0000;

const LSR_DR = 0b0000_0001;
const LSR_OE = 0b0000_0010;
const LSR_ERRORS = 0b0001_1110; // OE, PE, FE, BI
const LSR_THRE = 0b0010_0000;
const LSR_TEMT = 0b0100_0000;
const LSR_FIFO_ERR = 0b1000_0000;

const MSR_DELTAS = 0b0000_1111;
const MSR_CTS = 0b0001_0000;
const MSR_DSR = 0b0010_0000;
const MSR_RI = 0b0100_0000;
const MSR_DCD = 0b1000_0000;

/** Receiver FIFO trigger levels, by FCR bits 7..6. */
const TRIGGER_LEVELS = [1, 4, 8, 14];
const FIFO_SIZE = 16;

/** Register offsets from the base port. */
export const enum Reg {
  Data = 0,
  Ier = 1,
  IirFcr = 2,
  Lcr = 3,
  Mcr = 4,
  Lsr = 5,
  Msr = 6,
  Scr = 7,
}

export interface UartOptions {
  base?: number;
  name?: string;
  /** Where transmitted bytes go (the machine's console log). */
  output?: ByteLog;
}

/** A scheduled callback with a fixed name, calling back into the UART. */
class UartEvent implements TimerEvent {
  constructor(readonly name: string, private readonly onFire: () => void) {}
  fire(): void {
    this.onFire();
  }
}

export class Uart16550 implements IoDevice {
  readonly name: string;
  readonly base: number;
  readonly output: ByteLog;
  ier = 0;
  lcr = 0x03;
  mcr = 0;
  lsr = LSR_THRE | LSR_TEMT;
  msr = MSR_CTS | MSR_DSR | MSR_DCD;
  scr = 0;
  dll = 1;
  dlm = 0;
  fcr = 0;
  /** Receiver FIFO (a ring of FIFO_SIZE; one deep with FIFOs off). */
  private readonly rx = new Uint8Array(FIFO_SIZE);
  rxHead = 0;
  rxCount = 0;
  /** THR-empty interrupt latched (cleared by an IIR read that reports it, or a THR write). */
  threPending = false;
  timeoutPending = false;
  /** Host input waiting to enter the receiver. */
  private input: number[] = [];
  /** Index in `input` of the next byte to send. */
  private inputHead = 0;
  private irqLevel = 0;
  /** Counters: bytes sent and received, receiver overruns, interrupts raised. */
  txBytes = 0;
  rxBytes = 0;
  overruns = 0;
  irqRaised = 0;
  readonly rxEvent: UartEvent;
  readonly timeoutEvent: UartEvent;

  constructor(
    private readonly clock: Scheduler,
    private readonly irq: IrqLine = noIrq,
    opts: UartOptions = {},
  ) {
    this.base = opts.base ?? 0x3f8;
    this.name = opts.name ?? 'com1';
    this.output = opts.output ?? new ByteLog();
    this.rxEvent = new UartEvent(`${this.name}.rx`, () => this.receiveNext());
    this.timeoutEvent = new UartEvent(`${this.name}.timeout`, () => this.onTimeout());
  }

  private get fifoOn(): boolean {
    return (this.fcr & FCR_ENABLE) !== 0;
  }

  private get capacity(): number {
    return this.fifoOn ? FIFO_SIZE : 1;
  }

  /** Virtual cycles to send one character with the current divisor and line settings. */
  charCycles(): number {
    const divisor = (this.dlm << 8) | this.dll || 0x10000;
    const dataBits = 5 + (this.lcr & 3);
    const parity = this.lcr & 0b1000 ? 1 : 0;
    const stopHalfBits = this.lcr & 0b100 ? (dataBits === 5 ? 3 : 4) : 2;
    const halfBits = 2 * (1 + dataBits + parity) + stopHalfBits;
    return Math.ceil((halfBits * divisor * 16 * CPU_HZ) / (2 * UART_CLOCK_HZ));
  }

  /** Queues host input (the lab's keyboard) to arrive on the receive line. */
  typeBytes(bytes: ArrayLike<number>): void {
    const wasIdle = this.inputQueued === 0;
    for (let i = 0; i < bytes.length; i++) this.input.push(bytes[i] & 0xff);
    if (wasIdle && this.inputQueued > 0) this.clock.schedule(this.rxEvent, this.clock.now() + this.charCycles());
  }

  /** Bytes typed but not yet received by the UART. */
  get inputQueued(): number {
    return this.input.length - this.inputHead;
  }

  /** rxEvent: one character time has passed, the next typed byte arrives (if there is room). */
  private receiveNext(): void {
    if (this.inputQueued === 0) return;
    if (this.mcr & MCR_LOOP) {
      // In loopback the receiver listens to the transmitter only: the line waits.
    } else if (this.rxCount < this.capacity) {
      this.receive(this.input[this.inputHead++]);
      if (this.inputHead === this.input.length) {
        this.input.length = 0;
        this.inputHead = 0;
      } else if (this.inputHead >= 4096) {
        this.input.splice(0, this.inputHead); // a long paste: drop what has been received
        this.inputHead = 0;
      }
    }
    if (this.inputQueued > 0) this.clock.schedule(this.rxEvent, this.clock.now() + this.charCycles());
  }

  /** A character has been assembled by the receiver. */
  private receive(byte: number): void {
    if (this.rxCount >= this.capacity) {
      this.lsr |= LSR_OE; // overrun: the character in the shift register is lost
      this.overruns++;
    } else {
      this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = byte;
      this.rxCount++;
      this.rxBytes++;
    }
    this.lsr |= LSR_DR;
    this.timeoutPending = false;
    this.armTimeout();
    this.update();
  }

  private armTimeout(): void {
    if (this.fifoOn && this.rxCount > 0) this.clock.schedule(this.timeoutEvent, this.clock.now() + 4 * this.charCycles());
    else this.clock.cancel(this.timeoutEvent);
  }

  private onTimeout(): void {
    if (this.fifoOn && this.rxCount > 0) {
      this.timeoutPending = true;
      this.update();
    }
  }

  /** The interrupt to report in IIR, highest priority first (IIR_NONE if none). */
  private identify(): number {
    const ier = this.ier;
    if (ier & IER_RLS && this.lsr & LSR_ERRORS) return IIR_RLS;
    if (ier & IER_RDA) {
      const trigger = this.fifoOn ? TRIGGER_LEVELS[this.fcr >> 6] : 1;
      if (this.rxCount >= trigger) return IIR_RDA;
      if (this.timeoutPending) return IIR_TIMEOUT;
    }
    if (ier & IER_THRE && this.threPending) return IIR_THRE;
    if (ier & IER_MS && this.msr & MSR_DELTAS) return IIR_MS;
    return IIR_NONE;
  }

  /** Recomputes INTR and drives the IRQ line through the OUT2 gate. */
  private update(): void {
    const intr = this.identify() !== IIR_NONE;
    const level = intr && (this.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2 ? 1 : 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      if (level) this.irqRaised++;
      this.irq.setLevel(level);
    }
  }

  private transmit(byte: number): void {
    if (this.mcr & MCR_LOOP) this.receive(byte);
    else this.output.push(byte);
    this.txBytes++;
    // The line is infinitely fast: the holding register is empty again at once.
    this.threPending = true;
  }

  private readRbr(): number {
    if (this.rxCount === 0) return this.rx[(this.rxHead + FIFO_SIZE - 1) % FIFO_SIZE];
    const byte = this.rx[this.rxHead];
    this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
    this.rxCount--;
    if (this.rxCount === 0) this.lsr &= ~LSR_DR;
    this.timeoutPending = false;
    this.armTimeout();
    this.update();
    return byte;
  }

  /** Modem inputs: in loopback they are the modem outputs; otherwise the lab's end is always ready. */
  private modemInputs(): number {
    if (this.mcr & MCR_LOOP) {
      return (this.mcr & MCR_RTS ? MSR_CTS : 0) | (this.mcr & MCR_DTR ? MSR_DSR : 0) |
        (this.mcr & MCR_OUT1 ? MSR_RI : 0) | (this.mcr & MCR_OUT2 ? MSR_DCD : 0);
    }
    return MSR_CTS | MSR_DSR | MSR_DCD;
  }

  private writeMcr(v: number): void {
    this.mcr = v & 0x1f;
    const now = this.modemInputs();
    const old = this.msr & 0xf0;
    let deltas = this.msr & MSR_DELTAS;
    if ((now ^ old) & MSR_CTS) deltas |= 0b0001;
    if ((now ^ old) & MSR_DSR) deltas |= 0b0010;
    if (old & MSR_RI && !(now & MSR_RI)) deltas |= 0b0100; // TERI: trailing edge of RI
    if ((now ^ old) & MSR_DCD) deltas |= 0b1000;
    this.msr = now | deltas;
    this.update();
  }

  ports(): PortLabel[] {
    const b = this.base;
    const n = this.name.toUpperCase();
    return [
      { port: b, label: `${n} RBR/THR (DLL)` },
      { port: b + 1, label: `${n} IER (DLM)` },
      { port: b + 2, label: `${n} IIR/FCR` },
      { port: b + 3, label: `${n} LCR` },
      { port: b + 4, label: `${n} MCR` },
      { port: b + 5, label: `${n} LSR` },
      { port: b + 6, label: `${n} MSR` },
      { port: b + 7, label: `${n} SCR` },
    ];
  }

  in8(port: number): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch ((port - this.base) as Reg) {
      case Reg.Data:
        return dlab ? this.dll : this.readRbr();
      case Reg.Ier:
        return dlab ? this.dlm : this.ier;
      case Reg.IirFcr: {
        const id = this.identify();
        if (id === IIR_THRE) {
          this.threPending = false; // reading IIR that reports THRE clears it
          this.update();
        }
        return id | (this.fifoOn ? IIR_FIFO : 0);
      }
      case Reg.Lcr:
        return this.lcr;
      case Reg.Mcr:
        return this.mcr;
      case Reg.Lsr: {
        let v = this.lsr | LSR_THRE | LSR_TEMT;
        if (this.rxCount > 0) v |= LSR_DR;
        if (this.fifoOn && this.lsr & LSR_ERRORS) v |= LSR_FIFO_ERR;
        this.lsr &= ~LSR_ERRORS;
        if (v & LSR_ERRORS) this.update();
        return v;
      }
      case Reg.Msr: {
        const v = this.msr;
        this.msr &= ~MSR_DELTAS;
        if (v & MSR_DELTAS) this.update();
        return v;
      }
      case Reg.Scr:
        return this.scr;
    }
    return 0xff;
  }

  out8(port: number, value: number): void {
    value &= 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch ((port - this.base) as Reg) {
      case Reg.Data:
        if (dlab) this.dll = value;
        else {
          // Writing THR clears the THRE interrupt; the byte moves on to the (idle) shift
          // register at once and THR is empty again: INTR drops and rises, a fresh edge.
          this.threPending = false;
          this.update();
          this.transmit(value);
          this.update();
        }
        return;
      case Reg.Ier: {
        if (dlab) {
          this.dlm = value;
          return;
        }
        const enablingThre = (value & IER_THRE) !== 0 && (this.ier & IER_THRE) === 0;
        this.ier = value & 0x0f;
        // Enabling the THRE interrupt while THR is empty raises it at once (the 16550 does).
        if (enablingThre) this.threPending = true;
        this.update();
        return;
      }
      case Reg.IirFcr: {
        const wasOn = this.fifoOn;
        this.fcr = value & (FCR_ENABLE | FCR_TRIGGER);
        if (!(value & FCR_ENABLE)) this.fcr = 0;
        // Turning the FIFOs on or off, or the clear bits, empty the receiver.
        if (value & FCR_CLEAR_RX || wasOn !== this.fifoOn) {
          this.rxCount = 0;
          this.rxHead = 0;
          this.lsr &= ~LSR_DR;
          this.timeoutPending = false;
          this.clock.cancel(this.timeoutEvent);
        }
        void FCR_CLEAR_TX; // the transmitter is always empty
        this.update();
        return;
      }
      case Reg.Lcr:
        this.lcr = value;
        return;
      case Reg.Mcr:
        this.writeMcr(value);
        return;
      case Reg.Lsr:
        return; // read-only (factory test)
      case Reg.Msr:
        return;
      case Reg.Scr:
        this.scr = value;
        return;
    }
  }

  snapshot(): unknown {
    return {
      kind: 'uart', ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsr: this.lsr, msr: this.msr, scr: this.scr,
      dll: this.dll, dlm: this.dlm, fcr: this.fcr, rx: Array.from(this.rx), rxHead: this.rxHead,
      rxCount: this.rxCount, threPending: this.threPending, timeoutPending: this.timeoutPending,
      input: this.input.slice(this.inputHead), irqLevel: this.irqLevel, txBytes: this.txBytes, rxBytes: this.rxBytes,
      overruns: this.overruns, irqRaised: this.irqRaised,
    };
  }

  restore(state: unknown): void {
    const s = asState(state, 'uart');
    const n = (k: string): number => {
      const v = s[k];
      if (typeof v !== 'number') throw new Error(`snapshot: uart field "${k}" is not a number`);
      return v;
    };
    if (!Array.isArray(s.rx) || !Array.isArray(s.input)) throw new Error('snapshot: malformed uart state');
    this.ier = n('ier'); this.lcr = n('lcr'); this.mcr = n('mcr'); this.lsr = n('lsr'); this.msr = n('msr');
    this.scr = n('scr'); this.dll = n('dll'); this.dlm = n('dlm'); this.fcr = n('fcr');
    this.rx.set((s.rx as number[]).slice(0, FIFO_SIZE)); this.rxHead = n('rxHead'); this.rxCount = n('rxCount');
    this.threPending = s.threPending === true; this.timeoutPending = s.timeoutPending === true;
    this.input = (s.input as number[]).slice(); this.inputHead = 0; this.irqLevel = n('irqLevel');
    this.txBytes = n('txBytes'); this.rxBytes = n('rxBytes'); this.overruns = n('overruns'); this.irqRaised = n('irqRaised');
  }
}
