/*
 * The NASM prelude of the whole-program system tests (see machine.ts): loads the standard
 * world's GDT, IDT and TSS, provides logging interrupt stubs, return hooks and macros.
 */

import { assemble } from '../../support/nasm';
import { CODE, STACK0 } from './world';

export const DONE = CODE + 0x08;
export const IRET_HOOK = CODE + 0x10;
export const SKIP_HOOK = CODE + 0x20;
export const BODY = CODE + 0x2000;
/** ADDR k, label stores a label's address here, for the test to read back. */
export const ADDR_SLOTS = 0x700;

const PRELUDE = `
bits 32
org 0x${CODE.toString(16)}
%define LOG 0x800
%define HOOK 0x7f0
%define SKIP 0x7f4
%define DONE 0x${DONE.toString(16)}
%define IRET_HOOK 0x${IRET_HOOK.toString(16)}
%define SKIP_HOOK 0x${SKIP_HOOK.toString(16)}

; Run %1 expecting it to fault; the handler returns past it (with HOOK = SKIP_HOOK).
%macro EXPECT_FAULT 1+
  mov dword [ss:SKIP], %%e - %%s
%%s: %1
%%e:
%endmacro

; Record the address of the faulting instruction %2 in slot %1, then EXPECT_FAULT it.
%macro FAULT_AT 2+
  mov dword [ss:0x700 + 4 * (%1)], %%s
  mov dword [ss:SKIP], %%e - %%s
%%s: %2
%%e:
%endmacro

; iretd into ring CS=%1 with SS=%2, ESP=%3 at label %4 (EFLAGS as now).
%macro TO_RING 4
  push dword %2
  push dword %3
  pushfd
  push dword %1
  push dword %4
  iretd
%endmacro
; Record the address of label %2 in slot %1 (read back with World.addr).
%macro ADDR 2
  mov dword [ss:0x700 + 4 * (%1)], %2
%endmacro

%macro TO_RING3 1
  TO_RING 0x2b, 0x33, 0x6f000, %1
%endmacro
%macro TO_RING1 1
  TO_RING 0x19, 0x21, 0x8f000, %1
%endmacro
; Flat data segments of ring %1's data selector.
%macro DATA_SEGS 1
  mov ax, %1
  mov ds, ax
  mov es, ax
%endmacro

start:
  jmp near entry
  times 0x08-($-$$) db 0x90
done:                         ; DONE: the breakpoint that ends a test
  jmp done
  times 0x10-($-$$) db 0x90
iret_hook:                    ; IRET_HOOK
  add esp, 8
  iretd
  times 0x20-($-$$) db 0x90
skip_hook:                    ; SKIP_HOOK: [esp+4] vector, [esp+8] error code, [esp+12] EIP
  push eax
  mov eax, [ss:SKIP]
  add [ss:esp+12], eax
  pop eax
  add esp, 8
  iretd
  times 0x100-($-$$) db 0x90

%assign n 0
%rep 256
  %if n == 8 || (n >= 10 && n <= 14) || n == 17
    push dword n
    jmp near isr_common
  %else
    push dword -1
    push dword n
    jmp near isr_common
  %endif
  times 0x100 + (n + 1) * 16 - ($-$$) db 0xcc
  %assign n n+1
%endrep

isr_common:                   ; [esp] vector, [esp+4] error code, [esp+8] EIP, CS, EFLAGS, ESP, SS
  push eax
  push ebx
  push ecx
  mov ebx, [ss:LOG]
  shl ebx, 5
  add ebx, LOG + 32
  mov eax, [esp+12]
  mov [ss:ebx], eax
  mov eax, [esp+16]
  mov [ss:ebx+4], eax
  mov eax, [esp+20]
  mov [ss:ebx+8], eax
  mov eax, [esp+24]
  mov [ss:ebx+12], eax
  mov eax, [esp+28]
  mov [ss:ebx+16], eax
  xor ecx, ecx
  mov [ss:ebx+20], ecx
  mov [ss:ebx+24], ecx
  mov cx, cs
  mov [ss:ebx+28], ecx
  mov eax, [esp+24]
  xor eax, ecx
  test eax, 3
  jz .same
  mov eax, [esp+32]
  mov [ss:ebx+20], eax
  mov eax, [esp+36]
  mov [ss:ebx+24], eax
.same:
  inc dword [ss:LOG]
  pop ecx
  pop ebx
  pop eax
  jmp [ss:HOOK]

entry:
  lgdt [0x600]
  lidt [0x608]
  jmp 0x08:.reload
.reload:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  mov esp, 0x${STACK0.toString(16)}
  mov ax, 0x38
  ltr ax
  mov dword [HOOK], DONE
  jmp body
  times 0x2000-($-$$) db 0xcc
body:
`;


/** Assembles a test body after the prelude. */
export function assembleBody(body: string): Uint8Array {
  return assemble(PRELUDE + body + '\n');
}

