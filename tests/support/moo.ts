/*
 * A reader for the MOO test-file format of the SingleStepTests CPU suites (one instruction
 * per test, recorded on real silicon). A file is a run of chunks: 4 ASCII bytes of type, a
 * little-endian uint32 payload length, then the payload; unknown chunk types are skipped by
 * length, so fields added to the format later do not break the reader. The conformance test
 * (tests/x86/conformance.test.ts) and scripts/conformance.ts feed what this returns into the
 * CPU. The format is summarised in ../shared/conformance/MOO-FORMAT.md.
 */

import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

/** The 16-bit register file of the REGS chunk, in the format's bit order. */
export const MOO_REGS16 = ['ax', 'bx', 'cx', 'dx', 'cs', 'ss', 'ds', 'es', 'sp', 'bp', 'si', 'di', 'ip', 'flags'] as const;
export type MooReg16 = (typeof MOO_REGS16)[number];

/** The 32-bit register file of the RG32 chunk (386 suites), in the format's bit order. */
export const MOO_REGS32 = [
  'cr0', 'cr3', 'eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp',
  'cs', 'ds', 'es', 'fs', 'gs', 'ss', 'eip', 'eflags', 'dr6', 'dr7',
] as const;

/** Registers present in a state: name -> value. Absent names were not recorded. */
export type MooRegs = Partial<Record<string, number>>;

export interface MooState {
  regs: MooRegs;
  /** Per-register masks of defined bits given in this state (RMSK/RM32), if any. */
  masks: MooRegs;
  /** [physical address, byte] pairs. */
  ram: Array<[number, number]>;
}

export interface MooTest {
  index: number;
  name: string;
  bytes: Uint8Array;
  init: MooState;
  fina: MooState;
  /** Set when the instruction raised an exception or interrupt. */
  exception: { vector: number; flagsAddress: number } | null;
  /** The SHA-1 that names the test, lower-case hex ('' when absent). */
  hash: string;
}

export interface MooFile {
  major: number;
  minor: number;
  /** 'C286' (Harris 80C286), '386E' (386EX), ... */
  cpu: string;
  /** Test count the header declares. */
  declaredCount: number;
  meta: { opcode: number; mnemonic: string; cpuMode: number; seed: bigint } | null;
  /** Register masks applied to every test of the file (top-level RMSK/RM32). */
  fileMasks: MooRegs;
  tests: MooTest[];
}

