/*
 * Physical memory: one Uint8Array of RAM, as the memory bus sees it. Every writer (CPU
 * stores, the loader, devices) goes through here, so the CPU's cache of decoded code can be
 * told when a page that holds code is written (self-modifying code, and a hypervisor that
 * patches guest code). Addresses at or beyond the end of RAM read as all ones and drop
 * writes, as an unpopulated bus does. Next: cpu.ts, the reader of all this.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export class PhysicalMemory {
  readonly size: number;
  readonly u8: Uint8Array;
  /** One byte per 4 KiB frame: nonzero while decoded code from that frame is cached. */
  readonly codePages: Uint8Array;
  /** Called with a frame number when a frame marked in codePages is written. */
  onCodeWrite: (frame: number) => void = () => {};

  constructor(size: number) {
    if (size <= 0 || size % PAGE_SIZE !== 0) throw new RangeError(`memory size ${size} is not a positive multiple of 4 KiB`);
    this.size = size;
    this.u8 = new Uint8Array(size);
    this.codePages = new Uint8Array(size >>> PAGE_SHIFT);
  }

  read8(pa: number): number {
    return pa < this.size ? this.u8[pa] : 0xff;
  }
  read16(pa: number): number {
    return this.read8(pa) | (this.read8(pa + 1) << 8);
  }
  read32(pa: number): number {
    if (pa + 3 < this.size) {
      const m = this.u8;
      return m[pa] | (m[pa + 1] << 8) | (m[pa + 2] << 16) | (m[pa + 3] << 24);
    }
    return this.read16(pa) | (this.read16(pa + 2) << 16);
  }

  write8(pa: number, v: number): void {
    if (pa >= this.size) return;
    const frame = pa >>> PAGE_SHIFT;
    if (this.codePages[frame] !== 0) this.onCodeWrite(frame);
    this.u8[pa] = v;
  }
  write16(pa: number, v: number): void {
    this.write8(pa, v & 0xff);
    this.write8(pa + 1, (v >>> 8) & 0xff);
  }
  write32(pa: number, v: number): void {
    if (pa + 3 < this.size && (pa & 0xfff) <= 0xffc && this.codePages[pa >>> PAGE_SHIFT] === 0) {
      const m = this.u8;
      m[pa] = v;
      m[pa + 1] = v >>> 8;
      m[pa + 2] = v >>> 16;
      m[pa + 3] = v >>> 24;
      return;
    }
    this.write16(pa, v & 0xffff);
    this.write16(pa + 2, (v >>> 16) & 0xffff);
  }

  /** Copies bytes in (the loader, snapshots); drops decoded code for every frame touched. */
  load(pa: number, bytes: Uint8Array): void {
    if (pa < 0 || pa + bytes.length > this.size) {
      throw new RangeError(`load of ${bytes.length} bytes at 0x${pa.toString(16)} is outside ${this.size} bytes of RAM`);
    }
    this.u8.set(bytes, pa);
    const last = (pa + Math.max(bytes.length, 1) - 1) >>> PAGE_SHIFT;
    for (let f = pa >>> PAGE_SHIFT; f <= last; f++) if (this.codePages[f] !== 0) this.onCodeWrite(f);
  }
}
