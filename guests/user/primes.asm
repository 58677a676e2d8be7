; primes.asm - a CPU-bound program: count the primes below N (default 20000, or the
; first argument) by trial division. Run two at once (`primes &`) to watch the timer
; share the CPU between them.
%include "lib.inc"

main:
        mov     esi, ebx
        call    skip_spaces
        call    atoi
        test    eax, eax
        jnz     .have
        mov     eax, 20000
.have:  mov     [limit], eax
        xor     ebx, ebx                ; primes found
        mov     ecx, 2                  ; candidate
.cand:  cmp     ecx, [limit]
        jae     .done
        mov     edi, 2                  ; divisor
.div:   mov     eax, edi
        mul     edi
        cmp     eax, ecx                ; divisor squared beyond the candidate: prime
        ja      .prime
        mov     eax, ecx
        xor     edx, edx
        div     edi
        test    edx, edx
        jz      .next                   ; divisible: not prime
        inc     edi
        jmp     .div
.prime: inc     ebx
.next:  inc     ecx
        jmp     .cand
.done:  PRINT   "primes: "
        mov     eax, ebx
        call    putnum
        PRINT   " primes below "
        mov     eax, [limit]
        call    putnum
        call    newline
        xor     eax, eax
        ret

section .bss
limit:  resd 1

PROGRAM_END
