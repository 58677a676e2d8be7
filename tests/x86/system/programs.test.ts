/*
 * The system lessons as whole programs on the real Cpu: real mode to protected mode, INT
 * and IRET across rings 3 -> 0 and 3 -> 1 (the paravirtual kernel's ring), call gates,
 * privileged instructions trapping outside ring 0 while SGDT/SIDT/SMSW/PUSHF do not,
 * IOPL and the I/O bitmap, POPF silently keeping IF, single-step #DB, #DF, a triple fault
 * that stops cleanly, interrupt shadows, and a monitor that sees events before the IDT.
 */

import { describe, expect, it } from 'vitest';
import { assemble } from '../../support/nasm';
import { Ev } from '../../../workers/trace/trace';
import { Cpu, Stop } from '../../../workers/x86/cpu';
import { emptyBus } from '../../../workers/x86/bus';
import { PhysicalMemory } from '../../../workers/x86/memory';
import { DONE, world } from './machine';
import { Acc, GDT, IDT, Sel, buildWorld, dpl, setGate, stubAddr, writeGate } from './world';

const IF = 0x200, TF = 0x100;

describe('from real mode to protected mode', () => {
  it('LGDT, CR0.PE, a far jump: CS is a 32-bit ring-0 segment', () => {
    const mem = new PhysicalMemory(1 << 20);
    const cpu = new Cpu(mem, emptyBus);
    buildWorld(mem);
    mem.load(0x7c00, assemble(`
      bits 16
      org 0x7c00
      cli
      xor ax, ax
      mov ds, ax
      lgdt [0x600]
      mov eax, cr0
      or al, 1
      mov cr0, eax
      jmp dword 0x08:pm
      bits 32
    pm:
      mov ax, 0x10
      mov ds, ax
      mov ss, ax
      mov esp, 0x9000
      mov dword [0x500], 0xc0ffee
      smsw bx
      hlt
    `));
    cpu.sreg[1] = 0; cpu.segBase[1] = 0; cpu.eip = 0x7c00;
    cpu.afterSystem();
    expect(cpu.run(1000)).toBe(Stop.Halted);
    expect(cpu.cr0 & 1).toBe(1);
    expect(cpu.cpl).toBe(0);
    expect(cpu.sreg[1]).toBe(0x08);
    expect(cpu.segAttr[1] & 0x4000).toBe(0x4000);
    expect(cpu.sreg[2]).toBe(0x10);
    expect(mem.read32(0x500)).toBe(0xc0ffee);
    expect(cpu.regs[3] & 1).toBe(1);
  });

  it('real-mode INT goes through the IVT and IRET comes back', () => {
    const mem = new PhysicalMemory(1 << 20);
    const cpu = new Cpu(mem, emptyBus);
    mem.load(0x7c00, assemble(`
      bits 16
      org 0x7c00
      xor ax, ax
      mov ss, ax
      mov sp, 0x7000
      mov word [0x21*4], handler
      mov word [0x21*4+2], 0
      int 0x21
      mov bx, 0x1111
      hlt
    handler:
      mov ax, 0x4242
      iret
    `));
    cpu.sreg[1] = 0; cpu.segBase[1] = 0; cpu.eip = 0x7c00;
    cpu.afterSystem();
    expect(cpu.run(1000)).toBe(Stop.Halted);
    expect(cpu.regs[0] & 0xffff).toBe(0x4242);
    expect(cpu.regs[3] & 0xffff).toBe(0x1111);
    expect(cpu.regs[4] & 0xffff).toBe(0x7000);
  });
});

