; demo.asm -- the lab's first interactive guest: a tiny two-process kernel.
;
; A Multiboot v1 kernel (flat binary with the a.out-kludge address fields, loaded at
; 1 MiB) small enough to read in one sitting, made to show every kind of event the lab
; traces until the teaching kernel in guests/ takes over:
;   - its own GDT (ring 0 and ring 3 segments, a TSS) and IDT (exceptions, IRQs, int 0x80)
;   - the 8259 PICs remapped to vectors 0x20..0x2F, the 8254 PIT at 100 Hz (IRQ0)
;   - the 16550 UART on COM1 with receive interrupts (IRQ4): typed keys are echoed
;   - paging: one page directory per process; the low 4 MiB identity-mapped for the
;     kernel, and 4 MiB..8 MiB of per-process memory filled on demand by the page-fault
;     handler (demand-zero pages: the user stack and a growing heap)
;   - two user processes in ring 3, switched round-robin on every timer tick (a CR3 load
;     and a TSS.ESP0 update each time), calling the kernel through int 0x80
; System calls (int 0x80): eax = 1 write(ebx = buffer, ecx = length); 2 print ebx in
; decimal; 3 return the tick count in eax. Any other number returns -1.
; Build: nasm -f bin -o demo.bin demo.asm   (scripts/build-guests.mjs does it)

bits 32

LOAD_ADDR       equ 0x100000
COM1            equ 0x3F8
KCODE           equ 0x08
KDATA           equ 0x10
UCODE           equ 0x1B            ; 0x18 | RPL 3
UDATA           equ 0x23            ; 0x20 | RPL 3
TSS_SEL         equ 0x28
USER_LO         equ 0x400000        ; per-process, demand-filled region
USER_HI         equ 0x800000
USER_STACK_TOP  equ USER_HI
HEAP_PAGES      equ 12              ; pages each process touches, one per round
SPIN            equ 1500000         ; busy-loop iterations between two lines of output

org LOAD_ADDR

mb_header:
    dd 0x1BADB002
    dd 0x00010000
    dd -(0x1BADB002 + 0x00010000)
    dd mb_header
    dd LOAD_ADDR
    dd load_end
    dd bss_end
    dd _start

; Boot path: segments, console, interrupt controllers, paging, then the first process.
_start:
    cli
    lgdt [gdt_desc]
    jmp KCODE:.reload
.reload:
    mov ax, KDATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, boot_stack_top
    cld
    call serial_init
    mov esi, s_banner
    call puts
    call idt_init
    call pic_init
    call pit_init
    call tss_init
    call proc_init
    call paging_init
    mov esi, s_start
    call puts
    ; Enter process 0 exactly as a timer switch would: its kernel stack holds a
    ; frame that returns to ring 3.
    mov dword [cur], 0
    mov eax, [proc_kstop]
    mov [tss + 4], eax
    mov esp, [proc_ksp]
    jmp isr_return

; Boot path: flat 4 GiB code and data segments for ring 0 and ring 3, and the TSS.
tss_init:
    mov eax, tss
    mov [gdt_tss + 2], ax
    shr eax, 16
    mov [gdt_tss + 4], al
    mov [gdt_tss + 7], ah
    mov dword [tss + 8], KDATA      ; SS0
    mov word [tss + 102], 104       ; no I/O permission bitmap
    mov ax, TSS_SEL
    ltr ax
    ret

; Boot path: 48 interrupt gates (exceptions and IRQs) and the int 0x80 trap door
; (DPL 3, so ring 3 may call it). The stubs are 16 bytes apart.
idt_init:
    mov edi, idt
    mov ebx, isr_base
    xor ecx, ecx
.gate:
    mov eax, ebx
    mov [edi], ax
    mov word [edi + 2], KCODE
    mov word [edi + 4], 0x8E00      ; present, DPL 0, 32-bit interrupt gate
    shr eax, 16
    mov [edi + 6], ax
    add edi, 8
    add ebx, 16
    inc ecx
    cmp ecx, 48
    jb .gate
    mov edi, idt + 0x80 * 8
    mov eax, isr_syscall
    mov [edi], ax
    mov word [edi + 2], KCODE
    mov word [edi + 4], 0xEE00      ; present, DPL 3, 32-bit interrupt gate
    shr eax, 16
    mov [edi + 6], ax
    lidt [idt_desc]
    ret

