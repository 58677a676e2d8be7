/*
 * The disassembler: bytes back to NASM-style Intel syntax, for the CPU view and the trace.
 * It decodes with the CPU's own opcode table (x86/opcodes.ts: ROW_INDEX, HAS_MODRM), so it
 * shows exactly what the emulated CPU will execute, and prints the way ndisasm does
 * (`mov eax,[ebx+ecx*4+0x8]`, `add eax,byte +0x4`, `jmp short 0x21`), with a few deliberate
 * differences: conditional jumps and SETcc use the table's names (je, jb, ...) where
 * ndisasm says jz, jc, ...; a near E9 jump is printed `jmp near` and a rel8 conditional
 * jump `je short`, so that the text assembles back to the same bytes (NASM, like us, never
 * makes a short jump to a bare number unless told to); direct far pointers carry no `near`. System instructions carry a one-line note in plain
 * English for the UI ("lgdt: load the GDT register").
 */

import { ATTR_ADDRSIZE, ATTR_FPU, ATTR_UD, EXT_NONE, HAS_MODRM, OPCODE_ROWS, ROW_INDEX, type OpcodeRow } from '../x86/opcodes';

export interface DisasmLine {
  address: number;
  length: number;
  bytes: Uint8Array;
  /** NASM-style text, e.g. "mov eax,[ebx+0x4]" */
  text: string;
  mnemonic: string;
  /** a plain-English note for system instructions, else null */
  note: string | null;
  /** the target address of a direct jump or call, else -1 */
  target: number;
  /** index of the opcode-table row (OPCODE_ROWS) it decoded as, -1 for bad bytes */
  row: number;
}

export interface DisasmOptions {
  /** address of code[offset] (default 0) */
  address?: number;
  /** 16 or 32 (default 32) */
  bits?: 16 | 32;
  /** start offset in `code` (default 0) */
  offset?: number;
  /** stop after this many instructions (default: to the end) */
  count?: number;
}

const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'seg6', 'seg7'];
const EA16 = ['bx+si', 'bx+di', 'bp+si', 'bp+di', 'si', 'di', 'bp', 'bx'];
const SEG_PREFIX: Record<number, string> = { 0x26: 'es', 0x2e: 'cs', 0x36: 'ss', 0x3e: 'ds', 0x64: 'fs', 0x65: 'gs' };

/** One-line notes for the instructions a student of virtualization cares about. */
const NOTES: Record<string, string> = {
  cli: 'disable interrupts',
  sti: 'enable interrupts',
  hlt: 'halt until the next interrupt',
  iret: 'return from interrupt',
  iretd: 'return from interrupt',
  int: 'software interrupt (system call or hypercall gate)',
  int3: 'breakpoint trap',
  into: 'trap if overflow',
  lgdt: 'load the GDT register',
  lidt: 'load the IDT register',
  sgdt: 'store the GDT register (not privileged: a classic virtualization hole)',
  sidt: 'store the IDT register (not privileged: a classic virtualization hole)',
  lldt: 'load the LDT register',
  sldt: 'store the LDT register',
  ltr: 'load the task register (TSS)',
  str: 'store the task register',
  lmsw: 'load the machine status word (low CR0)',
  smsw: 'store the machine status word (not privileged: a classic virtualization hole)',
  invlpg: 'flush one page from the TLB',
  clts: 'clear CR0.TS (task switched)',
  invd: 'invalidate caches',
  wbinvd: 'write back and invalidate caches',
  in: 'read an I/O port',
  out: 'write an I/O port',
  insb: 'read an I/O port into memory',
  insw: 'read an I/O port into memory',
  insd: 'read an I/O port into memory',
  outsb: 'write memory to an I/O port',
  outsw: 'write memory to an I/O port',
  outsd: 'write memory to an I/O port',
  pushf: 'push EFLAGS (shows the real IF even in ring 1: a virtualization hole)',
  pushfd: 'push EFLAGS (shows the real IF even in ring 1: a virtualization hole)',
  popf: 'pop EFLAGS (silently keeps IF when CPL > IOPL: a virtualization hole)',
  popfd: 'pop EFLAGS (silently keeps IF when CPL > IOPL: a virtualization hole)',
  cpuid: 'identify the processor',
  rdtsc: 'read the time-stamp counter',
  lar: 'load access rights of a segment',
  lsl: 'load a segment limit',
  verr: 'check a segment is readable',
  verw: 'check a segment is writable',
  arpl: 'adjust a selector RPL',
  ud2: 'undefined instruction (raises #UD)',
  wait: 'wait for the FPU',
  lss: 'load SS:ESP together (a stack switch)',
  retf: 'far return (may change privilege level)',
};

