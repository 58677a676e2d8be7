/*
 * Differential test: our Machine against v86 on thousands of generated one-instruction
 * snippets (tests/support/x86gen.ts builds them from the shared opcode table with a seeded
 * PRNG and wraps them in one Multiboot kernel). Both emulators boot the same image; each
 * snippet's record (registers, flags, data selectors, a checksum of the scratch memory,
 * and any exception with its pushed EIP and error code) must agree, with the flags the
 * manual leaves undefined masked per snippet.
 *
 * Two kernels: a flat 32-bit one, and one with paging on whose memory operands and REP
 * string pointers partly aim at an absent and a read-only page (#PF error codes, CR2, and
 * the state a faulting instruction leaves behind). DIFF_SEED and DIFF_PER_ROW explore
 * beyond the fixed default draw.
 *
 * Where v86 is the one that is wrong, the case is listed in V86_KNOWN below with the
 * manual's reference, and that difference is accepted; anything else is our bug and fails
 * the test (and lands in .tmp/cpu-failures.md).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { haveNasm, assemble } from '../support/nasm';
import { runV86 } from '../support/v86';
import { runOurs } from '../support/machine';
import { DONE_MARK, kernelSource, type KernelOptions, makeSnippets, parseRecords, REG32, type DiffRecord, type Snippet } from '../support/x86gen';
import { writeDigestSection, type DigestEntry } from '../support/digest';

/** Fixed by default so runs are reproducible; DIFF_SEED / DIFF_PER_ROW explore further. */
const SEED = Number(process.env.DIFF_SEED ?? 0x1986);
const PER_ROW = Number(process.env.DIFF_PER_ROW ?? 6);
/** Arithmetic flags, DF, and the system bits a snippet could change; RF is never compared. */
const COMPARED_FLAGS = 0x00247fd5;

interface Known {
  /** Which snippets (and which part of their record) this applies to. */
  applies(s: Snippet, v86: DiffRecord, ours: DiffRecord): boolean;
  /** The record fields to ignore for them. */
  ignore: Array<'eflags' | 'tag' | 'regs' | 'checksum' | 'eip' | 'err' | 'cr2'>;
  /** Short description, for the report. */
  reason: string;
}

const PREFIX_BYTES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
/** The ModRM byte of a snippet's instruction (after prefixes and the opcode). */
function modrmOf(s: Snippet): number {
  let i = 0;
  while (PREFIX_BYTES.has(s.bytes[i])) i++;
  return s.bytes[s.bytes[i] === 0x0f ? i + 2 : i + 1];
}