; Boot path: remap the master PIC to 0x20 and the slave to 0x28; unmask IRQ0 and IRQ4.
pic_init:
    mov al, 0x11                    ; ICW1: edge, cascade, ICW4 follows
    out 0x20, al
    out 0xA0, al
    mov al, 0x20                    ; ICW2: vector bases
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 4                       ; ICW3: slave on IRQ2
    out 0x21, al
    mov al, 2
    out 0xA1, al
    mov al, 1                       ; ICW4: 8086 mode
    out 0x21, al
    out 0xA1, al
    mov al, 0xEE                    ; OCW1: only IRQ0 (timer) and IRQ4 (COM1)
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al
    ret

; Boot path: PIT channel 0, mode 2, divisor 11932: 100 interrupts per second.
pit_init:
    mov al, 0x34
    out 0x43, al
    mov al, 11932 & 0xFF
    out 0x40, al
    mov al, 11932 >> 8
    out 0x40, al
    ret

; Boot path: each process gets a kernel stack holding the frame isr_return pops:
; es, ds, the eight pushad registers, vector, error code, then the iret frame to ring 3.
proc_init:
    xor ebx, ebx
.one:
    mov edi, [proc_kstop + ebx * 4]
    sub edi, 4 * 17
    mov [proc_ksp + ebx * 4], edi
    mov dword [edi + 0], UDATA      ; es
    mov dword [edi + 4], UDATA      ; ds
    mov ecx, 8
    xor eax, eax
.zero:
    mov [edi + 8 + ecx * 4 - 4], eax
    loop .zero
    mov [edi + 36], ebx             ; eax = process number
    mov dword [edi + 40], 0         ; vector
    mov dword [edi + 44], 0         ; error code
    mov dword [edi + 48], user_main ; eip
    mov dword [edi + 52], UCODE     ; cs
    mov dword [edi + 56], 0x202     ; eflags: IF
    mov dword [edi + 60], USER_STACK_TOP
    mov dword [edi + 64], UDATA     ; ss
    inc ebx
    cmp ebx, 2
    jb .one
    ret

; Boot path: one shared page table for 0..4 MiB (kernel only, except the user code
; page; page 0 left unmapped to catch null pointers), one page table per process for
; 4..8 MiB (empty: filled by the page-fault handler), one page directory per process.
paging_init:
    mov edi, pt_low
    mov eax, 0x003                  ; present, writable, supervisor
    mov ecx, 1024
.low:
    stosd
    add eax, 4096
    loop .low
    mov dword [pt_low], 0
    or dword [pt_low + ((user_code - $$ + LOAD_ADDR) >> 12) * 4], 0x004  ; user may run its code
    xor ebx, ebx
.dir:
    mov edi, [proc_cr3 + ebx * 4]
    push edi
    mov ecx, 1024
    xor eax, eax
    rep stosd
    pop edi
    mov dword [edi], pt_low + 0x007
    mov eax, [proc_pt + ebx * 4]
    or eax, 0x007
    mov [edi + 4], eax
    inc ebx
    cmp ebx, 2
    jb .dir
    mov eax, [proc_cr3]
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000              ; PG | WP
    mov cr0, eax
    ret

; Interrupt stubs: each pushes a dummy error code when the CPU does not push one, then
; its vector, and joins isr_common. Exactly 16 bytes each, so idt_init can count.
    align 16
isr_base:
%assign vec 0
%rep 48
  %if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17
    push dword vec
  %else
    push dword 0
    push dword vec
  %endif
    jmp near isr_common
    align 16, nop
  %assign vec vec + 1
%endrep
isr_syscall:
    push dword 0
    push dword 0x80
    jmp near isr_common

; Every trap, interrupt and system call: save the interrupted state on the kernel
; stack, dispatch on the vector, then isr_return pops it and irets. Frame offsets:
; es 0, ds 4, edi 8, esi 12, ebp 16, esp 20, ebx 24, edx 28, ecx 32, eax 36,
; vector 40, error 44, eip 48, cs 52, eflags 56 (, esp 60, ss 64 from ring 3).
isr_common:
    pushad
    push ds
    push es
    mov ax, KDATA
    mov ds, ax
    mov es, ax
    mov eax, [esp + 40]
    cmp eax, 14
    je page_fault
    cmp eax, 0x20
    je timer_irq
    cmp eax, 0x24
    je serial_irq
    cmp eax, 0x80
    je syscall
    cmp eax, 32
    jb panic
    mov al, 0x20                    ; any other IRQ: acknowledge and ignore
    out 0x20, al
