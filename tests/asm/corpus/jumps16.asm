; Jumps in 16-bit code: rel8 and rel16 selection, calls, sized jumps, far jumps.
bits 16
org 0x7c00
start:
    jmp $+0x90
    jz $-0x70
    jz $-0x90
    call $+3
    jmp word $+10
    jmp 0x0000:start
    jmp dword 0x0008:0x00012345
    call 0x1000:0x0010
    jmp start
    loop start
    jcxz start
    jecxz start
    times 0x80 nop
    jnz start
    jnz near start
    jmp short start + 0x100
