/*
 * An append-only byte log read by cursor: the serial console's output. The UART appends each
 * transmitted byte (an array store, no callback); readers (the worker, once per animation
 * frame, or labctl) pull everything since their cursor in one piece. Cursor n is the n-th
 * byte ever written; when the log outgrows its limit the oldest half is dropped, and a
 * reader that fell behind resumes at the oldest byte still held.
 */

import { asState } from './device';

export interface LogRead {
  /** The bytes from the cursor (or from the oldest byte still held) to the end. */
  bytes: Uint8Array;
  /** The cursor to pass next time. */
  next: number;
  /** Bytes the reader missed because they were dropped (0 normally). */
  dropped: number;
}

export class ByteLog {
  private buf: Uint8Array;
  private len = 0;
  /** Cursor of buf[0]. */
  private base = 0;

  constructor(private readonly limit = 4 << 20) {
    this.buf = new Uint8Array(Math.min(4096, limit));
  }

  /** Total bytes ever written: the cursor of the next byte. */
  get head(): number {
    return this.base + this.len;
  }

  push(byte: number): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[this.len++] = byte;
  }

  private grow(): void {
    if (this.buf.length < this.limit) {
      const bigger = new Uint8Array(Math.min(this.buf.length * 2, this.limit));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
      return;
    }
    const keep = this.len >> 1;
    this.buf.copyWithin(0, this.len - keep, this.len);
    this.base += this.len - keep;
    this.len = keep;
  }

  read(cursor: number): LogRead {
    const from = Math.max(cursor, this.base);
    const start = Math.min(from - this.base, this.len);
    return { bytes: this.buf.slice(start, this.len), next: this.head, dropped: Math.max(0, this.base - cursor) };
  }

  clear(): void {
    this.len = 0;
    this.base = 0;
  }

  snapshot(): unknown {
    return { kind: 'bytelog', base: this.base, data: this.buf.slice(0, this.len) };
  }

  restore(state: unknown): void {
    const s = asState(state, 'bytelog');
    if (typeof s.base !== 'number' || !(s.data instanceof Uint8Array || Array.isArray(s.data))) throw new Error('snapshot: malformed console log');
    const data = Uint8Array.from(s.data as ArrayLike<number>);
    this.buf = new Uint8Array(Math.max(4096, data.length));
    this.buf.set(data);
    this.len = data.length;
    this.base = s.base;
  }
}
