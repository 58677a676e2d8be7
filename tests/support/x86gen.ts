/*
 * The differential test generator. From the shared opcode table (workers/x86/opcodes.ts)
 * it makes, with a seeded PRNG, many one-instruction "snippets" (every row that can run
 * safely in ring 0 of a flat 32-bit kernel, several times each, with random operands,
 * random register and flag values, and 16-bit operand forms through the 0x66 prefix), and
 * wraps them in ONE Multiboot kernel written as NASM source. The kernel runs each snippet
 * from a known state and writes a fixed-size binary record of the outcome to COM1:
 *
 *   dword tag        0 = ran to the end; 0x100 | vector = raised that exception
 *   dword x8         EAX ECX EDX EBX ESP EBP ESI EDI
 *   dword eflags     after the instruction (for an exception: the EFLAGS image pushed)
 *   dword ds|es<<16, fs|gs<<16   the data segment selectors
 *   dword checksum   of the 2 KiB scratch area the snippet's memory operands point into,
 *                    and of the 16 bytes before the page-fault region's absent page
 *   dword eip, err   for an exception: the pushed EIP and error code (0 otherwise)
 *   dword cr2        the page-fault address register (set by the last #PF)
 *
 * and "DIFFDONE\n" after the last one. With the `paging` kernel option the kernel first turns
 * on paging (identity map, one aliased page, one absent and one read-only page with CR0.WP)
 * and a share of the memory operands and string pointers aim at those pages, so #PF error
 * codes, CR2 and the restartability of faulting (REP) instructions are compared too.
 * The same image runs in v86 and in our Machine;
 * tests/x86/differential.test.ts compares the records, masking the flags the manual leaves
 * undefined (the table's undef column, plus the per-case rules in `Snippet.undefFlags`).
 *
 * Rows left out, and why: far transfers, IRET, INT n, HLT, I/O, STI and segment loads
 * change machine state the harness relies on (they are the system tests' business);
 * privileged control-register and table loads likewise; CPUID and RDTSC differ by design;
 * the x87 escapes need an FPU. Address-size (0x67) forms are not generated: the scratch
 * area lives above 1 MiB, out of reach of 16-bit addresses.
 */

import {
  OPCODE_ROWS, ATTR_FPU, ATTR_JUMP, ATTR_LOCK, CF, OF, AF, SF, ZF, PF, DF, IOPL, NT,
  type OpcodeRow,
} from '../../workers/x86/opcodes';

export const LOAD_ADDR = 0x100000;
export const KSTACK = 0x2f0000;
/** The harness's variables (one page of their own). */
export const VARS = 0x2e0000;
/** The scratch area straddles a page boundary (0x301000), so split accesses are exercised. */
export const SCRATCH = 0x300e00;
export const SCRATCH_SIZE = 0x800;
/** ESP at the start of every snippet: inside the scratch area, so pushes are checksummed. */
export const SNIP_ESP = SCRATCH + 0x600;
export const RECORD_DWORDS = 16;
export const RECORD_BYTES = RECORD_DWORDS * 4;
export const DONE_MARK = 'DIFFDONE\n';
const RF_BIT = 0x10000;

/** A small deterministic PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number { return this.u32() % n; }
  chance(p: number): boolean { return this.u32() / 4294967296 < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
  /** A 32-bit value biased towards the edges where flags change. */
  value(): number {
    if (this.chance(0.3)) return this.pick([0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0xffff, 0x8000, 0x7fff, 0x7f, 0x80, 0xff, 0x100, 2, 0xfffffffe]);
    return this.u32();
  }
}

export interface Snippet {
  index: number;
  row: OpcodeRow;
  /** Instruction bytes, prefixes included. */
  bytes: number[];
  /** Human-readable description for reports. */
  text: string;
  /** Operand size in bits (8, 16 or 32) for the row's data. */
  opsize: number;
  /** EFLAGS bits to ignore when comparing (the row's undef column plus case rules). */
  undefFlags: number;
  /** Registers (encoding order) whose value is undefined when ZF ends up set (BSF/BSR of 0). */
  undefRegIfZf: number;
  /** [register, bits] pairs: bits of that register's result the manual leaves undefined. */
  undefRegBits: Array<[number, number]>;
  /** For BOUND with a memory operand: whether the index is out of bounds (#BR expected). */
  boundOut: boolean | null;
  /** Why `undefFlags` has more than the table's bits (for reports). */
  notes: string[];
  /** Register values (encoding order) loaded before the instruction runs. */
  initRegs: readonly number[];
  /** EFLAGS loaded before the instruction runs. */
  initFlags: number;
}