/** Differences where v86 departs from the i486 manual (each with its reference). */
const V86_KNOWN: Known[] = [
  {
    // i486 PRM, BOUND: #BR (vector 5) when the signed index is below the lower bound or
    // above the upper one. v86 0.5 never raises it; the generator knows the bounds it
    // stored, so the outcome is checked against that model instead.
    applies: (s, v, o) => s.row.sem === 'bound' && s.boundOut === true && v.tag === 0 && o.tag === 0x105,
    ignore: ['tag', 'regs', 'eflags', 'checksum', 'eip', 'err', 'cr2'],
    reason: 'v86 does not raise #BR',
  },
  {
    // i486 PRM, CR0: ET (bit 4) is 1 on the i486 (reserved, reads 1); v86 reports 0, so
    // SMSW differs in that bit. Register forms are checked with ET forced on (see
    // expectedFixup); memory forms cannot be, so their checksum is not compared.
    applies: (s) => s.row.sem === 'smsw' && (modrmOf(s) >> 6) !== 3,
    ignore: ['checksum'],
    reason: 'v86 CR0.ET = 0',
  },
  {
    // i486 PRM, MOV (and every instruction with a memory destination), Protected Mode
    // Exceptions: "#GP(0) if the destination is located in a nonwritable segment". A code
    // segment is never writable, so a store through a CS override faults; v86 does not
    // check segment writability and completes the store.
    applies: (s, v, o) => s.bytes.slice(0, prefixCount(s)).includes(0x2e) && writesMemory(s) && v.tag !== 0x10d && o.tag === 0x10d && o.err === 0,
    ignore: ['tag', 'regs', 'eflags', 'checksum', 'eip', 'err', 'cr2'],
    reason: 'v86 writes through a CS override',
  },
  {
    // i486 PRM, BT/BTS/BTR/BTC: a memory operand is the word or dword at the effective
    // address (plus 4 * (offset DIV 32) for a register offset), and a #PF reports the
    // linear address of that access in CR2. v86 touches only the byte holding the bit,
    // so its CR2 is that byte's address, and near a page boundary that byte can lie in a
    // different page than the operand's first byte (another error code, which is pushed on
    // the checksummed stack). That both fault with #PF must agree.
    applies: (s, v, o) => ['bt', 'bts', 'btr', 'btc'].includes(s.row.sem) && v.tag === 0x10e && o.tag === 0x10e,
    ignore: ['cr2', 'err', 'checksum'],
    reason: 'v86 BT* CR2 is the byte, not the operand',
  },
  {
    // The same v86 shortcut when the operand straddles into a page that is not present or
    // read-only but the byte holding the bit does not: the i486 accesses the whole word or
    // dword and faults; v86 completes.
    applies: (s, v, o) => ['bt', 'bts', 'btr', 'btc'].includes(s.row.sem) && v.tag === 0 && o.tag === 0x10e,
    ignore: ['tag', 'regs', 'eflags', 'checksum', 'eip', 'err', 'cr2'],
    reason: 'v86 BT* accesses only the byte holding the bit',
  },
  {
    // i486 PRM, REP/REPE/REPNE: a repeated string instruction interrupted by an exception
    // leaves the registers (and flags) as the last completed iteration left them, so it can
    // resume. On a #PF part way through REPE/REPNE CMPS/SCAS, v86 keeps ECX/ESI/EDI at the
    // faulting iteration but pushes the EFLAGS from before the instruction (its ZF even
    // contradicts the repeat condition that kept the loop going). Accepted when the
    // registers agree, v86's flags are the initial ones, and ours carry the ZF the repeat
    // condition implies after at least one completed iteration.
    applies: (s, v, o) => {
      if (s.row.sem !== 'cmps' && s.row.sem !== 'scas') return false;
      if (v.tag !== 0x10e || o.tag !== 0x10e || v.regs.some((r, i) => r !== o.regs[i])) return false;
      const rep = s.bytes.slice(0, prefixCount(s)).find((b) => b === 0xf2 || b === 0xf3);
      const iterations = (s.initRegs[1] - o.regs[1]) >>> 0;
      const zf = (o.eflags >> 6) & 1;
      return rep !== undefined && iterations > 0 && ((v.eflags ^ s.initFlags) & 0x8d5) === 0 && zf === (rep === 0xf3 ? 1 : 0);
    },
    ignore: ['eflags', 'checksum'],
    reason: 'v86 restores EFLAGS on a fault inside REP CMPS/SCAS',
  },
  {
    // SGDT/SIDT store a 6-byte image; when it straddles into an absent page both fault
    // alike, but whether the bytes before the page boundary were already written is not
    // specified by the manual (v86, like QEMU, stores limit then base). Both must raise the
    // same #PF; the scratch checksum is exempt.
    applies: (s, v, o) => (s.row.sem === 'sgdt' || s.row.sem === 'sidt') && v.tag === 0x10e && o.tag === 0x10e,
    ignore: ['checksum'],
    reason: 'partial SGDT/SIDT image before a #PF is unspecified',
  },
  {
    // i486 PRM, ENTER, Operation: with a nesting level L > 0 it pushes L-1 frame pointers
    // copied from [EBP-4..] and then the new frame pointer. v86 stores different frame
    // contents (the registers agree); QEMU's TCG and ours store the manual's. Only the
    // scratch memory checksum is exempt.
    applies: (s) => s.row.sem === 'enter' && (s.bytes[s.bytes.length - 1] & 31) > 0,
    ignore: ['checksum'],
    reason: 'v86 ENTER frame contents with nesting level > 0',
  },
];

/** Semantic keys whose first (E/M) operand is only read. */
const READS_FIRST = new Set(['cmp', 'test', 'bt', 'push', 'call', 'jmp', 'verr', 'verw', 'mul', 'imul1', 'div', 'idiv']);
function prefixCount(s: Snippet): number {
  let i = 0;
  while (PREFIX_BYTES.has(s.bytes[i])) i++;
  return i;
}
/** The snippet's instruction stores to its ModRM or moffs memory operand. */
function writesMemory(s: Snippet): boolean {
  const first = s.row.operands[0] ?? '';
  if (READS_FIRST.has(s.row.sem)) return false;
  if (first.startsWith('O')) return true;
  return (first.startsWith('E') || first.startsWith('M')) && s.row.ext !== -1 && (modrmOf(s) >> 6) !== 3;
}

