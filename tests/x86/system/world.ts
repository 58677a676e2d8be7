/*
 * A protected-mode "world" for the system-architecture tests: a GDT, an IDT and a TSS
 * written into physical memory with the same bit layouts the manual draws, so a test can
 * say "a ring-1 code segment" or "a trap gate with DPL 3" and then watch the CPU use it.
 *
 * Memory map (physical = linear, paging off unless a test turns it on):
 *   0x0600  GDTR pseudo-descriptor (limit, base)   0x0608  IDTR pseudo-descriptor
 *   0x0800  exception log (see LOG_* below, filled by the asm prelude's handlers)
 *   0x1000  GDT (see Sel)      0x2000  IDT (256 gates)      0x3000  TSS (+ I/O bitmap)
 *   0x3800  LDT                0x10000 code (prelude + test body)
 *   stacks: ring 0 top 0x9f000, ring 1 0x8f000, ring 2 0x7f000, ring 3 0x6f000
 */

export const GDT = 0x1000, IDT = 0x2000, TSS = 0x3000, LDT = 0x3800;
export const GDTR_AT = 0x600, IDTR_AT = 0x608;
export const LOG = 0x800, LOG_ENTRIES = LOG + 32, LOG_ENTRY_SIZE = 32;
export const HOOK = 0x7f0, SKIP = 0x7f4;
export const CODE = 0x10000;
export const STACK0 = 0x9f000, STACK1 = 0x8f000, STACK2 = 0x7f000, STACK3 = 0x6f000;

/** Selectors of the standard GDT (RPL = DPL where it matters). */
export const Sel = {
  code0: 0x08, data0: 0x10, code1: 0x19, data1: 0x21, code3: 0x2b, data3: 0x33,
  tss: 0x38, dataNotPresent: 0x43, execOnly0: 0x48, readOnly0: 0x50, gateA: 0x58, gateB: 0x60,
  ldt: 0x68, conforming0: 0x70, code16: 0x78, small0: 0x80, tss2: 0x88, code2: 0x92, data2: 0x9a,
  codeNotPresent1: 0xa1, data0dpl0at3: 0xa8,
} as const;
export const GDT_LIMIT = 0xaf;

/** Access bytes. */
export const Acc = {
  code: 0x9a, data: 0x92, execOnly: 0x98, readOnly: 0x90, conforming: 0x9e,
  tss32: 0x89, ldt: 0x82, callGate32: 0x8c, callGate16: 0x84, intGate32: 0x8e, trapGate32: 0x8f,
  intGate16: 0x86, trapGate16: 0x87, taskGate: 0x85,
} as const;

export interface Mem {
  u8: Uint8Array;
  write32(pa: number, v: number): void;
  write16(pa: number, v: number): void;
  read32(pa: number): number;
  read16(pa: number): number;
}

/** Writes an 8-byte code/data/system segment descriptor. flags: G(8) D/B(4) nibble. */
export function writeSeg(mem: Mem, at: number, base: number, limit: number, access: number, flags: number): void {
  mem.write32(at, ((base & 0xffff) << 16) | (limit & 0xffff));
  mem.write32(at + 4, (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff));
}

/** Writes a gate (call/interrupt/trap/task): selector, offset, access byte, param count. */
export function writeGate(mem: Mem, at: number, sel: number, offset: number, access: number, params = 0): void {
  mem.write32(at, ((sel & 0xffff) << 16) | (offset & 0xffff));
  mem.write32(at + 4, (offset & 0xffff0000) | ((access & 0xff) << 8) | (params & 0x1f));
}

/** The address of the asm prelude's stub for `vector` (see prelude.ts). */
export function stubAddr(vector: number): number {
  return CODE + 0x100 + vector * 16;
}

/** Access byte with a DPL. */
export function dpl(access: number, d: number): number {
  return (access & ~0x60) | (d << 5);
}