const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

/** Semantic keys left out of the differential run (see the header for why). */
export const EXCLUDED_SEMS = new Set([
  'call_far', 'jmp_far', 'retf', 'iret', 'int', 'hlt', 'in', 'out', 'ins', 'outs', 'sti',
  'pop_sreg', 'mov_to_sreg', 'wait', 'fpu', 'mov_from_cr', 'mov_to_cr', 'mov_from_dr', 'mov_to_dr',
  'lgdt', 'lidt', 'lldt', 'ltr', 'clts', 'invd', 'wbinvd', 'invlpg', 'cpuid', 'rdtsc', 'lmsw',
]);

/** Rows the generator runs. */
export function differentialRows(): OpcodeRow[] {
  return OPCODE_ROWS.filter((r) => !(r.attrs & ATTR_FPU) && !EXCLUDED_SEMS.has(r.sem));
}

interface Build {
  rng: Rng;
  regs: number[];
  flags: number;
  /** [address, dword] stores done after the scratch area is filled. */
  stores: Array<[number, number, number]>; // address, value, size in bytes
  prefixes: number[];
  body: number[];
  opsize: number;
  /** Registers pinned by addressing; a later random choice must not clobber them. */
  pinned: Set<number>;
  undef: number;
  undefRegIfZf: number;
  undefRegBits: Array<[number, number]>;
  boundOut: boolean | null;
  notes: string[];
  /** A target label the snippet must be able to reach: 'after' (past the skip byte). */
  needsTarget: boolean;
  targetFixups: Array<{ at: 'reg' | 'mem'; reg?: number; addr?: number }>;
  /** Set when this snippet's memory operand aims at the page-fault region instead. */
  faultTarget: number | null;
}

/**
 * The page-fault region of the paging kernel: 0x302000 present and writable, 0x303000 not
 * present, 0x304000 present but read-only (CR0.WP is on, so ring-0 writes fault too).
 */
export const FAULT_REGION = 0x302000;
/** Rows whose setup stores data at the memory operand: never aimed at the fault region. */
const NO_FAULT_SEMS = new Set(['bound', 'lxs', 'call', 'jmp', 'lar', 'lsl', 'verr', 'verw', 'popf', 'ret', 'enter', 'leave']);

const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);

function immSize(code: string, opsize: number): number {
  switch (code) {
    case 'Ib': case 'Ibs': case 'Jb': return 1;
    case 'Iw': return 2;
    case 'Iz': case 'Iv': case 'Jz': return opsize === 16 ? 2 : 4;
    default: return 0;
  }
}

/**
 * Emits a memory ModRM (+SIB, displacement) whose effective address is SCRATCH + off (or
 * the snippet's fault-region target), setting the base and index registers to match.
 */
function memModrm(b: Build, regField: number, off: number): number[] {
  const rng = b.rng;
  const target = b.faultTarget ?? SCRATCH + off;
  const free = (r: number) => r !== 4 && !b.pinned.has(r);
  const kind = rng.int(5);
  if (kind === 0) {
    // [disp32]
    return [(0 << 6) | (regField << 3) | 5, ...le(target, 4)];
  }
  if (kind === 4) {
    // SIB: base (maybe ESP, maybe none) + index*scale + disp
    const scale = rng.int(3);
    let index = rng.int(8);
    if (index !== 4 && !free(index)) index = 4;
    const idxVal = index === 4 ? 0 : rng.int(16);
    let base = rng.int(8);
    if (base !== 4 && !free(base)) base = 4;
    if (index !== 4 && index === base) index = 4;
    let mod = base === 5 && rng.chance(0.3) ? 0 : 1 + rng.int(2); // mod 0 with base 5: no base, disp32
    const useIdx = index === 4 ? 0 : idxVal << scale;
    let disp: number;
    if (mod === 0 && base === 5) {
      disp = target - useIdx;
    } else if (base === 4) {
      // ESP is SNIP_ESP when the instruction starts.
      disp = target - SNIP_ESP - useIdx;
      if (mod === 1 && (disp < -128 || disp > 127)) mod = 2; // needs a 32-bit displacement
    } else {
      disp = mod === 1 ? rng.int(256) - 128 : rng.value() | 0;
      if (mod === 0) disp = 0;
    }
    if (index !== 4) { b.regs[index] = idxVal; b.pinned.add(index); }
    if (base !== 4 && !(mod === 0 && base === 5)) {
      b.regs[base] = (target - useIdx - disp) >>> 0;
      b.pinned.add(base);
    }
    const sib = (scale << 6) | (index << 3) | base;
    const dispBytes = mod === 1 ? le(disp, 1) : mod === 2 || (mod === 0 && base === 5) ? le(disp, 4) : [];
    return [(mod << 6) | (regField << 3) | 4, sib, ...dispBytes];
  }
  // [base], [base+disp8], [base+disp32]
  let base = rng.pick([0, 1, 2, 3, 5, 6, 7]);
  for (let tries = 0; !free(base) && tries < 8; tries++) base = rng.pick([0, 1, 2, 3, 5, 6, 7]);
  if (!free(base)) return [(0 << 6) | (regField << 3) | 5, ...le(target, 4)];
  let mod = kind === 1 ? 0 : kind === 2 ? 1 : 2;
  if (base === 5 && mod === 0) mod = 1; // [ebp] needs a displacement
  const disp = mod === 1 ? rng.int(256) - 128 : mod === 2 ? rng.value() | 0 : 0;
  b.regs[base] = (target - disp) >>> 0;
  b.pinned.add(base);
  const dispBytes = mod === 1 ? le(disp, 1) : mod === 2 ? le(disp, 4) : [];
  return [(mod << 6) | (regField << 3) | base, ...dispBytes];
}

