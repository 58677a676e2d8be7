/*
 * Block translation: turns a hot run of decoded instructions into one JavaScript function.
 *
 * The interpreter (cpu.ts) runs one record at a time: look the record up, store EIP, call
 * its handler through a call site that sees every handler in the program (so the engine
 * can neither predict nor inline it), count a cycle, check the budget. When the same
 * record has started an instruction HOT_THRESHOLD times, this module takes it and the
 * records that follow it in the same physical page (already decoded, so already executed
 * at least once; a direct JMP or CALL whose target is in the page is followed, and a RET
 * of a CALL so followed is expected to come back after it, so a block is a trace rather
 * than a straight line) and writes a function that does exactly what
 * the loop would do for each of them, in straight-line code:
 *
 *     c.insnStart = b + 0; c.eip = b + 2; h0(c, i0); c.cycles = c0 + 1; c.instructions = n0 + 1;
 *     if (c.eip !== b + 2 || c.boundaryWork !== 0) return;
 *     c.insnStart = b + 2; c.eip = b + 5; h1(c, i1); ...
 *
 * and, when the last instruction jumps back to the block's own start, the function loops
 * (if the whole block fits in the budget again). Each call site now sees one handler, so
 * the engine calls it directly and usually inlines it. The semantics stay the handlers' own:
 * a block is a cheaper way to sequence the existing handlers, not a second implementation
 * of the instruction set. The one exception is a handful of 32-bit register ALU forms
 * (INLINE below), written out as the very statements of their handlers in ops/alu.ts;
 * tests/x86/core/blocks.test.ts checks them against the handlers on random code.
 *
 * Register-only instructions (PURE below) skip those stores: between two of them nothing
 * can look at EIP or the counters, so only the state before the next other instruction
 * (or at the block's end) has to be exact.
 *
 * Why it stays exact:
 * - EIP, insnStart, cycles and instructions are stored before/after every handler exactly
 *   as the loop stores them, so a fault (a throw out of a handler) finds the same state,
 *   and a handler reading the cycle counter (RDTSC, trace events) sees the same value.
 * - After each instruction the block leaves when EIP is not where the trace goes on (a taken
 *   jump, call, return, a REP that repeats) or when boundaryWork is set: anything that
 *   needs the slow boundary (STI/MOV SS shadow, I/O, EFLAGS writes, segment or paging
 *   changes, a stop request, a store into this block's own bytes) sets it.
 * - The loop enters a block only if the whole block fits in the remaining budget (and a
 *   block repeats itself only under the same condition), so run(n) retires exactly the
 *   cycles it did before; run(1) and step() never use blocks.
 * - REP string instructions add their own iterations to the cycle count, so they are never
 *   put in a block (a block stops before them).
 * - Blocks hang off their first record and never cross a page; the CPU kills a block when
 *   a store touches its bytes (cpu.ts writePhys) and drops them with the page's records.
 *
 * The source of each block is made unique (its serial number) so that every block gets its
 * own call-site feedback instead of sharing one cached compilation with look-alikes.
 */

import type { Cpu } from '../cpu';
import type { Handler, Insn } from '../decoder';
import { ALU_PURE, FAST32 } from '../ops/alu';
import * as opcodesModule from '../opcodes';
import * as flagsModule from '../flags';
import { DATA_PURE } from '../ops/data';
import { SHIFT_PURE } from '../ops/shift';
import { DIRECT_CALLS, DIRECT_TRANSFERS, NEAR_RETURNS } from '../ops/control';

/**
 * Register-only handlers (they cannot fault, read neither EIP nor the cycle counter and
 * never set boundaryWork): a run of them needs no stores between them, only the final
 * EIP and counts, since nothing can observe the state in between.
 */
const PURE: ReadonlySet<Handler> = new Set<Handler>([...ALU_PURE, ...DATA_PURE, ...SHIFT_PURE]);
/**
 * Inline forms of the commonest register-only handlers, written out with the record's
 * fields as constants: the same statements as the handlers in ops/alu.ts (FAST32), so the
 * block needs no call at all for them. Anything not in this table is called.
 */
const INLINE = new Map<Handler, (i: Insn) => string>();
{
  const { OSZAPC } = opcodesModule;
  const { K_ADD, K_LOGIC, K_SUB } = flagsModule;
  const ops: Record<string, [string, number, boolean]> = {
    add: ['(a + b) | 0', K_ADD, true], or: ['a | b', K_LOGIC, true], and: ['a & b', K_LOGIC, true],
    sub: ['(a - b) | 0', K_SUB, true], xor: ['a ^ b', K_LOGIC, true], cmp: ['(a - b) | 0', K_SUB, false],
    test: ['a & b', K_LOGIC, false],
  };
  for (const [sem, [expr, kind, store]] of Object.entries(ops)) {
    const forms = FAST32[sem];
    const flags = `c.lop = ${kind}; c.la = a; c.lb = b; c.lres = r; c.lsz = ${0x80000000 | 0}; c.lazy = ${OSZAPC};`;
    INLINE.set(forms.EG, (i) => `{ const a = R[${i.rm}], b = R[${i.reg}], r = ${expr};${store ? ` R[${i.rm}] = r;` : ''} ${flags} }`);
    INLINE.set(forms.GE, (i) => `{ const a = R[${i.reg}], b = R[${i.rm}], r = ${expr};${store ? ` R[${i.reg}] = r;` : ''} ${flags} }`);
    INLINE.set(forms.EI, (i) => `{ const a = R[${i.rm}], b = ${i.imm}, r = ${expr};${store ? ` R[${i.rm}] = r;` : ''} ${flags} }`);
  }
}