class Cursor {
  pos: number;
  constructor(readonly view: DataView, pos: number, readonly end: number) {
    this.pos = pos;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new Error(`MOO: truncated ${what} at byte ${this.pos} (need ${n}, have ${this.end - this.pos})`);
  }
  u8(): number { this.need(1, 'u8'); return this.view.getUint8(this.pos++); }
  u16(): number { this.need(2, 'u16'); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(): number { this.need(4, 'u32'); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  tag(): string {
    this.need(4, 'chunk type');
    let s = '';
    for (let i = 0; i < 4; i++) s += String.fromCharCode(this.view.getUint8(this.pos + i));
    this.pos += 4;
    return s;
  }
  bytes(n: number): Uint8Array {
    this.need(n, 'bytes');
    const b = new Uint8Array(this.view.buffer, this.view.byteOffset + this.pos, n).slice();
    this.pos += n;
    return b;
  }
}

/** Iterates the chunks in [start, end): calls fn(type, payload cursor). */
function eachChunk(view: DataView, start: number, end: number, fn: (type: string, c: Cursor) => void): void {
  const c = new Cursor(view, start, end);
  while (c.pos < end) {
    const type = c.tag();
    const len = c.u32();
    c.need(len, `payload of chunk '${type}'`);
    fn(type, new Cursor(view, c.pos, c.pos + len));
    c.pos += len;
  }
}

function readRegs16(c: Cursor, into: MooRegs): void {
  const mask = c.u16();
  for (let bit = 0; bit < MOO_REGS16.length; bit++) if (mask & (1 << bit)) into[MOO_REGS16[bit]] = c.u16();
}

function readRegs32(c: Cursor, into: MooRegs): void {
  const mask = c.u32();
  for (let bit = 0; bit < MOO_REGS32.length; bit++) if (mask & (1 << bit)) into[MOO_REGS32[bit]] = c.u32();
}

function readState(view: DataView, c: Cursor): MooState {
  const st: MooState = { regs: {}, masks: {}, ram: [] };
  eachChunk(view, c.pos, c.end, (type, p) => {
    switch (type) {
      case 'REGS': readRegs16(p, st.regs); break;
      case 'RG32': readRegs32(p, st.regs); break;
      case 'RMSK': readRegs16(p, st.masks); break;
      case 'RM32': readRegs32(p, st.masks); break;
      case 'RAM ': {
        const n = p.u32();
        for (let i = 0; i < n; i++) {
          const addr = p.u32();
          st.ram.push([addr, p.u8()]);
        }
        break;
      }
      default: break; // QUEU, EA32, and anything newer: not needed here
    }
  });
  return st;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Parses an uncompressed MOO file. Throws an Error naming the problem on malformed input. */
export function parseMoo(data: Uint8Array): MooFile {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const file: MooFile = { major: 0, minor: 0, cpu: '', declaredCount: 0, meta: null, fileMasks: {}, tests: [] };
  if (data.byteLength === 0) throw new Error('MOO: empty file');
  const first = String.fromCharCode(...data.subarray(0, 4));
  if (first !== 'MOO ') throw new Error(`MOO: first chunk is '${first}', expected 'MOO '`);
  let sawHeader = false;
  eachChunk(view, 0, data.byteLength, (type, c) => {
    if (!sawHeader && type !== 'MOO ') throw new Error(`MOO: first chunk is '${type}', expected 'MOO '`);
    switch (type) {
      case 'MOO ': {
        sawHeader = true;
        file.major = c.u8();
        file.minor = c.u8();
        c.pos += 2;
        file.declaredCount = c.u32();
        file.cpu = c.tag().trim();
        break;
      }
      case 'META': {
        c.pos += 3; // collection major, minor, cpu type
        const opcode = c.u32();
        let mnemonic = '';
        for (let i = 0; i < 8; i++) mnemonic += String.fromCharCode(c.u8());
        c.u32(); // test count (repeats the header's)
        const lo = BigInt(c.u32());
        const hi = BigInt(c.u32());
        file.meta = { opcode, mnemonic: mnemonic.trim(), seed: (hi << 32n) | lo, cpuMode: c.u8() };
        break;
      }
      case 'RMSK': readRegs16(c, file.fileMasks); break;
      case 'RM32': readRegs32(c, file.fileMasks); break;
      case 'TEST': {
        const t: MooTest = {
          index: c.u32(), name: '', bytes: new Uint8Array(0),
          init: { regs: {}, masks: {}, ram: [] }, fina: { regs: {}, masks: {}, ram: [] },
          exception: null, hash: '',
        };
        eachChunk(view, c.pos, c.end, (sub, p) => {
          switch (sub) {
            case 'NAME': { const n = p.u32(); t.name = new TextDecoder().decode(p.bytes(n)); break; }
            case 'BYTS': { const n = p.u32(); t.bytes = p.bytes(n); break; }
            case 'INIT': t.init = readState(view, p); break;
            case 'FINA': t.fina = readState(view, p); break;
            case 'EXCP': t.exception = { vector: p.u8(), flagsAddress: p.u32() }; break;
            case 'HASH': t.hash = hex(p.bytes(20)); break;
            default: break; // GMET, CYCL, ...
          }
        });
        file.tests.push(t);
        break;
      }
      default: break;
    }
  });
  if (!sawHeader) throw new Error('MOO: empty file');
  return file;
}

/** Reads a MOO file from disk, gunzipping it when it is gzip-compressed (`*.MOO.gz`). */
export function readMooFile(path: string): MooFile {
  let data: Uint8Array = readFileSync(path);
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
  return parseMoo(data);
}

/** The revocation list: a set of lower-case hex hashes of tests known to be bad. */
export function readRevocationList(path: string): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const s = line.trim().toLowerCase();
    if (s && !s.startsWith('#')) out.add(s);
  }
  return out;
}
