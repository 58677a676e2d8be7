// The 16550 as a guest's serial driver sees it: polled output, THRE and received-data
// interrupts with IIR priority, the FIFO and its trigger levels, the character timeout,
// loopback, and input paced at the programmed baud rate in virtual time.
import { describe, expect, it } from 'vitest';
import { Clock } from '../../workers/machine/clock';
import { Uart16550 } from '../../workers/devices/uart16550';

const COM1 = 0x3f8;
const THR = COM1, IER = COM1 + 1, IIR = COM1 + 2, FCR = COM1 + 2, LCR = COM1 + 3, MCR = COM1 + 4, LSR = COM1 + 5, MSR = COM1 + 6, SCR = COM1 + 7;

function rig() {
  const clock = new Clock();
  let level = 0;
  let rises = 0;
  const uart = new Uart16550(clock, { setLevel: (l) => { if (l && !level) rises++; level = l; } });
  clock.register(uart.rxEvent);
  clock.register(uart.timeoutEvent);
  const advance = (until: number) => {
    while (clock.nextAt <= until) {
      clock.source.cycles = clock.nextAt;
      clock.runDue();
    }
    clock.source.cycles = until;
  };
  const text = () => new TextDecoder().decode(uart.output.read(0).bytes);
  return { clock, uart, advance, text, irq: () => level, rises: () => rises };
}

/** The bench kernel's init: 115200 8N1, FIFOs on and cleared (trigger 14). */
function init(uart: Uart16550, fcr = 0xc7, mcr = 0x0b): void {
  uart.out8(IER, 0);
  uart.out8(LCR, 0x80);
  uart.out8(THR, 1);
  uart.out8(IER, 0);
  uart.out8(LCR, 0x03);
  uart.out8(FCR, fcr);
  uart.out8(MCR, mcr);
}

