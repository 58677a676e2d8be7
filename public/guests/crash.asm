; crash.asm -- a guest that dies on purpose, to show what the lab does with a triple fault.
;
; It prints a line on COM1, loads an empty IDT (limit 0) and divides by zero. The #DE
; cannot be delivered (no gate), which raises #GP; that cannot be delivered either, which
; raises a double fault (#DF); when #DF cannot be delivered the processor gives up: a
; triple fault. A real PC resets; the lab stops this machine and reports what happened.
; Build: nasm -f bin -o crash.bin crash.asm   (scripts/build-guests.mjs does it)

bits 32
LOAD_ADDR equ 0x100000
COM1      equ 0x3F8
org LOAD_ADDR

mb_header:
    dd 0x1BADB002
    dd 0x00010000
    dd -(0x1BADB002 + 0x00010000)
    dd mb_header
    dd LOAD_ADDR
    dd load_end
    dd load_end
    dd _start

_start:
    cli
    mov esi, message
.next:
    lodsb
    test al, al
    jz .crash
    mov dx, COM1
    out dx, al
    jmp .next
.crash:
    lidt [empty_idt]                ; no gates at all
    xor ecx, ecx
    mov eax, 1
    div ecx                         ; #DE -> #GP -> #DF -> triple fault
    hlt

empty_idt:
    dw 0
    dd 0
message:
    db "crash: dividing by zero with an empty IDT...", 10, 0
load_end:
