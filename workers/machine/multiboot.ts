/*
 * The boot loader: puts a Multiboot (version 1) kernel into RAM and builds what the
 * specification promises it at entry, the way GRUB does. Reference: the Multiboot
 * Specification version 0.6.96 (Free Software Foundation).
 *
 *   1. Find the header: a 32-bit aligned magic 0x1BADB002 in the first 8192 bytes, followed
 *      by flags and a checksum that makes magic + flags + checksum zero (mod 2^32).
 *   2. Load the image. With flag bit 16 the header's own address fields say where: the file
 *      from the header's position back to load_addr is copied to load_addr up to
 *      load_end_addr, zeroes run on to bss_end_addr, and entry_addr is the entry point (the
 *      "a.out kludge", which also lets a flat binary boot). Otherwise the file must be an ELF32
 *      executable for the i386: each PT_LOAD segment is copied to its physical address, its
 *      memory beyond the file bytes zeroed, and e_entry is the entry (translated to a physical
 *      address when it falls inside a segment whose virtual and physical addresses differ,
 *      as GRUB 2 does). A file with no header can be loaded as a flat binary at an address
 *      the caller names.
 *   3. Build the information structure (mem_lower/mem_upper, the command line, a memory map,
 *      the loader's name) in low memory below 640 KiB.
 *   4. Enter the kernel: EAX = 0x2BADB002, EBX = the structure's address, 32-bit protected
 *      mode with flat 4 GiB code and data segments, paging and interrupts off.
 *
 * Every way an image can be wrong gives a LoadError with a sentence saying what is wrong,
 * and nothing is written to RAM before the whole image has been checked.
 * Next: machine.ts, which calls this from boot().
 */

import type { PhysicalMemory } from '../x86/memory';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The header must lie entirely within this many bytes from the start of the file. */
export const MULTIBOOT_SEARCH = 8192;

const MB_PAGE_ALIGN = 1 << 0; // modules on page boundaries (we load none)
const MB_MEMORY_INFO = 1 << 1; // mem_* fields required (always given)
const MB_VIDEO_MODE = 1 << 2; // a video mode is requested
const MB_AOUT_KLUDGE = 1 << 16; // the header's address fields are valid

/** Flags of the information structure the loader fills in. */
const INFO_MEMORY = 1 << 0;
const INFO_CMDLINE = 1 << 2;
const INFO_MEM_MAP = 1 << 6;
const INFO_LOADER_NAME = 1 << 9;

/** Where the information structure goes (and its strings and map after it), below 640 KiB. */
export const BOOT_INFO_ADDR = 0x9000;
const BOOT_INFO_AREA = 0x1000;