describe('INT and IRET across rings', () => {
  it('ring 3 -> ring 0 through a DPL-3 trap gate and back; a DPL-0 gate is #GP(v*8+2)', () => {
    const w = world(`
      mov dword [HOOK], IRET_HOOK
      ADDR 0, user
      ADDR 1, after80
      ADDR 2, bad
      TO_RING3 user
    user:
      DATA_SEGS 0x33
      mov eax, 1
      int 0x80
    after80:
      mov ebx, 2
      mov dword [ss:HOOK], DONE
    bad:
      int 0x81
      jmp $
    `, { setup: (m) => setGate(m, 0x80, Sel.code0, dpl(Acc.trapGate32, 3)) });
    expect(w.run()).toBe(Stop.Breakpoint);
    expect(w.cpu.eip).toBe(DONE);
    const log = w.log();
    expect(log.length).toBe(2);
    expect(log[0]).toMatchObject({ vector: 0x80, err: -1, eip: w.addr(1), cs: Sel.code3, esp: 0x6f000, ss: Sel.data3, handlerCs: Sel.code0 });
    expect(log[1]).toMatchObject({ vector: 13, err: 0x81 * 8 + 2, eip: w.addr(2), cs: Sel.code3, handlerCs: Sel.code0 });
    expect(w.cpu.regs[3]).toBe(2);
    expect(w.cpu.trace.counts[Ev.Syscall]).toBe(1);
    expect(w.cpu.trace.counts[Ev.Iret]).toBe(2); // TO_RING3 and the return from INT 0x80
  });

  it('a ring-1 kernel: INT 0x80 from ring 3 lands in ring 1 on the SS1:ESP1 stack', () => {
    const w = world(`
      mov dword [HOOK], IRET_HOOK
      ADDR 0, after
      TO_RING3 user
    user:
      DATA_SEGS 0x33
      int 0x80
    after:
      mov dword [ss:HOOK], DONE
      int 0x80
    `, { setup: (m) => setGate(m, 0x80, Sel.code1, dpl(Acc.intGate32, 3)) });
    expect(w.run()).toBe(Stop.Breakpoint);
    const log = w.log();
    expect(log.length).toBe(2);
    expect(log[0]).toMatchObject({ vector: 0x80, eip: w.addr(0), cs: Sel.code3, ss: Sel.data3, handlerCs: Sel.code1 });
    expect(w.cpu.cpl).toBe(1);
    expect(w.cpu.sreg[2]).toBe(Sel.data1);
    expect(w.cpu.regs[4] >>> 0).toBe(0x8f000 - 28);
    expect(w.cpu.getEflags() & IF).toBe(0);
  });

  it('an exception in ring 3 with an error code, handled in ring 0, returns past the fault', () => {
    const w = world(`
      mov dword [HOOK], SKIP_HOOK
      TO_RING3 user
    user:
      DATA_SEGS 0x33
      mov ax, 0x10
      FAULT_AT 0, mov ds, ax
      mov dword [ss:HOOK], DONE
      FAULT_AT 1, mov eax, cr0
    `);
    expect(w.run()).toBe(Stop.Breakpoint);
    const log = w.log();
    expect(log.map((e) => [e.vector, e.err])).toEqual([[13, 0x10], [13, 0]]);
    expect(log.map((e) => e.eip)).toEqual([w.addr(0), w.addr(1)]);
    expect(log.map((e) => e.ss)).toEqual([Sel.data3, Sel.data3]);
  });

  it('segment faults from ring 3 carry the selector: #NP for DS, #SS for SS, #GP for a ring-0 segment', () => {
    const w = world(`
      mov dword [HOOK], SKIP_HOOK
      TO_RING3 user
    user:
      DATA_SEGS 0x33
      mov bx, 0x43               ; DPL 3 data, not present
      FAULT_AT 0, mov es, bx
      FAULT_AT 1, mov ss, bx
      mov bx, 0x13               ; ring-0 data with RPL 3
      FAULT_AT 2, mov fs, bx
      mov bx, 0xb3               ; past the GDT limit
      FAULT_AT 3, mov gs, bx
      mov dword [ss:HOOK], DONE
      jmp DONE
    `);
    expect(w.run()).toBe(Stop.Breakpoint);
    expect(w.log().map((e) => [e.vector, e.err, e.eip])).toEqual([
      [11, 0x40, w.addr(0)], [12, 0x40, w.addr(1)], [13, 0x10, w.addr(2)], [13, 0xb0, w.addr(3)],
    ]);
  });

  it('IRET to ring 3 nulls a ring-0 DS: the next access through it is #GP(0)', () => {
    const w = world(`
      TO_RING3 user
    user:
      mov ecx, ds
      FAULT_AT 0, mov eax, [0x1000]
      jmp $
    `);
    expect(w.run()).toBe(Stop.Breakpoint);
    expect(w.log().map((e) => [e.vector, e.err, e.eip])).toEqual([[13, 0, w.addr(0)]]);
    expect(w.cpu.regs[1] & 0xffff).toBe(0);
  });

  it('far CALL through a call gate from ring 3 to ring 0 with two parameters; RETF 8 back', () => {
    const w = world(`
      mov eax, gate_target      ; call gate 0x58: DPL 3, 32-bit, 2 parameters, to 0x08:gate_target
      mov word [0x1058], ax
      mov word [0x105a], 0x08
      mov word [0x105c], 0xec02
      shr eax, 16
      mov word [0x105e], ax
      TO_RING3 user
    user:
      DATA_SEGS 0x33
      push dword 0x22
      push dword 0x11
      call 0x5b:0
      mov esi, esp
      mov edi, cs
      jmp DONE
    gate_target:
      mov eax, [esp+8]
      mov ebx, [esp+12]
      mov ecx, cs
      mov edx, ss
      retf 8
    `);
    expect(w.run()).toBe(Stop.Breakpoint);
    const c = w.cpu;
    expect([c.regs[0], c.regs[3], c.regs[1] & 0xffff, c.regs[2] & 0xffff]).toEqual([0x11, 0x22, Sel.code0, Sel.data0]);
    expect(c.cpl).toBe(3);
    expect(c.regs[7] & 0xffff).toBe(Sel.code3);
    expect(c.regs[6] >>> 0).toBe(0x6f000);
    expect(w.log()).toEqual([]);
  });
});

