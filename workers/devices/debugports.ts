/*
 * Two ports that exist for the people running a machine rather than for its operating
 * system. Port 0x80 is the PC's POST-code port: firmware and kernels write progress codes to
 * it (on real boards a two-digit display shows them); the lab records each one. The debug
 * exit port (0x501 by default, as in QEMU's isa-debug-exit) ends the run: a write of value v
 * stops the machine with the exit `{ kind: 'debugExit', code: v }`, which is how test
 * kernels report their result. Next: machine/machine.ts, where every device is wired.
 */

import { asState, type IoDevice, type PortLabel } from './device';

/** Port 0x80: the last POST code, and the most recent ones. */
export class PostCodePort implements IoDevice {
  readonly name = 'post';
  /** The last code written (-1: none yet). */
  last = -1;
  /** Codes written, ever. */
  count = 0;
  /** The most recent codes, oldest first (at most `keep`). */
  history: number[] = [];

  constructor(private readonly keep = 64) {}

  ports(): PortLabel[] {
    return [{ port: 0x80, label: 'POST code' }];
  }

  in8(): number {
    return this.last < 0 ? 0xff : this.last;
  }

  out8(_port: number, value: number): void {
    this.last = value & 0xff;
    this.count++;
    this.history.push(this.last);
    if (this.history.length > this.keep) this.history.shift();
  }

  snapshot(): unknown {
    return { kind: 'post', last: this.last, count: this.count, history: this.history.slice() };
  }

  restore(state: unknown): void {
    const s = asState(state, 'post');
    this.last = Number(s.last);
    this.count = Number(s.count) || 0;
    this.history = Array.isArray(s.history) ? (s.history as number[]).slice() : [];
  }
}

/** The debug exit port: a write asks the machine to stop with that code. */
export class DebugExitPort implements IoDevice {
  readonly name = 'debug-exit';
  /** The code of the exit asked for and not yet taken by the machine (-1: none). */
  code = -1;

  constructor(
    readonly port = 0x501,
    /** Called on a write, so the machine can end the CPU's run at the next boundary. */
    private readonly onExit: (code: number) => void = () => {},
  ) {}

  ports(): PortLabel[] {
    return [{ port: this.port, label: 'debug exit (write: stop with this code)' }];
  }

  in8(): number {
    return 0xff;
  }

  private exit(code: number): void {
    this.code = code;
    this.onExit(code);
  }

  out8(_port: number, value: number): void {
    this.exit(value & 0xff);
  }

  out16(_port: number, value: number): void {
    this.exit(value & 0xffff);
  }

  out32(_port: number, value: number): void {
    this.exit(value >>> 0);
  }

  snapshot(): unknown {
    return { kind: 'debug-exit', code: this.code };
  }

  restore(state: unknown): void {
    this.code = Number(asState(state, 'debug-exit').code);
  }
}