function crNote(cr: number, write: boolean): string {
  if (write) {
    if (cr === 3) return 'switch address space (load the page directory base, flush the TLB)';
    if (cr === 0) return 'write CR0 (protection, paging, write-protect bits)';
    if (cr === 4) return 'write CR4 (page size extensions)';
    return `write CR${cr}`;
  }
  if (cr === 2) return 'read CR2: the address that caused the page fault';
  if (cr === 3) return 'read CR3: the current page directory';
  return `read CR${cr}`;
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16);
const signedHex = (n: number): string => (n < 0 ? '-0x' + (-n).toString(16) : '+0x' + n.toString(16));

class Reader {
  pos: number;
  constructor(
    readonly code: Uint8Array,
    start: number,
    readonly limit: number,
  ) {
    this.pos = start;
  }
  u8(): number {
    if (this.pos >= this.limit) throw new RangeError('truncated');
    return this.code[this.pos++];
  }
  u16(): number {
    return this.u8() | (this.u8() << 8);
  }
  u32(): number {
    return (this.u16() | (this.u16() << 16)) >>> 0;
  }
  imm(size: number): number {
    return size === 1 ? this.u8() : size === 2 ? this.u16() : this.u32();
  }
}

interface Decoded {
  row: OpcodeRow | undefined;
  text: string;
  target: number;
  note: string | null;
  mnemonic: string;
}

/** Decodes one instruction at code[offset]; never throws (bad bytes come out as `db`). */
export function disassembleOne(code: Uint8Array, offset: number, address: number, bits: 16 | 32): DisasmLine {
  if (bits !== 16) bits = 32;
  const limit = Math.min(code.length, offset + 15);
  const r = new Reader(code, offset, limit);
  let d: Decoded;
  try {
    d = decode(r, address, offset, bits);
  } catch {
    r.pos = offset + 1;
    d = { row: undefined, text: `db ${hex(code[offset] ?? 0)}`, target: -1, note: null, mnemonic: 'db' };
  }
  const length = r.pos - offset;
  return { address, length, bytes: code.slice(offset, offset + length), text: d.text, mnemonic: d.mnemonic, note: d.note, target: d.target, row: d.row ? d.row.index : -1 };
}