/** Near JMP/CALL rel: the trace continues at EIP + imm when that is in the same page. */
const DIRECT: ReadonlySet<Handler> = new Set<Handler>(DIRECT_TRANSFERS);
/** A near RET after a CALL followed in the same block is predicted to return after it. */
const CALLS: ReadonlySet<Handler> = new Set<Handler>(DIRECT_CALLS);
const RETURNS: ReadonlySet<Handler> = new Set<Handler>(NEAR_RETURNS);

/** Executions of a record (as an instruction start) before a block is built from it. */
export const HOT_THRESHOLD = 16;
/** Most instructions in one block. */
export const MAX_BLOCK = 24;

/** Runs the block (and again while it loops to itself and `limit` cycles allow). */
export type BlockFn = (c: Cpu, limit: number) => void;

export class Block {
  constructor(
    readonly fn: BlockFn,
    /** Number of instructions (cycles, when it runs to the end). */
    readonly count: number,
    /** Page offsets of the lowest byte and one past the highest byte covered (a block
     *  may follow a jump, so this is the span of all its instructions). */
    readonly startOff: number,
    readonly endOff: number,
    /** The record the block hangs off (record.block === this while alive). */
    readonly head: Insn,
  ) {}
}

let serial = 0;
/** Blocks compiled since start-up (for tests and the UI). */
export function blocksCompiled(): number {
  return serial;
}

/**
 * Builds a block starting with the record at page offset `off` of `arr`, using records up
 * to page offset `limitOff` (exclusive). Returns null when fewer than two instructions
 * qualify. `noBlock` is the set of handlers that must not go in a block.
 */
export function buildBlock(arr: (Insn | null)[], off: number, limitOff: number, noBlock: ReadonlySet<Handler>): Block | null {
  const recs: Insn[] = [];
  const offs: number[] = [];
  let k = off;
  let lo = off;
  let hi = off;
  const returns: number[] = [];
  while (recs.length < MAX_BLOCK && k >= 0 && k < limitOff) {
    const r = arr[k];
    if (r === null || r.len <= 0 || k + r.len > limitOff || noBlock.has(r.handler)) break;
    recs.push(r);
    offs.push(k - off);
    if (k < lo) lo = k;
    if (k + r.len > hi) hi = k + r.len;
    // Follow a direct jump or call when its target is in this page (the trace goes on
    // there; at run time the block leaves if EIP is not where the trace expects).
    k += r.len;
    if (CALLS.has(r.handler)) returns.push(k);
    if (DIRECT.has(r.handler)) k += r.imm;
    else if (RETURNS.has(r.handler)) {
      const ra = returns.pop();
      if (ra === undefined) break;
      k = ra;
    }
    if (k === off) break; // back to the start: the loop at the end of the block
  }
  if (recs.length < 2) return null;
  offs.push(k - off);
  const n = recs.length;
  const names: string[] = [];
  const args: unknown[] = [];
  let body = `'use strict';\n// block ${serial + 1}\nreturn function block(c, limit) {\n for (;;) {\n  const b = c.eip, c0 = c.cycles, n0 = c.instructions, R = c.regs;\n`;
  // synced: c.cycles and c.instructions already count the instructions before this one.
  let synced = true;
  for (let j = 0; j < n; j++) {
    names.push(`h${j}`, `i${j}`);
    const h = recs[j].handler;
    args.push(h, recs[j]);
    const next = offs[j] + recs[j].len;
    if (PURE.has(h)) {
      const inline = INLINE.get(h);
      body += inline !== undefined ? `  ${inline(recs[j])}\n` : `  h${j}(c, i${j});\n`;
      synced = false;
      continue;
    }
    if (!synced) body += `  c.cycles = c0 + ${j}; c.instructions = n0 + ${j};\n`;
    body += `  c.insnStart = b + ${offs[j]}; c.eip = b + ${next}; h${j}(c, i${j}); c.cycles = c0 + ${j + 1}; c.instructions = n0 + ${j + 1};\n`;
    synced = true;
    if (j < n - 1) body += `  if (c.eip !== b + ${offs[j + 1]} || c.boundaryWork !== 0) return;\n`;
  }
  if (!synced) body += `  c.insnStart = b + ${offs[n - 1]}; c.eip = b + ${offs[n - 1] + recs[n - 1].len}; c.cycles = c0 + ${n}; c.instructions = n0 + ${n};\n`;
  // A loop that jumps back to its own start runs again here, if it still fits the budget.
  body += `  if (c.eip !== b || c.boundaryWork !== 0 || c0 + ${2 * n} > limit) return;\n }\n};\n`;
  // The one place the lab makes code at run time; the body is built above from the block's records.
  const factory = new Function(...names, body) as (...a: unknown[]) => BlockFn;
  serial++;
  return new Block(factory(...args), n, lo, hi, recs[0]);
}

/**
 * Kills the blocks in `list` whose bytes overlap page offsets [from, to): unhooks them
 * from their records and removes them from the list. Returns how many were killed.
 */
export function killBlocks(list: Block[], from: number, to: number): number {
  let killed = 0;
  for (let j = list.length - 1; j >= 0; j--) {
    const b = list[j];
    if (from < b.endOff && to > b.startOff) {
      if (b.head.block === b) b.head.block = null;
      list[j] = list[list.length - 1];
      list.pop();
      killed++;
    }
  }
  return killed;
}
