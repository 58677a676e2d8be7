; Directives and data: sections, org, $ and $$, times, align/alignb, db/dw/dd/dq with strings
; and expressions, resb.., equ, local labels, struc/istruc, incbin, absolute, bits switching.
bits 16
org 0x7c00

CR equ 13
LF equ 10
COUNT equ (end_table - table) / 2

boot:
    cli
    xor ax, ax
    mov ds, ax
    mov si, msg
.print:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0e
    int 0x10
    jmp .print
.done:
    mov cx, COUNT
    mov bx, table
    mov ax, [bx + 2]
    mov [es:di], ax
    mov al, [cs:bx + si + 4]
    jmp 0x0000:pm_entry
    jmp far [farptr]

msg: db "Hello", CR, LF, 0
table: dw 1, 2, 3, boot, $ - $$
end_table:
farptr: dw pm_entry, 0
qwords: dq 0x00CF9A000000FFFF, -1
mixed: dd 3 * (4 + 5) - 1
    db 'abc', 0, 'de'
    dw 'abc'
    dd 'abcde'
    db -1, 255, -128
    dw -1, 0xffff
    times 3 db 0xaa
    times 2 dw 0x1234, 0x5678
    align 8
    align 16, db 0x11
    alignb 4

struc point
    .x: resd 1
    .y: resd 1
    .name: resb 10
endstruc

origin:
    istruc point
        at point.x, dd 10
        at point.y, dd 20
        at point.name, db 'origin'
    iend
    dw point_size, point.y

blob: incbin "inc/blob.bin"
blob_part: incbin "inc/blob.bin", 3, 4
    times 510 - ($ - $$) db 0
    dw 0xaa55

bits 32
pm_entry:
    mov eax, [ebx + point.y]
    lea esi, [origin + point.name]
    mov ecx, end_of_all - pm_entry
    jmp .forward
    times 100 nop
.forward:
    jmp short .back
.back:
    jmp pm_entry
    loop .back
    jecxz .back

section .data
counter: dd 0
    align 16
aligned_data: db 1

section .bss
buffer: resb 64
words: resw 4
    alignb 16
dwords: resd 2
qs: resq 1

section .text
    mov eax, buffer
    mov ebx, [counter]
    mov ecx, dwords
    mov edx, aligned_data
end_of_all:

absolute 0x500
vars_start:
    resb 4
var_a: resw 1
var_b: resd 1

section .text
    mov ax, [var_a]
    mov eax, var_b - vars_start