function decode(r: Reader, address: number, start: number, bits: 16 | 32): Decoded {
  let osz = bits;
  let asz = bits;
  let seg = '';
  let rep = '';
  let lock = false;
  let b: number;
  const bad = (): Decoded => {
    r.pos = start + 1;
    return { row: undefined, text: `db ${hex(r.code[start])}`, target: -1, note: null, mnemonic: 'db' };
  };
  for (;;) {
    b = r.u8();
    if (b === 0x66) osz = bits === 32 ? 16 : 32;
    else if (b === 0x67) asz = bits === 32 ? 16 : 32;
    else if (b === 0xf0) lock = true;
    else if (b === 0xf2) rep = 'repne';
    else if (b === 0xf3) rep = 'rep';
    else if (SEG_PREFIX[b]) seg = SEG_PREFIX[b];
    else break;
  }
  let map: 1 | 2 = 1;
  if (b === 0x0f) {
    map = 2;
    b = r.u8();
  }
  const code = (map - 1) * 256 + b;
  let modrm = -1;
  if (HAS_MODRM[code]) modrm = r.u8();
  const idx = ROW_INDEX[code * 8 + (modrm >= 0 ? (modrm >> 3) & 7 : 0)];
  if (idx === 0) return bad();
  const row = OPCODE_ROWS[idx - 1];
  if (row.attrs & (ATTR_UD | ATTR_FPU) && row.mnemonic !== 'ud2') return bad();
  const mod = modrm >> 6;
  const regf = (modrm >> 3) & 7;
  const rmf = modrm & 7;
  const wide = row.attrs & ATTR_ADDRSIZE ? asz === 32 : osz === 32;
  let mnem = wide ? row.mnemonic32 : row.mnemonic;
  // NASM names for the mode-sized forms with an operand-size prefix
  if (row.mnemonic !== row.mnemonic32 && ['pusha', 'popa', 'pushf', 'popf', 'iret'].includes(row.mnemonic)) {
    mnem = osz === bits ? row.mnemonic : osz === 16 ? row.mnemonic + 'w' : row.mnemonic32;
  }
  if (row.byte === 0xd4 || row.byte === 0xd5) mnem = row.mnemonic;
  const codes = row.operands;
  const implicit = codes.some((c) => c[0] === 'X' || c[0] === 'Y');
  const ops: string[] = [];
  let target = -1;
  let memText = '';
  // the memory operand, if any
  const hasE = codes.some((c) => c[0] === 'E' || c[0] === 'M');
  if (hasE && mod !== 3) memText = readEa(r, mod, rmf, asz, seg);
  else if (hasE && codes.some((c) => c[0] === 'M')) return bad();
  const regName = (n: number, size: string): string => {
    if (size === 'b') return R8[n];
    if (size === 'w') return R16[n];
    if (size === 'd') return R32[n];
    return osz === 32 ? R32[n] : R16[n];
  };
  // a register operand (other than a shift count) already tells the memory operand's size
  const hasRegOp = codes.some((c) => /^[GZSCDR][a-z]/.test(c) || ['AL', 'AX', 'eAX', 'DX'].includes(c));
  const memSize = (sfx: string): string => {
    if (sfx === 'b') return 'byte ';
    if (sfx === 'w') return 'word ';
    if (sfx === 'v') return osz === 32 ? 'dword ' : 'word ';
    return '';
  };
  for (const c of implicit ? [] : codes) {
    const k = c[0];
    const sfx = c.slice(1);
    if (c === 'AL') ops.push('al');
    else if (c === 'CL') ops.push('cl');
    else if (c === 'DX') ops.push('dx');
    else if (c === 'AX') ops.push('ax');
    else if (c === 'eAX') ops.push(osz === 32 ? 'eax' : 'ax');
    else if (c === '1') ops.push('1');
    else if (['ES', 'CS', 'SS', 'DS', 'FS', 'GS'].includes(c)) ops.push(c.toLowerCase());
    else if (k === 'E' || k === 'M' || k === 'R') {
      if (mod === 3) {
        if (k === 'R') ops.push(R32[rmf]);
        else if (row.byte === 0x8e && map === 1) ops.push(regName(rmf, 'v'));
        else ops.push(regName(rmf, sfx === 'w' && (row.size === 'v' || row.mnemonic === 'arpl' || row.size === 'w') && !['sldt', 'str', 'smsw'].includes(row.mnemonic) ? 'w' : sfx === 'w' ? 'v' : sfx));
      } else {
        let size = '';
        const movx = row.mnemonic === 'movzx' || row.mnemonic === 'movsx';
        if (k === 'M' && sfx === 'p' && (row.mnemonic === 'call' || row.mnemonic === 'jmp')) size = 'far ';
        else if (movx) size = sfx === 'b' && osz === 16 ? '' : memSize(sfx);
        else if (k === 'E' && !hasRegOp && row.size !== 'w' && row.sem !== 'setcc' && !((row.mnemonic === 'call' || row.mnemonic === 'jmp') && sfx === 'v')) size = memSize(sfx);
        ops.push(size + memText);
      }
    } else if (k === 'G') ops.push(regName(regf, sfx === 'w' && row.mnemonic === 'arpl' ? 'w' : sfx));
    else if (k === 'Z') ops.push(regName(b - row.byte, sfx));
    else if (k === 'S') ops.push(SREG[regf]);
    else if (k === 'C') ops.push('cr' + regf);
    else if (k === 'D') ops.push('dr' + regf);
    else if (k === 'O') {
      const disp = r.imm(asz / 8);
      ops.push(`[${seg ? seg + ':' : ''}${hex(disp)}]`);
    } else if (k === 'I') {
      if (sfx === 'bs') {
        const v = (r.u8() << 24) >> 24;
        ops.push(`byte ${signedHex(v)}`);
      } else if (sfx === 'b') {
        const v = r.u8();
        // ndisasm marks the count of C0/C1 shifts and of BT-group bit numbers
        const pre = (map === 1 && (row.byte === 0xc0 || row.byte === 0xc1)) || (map === 2 && row.byte === 0xba) ? 'byte ' : '';
        ops.push(pre + hex(v));
      } else if (sfx === 'w') ops.push(hex(r.u16()));
      else {
        const v = r.imm(osz / 8);
        ops.push((row.mnemonic === 'push' || codes.length === 3 ? (osz === 32 ? 'dword ' : 'word ') : '') + hex(v));
      }
    } else if (k === 'J') {
      const size = sfx === 'b' ? 1 : osz / 8;
      let rel = r.imm(size);
      if (size === 1) rel = (rel << 24) >> 24;
      else if (size === 2) rel = (rel << 16) >> 16;
      else rel |= 0;
      const next = address + (r.pos - start);
      // with a 16-bit operand size the new EIP is cut to 16 bits
      target = osz === 16 ? (next + rel) & 0xffff : (next + rel) >>> 0;
      // `short` on every rel8 jump that has a longer form, so the text reassembles to rel8
      let dist = sfx === 'b' ? (row.byte === 0xeb || row.sem === 'jcc' ? 'short ' : '') : map === 2 || row.byte === 0xe9 ? 'near ' : '';
      if (sfx === 'z' && osz !== bits) dist = osz === 32 ? 'dword ' : 'word ';
      ops.push(dist + hex(target));
    } else if (k === 'A') {
      const off = r.imm(osz / 8);
      const sel = r.u16();
      ops.push(`${osz !== bits ? (osz === 32 ? 'dword ' : 'word ') : ''}${hex(sel)}:${hex(off)}`);
    } else return bad();
  }
  if (mnem === 'aam' || mnem === 'aad') {
    if (ops[0] === '0xa') ops.length = 0;
  }
  // xchg reads better (and reassembles identically) with the reg-field operand first
  if (row.sem === 'xchg') ops.reverse();
  let text = mnem + (ops.length ? ' ' + ops.join(',') : '');
  // push imm8 with a size prefix: the prefix is the only sign of the size
  if (row.mnemonic === 'push' && codes[0] === 'Ibs' && osz !== bits) text = `o${osz} ${text}`;
  // segment overrides that are not part of a memory operand print as a prefix (es lodsb)
  if (seg && !memText && !codes.some((c) => c[0] === 'O')) text = `${seg} ${text}`;
  // an address-size prefix with no ModRM address to show it (moffs, string instructions)
  if (asz !== bits && !(row.attrs & ATTR_ADDRSIZE) && !(memText && mod !== 3 && hasE)) {
    if (codes.some((c) => c[0] === 'O' || c[0] === 'X' || c[0] === 'Y')) text = `a${asz} ${text}`;
  }
  if (rep) text = `${rep} ${text}`;
  if (lock) text = `lock ${text}`;
  let note: string | null = NOTES[mnem] ?? null;
  if (row.sem === 'mov_to_cr') note = crNote(regf, true);
  else if (row.sem === 'mov_from_cr') note = crNote(regf, false);
  else if (row.sem === 'mov_to_dr' || row.sem === 'mov_from_dr') note = 'debug register access';
  else if (row.sem === 'mov_to_sreg') note = regf === 2 ? 'load SS (interrupts held off for one instruction)' : 'load a segment register (checks the descriptor)';
  else if (row.sem === 'jmp_far' || row.sem === 'call_far') note = 'far transfer (loads CS; may go through a gate)';
  if (mnem === 'int' && ops[0]) note = `software interrupt ${ops[0]}${ops[0] === '0x80' ? ' (system call)' : ops[0] === '0x82' ? ' (Xen hypercall)' : ''}`;
  if (row.ext === EXT_NONE && mnem === 'nop') note = null;
  return { row, text, target, note, mnemonic: mnem };
}