describe('the instructions that make the i486 hard to virtualize', () => {
  it('in ring 1, privileged instructions fault but SGDT/SIDT/SMSW/STR/PUSHF read the real values', () => {
    const w = world(`
      mov dword [HOOK], SKIP_HOOK
      TO_RING1 k
    k:
      DATA_SEGS 0x21
      EXPECT_FAULT mov cr3, eax
      EXPECT_FAULT mov eax, cr0
      EXPECT_FAULT lgdt [0x600]
      EXPECT_FAULT lidt [0x608]
      EXPECT_FAULT ltr ax
      EXPECT_FAULT invlpg [0]
      EXPECT_FAULT hlt
      EXPECT_FAULT clts
      EXPECT_FAULT cli
      EXPECT_FAULT sti
      EXPECT_FAULT in al, 0x60
      EXPECT_FAULT out 0x60, al
      sgdt [0x400]
      sidt [0x408]
      smsw [0x410]
      str [0x414]
      pushfd
      pop dword [0x418]
      mov dword [ss:HOOK], DONE
      jmp DONE
    `);
    expect(w.run()).toBe(Stop.Breakpoint);
    const log = w.log();
    expect(log.length).toBe(12);
    for (const e of log) expect([e.vector, e.err, e.cs]).toEqual([13, 0, Sel.code1]);
    expect(w.mem.read16(0x400)).toBe(0xaf);
    expect(w.mem.read32(0x402)).toBe(GDT);
    expect(w.mem.read32(0x40a)).toBe(IDT);
    expect(w.mem.read16(0x410) & 1).toBe(1);
    expect(w.mem.read16(0x414)).toBe(Sel.tss);
    expect(w.mem.read32(0x418) & 0x3000).toBe(0);
  });

  it('POPF in ring 1 at IOPL 0 silently keeps IF; at CPL 0 it changes it', () => {
    const w = world(`
      TO_RING1 k
    k:
      DATA_SEGS 0x21
      pushfd
      pop eax
      or eax, 0x3200          ; try IF=1 and IOPL=3
      push eax
      popfd
      pushfd
      pop ebx
      jmp DONE
    `);
    expect(w.run()).toBe(Stop.Breakpoint);
    expect(w.log()).toEqual([]);
    expect(w.cpu.regs[3] & (IF | 0x3000)).toBe(0);
  });

  it('with IOPL 1 the ring-1 kernel may CLI/STI and use any port; ring 3 only bitmap ports', () => {
    const w = world(`
      pushfd
      or dword [esp], 0x1000   ; IOPL 1
      popfd
      mov dword [HOOK], SKIP_HOOK
      TO_RING1 k
    k:
      DATA_SEGS 0x21
      cli
      sti
      cli
      in al, 0x60
      mov dx, 0x3f8
      out dx, al
      TO_RING3 u
    u:
      DATA_SEGS 0x33
      in al, 0x80
      out 0x61, al
      EXPECT_FAULT in al, 0x60
      EXPECT_FAULT in ax, 0x80
      EXPECT_FAULT cli
      mov dx, 0x3f8
      EXPECT_FAULT out dx, al
      mov dword [ss:HOOK], DONE
      jmp DONE
    `);
    const outs: number[] = [];
    w.cpu.io = { ...emptyBus, out8: (p: number) => { outs.push(p); } };
    expect(w.run()).toBe(Stop.Breakpoint);
    const log = w.log();
    expect(log.map((e) => [e.vector, e.err, e.cs])).toEqual([[13, 0, Sel.code3], [13, 0, Sel.code3], [13, 0, Sel.code3], [13, 0, Sel.code3]]);
    expect(outs).toEqual([0x3f8, 0x61]);
  });
});

