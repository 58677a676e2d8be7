/*
 * The CPU's system architecture, the part of the i486 an operating system (and a
 * hypervisor) is built on: segmentation with descriptor checks, the four rings, the TSS
 * ring stacks, exceptions and interrupts through the IDT, far calls through call gates,
 * IRET across rings, the control registers and the IOPL rules. The instruction handlers
 * in x86/ops call these functions; the functions read and write the Cpu's state fields
 * directly and raise faults with cpu.raise(). Intel SDM vol. 3, chapters 2-7, is the
 * reference throughout; each function names the rule it implements.
 *
 * Reading order (folder system/):
 *   cpuview.ts      what of the Cpu this layer uses, constants, fault / stop helpers
 *   descriptors.ts  selectors, descriptors, segment loads (MOV Sreg), ring stacks
 *   interrupts.ts   exceptions, external and software interrupts, #DF, triple fault
 *   transfers.ts    far JMP / CALL (call gates) / RETF / IRET, POPF's EFLAGS mask
 *   instructions.ts MOV CRn/DRn, LGDT/LIDT/LLDT/LTR, LAR/LSL/VERR/VERW, HLT, INVLPG,
 *                   CLI/STI and the I/O permission bitmap, the Multiboot entry state
 * Privileged-instruction checks (CPL 0 else #GP(0)) live in instructions.ts, not in the
 * handlers, so the rule the virtualization lessons rest on is written once.
 *
 * Contract with the run loop and handlers (cpu.ts, ops/):
 *   - Call cpu.afterSystem() after any of these functions: they may change CS, CPL, the
 *     segment caches, CR0/CR3/CR4 or EFLAGS.
 *   - A load of SS, and STI when it sets IF, set `cpu.inhibitIrq = true`: no external
 *     interrupt (or TF trap) before the next instruction has run.
 *   - A null selector in DS/ES/FS/GS leaves segAttr = 0: any access through a segment
 *     whose attribute lacks P (0x80) is #GP(0) (#SS(0) for SS).
 *   - For far CALL and the INT family, cpu.eip holds the return address on entry.
 *   - A monitor that returns true from onSoftInt/onException has handled the event and
 *     must itself set EIP where the guest resumes.
 *   - Trace events emitted here: Exception, Interrupt, SoftInt, Syscall (INT 0x80), Iret,
 *     Cr3Load, PrivInsn, Halt, TlbFlush, TripleFault. (PageFault is paging.ts's.)
 *   - movToCr flushes the TLB itself (every CR3 write, CR0.PG/PE/WP and CR4.PSE changes).
 *
 * Deliberate departures from the i486, each stopping the machine with a clear report
 * (cpu.stopInfo.kind 'unsupported') rather than misbehaving: hardware task switching (a
 * task gate in the IDT, far JMP/CALL to a TSS or task gate, IRET with NT=1) and
 * virtual-8086 mode (IRET to VM=1). Also: CR4 holds PSE only (other bits #GP); DR0-DR3
 * and DR7 are stored but arm no hardware breakpoints; RF is not modelled; expand-down
 * stack segments are checked but rarely used; LSL returns the limit as an unsigned number
 * so that -1 only ever means "ZF=0". Next: system/cpuview.ts.
 */

export {
  ES, CS, SS, DS, FS, GS, Vec, type SysCpu, type SysMonitor, type SysStopKind,
} from './system/cpuview';
export { loadSeg, fetchDescriptor, D as lastDescriptor } from './system/descriptors';
export {
  deliverException, deliverExternal, deliverSoftware, bounceToHandler, SoftKind, EventKind, SYSCALL_VECTOR, isDoubleFault,
} from './system/interrupts';
export { farJump, farCall, farReturn, iret, popfAllowedMask } from './system/transfers';
export {
  movToCr, movFromCr, movToDr, movFromDr, clts, lmsw, lgdt, lidt, lldt, ltr, lar, lsl, verr, verw,
  hlt, invlpg, checkIo, cli, sti, setFlatProtectedMode, requireRing0,
} from './system/instructions';