/** Adjusts v86's record where v86 is known to differ in a way that can be corrected exactly. */
function expectedFixup(s: Snippet, v: DiffRecord): DiffRecord {
  if (s.row.sem === 'smsw') {
    const modrm = modrmOf(s);
    if ((modrm >> 6) === 3) {
      const regs = v.regs.slice();
      regs[modrm & 7] |= 0x10; // CR0.ET, see V86_KNOWN
      return { ...v, regs };
    }
  }
  return v;
}

function describeRecord(r: DiffRecord): string {
  const tag = r.tag === 0 ? 'ok' : `#${r.tag & 0xff}`;
  return `${tag} ${REG32.map((n, i) => `${n}=${(r.regs[i] >>> 0).toString(16)}`).join(' ')} fl=${(r.eflags >>> 0).toString(16)} sum=${(r.checksum >>> 0).toString(16)}${r.tag ? ` eip=${(r.eip >>> 0).toString(16)} err=${r.err} cr2=${(r.cr2 >>> 0).toString(16)}` : ''}`;
}

/** Differences between v86's record (expected) and ours, masked; [] when they agree. */
function compare(s: Snippet, v86: DiffRecord, got: DiffRecord): string[] {
  const want = expectedFixup(s, v86);
  const ignore = new Set(V86_KNOWN.filter((k) => k.applies(s, want, got)).flatMap((k) => k.ignore));
  const out: string[] = [];
  const h = (v: number) => (v >>> 0).toString(16);
  if (!ignore.has('tag') && want.tag !== got.tag) {
    out.push(`outcome ${want.tag ? `#${want.tag & 0xff}` : 'ok'} != ${got.tag ? `#${got.tag & 0xff}` : 'ok'}`);
    return out;
  }
  const zf = (want.eflags & 0x40) !== 0 && (got.eflags & 0x40) !== 0;
  if (!ignore.has('regs')) {
    for (let i = 0; i < 8; i++) {
      if (i === s.undefRegIfZf && zf) continue;
      const m = ~s.undefRegBits.filter(([r]) => r === i).reduce((a, [, bits]) => a | bits, 0);
      if (((want.regs[i] ^ got.regs[i]) & m) !== 0) out.push(`${REG32[i]} ${h(want.regs[i])} != ${h(got.regs[i])}`);
    }
  }
  const fm = COMPARED_FLAGS & ~s.undefFlags;
  if (!ignore.has('eflags') && ((want.eflags ^ got.eflags) & fm) !== 0) {
    out.push(`eflags ${h(want.eflags & fm)} != ${h(got.eflags & fm)} (differ ${h((want.eflags ^ got.eflags) & fm)})`);
  }
  if (want.dses !== got.dses || want.fsgs !== got.fsgs) out.push(`ds|es ${h(want.dses)} != ${h(got.dses)}, fs|gs ${h(want.fsgs)} != ${h(got.fsgs)}`);
  if (!ignore.has('checksum') && want.checksum !== got.checksum) out.push(`memory checksum ${h(want.checksum)} != ${h(got.checksum)}`);
  if (want.tag !== 0) {
    if (!ignore.has('eip') && want.eip !== got.eip) out.push(`pushed eip ${h(want.eip)} != ${h(got.eip)}`);
    if (!ignore.has('err') && want.err !== got.err) out.push(`error code ${h(want.err)} != ${h(got.err)}`);
    if (!ignore.has('cr2') && (want.tag & 0xff) === 14 && want.cr2 !== got.cr2) out.push(`cr2 ${h(want.cr2)} != ${h(got.cr2)}`);
  }
  return out;
}

/** One kernel, run in both emulators and compared. */
function differentialSuite(name: string, seed: number, perRow: number, opts: KernelOptions): void {
 describe.runIf(haveNasm())(name, () => {
  const snippets = makeSnippets(seed, perRow, opts.paging ? 0.25 : 0);
  const scale = Math.max(1, perRow / 6);
  let image: Uint8Array;
  let ref: DiffRecord[] = [];
  let refDone = false;

  beforeAll(async () => {
    image = assemble(kernelSource(snippets, seed, opts));
    const r = await runV86(image, { until: DONE_MARK, timeoutMs: 30_000 * scale });
    const p = parseRecords(r.serial.bytes, r.serial.length);
    ref = p.records;
    refDone = p.done;
  }, 60_000 * scale);

  it('v86 runs every generated snippet to a record (the harness works)', () => {
    expect(refDone).toBe(true);
    expect(ref.length).toBe(snippets.length);
    // Every row of the table the generator covers shows up, and some snippets fault.
    expect(new Set(snippets.map((s) => s.row.index)).size).toBeGreaterThan(250);
    expect(ref.filter((r) => r.tag !== 0).length).toBeGreaterThan(10);
  });

  // Checked once, on the larger flat run (the paging run has too few such snippets).
  if (!opts.paging) it('the harness sees plain register arithmetic exactly (v86 checked against JS)', () => {
    // ADD Gv,Ev / SUB / XOR register forms with 32-bit operands: recompute the result.
    let checked = 0;
    for (const s of snippets) {
      const b = s.bytes;
      if (b.length !== 2 || ![0x03, 0x2b, 0x33].includes(b[0]) || b[1] >> 6 !== 3) continue;
      const g = (b[1] >> 3) & 7, e = b[1] & 7;
      const before = s.initRegs;
      const x = before[g] | 0, y = before[e] | 0;
      const want = b[0] === 0x03 ? (x + y) | 0 : b[0] === 0x2b ? (x - y) | 0 : x ^ y;
      expect(ref[s.index].regs[g] | 0, s.text).toBe(want);
      checked++;
    }
    expect(checked).toBeGreaterThan(3);
  });

  it('our Machine agrees with v86 on every snippet (undefined flags masked)', async () => {
    const r = await runOurs(image, { until: DONE_MARK, timeoutMs: 80_000 * scale, chunk: 1_000_000 });
    const ours = parseRecords(r.serial.bytes, r.serial.length);
    const perForm = new Map<string, { failed: number; total: number; example: string }>();
    const failures: string[] = [];
    for (const s of snippets) {
      const key = s.row.source.split(/\s+/).slice(0, 4).join(' ');
      const e = perForm.get(key) ?? { failed: 0, total: 0, example: '' };
      e.total++;
      perForm.set(key, e);
      const got = ours.records[s.index];
      const diffs = got ? compare(s, ref[s.index], got) : ['no record (the run stopped before this snippet)'];
      if (diffs.length === 0) continue;
      e.failed++;
      const line = `#${s.index} ${s.text}: ${diffs.join('; ')}\n    v86:  ${describeRecord(ref[s.index])}${got ? `\n    ours: ${describeRecord(got)}` : ''}`;
      if (!e.example) e.example = `#${s.index} ${s.text}: ${diffs.join('; ')}`;
      failures.push(line);
    }
    const entries: DigestEntry[] = [...perForm].map(([what, e]) => ({ what, ...e }));
    const failedForms = entries.filter((e) => e.failed > 0).length;
    const section = opts.paging ? 'differential-paging' : 'differential';
    writeDigestSection(section, `Differential vs v86${opts.paging ? ', paging on' : ''} (seed ${seed}, ${snippets.length} snippets): ${failures.length} failing, in ${failedForms} forms`,
      'npx vitest run tests/x86/differential.test.ts', entries,
      'Example format: `#snippet form [bytes] (sem): field v86 != ours`. The snippet kernel: tests/support/x86gen.ts (kernelSource). ' +
      'Differences already judged to be v86\'s are listed in V86_KNOWN in the test. Notes on the rest: a page fault on the read of a ' +
      'read-modify-write instruction reports W/R=1 in v86 and Bochs (the access is a read for write), and the error code is pushed on ' +
      'the checksummed stack, so "error code 2 != 0" also shows as a checksum difference. For a split access whose second page faults, ' +
      'v86 (and Bochs) put the first address of the faulting page in CR2. A shift or rotate whose masked count is 0 still faults on a ' +
      'read-only or absent page in v86 (an RMW access); the manual is silent on whether the i486 skips the access.');
    expect(ours.done, `our run ended early after ${ours.records.length} of ${snippets.length} records`).toBe(true);
    expect(failures.slice(0, 15), `${failures.length} of ${snippets.length} snippets differ`).toEqual([]);
  }, 90_000 * scale);
});
}

differentialSuite('differential: our CPU against v86, flat 32-bit kernel', SEED, PER_ROW, {});
// The same with paging on: one page of the scratch area mapped to an unrelated frame, and a
// quarter of the memory operands aimed at a not-present and a read-only page (#PF, CR2).
differentialSuite('differential: our CPU against v86, paging on', SEED + 1, PER_ROW, { paging: true });