isr_return:
    pop es
    pop ds
    popad
    add esp, 8
    iret

; Timer path: count the tick, then switch to the other process: save this kernel
; stack, point TSS.ESP0 at the other's, load its page directory, return into it.
timer_irq:
    inc dword [ticks]
    mov al, 0x20                    ; EOI to the master PIC
    out 0x20, al
    mov eax, [cur]
    mov [proc_ksp + eax * 4], esp
    xor eax, 1
    mov [cur], eax
    mov esp, [proc_ksp + eax * 4]
    mov ebx, [proc_kstop + eax * 4]
    mov [tss + 4], ebx
    mov ebx, [proc_cr3 + eax * 4]
    mov cr3, ebx
    jmp isr_return

; Console input path: echo every received byte (Enter becomes a new line).
serial_irq:
    mov dx, COM1 + 5
    in al, dx
    test al, 1
    jz .done
    mov dx, COM1
    in al, dx
    cmp al, 13
    jne .echo
    mov al, 10
.echo:
    call putc
    jmp serial_irq
.done:
    mov al, 0x20
    out 0x20, al
    jmp isr_return

; System call path: eax selects the call; the result goes back in the saved eax.
syscall:
    mov eax, [esp + 36]
    cmp eax, 1
    je .write
    cmp eax, 2
    je .putdec
    cmp eax, 3
    je .ticks
    mov dword [esp + 36], -1
    jmp isr_return
.write:
    mov esi, [esp + 24]
    mov ecx, [esp + 32]
    jecxz .wrote
.wloop:
    lodsb
    call putc
    loop .wloop
.wrote:
    mov dword [esp + 36], 0
    jmp isr_return
.putdec:
    mov eax, [esp + 24]
    call putdec
    mov dword [esp + 36], 0
    jmp isr_return
.ticks:
    mov eax, [ticks]
    mov [esp + 36], eax
    jmp isr_return

; Fault path: a not-present access to 4..8 MiB gets a fresh zeroed frame mapped
; user-writable in the current process's page table (demand-zero). Anything else panics.
page_fault:
    mov eax, cr2
    cmp eax, USER_LO
    jb panic
    cmp eax, USER_HI
    jae panic
    test dword [esp + 44], 1        ; P=1: a protection fault, not a missing page
    jnz panic
    mov edi, [next_frame]
    add dword [next_frame], 4096
    mov edx, edi
    push eax
    mov ecx, 1024
    xor eax, eax
    rep stosd
    pop eax
    mov ebx, eax
    shr ebx, 12
    and ebx, 0x3FF
    mov ecx, [cur]
    mov ecx, [proc_pt + ecx * 4]
    or edx, 0x007
    mov [ecx + ebx * 4], edx
    invlpg [eax]
    jmp isr_return

; Any other exception: report it and stop for good.
panic:
    mov esi, s_panic
    call puts
    mov eax, [esp + 40]
    call puthex
    mov esi, s_err
    call puts
    mov eax, [esp + 44]
    call puthex
    mov esi, s_eip
    call puts
    mov eax, [esp + 48]
    call puthex
    mov esi, s_cr2
    call puts
    mov eax, cr2
    call puthex
    mov al, 10
    call putc
.stop:
    cli
    hlt
    jmp .stop

; Console: COM1 at 115200 8N1, FIFOs on, receive interrupt enabled, OUT2 (IRQ gate) on.
serial_init:
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al
    mov dx, COM1
    mov al, 1
    out dx, al
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al
    mov dx, COM1 + 2
    mov al, 0xC7
    out dx, al
    mov dx, COM1 + 4
    mov al, 0x0B
    out dx, al
    mov dx, COM1 + 1
    mov al, 0x01
    out dx, al
    ret

; al = byte to send (polls the transmit-holding-register-empty bit).
putc:
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

; esi = NUL-terminated string.
puts:
    push eax
.next:
    lodsb
    test al, al
    jz .end
    call putc
    jmp .next