export interface MultibootHeader {
  /** Byte offset of the header in the file. */
  offset: number;
  flags: number;
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

/** One piece of the image placed in RAM. */
export interface LoadedSegment {
  addr: number;
  fileBytes: number;
  memBytes: number;
}

export interface LoadedKernel {
  format: 'aout-kludge' | 'elf32' | 'flat';
  entry: number;
  segments: LoadedSegment[];
  /** First byte after everything loaded (bss included). */
  end: number;
  header: MultibootHeader | null;
}

export type LoadResult = { ok: true; kernel: LoadedKernel } | { ok: false; error: string };

export interface LoadOptions {
  /** Load a file without a multiboot header as a flat binary at this address. */
  flatAddress?: number;
  /** Entry of a flat binary (default: its load address). */
  flatEntry?: number;
}

class LoadError extends Error {}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

function u32(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

function u16(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}

/** Finds and checks the multiboot header; null if there is none. Throws LoadError if it is broken. */
export function findHeader(image: Uint8Array): MultibootHeader | null {
  const end = Math.min(image.length, MULTIBOOT_SEARCH) - 12;
  for (let off = 0; off <= end; off += 4) {
    if (u32(image, off) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = u32(image, off + 4);
    const checksum = u32(image, off + 8);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) {
      throw new LoadError(`multiboot header at offset ${hex(off)} has a bad checksum (${hex(checksum)}; magic + flags + checksum must be 0)`);
    }
    const header: MultibootHeader = { offset: off, flags, headerAddr: 0, loadAddr: 0, loadEndAddr: 0, bssEndAddr: 0, entryAddr: 0 };
    if (flags & MB_AOUT_KLUDGE) {
      if (off + 32 > image.length) throw new LoadError('multiboot header is cut off before its address fields');
      header.headerAddr = u32(image, off + 12);
      header.loadAddr = u32(image, off + 16);
      header.loadEndAddr = u32(image, off + 20);
      header.bssEndAddr = u32(image, off + 24);
      header.entryAddr = u32(image, off + 28);
    }
    return header;
  }
  return null;
}

/** Checks a range of physical memory lies inside RAM. */
function inRam(mem: PhysicalMemory, addr: number, size: number, what: string): void {
  if (addr < 0 || addr + size > mem.size) {
    throw new LoadError(`${what} (${hex(addr)}..${hex(addr + size)}) lies outside the machine's ${mem.size >> 20} MiB of RAM`);
  }
}

interface Plan {
  format: LoadedKernel['format'];
  entry: number;
  /** Each piece: where, bytes from the file, total size (rest zeroed). */
  pieces: { addr: number; data: Uint8Array; memBytes: number }[];
}

function planAout(image: Uint8Array, h: MultibootHeader): Plan {
  if (h.loadAddr > h.headerAddr) throw new LoadError(`a.out kludge: load_addr ${hex(h.loadAddr)} is above header_addr ${hex(h.headerAddr)}`);
  const fileStart = h.offset - (h.headerAddr - h.loadAddr);
  if (fileStart < 0) throw new LoadError(`a.out kludge: header_addr - load_addr (${hex(h.headerAddr - h.loadAddr)}) reaches before the start of the file`);
  const loadEnd = h.loadEndAddr === 0 ? h.loadAddr + (image.length - fileStart) : h.loadEndAddr;
  if (loadEnd < h.loadAddr) throw new LoadError(`a.out kludge: load_end_addr ${hex(loadEnd)} is below load_addr ${hex(h.loadAddr)}`);
  const fileBytes = loadEnd - h.loadAddr;
  if (fileStart + fileBytes > image.length) {
    throw new LoadError(`a.out kludge: the image is ${image.length} bytes but the header asks for ${fileBytes} bytes from offset ${hex(fileStart)}`);
  }
  const bssEnd = h.bssEndAddr === 0 ? loadEnd : h.bssEndAddr;
  if (bssEnd < loadEnd) throw new LoadError(`a.out kludge: bss_end_addr ${hex(bssEnd)} is below load_end_addr ${hex(loadEnd)}`);
  return {
    format: 'aout-kludge',
    entry: h.entryAddr,
    pieces: [{ addr: h.loadAddr, data: image.subarray(fileStart, fileStart + fileBytes), memBytes: bssEnd - h.loadAddr }],
  };
}

const PT_LOAD = 1;

function planElf(image: Uint8Array): Plan {
  if (image.length < 52) throw new LoadError('not an ELF file: shorter than an ELF header');
  if (image[4] !== 1) throw new LoadError('ELF file is not 32-bit (ELFCLASS32)');
  if (image[5] !== 1) throw new LoadError('ELF file is not little-endian');
  const type = u16(image, 16);
  const machine = u16(image, 18);
  if (type !== 2) throw new LoadError(`ELF file is not an executable (e_type ${type})`);
  if (machine !== 3) throw new LoadError(`ELF file is not for the i386 (e_machine ${machine})`);
  const entry = u32(image, 24);
  const phoff = u32(image, 28);
  const phentsize = u16(image, 42);
  const phnum = u16(image, 44);
  if (phnum === 0) throw new LoadError('ELF file has no program headers');
  if (phentsize < 32 || phoff + phnum * phentsize > image.length) throw new LoadError('ELF program headers lie outside the file');
  const pieces: Plan['pieces'] = [];
  let physEntry = entry;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (u32(image, p) !== PT_LOAD) continue;
    const offset = u32(image, p + 4);
    const vaddr = u32(image, p + 8);
    const paddr = u32(image, p + 12);
    const filesz = u32(image, p + 16);
    const memsz = u32(image, p + 20);
    if (offset + filesz > image.length) throw new LoadError(`ELF segment ${i} (${filesz} bytes at file offset ${hex(offset)}) runs past the end of the file`);
    if (memsz < filesz) throw new LoadError(`ELF segment ${i} has p_memsz < p_filesz`);
    pieces.push({ addr: paddr, data: image.subarray(offset, offset + filesz), memBytes: memsz });
    if (entry >= vaddr && entry < vaddr + memsz) physEntry = (entry - vaddr + paddr) >>> 0;
  }
  if (pieces.length === 0) throw new LoadError('ELF file has no PT_LOAD segment');
  return { format: 'elf32', entry: physEntry, pieces };
}

/**
 * Loads a kernel image into RAM. Never throws: a malformed image gives { ok: false, error }.
 * RAM is written only once the whole image has been checked.
 */
export function loadKernel(mem: PhysicalMemory, image: Uint8Array, opts: LoadOptions = {}): LoadResult {
  try {
    if (!(image instanceof Uint8Array) || image.length === 0) throw new LoadError('the kernel image is empty');
    const header = findHeader(image);
    let plan: Plan;
    if (header) {
      const unknown = header.flags & 0xffff & ~(MB_PAGE_ALIGN | MB_MEMORY_INFO);
      if (unknown & MB_VIDEO_MODE) throw new LoadError('the kernel asks for a video mode (multiboot flag 2); this machine has only a serial console');
      if (unknown) throw new LoadError(`the kernel requires multiboot features this loader lacks (flags ${hex(unknown)})`);
      if (header.flags & MB_AOUT_KLUDGE) plan = planAout(image, header);
      else if (u32(image, 0) === 0x464c457f) plan = planElf(image);
      else throw new LoadError('multiboot header without address fields (flag 16), and the file is not ELF');
    } else if (opts.flatAddress !== undefined) {
      plan = { format: 'flat', entry: opts.flatEntry ?? opts.flatAddress, pieces: [{ addr: opts.flatAddress, data: image, memBytes: image.length }] };
    } else {
      throw new LoadError(`no multiboot header (magic ${hex(MULTIBOOT_HEADER_MAGIC)}) in the first 8 KiB of the image`);
    }
    let end = 0;
    for (const piece of plan.pieces) {
      inRam(mem, piece.addr, piece.memBytes, 'kernel segment');
      end = Math.max(end, piece.addr + piece.memBytes);
    }
    if (plan.entry >= mem.size) throw new LoadError(`entry point ${hex(plan.entry)} is outside RAM`);
    for (const piece of plan.pieces) {
      mem.load(piece.addr, piece.data);
      if (piece.memBytes > piece.data.length) mem.load(piece.addr + piece.data.length, new Uint8Array(piece.memBytes - piece.data.length));
    }
    return {
      ok: true,
      kernel: {
        format: plan.format,
        entry: plan.entry,
        segments: plan.pieces.map((p) => ({ addr: p.addr, fileBytes: p.data.length, memBytes: p.memBytes })),
        end,
        header,
      },
    };
  } catch (e) {
    if (e instanceof LoadError || e instanceof RangeError) return { ok: false, error: e.message };
    return { ok: false, error: `unexpected loader failure: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export interface BootInfoOptions {
  cmdline?: string;
  loaderName?: string;
}

/**
 * Writes the multiboot information structure (and its command line, loader name and memory
 * map) and returns its physical address. It goes at BOOT_INFO_ADDR unless the kernel was
 * loaded over that page, in which case it follows the kernel.
 */
export function writeBootInfo(mem: PhysicalMemory, kernel: LoadedKernel, opts: BootInfoOptions = {}): number {
  let base = BOOT_INFO_ADDR;
  const overlaps = kernel.segments.some((s) => s.addr < base + BOOT_INFO_AREA && s.addr + s.memBytes > base);
  if (overlaps) base = (kernel.end + 0xfff) & ~0xfff;
  if (base + BOOT_INFO_AREA > mem.size) throw new RangeError('no room in RAM for the multiboot information structure');
  mem.load(base, new Uint8Array(BOOT_INFO_AREA));
  const enc = new TextEncoder();
  const cmdline = enc.encode(`${(opts.cmdline ?? '').slice(0, 1023)}\0`);
  const name = enc.encode(`${opts.loaderName ?? 'paravirt-lab'}\0`);
  const cmdAddr = base + 0x100;
  const nameAddr = base + 0x80;
  const mapAddr = cmdAddr + 0x400 + 0x100;
  mem.load(cmdAddr, cmdline.subarray(0, 0x400));
  mem.load(nameAddr, name.subarray(0, 0x80));

  // The PC's memory map: conventional memory below the EBDA, the EBDA and BIOS area
  // reserved, then everything from 1 MiB to the top of RAM.
  const map: [number, number, number][] = [
    [0, 0x9fc00, 1],
    [0x9fc00, 0x400, 2],
    [0xf0000, 0x10000, 2],
    [0x100000, mem.size - 0x100000, 1],
  ];
  let p = mapAddr;
  for (const [addr, len, type] of map) {
    mem.write32(p, 20); // size of the entry, not counting this field
    mem.write32(p + 4, addr);
    mem.write32(p + 8, 0);
    mem.write32(p + 12, len);
    mem.write32(p + 16, 0);
    mem.write32(p + 20, type);
    p += 24;
  }
  mem.write32(base + 0, INFO_MEMORY | INFO_CMDLINE | INFO_MEM_MAP | INFO_LOADER_NAME);
  mem.write32(base + 4, 640); // mem_lower, KiB
  mem.write32(base + 8, (mem.size - 0x100000) >>> 10); // mem_upper, KiB above 1 MiB
  mem.write32(base + 16, cmdAddr);
  mem.write32(base + 44, p - mapAddr); // mmap_length
  mem.write32(base + 48, mapAddr);
  mem.write32(base + 64, nameAddr);
  return base;
}
