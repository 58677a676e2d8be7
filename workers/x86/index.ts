/*
 * The x86 package's front door: what the machine, the hypervisor, the assembler and the UI
 * import. Reading order for the CPU: opcodes.ts (the table) -> decoder.ts -> cpu.ts (state,
 * memory path, run loop) -> flags.ts -> ops/ (semantics) -> paging.ts -> system.ts.
 */

export { Cpu, CpuFault, Stop, type CpuSnapshot, type Monitor, type RegisterFile, type StopInfo } from './cpu';
export { Insn, decode, type Handler } from './decoder';
export { Mmu } from './paging';
export { PhysicalMemory, PAGE_SIZE } from './memory';
export { emptyBus, type InterruptLine, type IoBus } from './bus';
export * as opcodes from './opcodes';