describe('single-step, #DF and the triple fault', () => {
  it('TF traps after each instruction with #DB; the handler runs with TF clear', () => {
    const w = world(`
      mov dword [HOOK], IRET_HOOK
      ADDR 0, a
      ADDR 1, b
      ADDR 2, c
      ADDR 3, d
      pushfd
      or dword [esp], 0x100
      popfd
    a: mov eax, 1
    b: mov ebx, 2
    c: pushfd
      and dword [esp], ~0x100
      popfd
    d: mov dword [HOOK], DONE
      jmp DONE
    `);
    expect(w.run()).toBe(Stop.Breakpoint);
    const log = w.log();
    // POPF that sets TF traps only after the next instruction; then #DB after mov eax (EIP b),
    // mov ebx (c), pushfd (c+1), and (c+8), and the popfd that clears TF (it was set before: d).
    expect(log.every((e) => e.vector === 1)).toBe(true);
    expect(log.map((e) => e.eip)).toEqual([w.addr(1), w.addr(2), w.addr(2) + 1, w.addr(2) + 8, w.addr(3)]);
    expect(log.map((e) => (e.eflags & TF) !== 0)).toEqual([true, true, true, true, false]);
    expect(w.cpu.getEflags() & TF).toBe(0);
  });

  it('INT through a missing gate whose #NP gate is missing too: #DF', () => {
    const w = world(`
      ADDR 0, i
    i: int 0x40
      jmp $
    `, {
      setup: (m) => {
        writeGate(m, IDT + 0x40 * 8, Sel.code0, stubAddr(0x40), Acc.intGate32 & ~0x80);
        writeGate(m, IDT + 11 * 8, Sel.code0, stubAddr(11), Acc.intGate32 & ~0x80);
      },
    });
    expect(w.run()).toBe(Stop.Breakpoint);
    expect(w.log().map((e) => [e.vector, e.err, e.eip])).toEqual([[8, 0, w.addr(0)]]);
  });

  it('a fault with no usable IDT is a triple fault: the run stops with a report', () => {
    const w = world(`
      lidt [bad_idtr]
      ud2
    bad_idtr:
      dw 0
      dd 0
    `);
    expect(w.run()).toBe(Stop.TripleFault);
    expect(w.cpu.stopInfo?.kind).toBe('tripleFault');
    expect(w.cpu.stopInfo?.what).toMatch(/triple fault/);
    expect(w.cpu.stopInfo?.lastEvents.some((e) => e.kind === Ev.TripleFault)).toBe(true);
    expect(w.run()).toBe(Stop.TripleFault); // stays stopped
  });
});

