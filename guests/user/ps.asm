; ps.asm - list the process table, one line per process (pinfo system call).
%include "lib.inc"

main:
        PRINT   "  PID  PPID STATE     TICKS NAME"
        call    newline
        xor     ebx, ebx                ; slot
.slot:  push    ebx
        mov     ecx, info
        SYS     SYS_PINFO
        pop     ebx
        cmp     eax, 0
        jl      .done
        je      .next
        mov     ecx, 5
        mov     eax, [info + PI_PID]
        call    putdec
        mov     ecx, 6
        mov     eax, [info + PI_PPID]
        call    putdec
        mov     al, ' '
        call    putc
        mov     eax, [info + PI_STATE]
        mov     esi, [state_names + eax * 4]
        call    puts
        mov     ecx, 6
        mov     eax, [info + PI_TICKS]
        call    putdec
        mov     al, ' '
        call    putc
        mov     esi, info + PI_NAME
        call    puts
        call    newline
.next:  inc     ebx
        jmp     .slot
.done:  xor     eax, eax
        ret

section .data
st_free:  db "free    ", 0
st_run:   db "runnable", 0
st_sleep: db "sleeping", 0
st_zomb:  db "zombie  ", 0
st_new:   db "new     ", 0
align 4
state_names: dd st_free, st_run, st_sleep, st_zomb, st_new

section .bss
info:   resb PI_SIZE

PROGRAM_END