/** Builds one snippet for `row` (faultChance: share of memory operands aimed at the fault region). */
export function makeSnippet(row: OpcodeRow, rng: Rng, index: number, faultChance = 0): Snippet {
  const b: Build = {
    rng, regs: Array.from({ length: 8 }, () => rng.value()), flags: 0, stores: [], prefixes: [], body: [],
    opsize: 32, pinned: new Set([4]), undef: row.flagsUndefined, undefRegIfZf: -1, undefRegBits: [], boundOut: null, notes: [],
    needsTarget: false, targetFixups: [], faultTarget: null,
  };
  b.regs[4] = SNIP_ESP;
  b.flags = 2 | (rng.u32() & (CF | PF | AF | ZF | SF | OF)) | (rng.chance(0.2) ? DF : 0);
  const ops = row.operands;
  const isJump = (row.attrs & ATTR_JUMP) !== 0;
  const sem = row.sem;

  // Operand size: 0x66 for a third of the word/dword forms (never for control transfers,
  // whose 16-bit forms truncate EIP, nor for BSWAP, whose 16-bit form is undefined).
  if (row.size === 'v' && !isJump && sem !== 'bswap' && sem !== 'sgdt' && sem !== 'sidt' && rng.chance(0.35)) {
    b.prefixes.push(0x66);
    b.opsize = 16;
  }
  if (row.size === 'b') b.opsize = 8;
  if (row.size === 'w') b.opsize = 16;
  // SMSW/SLDT/STR to a 32-bit register leave the high half undefined on the i486: use o16.
  const hasMemOnly = ops.some((o) => o.startsWith('M'));
  const hasE = ops.some((o) => o.startsWith('E'));
  let useMem = hasMemOnly || (hasE && rng.chance(0.5));
  if (hasE && ops.length === 1 && ['pop'].includes(sem) && rng.chance(0.3)) useMem = true;
  if (['smsw', 'sldt', 'str'].includes(sem) && !useMem && !b.prefixes.includes(0x66)) b.prefixes.push(0x66);
  if (sem === 'mov_from_sreg' && !useMem && rng.chance(0.5) && !b.prefixes.includes(0x66)) { b.prefixes.push(0x66); }

  // Occasional segment override (all flat) and LOCK on lockable memory forms.
  if (!isJump && rng.chance(0.1)) b.prefixes.push(rng.pick([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]));
  if ((row.attrs & ATTR_LOCK) && useMem && rng.chance(0.15)) b.prefixes.push(0xf0);
  // REP prefixes on string instructions.
  const isString = ['movs', 'cmps', 'stos', 'lods', 'scas'].includes(sem);
  if (isString) {
    if (rng.chance(0.6)) b.prefixes.push(rng.pick([0xf3, 0xf2]));
    b.regs[1] = rng.int(8);
    b.regs[6] = SCRATCH + 0x80 + rng.int(0x80);
    b.regs[7] = SCRATCH + 0x200 + rng.int(0x80);
    b.pinned.add(1); b.pinned.add(6); b.pinned.add(7);
    if (faultChance > 0 && rng.chance(faultChance)) {
      // Run a (REP) string instruction into the not-present or the read-only page: the
      // fault must leave ECX/ESI/EDI at the iteration that faulted.
      const reg = rng.chance(0.5) ? 6 : 7;
      b.regs[reg] = rng.pick([0x302ff0, 0x303ff0]) + rng.int(8);
      // REPNE for the comparisons (random data rarely matches, so it keeps going).
      const rep = sem === 'cmps' || sem === 'scas' ? 0xf2 : 0xf3;
      b.prefixes = b.prefixes.filter((p) => p !== 0xf3 && p !== 0xf2);
      b.prefixes.push(rep);
      b.regs[1] = 2 + rng.int(6);
      b.notes.push(`${reg === 6 ? 'ESI' : 'EDI'} runs into the fault region`);
    }
  }
  if (sem === 'xlat') { b.regs[3] = SCRATCH + rng.int(0x100); b.pinned.add(3); }
  if (['loop', 'loope', 'loopne', 'jcxz'].includes(sem)) b.regs[1] = rng.pick([0, 1, 2, rng.value()]);

  // Opcode bytes; reg field / register numbers are chosen below.
  const opcode = row.map === 2 ? [0x0f, row.byte] : [row.byte];
  const wide = b.opsize !== 8;
  // A register for G / Z / E(reg) operands: avoid ESP (4) for word/dword operands.
  const pickReg = (): number => {
    if (!wide) return rng.int(8);
    let r = rng.int(8);
    while (r === 4) r = rng.int(8);
    return r;
  };

  let regField = row.ext >= 0 && row.ext < 8 ? row.ext : 0;
  let plusReg = 0;
  if (row.plusR) {
    plusReg = sem === 'push' ? rng.int(8) : pickReg();
    if (sem === 'pop' && plusReg === 4) plusReg = 0;
    opcode[opcode.length - 1] += plusReg;
  }
  const hasG = ops.some((o) => o.startsWith('G') || o.startsWith('S'));
  if (row.ext === 8) {
    if (ops.some((o) => o === 'Sw')) regField = rng.chance(0.9) ? rng.int(6) : 6 + rng.int(2);
    else if (hasG) regField = ops.some((o) => o === 'Gb') ? rng.int(8) : pickReg();
  }

  // Per-instruction operand constraints.
  const eIsSelector = ['lar', 'lsl', 'verr', 'verw'].includes(sem);
  const selectorValue = () => rng.pick([0, 0x08, 0x10, 0x18, 0x0b, 0x13, 0x0008, 0x1f, rng.u32() & 0xffff]);

  let modrm: number[] = [];
  let memOff = 0x100 + rng.int(0x200);
  if (faultChance > 0 && useMem && !NO_FAULT_SEMS.has(sem) && rng.chance(faultChance)) {
    // Near the edges of the not-present and read-only pages, some straddling them.
    b.faultTarget = rng.pick([0x302ff8, 0x303ff8, 0x304100]) + rng.int(16);
    b.notes.push(`memory operand at ${b.faultTarget.toString(16)} (fault region)`);
  }
  if (row.ext !== -1) {
    if (ops.some((o) => o.startsWith('E') || o.startsWith('M'))) {
      if (useMem) {
        // Bit tests with a register bit offset address up to offset/8 bytes away.
        if (['bt', 'bts', 'btr', 'btc'].includes(sem) && ops[1] === 'Gv') {
          const bitOff = rng.int(512) - 128;
          b.regs[regField] = bitOff;
          b.pinned.add(regField);
          memOff = 0x200 + rng.int(0x80);
        }
        if (sem === 'bound') memOff = 0x100 + rng.int(0x100);
        modrm = memModrm(b, regField, memOff);
      } else {
        let rm = ops.some((o) => o === 'Eb') ? rng.int(8) : pickReg();
        if (b.pinned.has(rm) && rm !== 4) rm = pickReg();
        modrm = [(3 << 6) | (regField << 3) | rm];
        if (eIsSelector) { b.regs[rm] = selectorValue(); }
        if (sem === 'call' || sem === 'jmp') { b.needsTarget = true; b.targetFixups.push({ at: 'reg', reg: rm }); b.pinned.add(rm); }
      }
    } else {
      modrm = [(3 << 6) | (regField << 3) | rng.int(8)];
    }
  }
  if (eIsSelector && useMem) b.stores.push([SCRATCH + memOff, selectorValue(), 2]);

  // Immediates and relative offsets.
  const imms: number[] = [];
  let countValue = -1;
  for (const o of ops) {
    const n = immSize(o, b.opsize);
    if (n === 0) continue;
    let v = rng.value();
    if (o === 'Jb' || o === 'Jz') v = 1; // jump over the one-byte marker that follows
    if (sem === 'enter') v = o === 'Iw' ? rng.int(64) : rng.int(6);
    if (sem === 'ret') v = rng.int(32);
    if (sem === 'aam' || sem === 'aad') v = rng.chance(0.05) ? 0 : rng.chance(0.5) ? 10 : rng.int(256);
    if (['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar', 'shld', 'shrd'].includes(sem) && o === 'Ib') {
      v = rng.chance(0.5) ? rng.int(33) : rng.int(256);
      countValue = v;
    }
    imms.push(...le(v, n));
  }
  // Moffs: the address of the operand.
  for (const o of ops) if (o === 'Ob' || o === 'Ov') imms.push(...le(b.faultTarget ?? SCRATCH + memOff, 4));
  if (ops.includes('CL')) countValue = b.regs[1] & 0xff;

  // Case rules on counts, dividends and stacks.
  if (['shld', 'shrd'].includes(sem) && b.opsize === 16 && (countValue & 31) > 16) {
    // SDM SHLD/SHRD: "If the count is greater than the operand size, the result is undefined."
    const c = countValue & 15;
    if (ops.includes('CL')) { b.regs[1] = (b.regs[1] & ~0xff) | c; b.pinned.add(1); } else imms[imms.length - 1] = c;
    countValue = c;
  }
  if (['shl', 'shr'].includes(sem) && countValue >= 0 && b.opsize < 32 && (countValue & 31) >= b.opsize) {
    // SDM SAL/SAR/SHL/SHR, Flags: CF is undefined for SHL and SHR when the count is
    // greater than or equal to the size of the destination operand.
    b.undef |= CF;
    b.notes.push('CF undefined: count >= operand size');
  }
  if (ops.includes('CL')) b.pinned.add(1);
  if (sem === 'div' || sem === 'idiv') {
    // Half the draws divide without overflow (high half of the dividend 0 or the sign).
    if (rng.chance(0.5)) {
      if (b.opsize === 8) b.regs[0] = (b.regs[0] & 0xffff00ff) | (sem === 'idiv' && b.regs[0] & 0x80 ? 0xff00 : 0);
      else if (b.opsize === 16) b.regs[2] = (b.regs[2] & 0xffff0000) | (sem === 'idiv' && b.regs[0] & 0x8000 ? 0xffff : 0);
      else b.regs[2] = sem === 'idiv' && b.regs[0] & 0x80000000 ? 0xffffffff : 0;
    }
  }
  if (sem === 'bsf' || sem === 'bsr') {
    // SDM BSF/BSR: if the source is 0, ZF is set and the destination is undefined.
    b.undefRegIfZf = regField;
  }
  if (sem === 'enter' || sem === 'leave') { b.regs[5] = SCRATCH + 0x500 + 4 * rng.int(0x40); b.pinned.add(5); }
  if (sem === 'bound' && useMem) {
    const v = b.regs[regField] | 0;
    const span = rng.int(64);
    const lo = rng.chance(0.6) ? v - rng.int(span + 1) : v + 1 + rng.int(8);
    const hi = lo + span;
    const n = b.opsize === 16 ? 2 : 4;
    b.stores.push([SCRATCH + memOff, lo >>> 0, n], [SCRATCH + memOff + n, hi >>> 0, n]);
    const sx = (x: number) => (n === 2 ? (x << 16) >> 16 : x | 0);
    const idx = sx(b.regs[regField]);
    b.boundOut = idx < sx(lo) || idx > sx(hi);
  }
  if (sem === 'lar' && b.opsize === 32) {
    // SDM LAR: the second descriptor dword is masked by 00FxFF00H: bits 16-19 undefined.
    b.undefRegBits.push([regField, 0x000f0000]);
  }
  if (sem === 'lxs') {
    const n = b.opsize === 16 ? 2 : 4;
    const isLss = row.mnemonic === 'lss';
    const off = isLss ? SNIP_ESP - 0x40 : rng.value();
    const sel = rng.pick([0x10, 0x10, 0x10, 0x00, 0x08, 0x13, 0x18, 0x30]);
    b.stores.push([SCRATCH + memOff, off >>> 0, n], [SCRATCH + memOff + n, sel, 2]);
  }
  if (sem === 'popf') {
    // The popped value: arithmetic flags, DF, NT and IOPL (never TF, IF, AC, ID: those
    // change how the harness runs, or differ between CPU generations by design).
    const v = 2 | (rng.u32() & (CF | PF | AF | ZF | SF | OF | DF | NT | IOPL));
    b.stores.push([SNIP_ESP, v, b.opsize === 16 ? 2 : 4]);
  }
  if (sem === 'ret') { b.needsTarget = true; b.targetFixups.push({ at: 'mem', addr: SNIP_ESP }); }
  if ((sem === 'call' || sem === 'jmp') && useMem && row.ext !== -1) {
    b.needsTarget = true;
    b.targetFixups.push({ at: 'mem', addr: SCRATCH + memOff });
  }

  b.body = [...b.prefixes, ...opcode, ...modrm, ...imms];
  const text = `${row.mnemonic} ${ops.join(',')}`.trim();
  return {
    index, row, bytes: b.body, text: `${text} [${b.body.map((x) => x.toString(16).padStart(2, '0')).join(' ')}] (${row.source.split(/\s+/).slice(-1)[0]}${b.opsize === 16 ? ', o16' : ''})`,
    opsize: b.opsize, undefFlags: b.undef, undefRegIfZf: b.undefRegIfZf, undefRegBits: b.undefRegBits, boundOut: b.boundOut, notes: b.notes, initRegs: b.regs, initFlags: b.flags,
    // Carried for the source emitter:
    ...({ _build: b } as object),
  } as Snippet;
}