describe('page faults across rings', () => {
  /** Identity-maps the first 4 MiB with user-writable 4 KiB pages, except `holes`. */
  function pageTables(mem: { write32(a: number, v: number): void }, holes: number[]): void {
    mem.write32(0x20000, 0x21000 | 7);
    for (let p = 0; p < 1024; p++) mem.write32(0x21000 + p * 4, holes.includes(p << 12) ? 0 : (p << 12) | 7);
  }
  const PAGING_ON = `
      mov eax, 0x20000
      mov cr3, eax
      mov eax, cr0
      or eax, 0x80000000
      mov cr0, eax
  `;

  it('a ring-3 read of an unmapped page: #PF with error code 4 (user, read, not present) and CR2', () => {
    const w = world(`
      ${PAGING_ON}
      TO_RING3 u
    u:
      DATA_SEGS 0x33
      FAULT_AT 0, mov eax, [0x400010]
      jmp $
    `, { setup: (m) => pageTables(m, []) });
    expect(w.run()).toBe(Stop.Breakpoint);
    expect(w.log().map((e) => [e.vector, e.err, e.eip, e.cs])).toEqual([[14, 4, w.addr(0), Sel.code3]]);
    expect(w.cpu.cr2 >>> 0).toBe(0x400010);
    expect(w.cpu.trace.counts[Ev.PageFault]).toBe(1);
  });

  it('the ring-0 stack unmapped: #UD -> #PF pushing the frame -> #PF again -> #DF (to a ring-1 handler)', () => {
    const w = world(`
      mov esp, 0x9d000          ; the body's own stack, away from the hole at TSS.ESP0
      ${PAGING_ON}
      TO_RING3 u
    u:
      DATA_SEGS 0x33
      FAULT_AT 0, ud2
      jmp $
    `, {
      setup: (m) => {
        pageTables(m, [0x9e000]);
        setGate(m, 8, Sel.code1, Acc.intGate32);
      },
    });
    const stop = w.run();
    expect(w.cpu.stopInfo).toBeNull();
    expect(stop).toBe(Stop.Breakpoint);
    expect(w.log().map((e) => [e.vector, e.err, e.eip, e.cs, e.handlerCs])).toEqual([[8, 0, w.addr(0), Sel.code3, Sel.code1]]);
    expect(w.cpu.cr2 >>> 0 & ~0xfff).toBe(0x9e000);
    const kinds = w.cpu.trace.last(8).filter((r) => r.kind === Ev.Exception).map((r) => r.a);
    expect(kinds).toEqual([6, 14, 8]);
  });

  it('and with the #DF handler needing the same stack: a triple fault', () => {
    const w = world(`
      mov esp, 0x9d000
      ${PAGING_ON}
      TO_RING3 u
    u:
      ud2
    `, { setup: (m) => pageTables(m, [0x9e000]) });
    expect(w.run()).toBe(Stop.TripleFault);
    expect(w.cpu.stopInfo?.what).toMatch(/triple fault: exception 14 while delivering exception 8/);
  });
});

describe('interrupt shadows and external interrupts', () => {
  it('STI holds a pending interrupt off for one instruction', () => {
    let raised = true;
    const w = world(`
      mov dword [HOOK], IRET_HOOK
      ADDR 0, second
      sti
      mov eax, 1
    second:
      mov ebx, 2
      mov dword [HOOK], DONE
      jmp DONE
    `, { intr: { pending: () => raised, acknowledge: () => { raised = false; return 0x20; } } });
    expect(w.run()).toBe(Stop.Breakpoint);
    const log = w.log();
    expect(log.length).toBe(1);
    expect(log[0]).toMatchObject({ vector: 0x20, err: -1, eip: w.addr(0) });
    expect(w.cpu.trace.counts[Ev.Interrupt]).toBe(1);
  });

  it('an interrupt in ring 3 switches to the ring-0 stack and clears IF through the interrupt gate', () => {
    let raised = false;
    const w = world(`
      mov dword [HOOK], DONE
      push dword 0x33
      push dword 0x6f000
      push dword 0x202
      push dword 0x2b
      push dword u
      iretd
    u:
      mov eax, 7
      jmp u
    `, { intr: { pending: () => raised, acknowledge: () => { raised = false; return 0x21; } } });
    expect(w.run(500)).toBe(Stop.Budget);
    expect(w.cpu.cpl).toBe(3);
    raised = true;
    expect(w.run()).toBe(Stop.Breakpoint);
    const e = w.log()[0];
    expect(e).toMatchObject({ vector: 0x21, cs: Sel.code3, ss: Sel.data3, esp: 0x6f000, handlerCs: Sel.code0 });
    expect(e.eflags & IF).toBe(IF);
    expect(w.cpu.getEflags() & IF).toBe(0);
  });
});