/** Builds the standard GDT, IDT (every vector an interrupt gate to its ring-0 stub) and TSS. */
export function buildWorld(mem: Mem): void {
  const g = (sel: number, base: number, limit: number, access: number, flags: number) =>
    writeSeg(mem, GDT + (sel & ~7), base, limit, access, flags);
  g(0x08, 0, 0xfffff, Acc.code, 0xc);
  g(0x10, 0, 0xfffff, Acc.data, 0xc);
  g(0x18, 0, 0xfffff, dpl(Acc.code, 1), 0xc);
  g(0x20, 0, 0xfffff, dpl(Acc.data, 1), 0xc);
  g(0x28, 0, 0xfffff, dpl(Acc.code, 3), 0xc);
  g(0x30, 0, 0xfffff, dpl(Acc.data, 3), 0xc);
  g(0x38, TSS, 0x68 + 32, Acc.tss32, 0);
  g(0x40, 0, 0xfffff, dpl(Acc.data, 3) & ~0x80, 0xc);
  g(0x48, 0, 0xfffff, Acc.execOnly, 0xc);
  g(0x50, 0, 0xfffff, Acc.readOnly, 0xc);
  // 0x58, 0x60: call gates, written by the tests that use them.
  g(0x68, LDT, 0x17, Acc.ldt, 0);
  g(0x70, 0, 0xfffff, Acc.conforming, 0xc);
  g(0x78, 0, 0xffff, Acc.code, 0);
  g(0x80, 0x40000, 0xfff, Acc.data, 0x4);
  g(0x88, TSS + 0x200, 0x67, Acc.tss32, 0);
  g(0x90, 0, 0xfffff, dpl(Acc.code, 2), 0xc);
  g(0x98, 0, 0xfffff, dpl(Acc.data, 2), 0xc);
  g(0xa0, 0, 0xfffff, dpl(Acc.code, 1) & ~0x80, 0xc);
  g(0xa8, 0, 0xfffff, Acc.data, 0xc);
  // The LDT: one ring-3 data segment (selector 0x07 = index 0, TI, RPL 3), one ring-0 data (0x0c).
  writeSeg(mem, LDT, 0x50000, 0xffff, dpl(Acc.data, 3), 0x4);
  writeSeg(mem, LDT + 8, 0, 0xfffff, Acc.data, 0xc);

  mem.write16(GDTR_AT, GDT_LIMIT);
  mem.write32(GDTR_AT + 2, GDT);
  mem.write16(IDTR_AT, 256 * 8 - 1);
  mem.write32(IDTR_AT + 2, IDT);
  for (let v = 0; v < 256; v++) writeGate(mem, IDT + v * 8, Sel.code0, stubAddr(v), Acc.intGate32);

  // TSS: ring stacks, then the I/O permission bitmap at 0x68 (ports 0..255: denied but 0x80, 0x61).
  mem.write32(TSS + 4, STACK0); mem.write16(TSS + 8, Sel.data0);
  mem.write32(TSS + 12, STACK1); mem.write16(TSS + 16, Sel.data1);
  mem.write32(TSS + 20, STACK2); mem.write16(TSS + 24, Sel.data2 | 2);
  mem.write16(TSS + 0x66, 0x68);
  for (let i = 0; i < 32; i++) mem.u8[TSS + 0x68 + i] = 0xff;
  mem.u8[TSS + 0x68 + (0x80 >> 3)] &= ~(1 << (0x80 & 7));
  mem.u8[TSS + 0x68 + (0x61 >> 3)] &= ~(1 << (0x61 & 7));
  mem.u8[TSS + 0x68 + 32] = 0xff;
  mem.write32(LOG, 0);
}

/** The gate for `vector` in the standard IDT. */
export function setGate(mem: Mem, vector: number, sel: number, access: number, offset = stubAddr(vector)): void {
  writeGate(mem, IDT + vector * 8, sel, offset, access);
}

export interface LogEntry {
  vector: number; err: number; eip: number; cs: number; eflags: number;
  /** SS:ESP pushed by a ring change (0 when the handler ran in the same ring). */
  esp: number; ss: number;
  /** CS the handler ran with. */
  handlerCs: number;
}

/** The entries the prelude's common handler logged. */
export function readLog(mem: Mem): LogEntry[] {
  const n = mem.read32(LOG);
  const out: LogEntry[] = [];
  for (let i = 0; i < n && i < 64; i++) {
    const at = LOG_ENTRIES + i * LOG_ENTRY_SIZE;
    out.push({
      vector: mem.read32(at), err: mem.read32(at + 4), eip: mem.read32(at + 8) >>> 0,
      cs: mem.read32(at + 12) & 0xffff, eflags: mem.read32(at + 16) >>> 0,
      esp: mem.read32(at + 20) >>> 0, ss: mem.read32(at + 24) & 0xffff, handlerCs: mem.read32(at + 28) & 0xffff,
    });
  }
  return out;
}
