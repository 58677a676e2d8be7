; vmstat.asm - print what the kernel has counted since boot (the kstat system call):
; system calls, interrupts, page faults by kind, context switches, forks, execs, and
; free memory. Run it before and after another program to see what that program cost.
%include "lib.inc"

main:
        mov     ebx, counts
        SYS     SYS_KSTAT
        cmp     eax, KS_COUNT
        jne     .fail
        xor     ebx, ebx
.row:   mov     esi, [labels + ebx * 4]
        call    puts
        mov     eax, [counts + ebx * 4]
        cmp     ebx, KS_FREE_FRAMES
        jne     .print
        shl     eax, 2                  ; frames to KiB
.print: mov     ecx, 10
        call    putdec
        call    newline
        inc     ebx
        cmp     ebx, KS_COUNT
        jb      .row
        xor     eax, eax
        ret
.fail:  PRINT   "vmstat: kstat failed"
        call    newline
        mov     eax, 1
        ret

section .data
l_ticks:        db "timer ticks      ", 0
l_syscalls:     db "system calls     ", 0
l_irqs:         db "interrupts       ", 0
l_faults:       db "page faults      ", 0
l_zero:         db "  demand-zero    ", 0
l_cow:          db "  copy-on-write  ", 0
l_switches:     db "context switches ", 0
l_forks:        db "forks            ", 0
l_execs:        db "execs            ", 0
l_free:         db "free memory KiB  ", 0
align 4
labels: dd l_ticks, l_syscalls, l_irqs, l_faults, l_zero, l_cow, l_switches, l_forks, l_execs, l_free

section .bss
counts: resd KS_COUNT

PROGRAM_END
