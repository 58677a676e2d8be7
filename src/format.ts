/*
 * Small formatting helpers shared by the views: hex, EFLAGS decoding, page-entry flags,
 * trace event details in xentrace style, and CSV. Pure functions, no React.
 */

export const hex8 = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
export const hex4 = (v: number) => (v & 0xffff).toString(16).padStart(4, '0');
export const hex2 = (v: number) => (v & 0xff).toString(16).padStart(2, '0');

/** EFLAGS bits the CPU view decodes, low to high (Intel SDM vol. 1, 3.4.3). */
export const EFLAGS_BITS: [string, number, string][] = [
  ['CF', 0, 'carry'], ['PF', 2, 'parity'], ['AF', 4, 'adjust'], ['ZF', 6, 'zero'], ['SF', 7, 'sign'],
  ['TF', 8, 'trap (single step)'], ['IF', 9, 'interrupts enabled'], ['DF', 10, 'direction'], ['OF', 11, 'overflow'],
  ['NT', 14, 'nested task'], ['RF', 16, 'resume'], ['VM', 17, 'virtual-8086'], ['AC', 18, 'alignment check'], ['ID', 21, 'CPUID available'],
];

export function iopl(eflags: number): number {
  return (eflags >>> 12) & 3;
}

export const CR0_BITS: [string, number][] = [['PE', 0], ['MP', 1], ['EM', 2], ['TS', 3], ['ET', 4], ['NE', 5], ['WP', 16], ['AM', 18], ['NW', 29], ['CD', 30], ['PG', 31]];
export const CR4_BITS: [string, number][] = [['VME', 0], ['PVI', 1], ['TSD', 2], ['DE', 3], ['PSE', 4], ['PAE', 5], ['PGE', 7]];

export function bitNames(value: number, bits: [string, number][]): string {
  return bits.filter(([, b]) => (value >>> b) & 1).map(([n]) => n).join(' ') || '-';
}

const VECTORS = ['#DE divide error', '#DB debug', 'NMI', '#BP breakpoint', '#OF overflow', '#BR bound range', '#UD invalid opcode',
  '#NM no FPU', '#DF double fault', 'coprocessor overrun', '#TS invalid TSS', '#NP segment not present', '#SS stack fault',
  '#GP general protection', '#PF page fault', 'reserved', '#MF x87 error', '#AC alignment check'];

export function vectorName(v: number): string {
  return v < VECTORS.length ? VECTORS[v] : `vector 0x${v.toString(16)}`;
}

/** Page-fault error code bits (SDM vol. 3, 4.7). */
export function pfError(code: number): string {
  return `${code & 1 ? 'protection' : 'not-present'} ${code & 2 ? 'write' : 'read'} ${code & 4 ? 'user' : 'kernel'}`;
}

/** One line of detail for a trace event, by kind name (the kinds of workers/trace). */
export function eventDetail(kind: string, a: number, b: number, c: number): string {
  switch (kind) {
    case 'exception': return `${vectorName(a)}${b >= 0 ? ` err=0x${(b >>> 0).toString(16)}` : ''}${a === 14 ? ` cr2=${hex8(c)}` : ''}`;
    case 'interrupt': return `vector 0x${a.toString(16)}${b >= 0 ? ` irq ${b}` : ''}`;
    case 'softint': return `int 0x${a.toString(16)}`;
    case 'syscall': return `eax=${a} ebx=${hex8(b)}`;
    case 'pagefault': return `cr2=${hex8(a)} ${pfError(b)}`;
    case 'cr3load': return `cr3 ${hex8(b)} -> ${hex8(a)}`;
    case 'privinsn': return `opcode 0x${(a >>> 0).toString(16)}${b ? ` 0x${(b >>> 0).toString(16)}` : ''}`;
    case 'iret': return `to ${hex4(a)}:${hex8(b)}`;
    case 'tlbflush': return a === 0 ? 'full flush' : `invlpg ${hex8(b)}`;
    case 'triplefault': return `last vector ${a}`;
    case 'hypercall': return `#${a} (${hex8(b)}, ${hex8(c)})`;
    case 'ptewrite': return `ma=${hex8(a)} val=${hex8(b)}`;
    case 'shadowfix': return `va=${hex8(a)}`;
    default: return a || b || c ? `${hex8(a)} ${hex8(b)} ${hex8(c)}` : '';
  }
}

export function csvField(s: string | number): string {
  const t = String(s);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}