function readEa(r: Reader, mod: number, rm: number, asz: number, seg: string): string {
  const pre = seg ? seg + ':' : '';
  if (asz === 16) {
    if (mod === 0 && rm === 6) return `[${pre}${hex(r.u16())}]`;
    let disp = 0;
    if (mod === 1) disp = (r.u8() << 24) >> 24;
    else if (mod === 2) disp = (r.u16() << 16) >> 16;
    return `[${pre}${oddDisp(mod, disp, rm === 6, 'word')}${EA16[rm]}${mod === 0 ? '' : signedHex(disp)}]`;
  }
  let base = rm;
  let index = -1;
  let scale = 1;
  if (rm === 4) {
    const sib = r.u8();
    base = sib & 7;
    index = (sib >> 3) & 7;
    scale = 1 << (sib >> 6);
    if (index === 4) index = -1;
    if (base === 5 && mod === 0) base = -1;
  } else if (rm === 5 && mod === 0) base = -1;
  let disp = 0;
  let hasDisp = false;
  if (mod === 1) {
    disp = (r.u8() << 24) >> 24;
    hasDisp = true;
  } else if (mod === 2 || base < 0) {
    disp = r.u32() | 0;
    hasDisp = true;
  }
  let s = '';
  if (base >= 0) s += R32[base];
  // NASM would turn a lone eax*1 or eax*2 into a base register: say nosplit to keep it
  if (index >= 0) s += (s ? '+' : scale <= 2 ? 'nosplit ' : '') + R32[index] + (scale > 1 || base < 0 ? `*${scale}` : '');
  // a ModRM address with no registers is a 32-bit displacement (unlike the moffs forms)
  if (!s) return `[${pre}dword ${hex(disp)}]`;
  if (hasDisp) s += signedHex(disp);
  return `[${pre}${base >= 0 ? oddDisp(mod, disp, base === 5, 'dword') : ''}${s}]`;
}