function buildOf(s: Snippet): Build {
  return (s as unknown as { _build: Build })._build;
}

/** Makes `perRow` snippets for every differential row, deterministically from `seed`. */
export function makeSnippets(seed: number, perRow: number, faultChance = 0): Snippet[] {
  const rng = new Rng(seed);
  const out: Snippet[] = [];
  for (const row of differentialRows()) {
    // With faults on, string instructions get eight times the draws: a REP that faults part
    // way is where restartability (ECX/ESI/EDI/EFLAGS at the faulting iteration) shows.
    const n = faultChance > 0 && ['movs', 'cmps', 'stos', 'lods', 'scas'].includes(row.sem) ? perRow * 8 : perRow;
    for (let k = 0; k < n; k++) out.push(makeSnippet(row, rng, out.length, faultChance));
  }
  return out;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

/** The kernel's NASM source: header, harness, then one block per snippet. */
export interface KernelOptions {
  /**
   * Turn paging on first: identity-mapped 4 KiB pages for 0..8 MiB, except that linear
   * 0x301000 (the scratch area's second page) maps to physical 0x501000, so an access that
   * straddles 0x301000 touches two unrelated frames.
   */
  paging?: boolean;
}

export const PAGE_DIR = 0x2d0000;
export const ALIAS_LINEAR = 0x301000;
export const ALIAS_PHYSICAL = 0x501000;

export function kernelSource(snippets: Snippet[], seed: number, opts: KernelOptions = {}): string {
  const L: string[] = [];
  L.push(`; differential test kernel, generated (seed ${seed}, ${snippets.length} snippets${opts.paging ? ', paging on' : ''})`);
  L.push('bits 32', `org ${hex(LOAD_ADDR)}`);
  L.push(`KSTACK equ ${hex(KSTACK)}`, `SCRATCH equ ${hex(SCRATCH)}`, `SCRATCH_DWORDS equ ${SCRATCH_SIZE / 4}`, `FAULT_EDGE equ ${hex(FAULT_REGION + 0xff0)}`);
  L.push(`mb: dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)`, `    dd mb, ${hex(LOAD_ADDR)}, load_end, bss_end, start`);
  L.push(`
start:
    cli
    lgdt [gdt_desc]
    jmp 0x08:.cs
.cs:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, KSTACK
    ; IDT: 32 interrupt gates to the stubs below
    mov edi, idt
    mov esi, stubs
    mov ecx, 32
.idt:
    mov eax, esi
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0x8E00
    shr eax, 16
    mov [edi + 6], ax
    add edi, 8
    add esi, 16
    loop .idt
    lidt [idt_desc]
    cld
${opts.paging ? `    mov edi, ${hex(PAGE_DIR + 0x1000)}      ; two page tables: identity 0..8 MiB
    mov eax, 3
    mov ecx, 2048
.pt:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    dec ecx
    jnz .pt
    mov dword [${hex(PAGE_DIR + 0x1000 + (ALIAS_LINEAR >>> 12) * 4)}], ${hex(ALIAS_PHYSICAL | 3)}
    mov dword [${hex(PAGE_DIR + 0x1000 + ((FAULT_REGION + 0x1000) >>> 12) * 4)}], 0     ; not present
    mov dword [${hex(PAGE_DIR + 0x1000 + ((FAULT_REGION + 0x2000) >>> 12) * 4)}], ${hex((FAULT_REGION + 0x2000) | 1)} ; read-only
    mov edi, ${hex(PAGE_DIR)}
    xor eax, eax
    mov ecx, 1024
    rep stosd
    mov dword [${hex(PAGE_DIR)}], ${hex(PAGE_DIR + 0x1000 + 3)}
    mov dword [${hex(PAGE_DIR + 4)}], ${hex(PAGE_DIR + 0x2000 + 3)}
    mov eax, ${hex(PAGE_DIR)}
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000      ; PG, and WP: ring-0 writes to read-only pages fault
    mov cr0, eax
    jmp .paged
.paged:` : ''}
    jmp snip_0

; fill the scratch area from seed EAX (an LCG), for every snippet
init_scratch:
    mov edi, SCRATCH
    mov ecx, SCRATCH_DWORDS
.f: imul eax, eax, 1103515245
    add eax, 12345
    mov [edi], eax
    add edi, 4
    dec ecx
    jnz .f
    mov edi, FAULT_EDGE     ; and the last 16 bytes before the not-present page
    mov ecx, 4
.g: imul eax, eax, 1103515245
    add eax, 12345
    mov [edi], eax
    add edi, 4
    dec ecx
    jnz .g
    ret

; EAX -> 4 bytes on COM1, low byte first (waits for the transmitter each time)
putd:
    mov ecx, 4
.b: push eax
    mov dx, 0x3FD
.w: in al, dx
    test al, 0x20
    jz .w
    pop eax
    mov dx, 0x3F8
    out dx, al
    shr eax, 8
    dec ecx
    jnz .b
    ret

dump_normal:                ; the snippet ran to its end: save it without using its stack
    mov [ss:sv + 0], eax    ; (MOV changes no flags)
    mov [ss:sv + 4], ecx
    mov [ss:sv + 8], edx
    mov [ss:sv + 12], ebx
    mov [ss:sv + 16], esp
    mov [ss:sv + 20], ebp
    mov [ss:sv + 24], esi
    mov [ss:sv + 28], edi
    mov eax, [ss:esp - 4]   ; the dword PUSHFD overwrites: put it back afterwards
    mov [ss:below], eax
    pushfd
    pop dword [ss:rec_flags]
    mov eax, [ss:below]
    mov [ss:esp - 4], eax
    mov dword [ss:rec_tag], 0
    mov dword [ss:rec_eip], 0
    mov dword [ss:rec_err], 0
    jmp dump_common

exc_common:                 ; stack: vector, error code, EIP, CS, EFLAGS
    mov [ss:sv + 0], eax
    mov [ss:sv + 4], ecx
    mov [ss:sv + 8], edx
    mov [ss:sv + 12], ebx
    mov [ss:sv + 16], esp
    mov [ss:sv + 20], ebp
    mov [ss:sv + 24], esi
    mov [ss:sv + 28], edi
    mov eax, [esp]
    or eax, 0x100
    mov [ss:rec_tag], eax
    mov eax, [esp + 4]
    mov [ss:rec_err], eax
    mov eax, [esp + 8]
    mov [ss:rec_eip], eax
    mov eax, [ss:undef_keep] ; undefined flags must not reach the checksummed stack
    and [ss:esp + 16], eax
    mov eax, [esp + 16]
    mov [ss:rec_flags], eax
dump_common:
    mov ax, es
    shl eax, 16
    mov ax, ds
    mov [ss:rec_dses], eax
    mov ax, gs
    shl eax, 16
    mov ax, fs
    mov [ss:rec_fsgs], eax
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov esp, KSTACK
    mov eax, [rec_tag]
    call putd
    xor ebx, ebx            ; EAX ECX EDX EBX ESP EBP ESI EDI
.r: mov eax, [sv + ebx]
    call putd
    add ebx, 4
    cmp ebx, 32
    jb .r
    mov eax, [rec_flags]
    call putd
    mov eax, [rec_dses]
    call putd
    mov eax, [rec_fsgs]
    call putd
    xor eax, eax            ; checksum of the scratch area
    mov edi, SCRATCH
    mov ecx, SCRATCH_DWORDS
.c: rol eax, 5
    xor eax, [edi]
    add edi, 4
    dec ecx
    jnz .c
    mov edi, FAULT_EDGE
    mov ecx, 4
.e: rol eax, 5
    xor eax, [edi]
    add edi, 4
    dec ecx
    jnz .e
    call putd
    mov eax, [rec_eip]
    call putd
    mov eax, [rec_err]
    call putd
    mov eax, cr2
    call putd
    jmp [resume]

done:
    cld                     ; the last snippet may have left DF set
    mov esi, done_msg
.d: lodsb
    test al, al
    jz .h
    movzx eax, al
    push esi
    mov dx, 0x3FD
    mov ah, al
.w: in al, dx
    test al, 0x20
    jz .w
    mov al, ah
    mov dx, 0x3F8
    out dx, al
    pop esi
    jmp .d
.h: cli
    hlt
    jmp .h
`);
  // Exception stubs, 16 bytes apart; vectors 8, 10-14 and 17 push an error code themselves.
  L.push('align 16', 'stubs:');
  for (let v = 0; v < 32; v++) {
    const hasErr = [8, 10, 11, 12, 13, 14, 17].includes(v);
    L.push(`    align 16`, hasErr ? `    push dword ${v}` : `    push dword 0\n    push dword ${v}`, '    jmp exc_common');
  }
  L.push('align 8', 'gdt: dq 0', '    dq 0x00CF9A000000FFFF', '    dq 0x00CF92000000FFFF');
  L.push('gdt_desc: dw 3*8-1', '    dd gdt', 'align 8', 'idt: times 32 dq 0', 'idt_desc: dw 32*8-1', '    dd idt');
  // The harness's variables live in their own page, away from code: a store into a page
  // that holds code makes an emulator drop that page's decoded instructions.
  const vars = ['sv', 'below', 'undef_keep', 'resume', 'rec_tag', 'rec_flags', 'rec_eip', 'rec_err', 'rec_dses', 'rec_fsgs'];
  let at = VARS;
  for (const v of vars) { L.push(`${v} equ ${hex(at)}`); at += v === 'sv' ? 32 : 4; }
  L.push(`done_msg: db '${DONE_MARK.trim()}', 10, 0`);

  const rng = new Rng(seed ^ 0x5eed);
  for (const s of snippets) {
    const b = buildOf(s);
    const i = s.index;
    const next = i + 1 < snippets.length ? `snip_${i + 1}` : 'done';
    L.push(`snip_${i}:  ; ${s.text}`);
    L.push(`    mov dword [resume], ${next}`, `    mov dword [undef_keep], ${hex(~(s.undefFlags | RF_BIT))}`, '    mov esp, KSTACK', `    mov eax, ${hex(rng.u32())}`, '    call init_scratch');
    for (const f of b.targetFixups) if (f.at === 'mem') L.push(`    mov dword [${hex(f.addr!)}], .t`);
    for (const [addr, v, n] of b.stores) L.push(`    mov ${n === 2 ? 'word' : n === 1 ? 'byte' : 'dword'} [${hex(addr)}], ${hex(n === 2 ? v & 0xffff : n === 1 ? v & 0xff : v)}`);
    L.push(`    mov esp, ${hex(SNIP_ESP)}`, `    push dword ${hex(b.flags)}`, '    popfd');
    for (let r = 0; r < 8; r++) {
      if (r === 4) continue;
      const fix = b.targetFixups.find((f) => f.at === 'reg' && f.reg === r);
      L.push(`    mov ${REG32[r]}, ${fix ? '.t' : hex(b.regs[r])}`);
    }
    L.push(`    db ${s.bytes.map(hex).join(', ')}`);
    // Control transfers jump over one byte (XCHG EAX,EDI: changes no flags), so the
    // record shows whether the branch was taken.
    if (s.row.attrs & ATTR_JUMP) L.push('    db 0x97', '.t:');
    L.push('    jmp dump_normal');
  }
  L.push('load_end:', 'bss_end:');
  return L.join('\n') + '\n';
}

/** One decoded record of the kernel's output. */
export interface DiffRecord {
  tag: number;
  regs: number[];
  eflags: number;
  dses: number;
  fsgs: number;
  checksum: number;
  eip: number;
  err: number;
  cr2: number;
}

/** Splits the serial stream into records (stops at the DONE mark or at a partial record). */
export function parseRecords(bytes: Uint8Array, length: number): { records: DiffRecord[]; done: boolean } {
  const records: DiffRecord[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, length);
  let at = 0;
  const mark = DONE_MARK;
  const isMark = (p: number) => p + mark.length <= length && [...mark].every((c, i) => bytes[p + i] === c.charCodeAt(0));
  while (at + RECORD_BYTES <= length && !isMark(at)) {
    const d = (k: number) => dv.getUint32(at + 4 * k, true);
    records.push({ tag: d(0), regs: [1, 2, 3, 4, 5, 6, 7, 8].map(d), eflags: d(9), dses: d(10), fsgs: d(11), checksum: d(12), eip: d(13), err: d(14), cr2: d(15) });
    at += RECORD_BYTES;
  }
  return { records, done: isMark(at) };
}

export { REG32 };
