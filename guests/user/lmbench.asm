; lmbench.asm - micro-benchmarks in the spirit of lmbench's lat_syscall, lat_ctx,
; lat_proc and lat_pagefault: each times a loop with RDTSC and prints the cost of one
; operation in cycles, as "lmbench: <name>: <n> cycles". The last line is "lmbench: done".
;
; These are exactly the kernel paths that a hypervisor slows down: the system call
; (a trap, or a direct trap gate under Xen), the context switch (CR3 and TSS.ESP0 loads),
; fork (a page table copy that makes pages read-only), exec, and the page faults.
%include "lib.inc"

N_NULL    equ 10000
N_CTX     equ 1000
N_FORK    equ 100
N_EXEC    equ 50
N_ZERO    equ 256
N_COW     equ 128
N_SBRK    equ 1000
N_MAP     equ 200

; BENCH_START - note the time stamp counter in t0 (t0 is written once first, so that a
; copy-on-write fault on its page does not land inside the measurement).
%macro BENCH_START 0
        mov     dword [t0], 0
        mov     dword [t0 + 4], 0
        rdtsc
        mov     [t0], eax
        mov     [t0 + 4], edx
%endmacro

; BENCH_END "name", count - print the cycles since BENCH_START divided by count.
%macro BENCH_END 2
        rdtsc
        sub     eax, [t0]
        sbb     edx, [t0 + 4]
        mov     ecx, %2
section .data
%%name: db      %1, 0
section .text
        mov     esi, %%name
        call    report
%endmacro

main:
        ; -- null system call: the cheapest round trip into the kernel and back
        BENCH_START
        mov     ebp, N_NULL
.null:  SYS     SYS_GETPID
        dec     ebp
        jnz     .null
        BENCH_END "null syscall (getpid)", N_NULL

        ; -- context switch: two processes hand the CPU back and forth with yield
        SYS     SYS_FORK
        test    eax, eax
        jz      .ctx_child
        BENCH_START
        mov     ebp, N_CTX
.ctx:   SYS     SYS_YIELD
        dec     ebp
        jnz     .ctx
        xor     ebx, ebx
        SYS     SYS_WAIT
        BENCH_END "context switch (yield)", 2 * N_CTX

        ; -- fork + exit + wait: create and reap a process sharing our pages
        BENCH_START
        mov     ebp, N_FORK
.fork:  SYS     SYS_FORK
        test    eax, eax
        jz      .exit_now
        xor     ebx, ebx
        SYS     SYS_WAIT
        dec     ebp
        jnz     .fork
        BENCH_END "fork+exit+wait", N_FORK

        ; -- fork + exec + wait: the same, the child loading a new program (true)
        BENCH_START
        mov     ebp, N_EXEC
.exec:  SYS     SYS_FORK
        test    eax, eax
        jz      .exec_true
        xor     ebx, ebx
        SYS     SYS_WAIT
        dec     ebp
        jnz     .exec
        BENCH_END "fork+exec+wait", N_EXEC

        ; -- demand-zero page fault: first touch of freshly grown heap pages
        mov     ebx, N_ZERO * 4096
        SYS     SYS_SBRK
        mov     edi, eax
        BENCH_START
        mov     ebp, N_ZERO
.zero:  mov     byte [edi], 1
        add     edi, 4096
        dec     ebp
        jnz     .zero
        BENCH_END "demand-zero page fault", N_ZERO
        mov     ebx, -N_ZERO * 4096
        SYS     SYS_SBRK

        ; -- copy-on-write fault: a child writes to pages it shares with us
        mov     ebx, N_COW * 4096
        SYS     SYS_SBRK
        mov     [region], eax
        mov     edi, eax
        mov     ebp, N_COW
.fill:  mov     byte [edi], 1
        add     edi, 4096
        dec     ebp
        jnz     .fill
        SYS     SYS_FORK
        test    eax, eax
        jz      .cow_child
        xor     ebx, ebx
        SYS     SYS_WAIT
        mov     ebx, -N_COW * 4096
        SYS     SYS_SBRK

        ; -- sbrk grow and shrink by one page, never touched
        BENCH_START
        mov     ebp, N_SBRK
.sbrk:  mov     ebx, 4096
        SYS     SYS_SBRK
        mov     ebx, -4096
        SYS     SYS_SBRK
        dec     ebp
        jnz     .sbrk
        BENCH_END "sbrk grow+shrink", N_SBRK

        ; -- sbrk grow, touch, shrink: map, fault in and unmap one page (mmap/munmap)
        BENCH_START
        mov     ebp, N_MAP
.map:   mov     ebx, 4096
        SYS     SYS_SBRK
        mov     byte [eax], 1
        mov     ebx, -4096
        SYS     SYS_SBRK
        dec     ebp
        jnz     .map
        BENCH_END "sbrk grow+touch+shrink", N_MAP

        PRINT   "lmbench: done"
        call    newline
        xor     eax, eax
        ret

.ctx_child:
        mov     ebp, N_CTX
.ctx2:  SYS     SYS_YIELD
        dec     ebp
        jnz     .ctx2
.exit_now:
        xor     eax, eax
        jmp     exit

.exec_true:
        mov     ebx, str_true
        xor     ecx, ecx
        SYS     SYS_EXEC
        mov     eax, 1
        jmp     exit

.cow_child:
        mov     edi, [region]
        BENCH_START
        mov     ebp, N_COW
.cow:   mov     byte [edi], 2
        add     edi, 4096
        dec     ebp
        jnz     .cow
        BENCH_END "copy-on-write fault", N_COW
        xor     eax, eax
        jmp     exit

; report - print "lmbench: <name at ESI>: <EDX:EAX / ECX> cycles".
report:
        cmp     edx, ecx
        jae     .overflow
        div     ecx
        push    eax
        PRINT   "lmbench: "
        call    puts
        PRINT   ": "
        pop     eax
        call    putnum
        PRINT   " cycles"
        call    newline
        ret
.overflow:
        PRINT   "lmbench: "
        call    puts
        PRINT   ": overflow"
        call    newline
        ret

section .data
str_true:       db "true", 0

section .bss
t0:             resd 2
region:         resd 1

PROGRAM_END