describe('16550 UART', () => {
  it('transmits polled output into the console log', () => {
    const { uart, text } = rig();
    init(uart);
    for (const ch of 'hello\n') {
      while (!(uart.in8(LSR) & 0x20)) { /* wait for THRE */ }
      uart.out8(THR, ch.charCodeAt(0));
    }
    expect(text()).toBe('hello\n');
    expect(uart.in8(LSR) & 0x60).toBe(0x60);
    expect(uart.txBytes).toBe(6);
  });

  it('keeps DLL/DLM behind DLAB and times a character from them', () => {
    const { uart } = rig();
    init(uart);
    expect(uart.charCycles()).toBe(8681); // 10 bits at 115200 baud = 86.81 us
    uart.out8(LCR, 0x83);
    uart.out8(THR, 12); // 9600 baud
    uart.out8(IER, 0);
    expect(uart.in8(THR)).toBe(12);
    uart.out8(LCR, 0x03);
    expect(uart.charCycles()).toBe(104167);
    uart.out8(SCR, 0x5a);
    expect(uart.in8(SCR)).toBe(0x5a);
  });

  it('raises THRE when enabled, clears it on an IIR read, and gates INTR with OUT2', () => {
    const { uart, irq } = rig();
    init(uart, 0xc7, 0x03); // OUT2 off
    uart.out8(IER, 0x02);
    expect(irq()).toBe(0); // pending inside the chip, but the PC's gate is shut
    uart.out8(MCR, 0x0b);
    expect(irq()).toBe(1);
    expect(uart.in8(IIR)).toBe(0xc2); // FIFOs on, THRE
    expect(irq()).toBe(0);
    expect(uart.in8(IIR)).toBe(0xc1); // nothing pending
    uart.out8(THR, 0x41); // the byte leaves at once: THR empty again
    expect(irq()).toBe(1);
  });

  it('gives a fresh interrupt edge for each THR write', () => {
    const { uart, rises } = rig();
    init(uart);
    uart.out8(IER, 0x02);
    const before = rises();
    uart.out8(THR, 1);
    uart.out8(THR, 2);
    expect(rises() - before).toBe(2);
  });

  it('delivers typed input at the baud rate with a received-data interrupt', () => {
    const { uart, clock, advance, irq } = rig();
    init(uart, 0x07); // FIFOs on, trigger 1
    uart.out8(IER, 0x01);
    uart.typeBytes([0x61, 0x62]);
    advance(8680);
    expect(uart.in8(LSR) & 1).toBe(0);
    expect(irq()).toBe(0);
    advance(8681);
    expect(irq()).toBe(1);
    expect(uart.in8(IIR)).toBe(0xc4);
    expect(uart.in8(THR)).toBe(0x61);
    expect(irq()).toBe(0);
    expect(uart.in8(LSR) & 1).toBe(0);
    advance(2 * 8681);
    expect(uart.in8(THR)).toBe(0x62);
    expect(clock.now()).toBe(2 * 8681);
    expect(uart.inputQueued).toBe(0);
  });

  it('reports received data above THRE (IIR priority)', () => {
    const { uart, advance } = rig();
    init(uart, 0x07);
    uart.out8(IER, 0x03);
    uart.typeBytes([0x31]);
    advance(10_000);
    expect(uart.in8(IIR) & 0x0f).toBe(0x04);
    uart.in8(THR);
    expect(uart.in8(IIR) & 0x0f).toBe(0x02);
  });

  it('waits for the trigger level, then times out with fewer bytes', () => {
    const { uart, advance, irq } = rig();
    init(uart, 0x47); // trigger 4
    uart.out8(IER, 0x01);
    uart.typeBytes([1, 2, 3]);
    advance(3 * 8681 + 1);
    expect(irq()).toBe(0); // 3 bytes < trigger 4
    advance(3 * 8681 + 4 * 8681);
    expect(irq()).toBe(1);
    expect(uart.in8(IIR)).toBe(0xcc); // character timeout
    expect([uart.in8(THR), uart.in8(THR), uart.in8(THR)]).toEqual([1, 2, 3]);
    expect(irq()).toBe(0);
    uart.typeBytes([4, 5, 6, 7]);
    advance(20 * 8681);
    expect(uart.in8(IIR)).toBe(0xc4); // four bytes reached the trigger
  });

  it('holds input back while the FIFO is full instead of overrunning', () => {
    const { uart, advance } = rig();
    init(uart, 0x07);
    const bytes = Array.from({ length: 40 }, (_, i) => i);
    uart.typeBytes(bytes);
    advance(100 * 8681);
    expect(uart.rxCount).toBe(16);
    expect(uart.inputQueued).toBe(24);
    const got: number[] = [];
    while (got.length < 40) {
      while (uart.in8(LSR) & 1) got.push(uart.in8(THR));
      advance(8681 * (got.length + 200));
    }
    expect(got).toEqual(bytes);
    expect(uart.overruns).toBe(0);
  });

  it('delivers a long paste complete and in order', () => {
    const { uart, clock, advance } = rig();
    init(uart, 0x07);
    const bytes = Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
    uart.typeBytes(bytes);
    const got: number[] = [];
    while (got.length < bytes.length) {
      advance(clock.now() + 16 * 8681);
      while (uart.in8(LSR) & 1) got.push(uart.in8(THR));
    }
    expect(got).toEqual(bytes);
    expect(uart.inputQueued).toBe(0);
    expect(uart.overruns).toBe(0);
  });

  it('with FIFOs off holds one byte', () => {
    const { uart, advance } = rig();
    init(uart, 0x00);
    uart.typeBytes([9, 8]);
    advance(10 * 8681);
    expect(uart.rxCount).toBe(1);
    expect(uart.in8(IIR)).toBe(0x01);
  });

  it('loops the transmitter back to the receiver and MCR to MSR', () => {
    const { uart, text, irq } = rig();
    init(uart);
    uart.out8(MCR, 0x10 | 0x02); // loop + RTS
    uart.out8(IER, 0x08);
    expect(uart.in8(MSR) & 0xf0).toBe(0x10); // CTS follows RTS
    uart.out8(THR, 0x55);
    expect(text()).toBe('');
    expect(uart.in8(LSR) & 1).toBe(1);
    expect(uart.in8(THR)).toBe(0x55);
    expect(irq()).toBe(0); // OUT2 is not on the bus in loopback
  });

  it('flags an overrun in loopback when the FIFO is full', () => {
    const { uart } = rig();
    init(uart);
    uart.out8(MCR, 0x10);
    for (let i = 0; i < 17; i++) uart.out8(THR, i);
    const lsr = uart.in8(LSR);
    expect(lsr & 0x02).toBe(0x02);
    expect(lsr & 0x80).toBe(0x80);
    expect(uart.in8(LSR) & 0x02).toBe(0); // cleared by the read
  });

  it('snapshot and restore keep FIFO, registers and queued input', () => {
    const a = rig();
    init(a.uart, 0x07);
    a.uart.out8(IER, 0x01);
    a.uart.typeBytes([1, 2, 3, 4, 5]);
    a.advance(2 * 8681 + 5);
    const b = rig();
    b.clock.source.cycles = a.clock.now();
    b.uart.restore(JSON.parse(JSON.stringify(a.uart.snapshot())));
    b.clock.restore(a.clock.snapshot());
    a.advance(100_000);
    b.advance(100_000);
    const drain = (u: Uart16550) => { const out = []; while (u.in8(LSR) & 1) out.push(u.in8(THR)); return out; };
    expect(drain(b.uart)).toEqual(drain(a.uart));
    expect(b.uart.rxBytes).toBe(5);
  });
});
