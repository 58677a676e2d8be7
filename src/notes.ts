/*
 * Plain-English notes on system instructions, for the code view: matched on the source
 * line (or the disassembly when the disassembler gives no note of its own). A student
 * sees at a glance which lines a hypervisor would have to trap or replace.
 */

const NOTES: [RegExp, string][] = [
  [/^\s*mov\s+cr3\s*,/i, 'load CR3: switch to another address space (flushes the TLB)'],
  [/^\s*mov\s+cr0\s*,/i, 'write CR0: turns protection, paging or write-protect on or off'],
  [/^\s*mov\s+cr4\s*,/i, 'write CR4: paging extensions such as 4 MiB pages'],
  [/^\s*mov\s+\w+\s*,\s*cr2/i, 'read CR2: the address that caused the page fault'],
  [/^\s*mov\s+\w+\s*,\s*cr[034]/i, 'read a control register'],
  [/^\s*lgdt\b/i, 'lgdt: load the GDT register (where segment descriptors live)'],
  [/^\s*lidt\b/i, 'lidt: load the IDT register (where interrupt gates live)'],
  [/^\s*ltr\b/i, 'ltr: load the task register (the TSS holds the kernel stack for ring switches)'],
  [/^\s*invlpg\b/i, 'invlpg: drop one page from the TLB after changing its mapping'],
  [/^\s*iretd?\b/i, 'iret: return from an interrupt or trap (may drop to ring 3)'],
  [/^\s*int\s+0x80\b/i, 'int 0x80: system call into the kernel'],
  [/^\s*int3?\b/i, 'int: software interrupt through the IDT'],
  [/^\s*cli\b/i, 'cli: disable interrupts (privileged unless IOPL allows)'],
  [/^\s*sti\b/i, 'sti: enable interrupts (takes effect after the next instruction)'],
  [/^\s*hlt\b/i, 'hlt: idle until the next interrupt (ring 0 only)'],
  [/^\s*(in|out)[sbwd]?\b/i, 'port I/O: talks to a device (checked against IOPL)'],
  [/^\s*popfd?\b/i, 'popf: at CPL > IOPL silently keeps IF (why x86 is hard to virtualize)'],
  [/^\s*pushfd?\b/i, 'pushf: reveals IF to any ring'],
  [/^\s*(sgdt|sidt|smsw)\b/i, 'readable at any ring: reveals that a kernel is not in ring 0'],
  [/^\s*jmp\s+(0x)?[0-9a-f]+\s*:/i, 'far jump: reloads CS from the GDT'],
  [/^\s*pushad?\b/i, ''],
];

export function noteFor(text: string): string {
  const code = text.replace(/;.*$/, '').replace(/^\s*[.\w]+:\s*/, '');
  for (const [re, note] of NOTES) if (re.test(code)) return note;
  return '';
}