/**
 * Marks a displacement NASM would not choose (disp32 holding a small number, disp8 of 0 on
 * a base that needs none) with `dword`/`byte`, so the text reassembles to the same bytes.
 */
function oddDisp(mod: number, disp: number, bpBase: boolean, wide: string): string {
  if (mod === 2 && disp >= -128 && disp <= 127) return wide + ' ';
  if (mod === 1 && disp === 0 && !bpBase) return 'byte ';
  return '';
}

/** Disassembles a block of code. */
export function disassemble(code: Uint8Array, options: DisasmOptions = {}): DisasmLine[] {
  const bits = options.bits ?? 32;
  let off = options.offset ?? 0;
  let addr = options.address ?? 0;
  const out: DisasmLine[] = [];
  const max = options.count ?? Infinity;
  while (off < code.length && out.length < max) {
    const l = disassembleOne(code, off, addr, bits);
    out.push(l);
    off += l.length;
    addr += l.length;
  }
  return out;
}

/** Formats lines the way ndisasm does: address, hex bytes, text. */
export function formatListing(lines: readonly DisasmLine[]): string {
  return lines
    .map((l) => `${(l.address >>> 0).toString(16).toUpperCase().padStart(8, '0')}  ${[...l.bytes].map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join('').padEnd(18)}${l.text}`)
    .join('\n');
}