describe('three rings at once: user, a ring-1 kernel, a ring-0 hypervisor', () => {
  it('ring 3 -> ring 1 (INT 0x80); a device interrupt in ring 1 -> ring 0; back down twice', () => {
    let raised = true; // asserted all along, but IF stays 0 until the ring-1 kernel's STI
    const w = world(`
      mov eax, kernel_entry     ; IDT[0x80]: DPL 3 interrupt gate to ring 1
      mov word [0x2000 + 0x80*8], ax
      mov word [0x2000 + 0x80*8 + 2], 0x19
      mov word [0x2000 + 0x80*8 + 4], 0xee00
      shr eax, 16
      mov word [0x2000 + 0x80*8 + 6], ax
      pushfd
      or dword [esp], 0x1000    ; IOPL 1: the ring-1 kernel may STI and CLI
      popfd
      mov dword [HOOK], IRET_HOOK
      ADDR 0, interrupted
      ADDR 1, back_in_user
      TO_RING3 user
    user:
      DATA_SEGS 0x33
      int 0x80
    back_in_user:
      mov ebx, cs
      jmp DONE
    kernel_entry:               ; ring 1, IF=0 (an interrupt gate)
      mov eax, cs
      sti
      nop                       ; the STI shadow: the interrupt waits for this one
    interrupted:
      nop
      cli
      iretd
    `, { intr: { pending: () => raised, acknowledge: () => { raised = false; return 0x20; } } });
    expect(w.run()).toBe(Stop.Breakpoint);
    const log = w.log();
    expect(log.length).toBe(1);
    expect(log[0]).toMatchObject({ vector: 0x20, eip: w.addr(0), cs: Sel.code1, ss: Sel.data1, handlerCs: Sel.code0 });
    expect(log[0].esp).toBe(0x8f000 - 20); // the ring-1 frame of the INT 0x80 lies above it
    expect(w.cpu.regs[0] & 0xffff).toBe(Sel.code1);
    expect(w.cpu.regs[3] & 0xffff).toBe(Sel.code3);
    expect(w.cpu.cpl).toBe(3);
    expect(w.cpu.trace.counts[Ev.Iret]).toBe(3); // TO_RING3, ring 0 -> 1, ring 1 -> 3
  });
});

describe('a monitor sees events before the guest IDT', () => {
  it('emulates CLI for a ring-1 kernel (trap and emulate) and answers a hypercall INT 0x82', () => {
    const w = world(`
      TO_RING1 k
    k:
      DATA_SEGS 0x21
      cli
      mov eax, 5
      int 0x82
      jmp DONE
    `);
    const seen: string[] = [];
    let virtualIf = 1;
    const mask = new Uint8Array(256);
    mask[0x82] = 1;
    w.cpu.monitor = {
      onException: (cpu, vector, err) => {
        seen.push(`exc ${vector} ${err}`);
        if (vector === 13 && cpu.cpl === 1 && w.mem.read8(cpu.linearEip()) === 0xfa) {
          virtualIf = 0;
          cpu.eip += 1;
          return true;
        }
        return false;
      },
      onInterrupt: () => false,
      softIntMask: mask,
      onSoftInt: (cpu, vector, next) => {
        seen.push(`int ${vector.toString(16)}`);
        cpu.regs[0] = cpu.regs[0] * 2;
        cpu.eip = next;
        return true;
      },
    };
    expect(w.run()).toBe(Stop.Breakpoint);
    expect(seen).toEqual(['exc 13 0', 'int 82']);
    expect(virtualIf).toBe(0);
    expect(w.cpu.regs[0]).toBe(10);
    expect(w.log()).toEqual([]);
    expect(w.cpu.trace.counts[Ev.Exception]).toBe(1);
  });
});
