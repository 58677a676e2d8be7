; kernel.asm - the teaching kernel: a small Unix-like kernel for 32-bit x86.
;
; One source, several builds: the paravirt layer is chosen at assembly time with
; -DMODE_NATIVE (the kernel owns the machine, ring 0), and later -DMODE_XEN or -DMODE_VMI.
; Everything privileged goes through that layer's PV_* macros (pv/native.inc), so the rest
; of the kernel is the same in every build.
;
; Reading order: defs.inc (memory map, structures), pv/native.inc (the seam, and boot),
; kmain below, trap.inc (how the kernel is entered), syscall.inc, proc.inc (processes,
; scheduler, fork/exec/exit/wait), mm.inc (frames, page tables, faults), console.inc, and
; programs.inc (the user programs linked into the image).
;
; Build (guests/build.mjs does all of it):
;   nasm -f bin -DMODE_NATIVE -I guests/include/ -I guests/kernel/ -I <user bins>/ \
;        -o kernel.bin guests/kernel/kernel.asm

bits 32
%include "defs.inc"

org KERNEL_BASE + KERNEL_LOAD_PHYS

%ifdef MODE_NATIVE
%include "pv/native.inc"                ; must come first: it starts with the boot header
%else
%ifdef MODE_XEN
%include "pv/xen.inc"
%else
%ifdef MODE_VMI
%include "pv/vmi.inc"
%else
%error "choose a paravirt layer: -DMODE_NATIVE, -DMODE_XEN or -DMODE_VMI"
%endif
%endif
%endif

section .text

; kmain - [boot] the paravirt layer's boot stub jumps here with paging on, running on the
; boot stack with interrupts off. Bring up the CPU tables, the console, memory, the trap
; table, interrupts and the timer; create the idle task and init (the shell); then become
; the idle loop.
kmain:
        PV_CPU_INIT
        PV_CONSOLE_INIT
        mov     esi, msg_banner
        call    kputs
        mov     esi, pv_mode_name
        call    kputs
        mov     esi, msg_banner_end
        call    kputs

        PV_MEMORY_INIT
        mov     esi, msg_memory
        call    kputs
        mov     eax, [free_frames]
        shl     eax, 2                  ; frames to KiB
        call    kputdec
        mov     esi, msg_kib
        call    kputs

        PV_SET_TRAP_TABLE trap_table
        PV_IRQ_INIT
        PV_TIMER_INIT HZ
        PV_IRQ_UNMASK TIMER_IRQ
        PV_IRQ_UNMASK CONSOLE_IRQ

        ; The idle task is slot 0: it owns the boot stack and the kernel page directory.
        mov     ebx, procs
        mov     dword [ebx + P_STATE], PS_RUNNABLE
        mov     dword [ebx + P_PID], 0
        mov     dword [ebx + P_KSTACK], boot_stack
        mov     eax, [kernel_pd_phys]
        mov     [ebx + P_CR3], eax
        add     eax, KERNEL_BASE
        mov     [ebx + P_PDIR], eax
        mov     dword [ebx + P_NAME], 'idle'
%ifdef PANIC_TEST
        ; Built with -DPANIC_TEST: touch an unmapped kernel address on purpose, to show
        ; what a panic prints (the tests check it).
        mov     eax, 0x12345678
        mov     ebx, 0xFFFFF000
        mov     eax, [ebx]
%endif
        mov     esi, init_name
        call    spawn_init
        call    console_irq             ; take what was typed before the IRQ was on
        jmp     idle_loop

section .data
msg_banner:     db "paravirt-lab teaching kernel (", 0
msg_banner_end: db " mode)", 10, 0
msg_memory:     db "memory: ", 0
msg_kib:        db " KiB free", 10, 0
init_name:      db "sh", 0

%include "console.inc"
%include "trap.inc"
%include "syscall.inc"
%include "proc.inc"
%include "mm.inc"
%include "programs.inc"

; The ends of the image, for the boot header: the file ends with .data, memory with .bss.
section .data
kernel_data_end:
section .bss
kernel_end:
