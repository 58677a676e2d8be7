; sleep.asm - sleep for N timer ticks (default 10; HZ = 100, so 10 ms each), then say
; how many ticks really passed. The process sleeps in the kernel: the CPU idles or runs
; others meanwhile.
%include "lib.inc"

main:
        mov     esi, ebx
        call    skip_spaces
        call    atoi
        test    eax, eax
        jnz     .have
        mov     eax, 10
.have:  mov     [want], eax
        SYS     SYS_UPTIME
        mov     [start], eax
        mov     ebx, [want]
        SYS     SYS_SLEEP
        SYS     SYS_UPTIME
        sub     eax, [start]
        push    eax
        PRINT   "slept "
        pop     eax
        call    putnum
        PRINT   " ticks"
        call    newline
        xor     eax, eax
        ret

section .bss
want:   resd 1
start:  resd 1

PROGRAM_END