.end:
    pop eax
    ret

; eax = value, printed as 8 hex digits.
puthex:
    push ecx
    push edx
    mov ecx, 8
.digit:
    rol eax, 4
    mov edx, eax
    and edx, 0xF
    push eax
    mov al, [hexdigits + edx]
    call putc
    pop eax
    loop .digit
    pop edx
    pop ecx
    ret

; eax = value, printed in decimal.
putdec:
    push ebx
    push ecx
    push edx
    mov ebx, 10
    xor ecx, ecx
.div:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .div
.out:
    pop eax
    add al, '0'
    call putc
    loop .out
    pop edx
    pop ecx
    pop ebx
    ret

; ---------------------------------------------------------------------------
; Ring 3: the user program both processes run (its own page, the only user page
; below 4 MiB). eax = process number at entry. Each round it spins, touches one
; more heap page (a demand-zero fault the first time), and prints a line.
; ---------------------------------------------------------------------------
    align 4096
user_code:
user_main:
    mov ebp, eax
    push ebp                        ; first touch of the stack: a page fault
    xor esi, esi                    ; round number
.round:
    mov ecx, SPIN
.spin:
    add edi, ecx
    dec ecx
    jnz .spin
    cmp esi, HEAP_PAGES
    jae .print
    mov eax, esi
    shl eax, 12
    add eax, USER_LO
    mov [eax], esi                  ; first touch of a heap page
.print:
    mov eax, 1
    mov ebx, u_proc
    mov ecx, u_proc_len
    int 0x80
    mov eax, 2
    mov ebx, ebp
    int 0x80
    mov eax, 1
    mov ebx, u_round
    mov ecx, u_round_len
    int 0x80
    mov eax, 2
    mov ebx, esi
    int 0x80
    mov eax, 3
    int 0x80
    mov ebx, eax
    mov eax, 1
    push ebx
    mov ebx, u_ticks
    mov ecx, u_ticks_len
    int 0x80
    pop ebx
    mov eax, 2
    int 0x80
    mov eax, 1
    mov ebx, u_nl
    mov ecx, 1
    int 0x80
    inc esi
    jmp .round

u_proc:     db "proc "
u_proc_len  equ $ - u_proc
u_round:    db " round "
u_round_len equ $ - u_round
u_ticks:    db " ticks "
u_ticks_len equ $ - u_ticks
u_nl:       db 10
    align 4096

; ---------------------------------------------------------------------------
; Kernel data
; ---------------------------------------------------------------------------
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08 ring 0 code
    dq 0x00CF92000000FFFF           ; 0x10 ring 0 data
    dq 0x00CFFA000000FFFF           ; 0x18 ring 3 code
    dq 0x00CFF2000000FFFF           ; 0x20 ring 3 data
gdt_tss:
    dq 0x0000890000000067           ; 0x28 TSS (base filled in by tss_init)
gdt_end:
gdt_desc:
    dw gdt_end - gdt - 1
    dd gdt
idt_desc:
    dw 256 * 8 - 1
    dd idt
proc_kstop: dd kstack0_top, kstack1_top
proc_cr3:   dd pdir0, pdir1
proc_pt:    dd ptuser0, ptuser1
next_frame: dd 0x200000             ; frames for demand-zero pages: 2 MiB .. 4 MiB
hexdigits:  db "0123456789abcdef"
s_banner:   db "demo kernel: two processes, timer, syscalls, demand paging", 10, 0
s_start:    db "starting process 0 (type to echo)", 10, 0
s_panic:    db 10, "PANIC: exception ", 0
s_err:      db " error ", 0
s_eip:      db " eip ", 0
s_cr2:      db " cr2 ", 0

load_end:

BSS_START equ LOAD_ADDR + ((load_end - mb_header + 4095) & ~4095)
absolute BSS_START
cur:        resd 1
ticks:      resd 1
proc_ksp:   resd 2
tss:        resb 104
    alignb 8
idt:        resb 256 * 8
    alignb 4096
pt_low:     resb 4096
pdir0:      resb 4096
pdir1:      resb 4096
ptuser0:    resb 4096
ptuser1:    resb 4096
            resb 4096
boot_stack_top:
            resb 4096
kstack0_top:
            resb 4096
kstack1_top:
bss_end:
