; Short/near jump selection with forward references, as NASM's optimizer does it:
; jumps exactly at the edge of the rel8 range, chains where one jump growing pushes
; another out of range, conditional jumps, and code whose size depends on later labels.
bits 32
org 0x100000

edge_back:
    times 126 nop
    jmp edge_back           ; -128: still short
edge_back2:
    times 127 nop
    jmp edge_back2          ; -129: near

    jmp edge_fwd            ; +127: short
    times 127 nop
edge_fwd:
    jmp edge_fwd2           ; +128: near
    times 128 nop
edge_fwd2:

; a chain: each jump is just in range only if the ones after it stay short
chain:
    je c1
    je c2
    je c3
    times 120 nop
c1: jne chain_end
c2: jne chain_end
c3: jne chain_end
    times 115 nop
    jmp chain
chain_end:

; a jump whose range depends on a times count computed from later labels
    jmp after_pad
    times (pad_end - pad_start) nop
after_pad:
pad_start:
    times 130 nop
pad_end:

    jmp short $
    jmp near $
    call chain
    jcxz $+2
    loop $-10
    je near chain_end
    jne short $+20

