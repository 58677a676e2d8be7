; segv.asm - misbehave on purpose: store through a null pointer (or, with the argument
; "kernel", into the kernel half). Ring 3 cannot touch either, so the page fault handler
; kills the process and the shell carries on.
%include "lib.inc"

main:
        mov     esi, ebx
        mov     edi, str_kernel
        call    strcmp
        mov     eax, 0                  ; the null page: never mapped
        jne     .poke
        mov     eax, 0xC0100000         ; the kernel image: mapped, but supervisor only
.poke:  mov     dword [eax], 1
        PRINT   "segv: still alive?"
        call    newline
        ret

section .data
str_kernel:     db "kernel", 0

PROGRAM_END
